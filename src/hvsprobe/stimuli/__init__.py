"""Sinusoidal grating stimuli in physical units.

The stimuli follow the conventions of psychophysics so that a channel's tuning measured here
can be compared with human contrast sensitivity data (Tariq et al., ECCV 2020,
arXiv:1812.00412; ModelFest).

Conventions
-----------
Units
    Spatial frequency is given in cycles per degree of visual angle (cpd).  The display is
    described by its resolution ``ppd`` in pixels per degree; the frequency in cycles per pixel
    is ``f_cpp = f_cpd / ppd``.  Only frequencies strictly between 0 and the Nyquist limit
    ``ppd / 2`` can be shown and every other frequency is refused.  Use
    :meth:`DisplayGeometry.from_viewing` to get ``ppd`` from a viewing distance and a pixel size.
    Orientations and phases are in degrees.
Luminance
    Pixel values are display luminance in [0, 1], achromatic (the same value in R, G and B)::

        L(x, y) = mean * (1 + contrast * envelope(x, y) * cos(2 pi f_cpp u + phase))
        u = x cos(theta) + y sin(theta)

    so the Michelson contrast ``(Lmax - Lmin) / (Lmax + Lmin)`` equals ``contrast`` and the
    space-average luminance equals ``mean``.  The envelope is 1 for gratings and a Gaussian for
    Gabor patches.  Combinations of ``contrast`` and ``mean`` that would leave [0, 1] are refused:
    ``0 <= contrast <= min(1, (1 - mean) / mean)``.
Coordinates
    ``x`` and ``y`` are in pixels relative to the image centre ``((W - 1) / 2, (H - 1) / 2)``,
    ``x`` to the right and ``y`` **up**, i.e. ``x = col - (W - 1) / 2`` and
    ``y = (H - 1) / 2 - row``.  With ``phase = 0`` (cosine phase) the luminance is at its maximum
    at the centre; ``phase = 180`` puts the minimum there.  For odd sizes the centre is a pixel.
Orientation
    ``orientation`` (``theta``) is the direction of the wave vector, i.e. the direction along
    which luminance is modulated, counter-clockwise from +x.  ``0`` gives vertical bars
    (luminance varies along x), ``90`` horizontal bars.  ModelFest and many psychophysics papers
    give the orientation of the *bars* instead, which is this value + 90 degrees: see
    :func:`bar_orientation`.  Orientations ``theta`` and ``theta + 180`` describe the same
    stimulus with the phase mirrored (``phase -> -phase``).
Concentric gratings
    ``cos(2 pi f_cpp r + phase)`` with ``r`` the distance from the centre; they contain all
    orientations at once.
Gabor patches
    The grating times a Gaussian envelope centred on the image centre, with standard deviation
    ``sigma_deg`` (converted to pixels with ``ppd``) along the wave vector and ``sigma_y_deg``
    (default ``sigma_deg``) across it.

All stimuli are computed in float64 and cast to the requested dtype at the end.
"""

from .geometry import DisplayGeometry, bar_orientation, cos_sin_deg
from .grids import GRID_DOC_KIND, GRID_SCHEMA_VERSION, StimulusGrid
from .patterns import KINDS, concentric_grating, gabor, grating

__all__ = [
    "GRID_DOC_KIND",
    "GRID_SCHEMA_VERSION",
    "KINDS",
    "DisplayGeometry",
    "StimulusGrid",
    "bar_orientation",
    "concentric_grating",
    "cos_sin_deg",
    "gabor",
    "grating",
]
