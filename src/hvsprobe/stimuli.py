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

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._validation import check_choice, check_positive

__all__ = [
    "KINDS",
    "DisplayGeometry",
    "StimulusGrid",
    "bar_orientation",
    "concentric_grating",
    "gabor",
    "grating",
]

#: Stimulus kinds understood by :class:`StimulusGrid`.
KINDS: tuple[str, ...] = ("grating", "gabor", "concentric")

#: ``kind`` and ``schema_version`` written by :meth:`StimulusGrid.to_dict`.
GRID_DOC_KIND = "stimulus_grid"
GRID_SCHEMA_VERSION = 1

_INCH_M = 0.0254
_CONTRAST_TOL = 1e-9


# --------------------------------------------------------------------------------------------
# small checks


def _check_finite(value: object, name: str) -> float:
    """Return ``float(value)`` if it is a finite real number."""
    if isinstance(value, bool | np.bool_ | str) or value is None:
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _nyquist_message(frequency: float, ppd: float, name: str) -> str:
    nyq = ppd / 2.0
    return (
        f"{name} {frequency:g} cycles/degree is not below the Nyquist limit of {nyq:g} "
        f"cycles/degree of a display with {ppd:g} pixels/degree (ppd / 2); lower the frequency "
        "or raise ppd (view from further away or use smaller pixels)"
    )


def _check_frequency(frequency: object, ppd: float, name: str = "frequency") -> float:
    """Return the frequency (cpd) as float if ``0 < frequency < ppd / 2``."""
    f = _check_finite(frequency, name)
    if f <= 0:
        raise ValueError(
            f"{name} must be > 0 cycles/degree, got {frequency!r} (ppd {ppd:g}, Nyquist limit "
            f"{ppd / 2:g} cycles/degree)"
        )
    if f >= ppd / 2.0:
        raise ValueError(_nyquist_message(f, ppd, name))
    return f


def _max_contrast(mean: float) -> float:
    return min(1.0, (1.0 - mean) / mean)


def _check_mean(mean: object) -> float:
    m = _check_finite(mean, "mean")
    if not 0.0 < m < 1.0:
        raise ValueError(f"mean luminance must lie in (0, 1) (display units), got {mean!r}")
    return m


def _check_contrast(contrast: object, mean: float, name: str = "contrast") -> float:
    c = _check_finite(contrast, name)
    cmax = _max_contrast(mean)
    if c < 0.0:
        raise ValueError(f"{name} (Michelson) must be >= 0, got {contrast!r}")
    if c > cmax + _CONTRAST_TOL:
        lo, hi = mean * (1.0 - c), mean * (1.0 + c)
        raise ValueError(
            f"{name} {c:g} with mean {mean:g} would give luminances in [{lo:.4g}, {hi:.4g}], "
            f"outside [0, 1]; with mean {mean:g} the largest Michelson contrast is {cmax:.6g} "
            "(= min(1, (1 - mean) / mean))"
        )
    return c


def _check_size(size: object, name: str = "size", min_size: int = 1) -> tuple[int, int]:
    """Return ``(H, W)`` from an int or a pair of ints, each ``>= min_size``."""

    def is_int(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)

    expected = f"{name} must be an int or a pair (H, W) of ints >= {min_size}"
    if is_int(size):
        hw = (int(size), int(size))  # type: ignore[call-overload]
    elif isinstance(size, Sequence | np.ndarray) and not isinstance(size, str):
        items = list(size)  # type: ignore[arg-type]
        if len(items) != 2 or not all(is_int(v) for v in items):
            raise ValueError(f"{expected}, got {size!r}")
        hw = (int(items[0]), int(items[1]))
    else:
        raise ValueError(f"{expected}, got {size!r}")
    if min(hw) < min_size:
        raise ValueError(f"{expected}, got {size!r}")
    return hw


