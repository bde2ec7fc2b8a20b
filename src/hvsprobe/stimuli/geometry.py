"""Display geometry: pixels per degree, unit conversion and wave-vector directions.

See :mod:`hvsprobe.stimuli` for the conventions (units, coordinates, orientation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from .._validation import check_positive
from ._checks import check_finite, check_frequency_cpd

__all__ = ["DisplayGeometry", "bar_orientation", "cos_sin_deg"]

_INCH_M = 0.0254


def bar_orientation(orientation_deg: float | np.ndarray) -> float | np.ndarray:
    """Convert a wave-vector orientation (this package) to a bar orientation (ModelFest).

    Parameters
    ----------
    orientation_deg : float or numpy.ndarray
        Direction of the wave vector in degrees, counter-clockwise from +x (0 = vertical bars).

    Returns
    -------
    float or numpy.ndarray
        Orientation of the bars in degrees, counter-clockwise from +x, in [0, 180)
        (0 = horizontal bars).  The inverse is ``(bar - 90) % 180``.

    Examples
    --------
    >>> bar_orientation(0.0)  # wave vector along +x: vertical bars
    90.0
    >>> bar_orientation(np.array([45.0, 90.0]))
    array([135.,   0.])
    """
    if isinstance(orientation_deg, np.ndarray):
        return np.mod(orientation_deg + 90.0, 180.0)
    return float((check_finite(orientation_deg, "orientation_deg") + 90.0) % 180.0)


@dataclass(frozen=True)
class DisplayGeometry:
    """Resolution of a display as seen by the observer.

    Parameters
    ----------
    ppd : float
        Pixels per degree of visual angle (at the screen centre).

    Examples
    --------
    >>> g = DisplayGeometry(60.0)
    >>> g.nyquist_cpd, g.cycles_per_pixel(6.0)
    (30.0, 0.1)
    >>> round(DisplayGeometry.from_viewing(0.5, pixels_per_inch=96).ppd, 2)
    32.98
    """

    ppd: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "ppd", check_positive(self.ppd, "ppd"))

    @classmethod
    def from_viewing(
        cls,
        distance_m: float,
        *,
        pixels_per_inch: float | None = None,
        pixel_pitch_mm: float | None = None,
    ) -> DisplayGeometry:
        """Geometry of a display viewed from ``distance_m`` metres.

        Give exactly one of ``pixels_per_inch`` and ``pixel_pitch_mm``.  The exact geometry at
        the screen centre is used: one pixel of pitch ``p`` subtends ``2 atan(p / (2 d))``, so
        ``ppd = 1 / (2 * degrees(atan(p / (2 d))))``.

        Parameters
        ----------
        distance_m : float
            Viewing distance in metres.
        pixels_per_inch : float, optional
            Display resolution in pixels per inch.
        pixel_pitch_mm : float, optional
            Pixel pitch (centre-to-centre distance) in millimetres.

        Returns
        -------
        DisplayGeometry
        """
        d = check_positive(distance_m, "distance_m")
        if (pixels_per_inch is None) == (pixel_pitch_mm is None):
            raise ValueError(
                "give exactly one of pixels_per_inch and pixel_pitch_mm, got "
                f"pixels_per_inch={pixels_per_inch!r} and pixel_pitch_mm={pixel_pitch_mm!r}"
            )
        if pixels_per_inch is not None:
            pitch_m = _INCH_M / check_positive(pixels_per_inch, "pixels_per_inch")
        else:
            pitch_m = check_positive(cast(float, pixel_pitch_mm), "pixel_pitch_mm") / 1000.0
        return cls(1.0 / (2.0 * math.degrees(math.atan(pitch_m / (2.0 * d)))))

    @property
    def nyquist_cpd(self) -> float:
        """Highest representable frequency, ``ppd / 2``, in cycles per degree."""
        return self.ppd / 2.0

    def cycles_per_pixel(self, frequency_cpd: float) -> float:
        """Convert a frequency from cycles per degree to cycles per pixel.

        This is a plain unit conversion; use :meth:`check_frequency` to enforce the Nyquist
        limit.

        Parameters
        ----------
        frequency_cpd : float
            Spatial frequency in cycles per degree.

        Returns
        -------
        float
            ``frequency_cpd / ppd``.
        """
        return check_finite(frequency_cpd, "frequency_cpd") / self.ppd

    def check_frequency(self, frequency_cpd: float) -> float:
        """Return ``float(frequency_cpd)`` if it can be shown on this display.

        Parameters
        ----------
        frequency_cpd : float
            Spatial frequency in cycles per degree.

        Returns
        -------
        float
            The frequency.

        Raises
        ------
        ValueError
            If the frequency is not finite, ``<= 0`` or ``>= ppd / 2`` (Nyquist).
        """
        return check_frequency_cpd(frequency_cpd, self.ppd, "frequency")


# --------------------------------------------------------------------------------------------


def cos_sin_deg(angle_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine and sine of angles in degrees, exact at multiples of 90 degrees.

    Examples
    --------
    >>> c, s = cos_sin_deg(np.array([0.0, 90.0, 180.0]))
    >>> c.tolist(), s.tolist()
    ([1.0, 0.0, -1.0], [0.0, 1.0, 0.0])
    """
    a = np.mod(np.asarray(angle_deg, dtype=np.float64), 360.0)
    rad = np.deg2rad(a)
    c, s = np.cos(rad), np.sin(rad)
    exact = np.mod(a, 90.0) == 0.0
    c = np.where(exact, np.rint(c), c)
    s = np.where(exact, np.rint(s), s)
    return c, s