def _check_dtype(dtype: torch.dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def _as_float_tuple(values: object, name: str) -> tuple[float, ...]:
    """Normalise a number or a 1-D sequence/array of numbers to a non-empty tuple of floats."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=object)
    if arr.ndim == 0:
        items = [arr.item()]
    elif arr.ndim == 1:
        items = list(arr)
    else:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not items:
        raise ValueError(f"{name} must hold at least one value, got none")
    out = tuple(_check_finite(v, f"{name}[{i}]") for i, v in enumerate(items))
    if len(set(out)) != len(out):
        dup = sorted({v for v in out if out.count(v) > 1})
        raise ValueError(f"{name} must hold unique values, got duplicates {dup} in {out}")
    return out


# --------------------------------------------------------------------------------------------
# geometry


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
    """
    if isinstance(orientation_deg, np.ndarray):
        return np.mod(orientation_deg + 90.0, 180.0)
    return float((_check_finite(orientation_deg, "orientation_deg") + 90.0) % 180.0)


@dataclass(frozen=True)
class DisplayGeometry:
    """Resolution of a display as seen by the observer.

    Parameters
    ----------
    ppd : float
        Pixels per degree of visual angle (at the screen centre).
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
            pitch_m = check_positive(pixel_pitch_mm, "pixel_pitch_mm") / 1000.0
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
        return _check_finite(frequency_cpd, "frequency_cpd") / self.ppd

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
        return _check_frequency(frequency_cpd, self.ppd, "frequency")


# --------------------------------------------------------------------------------------------
# rendering


def _cos_sin_deg(angle_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine and sine of angles in degrees, exact at multiples of 90 degrees."""
    a = np.mod(np.asarray(angle_deg, dtype=np.float64), 360.0)
    rad = np.deg2rad(a)
    c, s = np.cos(rad), np.sin(rad)
    exact = np.mod(a, 90.0) == 0.0
    c = np.where(exact, np.rint(c), c)
    s = np.where(exact, np.rint(s), s)
    return c, s


def _render(
    size: tuple[int, int],
    f_cpp: np.ndarray,
    orientation_deg: np.ndarray,
    phase_deg: np.ndarray,
    contrast: np.ndarray,
    mean: float,
    kind: str,
    sigma_px: float | None,
    sigma_y_px: float | None,
    device: torch.device | str | None,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Render ``N`` stimuli (parameters given as 1-D arrays of length ``N``) as N x 3 x H x W.

    Parameters are assumed to be validated.  Everything is broadcast over the batch: no Python
    loop over stimuli or pixels.
    """
    h, w = size
    out_device = torch.device(device) if device is not None else torch.device("cpu")
    # float64 is not available on every backend (e.g. Apple MPS): compute there on the CPU.
    work = out_device if out_device.type != "mps" else torch.device("cpu")
    f64 = torch.float64

    def col(values: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values, dtype=np.float64), device=work).view(-1, 1, 1)

    n = int(np.asarray(f_cpp).shape[0])
    cos_t, sin_t = _cos_sin_deg(orientation_deg)
    x = (torch.arange(w, dtype=f64, device=work) - (w - 1) / 2.0).view(1, 1, w)
    y = ((h - 1) / 2.0 - torch.arange(h, dtype=f64, device=work)).view(1, h, 1)
    two_pi_f = col(2.0 * math.pi * np.asarray(f_cpp, dtype=np.float64))
    envelope = None
    if kind == "concentric":
        arg = torch.sqrt(x * x + y * y) * two_pi_f  # r, the distance from the centre
    else:
        arg = x * col(cos_t) + y * col(sin_t)  # u, the coordinate along the wave vector
        if kind == "gabor":
            assert sigma_px is not None and sigma_y_px is not None
            v = y * col(cos_t) - x * col(sin_t)  # across the wave vector (along the bars)
            envelope = (arg / sigma_px).square_().add_(v.div_(sigma_y_px).square_())
            envelope = envelope.mul_(-0.5).exp_()
        arg = arg.mul_(two_pi_f)
    # in-place from here on: one N x H x W float64 buffer (two for Gabor patches)
    lum = arg.add_(col(np.deg2rad(np.asarray(phase_deg, dtype=np.float64)))).cos_()
    if envelope is not None:
        lum = lum.mul_(envelope)
    lum = lum.mul_(col(contrast)).add_(1.0).mul_(mean).clamp_(0.0, 1.0).to(dtype=dtype)
    return lum.unsqueeze(1).expand(n, 3, h, w).contiguous().to(out_device)


def _single(
    kind: str,
    size: object,
    frequency: object,
    orientation: object,
    phase: object,
    contrast: object,
    mean: object,
    ppd: object,
    sigma_deg: object | None,
    sigma_y_deg: object | None,
    dtype: torch.dtype,
    device: torch.device | str | None,
) -> torch.Tensor:
    hw = _check_size(size)
    p = check_positive(ppd, "ppd")
    f = _check_frequency(frequency, p)
    o = _check_finite(orientation, "orientation")
    ph = _check_finite(phase, "phase")
    m = _check_mean(mean)
    c = _check_contrast(contrast, m)
    _check_dtype(dtype)
    sx = sy = None
    if kind == "gabor":
        sx = check_positive(sigma_deg, "sigma_deg") * p
        sy = sx if sigma_y_deg is None else check_positive(sigma_y_deg, "sigma_y_deg") * p
    img = _render(
        hw,
        np.array([f / p]),
        np.array([o]),
        np.array([ph]),
        np.array([c]),
        m,
        kind,
        sx,
        sy,
        device,
        dtype,
    )
    return img[0]


def grating(
    size: int | tuple[int, int],
    frequency: float,
    orientation: float = 0.0,
    phase: float = 0.0,
    contrast: float = 1.0,
    mean: float = 0.5,
    *,
    ppd: float = 60.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Full-field sinusoidal grating (see the module docstring for the conventions).

    Parameters
    ----------
    size : int or tuple of int
        Image size: ``S`` for S x S, or ``(H, W)``.
    frequency : float
        Spatial frequency in cycles per degree, ``0 < frequency < ppd / 2``.
    orientation : float
        Direction of the wave vector in degrees, counter-clockwise from +x
        (0 = vertical bars, 90 = horizontal bars).
    phase : float
        Phase at the image centre in degrees (0 = luminance maximum at the centre).
    contrast : float
        Michelson contrast, ``0 <= contrast <= min(1, (1 - mean) / mean)``.
    mean : float
        Mean luminance in (0, 1).
    ppd : float
        Display resolution in pixels per degree.
    dtype : torch.dtype
        Floating-point dtype of the result (computation is in float64).
    device : torch.device or str, optional
        Device of the result (default CPU).

    Returns
    -------
    torch.Tensor
        3 x H x W tensor with values in [0, 1], identical in the three channels.
    """
    return _single(
        "grating",
        size,
        frequency,
        orientation,
        phase,
        contrast,
        mean,
        ppd,
        None,
        None,
        dtype,
        device,
    )


def concentric_grating(
    size: int | tuple[int, int],
    frequency: float,
    phase: float = 0.0,
    contrast: float = 1.0,
    mean: float = 0.5,
    *,
    ppd: float = 60.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Concentric (radial) grating ``mean * (1 + contrast * cos(2 pi f_cpp r + phase))``.

    It contains all orientations, ``r`` being the distance in pixels from the image centre.

    Parameters
    ----------
    size : int or tuple of int
        Image size: ``S`` for S x S, or ``(H, W)``.
    frequency : float
        Radial spatial frequency in cycles per degree, ``0 < frequency < ppd / 2``.
    phase : float
        Phase at the centre in degrees (0 = luminance maximum at the centre).
    contrast : float
        Michelson contrast, ``0 <= contrast <= min(1, (1 - mean) / mean)``.
    mean : float
        Mean luminance in (0, 1).
    ppd : float
        Display resolution in pixels per degree.
    dtype : torch.dtype
        Floating-point dtype of the result (computation is in float64).
    device : torch.device or str, optional
        Device of the result (default CPU).

    Returns
    -------
    torch.Tensor
        3 x H x W tensor with values in [0, 1], identical in the three channels.
    """
    return _single(
        "concentric", size, frequency, 0.0, phase, contrast, mean, ppd, None, None, dtype, device
    )


def gabor(
    size: int | tuple[int, int],
    frequency: float,
    orientation: float = 0.0,
    phase: float = 0.0,
    contrast: float = 1.0,
    mean: float = 0.5,
    *,
    sigma_deg: float,
    ppd: float = 60.0,
    sigma_y_deg: float | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Gabor patch: a grating under a Gaussian envelope centred on the image centre.

    ``contrast`` is the peak Michelson contrast (reached at the centre of the envelope).

    Parameters
    ----------
    size : int or tuple of int
        Image size: ``S`` for S x S, or ``(H, W)``.
    frequency : float
        Carrier frequency in cycles per degree, ``0 < frequency < ppd / 2``.
    orientation : float
        Direction of the wave vector in degrees, counter-clockwise from +x
        (0 = vertical bars, 90 = horizontal bars).
    phase : float
        Carrier phase at the centre in degrees (0 = cosine phase, 90 = sine phase).
    contrast : float
        Peak Michelson contrast, ``0 <= contrast <= min(1, (1 - mean) / mean)``.
    mean : float
        Mean (background) luminance in (0, 1).
    sigma_deg : float
        Standard deviation of the envelope along the wave vector, in degrees.
    ppd : float
        Display resolution in pixels per degree.
    sigma_y_deg : float, optional
        Standard deviation across the wave vector (along the bars), in degrees; default
        ``sigma_deg``.
    dtype : torch.dtype
        Floating-point dtype of the result (computation is in float64).
    device : torch.device or str, optional
        Device of the result (default CPU).

    Returns
    -------
    torch.Tensor
        3 x H x W tensor with values in [0, 1], identical in the three channels.
    """
    return _single(
        "gabor",
        size,
        frequency,
        orientation,
        phase,
        contrast,
        mean,
        ppd,
        sigma_deg,
        sigma_y_deg,
        dtype,
        device,
    )


# --------------------------------------------------------------------------------------------
# grid of stimuli

_DEFAULT_ORIENTATIONS: tuple[float, ...] = tuple(15.0 * i for i in range(12))
_DEFAULT_PHASES: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
_DOC_META_KEYS = ("kind", "schema_version", "hvsprobe_version", "n_stimuli", "units")


@dataclass(frozen=True)
class StimulusGrid:
    """Full factorial grid of stimuli over frequency x orientation x phase x contrast.

    Stimuli are numbered by a flat index in C order over the shape ``(F, O, P, C)``: the
    contrast varies fastest, the frequency slowest.

    Parameters
    ----------
    frequencies : tuple of float
        Spatial frequencies in cycles per degree, strictly increasing, each in
        ``(0, ppd / 2)``.
    orientations : tuple of float
        Wave-vector orientations in degrees (0 = vertical bars), unique; default 0, 15, ..., 165.
        For ``kind='concentric'`` exactly one value, which is ignored when rendering.
    phases : tuple of float
        Phases at the image centre in degrees, unique; default 0, 90, 180, 270.
    contrasts : tuple of float
        Michelson contrasts, unique, each in ``[0, min(1, (1 - mean) / mean)]``.
    ppd : float
        Display resolution in pixels per degree.
    size : tuple of int
        Image size ``(H, W)``, each ``>= 8``; an int ``S`` is accepted for ``(S, S)``.
    mean : float
        Mean luminance in (0, 1).
    kind : str
        ``'grating'``, ``'gabor'`` or ``'concentric'``.
    gabor_sigma_deg : float, optional
        Standard deviation of the (isotropic) Gabor envelope in degrees; required for
        ``kind='gabor'`` and refused otherwise.

    Notes
    -----
    Lists and arrays are normalised to tuples of float, so instances are hashable and compare
    by value.
    """

    frequencies: tuple[float, ...]
    orientations: tuple[float, ...] = _DEFAULT_ORIENTATIONS
    phases: tuple[float, ...] = _DEFAULT_PHASES
    contrasts: tuple[float, ...] = (1.0,)
    ppd: float = 60.0
    size: tuple[int, int] = (224, 224)
    mean: float = 0.5
    kind: str = "grating"
    gabor_sigma_deg: float | None = field(default=None)

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if not isinstance(self.kind, str):
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        check_choice(self.kind, "stimulus kind", KINDS)
        ppd = check_positive(self.ppd, "ppd")
        put("ppd", ppd)
        put("size", _check_size(self.size, "size", min_size=8))
        mean = _check_mean(self.mean)
        put("mean", mean)

        freqs = _as_float_tuple(self.frequencies, "frequencies")
        for i, f in enumerate(freqs):
            _check_frequency(f, ppd, f"frequencies[{i}]")
        if any(b <= a for a, b in zip(freqs, freqs[1:], strict=False)):
            raise ValueError(f"frequencies must be strictly increasing, got {freqs}")
        put("frequencies", freqs)

        orients = _as_float_tuple(self.orientations, "orientations")
        if self.kind == "concentric" and len(orients) != 1:
            raise ValueError(
                "a concentric grating contains all orientations, so kind='concentric' needs "
                f"exactly one orientation (it is ignored), got {len(orients)}: {orients}; "
                "pass orientations=(0.0,)"
            )
        put("orientations", orients)
        put("phases", _as_float_tuple(self.phases, "phases"))
        contrasts = _as_float_tuple(self.contrasts, "contrasts")
        for i, c in enumerate(contrasts):
            _check_contrast(c, mean, f"contrasts[{i}]")
        put("contrasts", contrasts)

        if self.kind == "gabor":
            if self.gabor_sigma_deg is None:
                raise ValueError(
                    "kind='gabor' needs gabor_sigma_deg, the standard deviation of the Gaussian "
                    "envelope in degrees"
                )
            put("gabor_sigma_deg", check_positive(self.gabor_sigma_deg, "gabor_sigma_deg"))
        elif self.gabor_sigma_deg is not None:
            raise ValueError(
                f"gabor_sigma_deg is only used with kind='gabor', got gabor_sigma_deg="
                f"{self.gabor_sigma_deg!r} with kind={self.kind!r}; leave it as None"
            )

    @classmethod
    def default(
        cls,
        *,
        ppd: float = 60.0,
        size: int | tuple[int, int] = 224,
        n_frequencies: int = 24,
        n_orientations: int | None = None,
        n_phases: int = 4,
        f_min: float = 0.5,
        f_max: float | None = None,
        contrast: float = 1.0,
        kind: str = "grating",
        mean: float = 0.5,
        gabor_sigma_deg: float | None = None,
    ) -> StimulusGrid:
        """Standard grid: log-spaced frequencies, evenly spaced orientations and phases.

        Parameters
        ----------
        ppd : float
            Display resolution in pixels per degree.
        size : int or tuple of int
            Image size ``S`` or ``(H, W)``.
        n_frequencies : int
            Number of frequencies, log-spaced from ``f_min`` to ``f_max`` (both included).
        n_orientations : int, optional
            Number of orientations ``i * 180 / n``; default 12, or 1 for ``kind='concentric'``.
        n_phases : int
            Number of phases ``j * 360 / n_phases``.
        f_min : float
            Lowest frequency in cycles per degree.
        f_max : float, optional
            Highest frequency in cycles per degree; default ``0.95 * ppd / 2``.
        contrast : float
            Michelson contrast of every stimulus.
        kind : str
            ``'grating'``, ``'gabor'`` or ``'concentric'``.
        mean : float
            Mean luminance in (0, 1).
        gabor_sigma_deg : float, optional
            Envelope standard deviation in degrees, required for ``kind='gabor'``.

        Returns
        -------
        StimulusGrid
        """
        ppd = check_positive(ppd, "ppd")
        if n_orientations is None:
            n_orientations = 1 if kind == "concentric" else 12
        counts = {"n_frequencies": n_frequencies, "n_orientations": n_orientations}
        counts["n_phases"] = n_phases
        for name, n in counts.items():
            if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{name} must be an int >= 1, got {n!r}")
        f_lo = _check_frequency(f_min, ppd, "f_min")
        f_hi = 0.95 * ppd / 2.0 if f_max is None else _check_frequency(f_max, ppd, "f_max")
        if n_frequencies > 1 and not f_lo < f_hi:
            raise ValueError(
                f"f_min must be below f_max for {n_frequencies} frequencies, got f_min={f_lo:g} "
                f"and f_max={f_hi:g} cycles/degree (ppd {ppd:g}, Nyquist {ppd / 2:g})"
            )
        freqs = np.geomspace(f_lo, f_hi, int(n_frequencies))
        return cls(
            frequencies=tuple(float(f) for f in freqs),
            orientations=tuple(i * 180.0 / n_orientations for i in range(int(n_orientations))),
            phases=tuple(j * 360.0 / n_phases for j in range(int(n_phases))),
            contrasts=(float(contrast),),
            ppd=ppd,
            size=size,  # type: ignore[arg-type]
            mean=mean,
            kind=kind,
            gabor_sigma_deg=gabor_sigma_deg,
        )

    @classmethod
    def paper_v1(cls) -> StimulusGrid:
        """The stimuli of the authors' first (v1) MATLAB code, as a grid.

        Concentric gratings (every orientation at once), 227 x 227 pixels, mean 0.5 and
        amplitude 0.5 (Michelson contrast 1), phase 0, one contrast, and the linear
        frequency grid 0.1 : 0.5 : 29.6 cycles/degree (60 values). Their code maps cycles
        per degree to cycles per pixel as ``f / 61.8``, i.e. an effective 61.8 px/deg.

        Examples
        --------
        >>> g = StimulusGrid.paper_v1()
        >>> len(g.frequencies), g.frequencies[0], g.frequencies[-1], g.ppd, g.kind
        (60, 0.1, 29.6, 61.8, 'concentric')
        """
        freqs = tuple(round(0.1 + 0.5 * i, 10) for i in range(60))
        return cls(
            frequencies=freqs,
            orientations=(0.0,),
            phases=(0.0,),
            contrasts=(1.0,),
            ppd=61.8,
            size=(227, 227),
            mean=0.5,
            kind="concentric",
        )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(F, O, P, C)``: numbers of frequencies, orientations, phases and contrasts."""
        return (
            len(self.frequencies),
            len(self.orientations),
            len(self.phases),
            len(self.contrasts),
        )

    def __len__(self) -> int:
        f, o, p, c = self.shape
        return f * o * p * c

    def table(self) -> dict[str, np.ndarray]:
        """Parameters of every stimulus, one row per flat index.

        Returns
        -------
        dict of str to numpy.ndarray
            Arrays of length ``len(self)``: ``index``, ``i_frequency``, ``i_orientation``,
            ``i_phase``, ``i_contrast`` (int64) and ``frequency_cpd``, ``frequency_cpp``,
            ``orientation_deg``, ``phase_deg``, ``contrast`` (float64).
        """
        index = np.arange(len(self), dtype=np.int64)
        return self._params(index)

    def _params(self, index: np.ndarray) -> dict[str, np.ndarray]:
        i_f, i_o, i_p, i_c = (a.astype(np.int64) for a in np.unravel_index(index, self.shape))
        freqs = np.asarray(self.frequencies, dtype=np.float64)[i_f]
        return {
            "index": index.astype(np.int64),
            "i_frequency": i_f,
            "i_orientation": i_o,
            "i_phase": i_p,
            "i_contrast": i_c,
            "frequency_cpd": freqs,
            "frequency_cpp": freqs / self.ppd,
            "orientation_deg": np.asarray(self.orientations, dtype=np.float64)[i_o],
            "phase_deg": np.asarray(self.phases, dtype=np.float64)[i_p],
            "contrast": np.asarray(self.contrasts, dtype=np.float64)[i_c],
        }

    def _flat_indices(self, indices: object) -> np.ndarray:
        n = len(self)
        if isinstance(indices, slice):
            return np.arange(n, dtype=np.int64)[indices]
        if isinstance(indices, torch.Tensor):
            indices = indices.detach().cpu().numpy()
        arr = np.asarray(indices)
        if arr.dtype == np.bool_:
            raise TypeError("indices must be integers (flat stimulus indices), got booleans")
        if arr.ndim > 1:
            raise ValueError(f"indices must be an int or one-dimensional, got shape {arr.shape}")
        arr = arr.reshape(-1)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"indices must be integers (flat stimulus indices), got {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = (arr < -n) | (arr >= n)
        if bad.any():
            raise IndexError(
                f"stimulus index {int(arr[bad][0])} is out of range for a grid of {n} stimuli"
            )
        return np.where(arr < 0, arr + n, arr)

    def render(
        self,
        indices: int | Sequence[int] | np.ndarray | torch.Tensor | slice,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """Render the stimuli with the given flat indices.

        Parameters
        ----------
        indices : int, sequence of int, numpy.ndarray, torch.Tensor or slice
            Flat indices in ``[-len(self), len(self))``; an int renders one stimulus.
        device : torch.device or str, optional
            Device of the result (and of the computation); default CPU.
        dtype : torch.dtype
            Floating-point dtype of the result (computation is in float64).

        Returns
        -------
        torch.Tensor
            N x 3 x H x W with values in [0, 1] (N = 1 for an int index).

        Raises
        ------
        IndexError
            If an index is out of range.
        """
        _check_dtype(dtype)
        idx = self._flat_indices(indices)
        p = self._params(idx)
        sigma = None if self.gabor_sigma_deg is None else self.gabor_sigma_deg * self.ppd
        return _render(
            self.size,
            p["frequency_cpp"],
            p["orientation_deg"],
            p["phase_deg"],
            p["contrast"],
            self.mean,
            self.kind,
            sigma,
            sigma,
            device,
            dtype,
        )

    def batches(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """Iterate over the whole grid in order, ``batch_size`` stimuli at a time.

        Parameters
        ----------
        batch_size : int
            Largest number of stimuli per batch (the last batch may be smaller).
        device : torch.device or str, optional
            Device of the images; default CPU.
        dtype : torch.dtype
            Floating-point dtype of the images.

        Yields
        ------
        indices : numpy.ndarray
            The flat indices (int64) of the batch.
        images : torch.Tensor
            The stimuli, ``len(indices)`` x 3 x H x W.
        """
        if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        _check_dtype(dtype)
        n = len(self)
        for start in range(0, n, int(batch_size)):
            idx = np.arange(start, min(start + int(batch_size), n), dtype=np.int64)
            yield idx, self.render(idx, device=device, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description of the grid.

        The document carries ``kind='stimulus_grid'`` and ``schema_version`` (readable with
        :func:`hvsprobe._io.check_schema`); the stimulus kind is stored as ``stimulus_kind``.

        Returns
        -------
        dict
        """
        from . import __version__

        return {
            "kind": GRID_DOC_KIND,
            "schema_version": GRID_SCHEMA_VERSION,
            "hvsprobe_version": __version__,
            "stimulus_kind": self.kind,
            "frequencies": list(self.frequencies),
            "orientations": list(self.orientations),
            "phases": list(self.phases),
            "contrasts": list(self.contrasts),
            "ppd": self.ppd,
            "size": list(self.size),
            "mean": self.mean,
            "gabor_sigma_deg": self.gabor_sigma_deg,
            "n_stimuli": len(self),
            "units": {
                "frequencies": "cycles/degree",
                "orientations": "degrees, wave-vector direction counter-clockwise from +x, y up",
                "phases": "degrees at the image centre, 0 = cosine phase",
                "contrasts": "Michelson",
                "ppd": "pixels/degree",
                "size": "pixels (H, W)",
                "mean": "display luminance in [0, 1]",
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StimulusGrid:
        """Rebuild a grid from :meth:`to_dict` output (or a hand-written dict of fields).

        Parameters
        ----------
        d : dict
            Either a ``stimulus_grid`` document written by :meth:`to_dict`, or a plain dict of
            constructor arguments (``kind`` then names the stimulus kind).

        Returns
        -------
        StimulusGrid

        Raises
        ------
        ValueError
            On an unsupported schema version, a foreign document kind or unknown keys.
        """
        if not isinstance(d, dict):
            raise TypeError(f"expected a dict, got {type(d).__name__}")
        data = dict(d)
        doc_kind = data.get("kind")
        if doc_kind == GRID_DOC_KIND or "schema_version" in data:
            from ._io import check_schema

            check_schema(data, GRID_DOC_KIND, GRID_SCHEMA_VERSION, "stimulus grid")
            for key in _DOC_META_KEYS:
                data.pop(key, None)
            if "stimulus_kind" in data:
                data["kind"] = data.pop("stimulus_kind")
        elif "stimulus_kind" in data:
            if doc_kind is not None and doc_kind != data["stimulus_kind"]:
                raise ValueError(
                    f"conflicting kind {doc_kind!r} and stimulus_kind {data['stimulus_kind']!r}"
                )
            data["kind"] = data.pop("stimulus_kind")
        fields = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - fields - set(_DOC_META_KEYS))
        if unknown:
            raise ValueError(
                f"unknown StimulusGrid keys {unknown}; expected some of {sorted(fields)}"
            )
        if "frequencies" not in data:
            raise ValueError("a StimulusGrid dict needs 'frequencies'")
        kwargs = {k: v for k, v in data.items() if k in fields}
        if isinstance(kwargs.get("size"), list):
            kwargs["size"] = tuple(kwargs["size"])
        return cls(**kwargs)
