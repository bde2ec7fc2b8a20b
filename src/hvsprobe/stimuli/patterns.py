"""Rendering of the stimulus patterns: gratings, concentric gratings and Gabor patches.

See :mod:`hvsprobe.stimuli` for the conventions (luminance, coordinates, phase, envelope).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._validation import check_positive
from ._checks import (
    FLOAT32,
    check_contrast,
    check_dtype,
    check_finite,
    check_frequency_cpd,
    check_mean,
    check_size,
)
from .geometry import cos_sin_deg

if TYPE_CHECKING:
    import torch

__all__ = [
    "KINDS",
    "concentric_grating",
    "gabor",
    "gaussian_window",
    "grating",
    "grating_wave",
    "luminance",
    "square_window",
]

#: Stimulus kinds understood by :class:`~hvsprobe.stimuli.StimulusGrid`.
KINDS: tuple[str, ...] = ("grating", "gabor", "concentric")


def _backend(backend: str) -> Any:
    """The array module of ``backend``: numpy, or torch (imported only when asked for)."""
    if backend == "numpy":
        return np
    if backend == "torch":
        import torch

        return torch
    raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")


def _coordinates(h: int, w: int, xp: Any = np, device: Any = None) -> tuple[Any, Any]:
    """Pixel coordinates ``x`` (1 x 1 x W, to the right) and ``y`` (1 x H x 1, up), in float64.

    The values are integers or half-integers, so they are exact whatever computes them.
    """
    x = (np.arange(w, dtype=np.float64) - (w - 1) / 2.0).reshape(1, 1, w)
    y = ((h - 1) / 2.0 - np.arange(h, dtype=np.float64)).reshape(1, h, 1)
    if xp is np:
        return x, y
    return xp.as_tensor(x, device=device), xp.as_tensor(y, device=device)


def _column(values: object, xp: Any, device: Any) -> Any:
    """Per-stimulus values as a float64 ``(N, 1, 1)`` array of the backend."""
    col = np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)
    return col if xp is np else xp.as_tensor(col, device=device)


def gaussian_window(
    size: tuple[int, int],
    orientation_deg: object,
    sigma_u_px: float,
    sigma_v_px: float,
    *,
    backend: str = "numpy",
    device: Any = None,
) -> Any:
    """Gaussian envelopes ``exp(-(u / sigma_u)^2 / 2 - (v / sigma_v)^2 / 2)``, peak 1 at the centre.

    ``u = x cos(theta) + y sin(theta)`` is the coordinate along the wave vector and
    ``v = y cos(theta) - x sin(theta)`` the one across it (along the bars), in pixels from the
    image centre (see :mod:`hvsprobe.stimuli`).  A window for :func:`grating_wave`.

    Parameters
    ----------
    size : tuple of int
        ``(H, W)``.
    orientation_deg : float or array of float
        Wave-vector direction(s) ``theta`` in degrees, one per stimulus.
    sigma_u_px, sigma_v_px : float
        Standard deviations along and across the wave vector, in pixels.
    backend : {'numpy', 'torch'}
        Array library of the result.
    device : torch.device or str, optional
        Device of a torch result.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float64, N x H x W.

    Examples
    --------
    >>> w = gaussian_window((5, 5), 0.0, 1.0, 1.0)
    >>> w.shape, float(w[0, 2, 2]), round(float(w[0, 2, 3]), 4)  # exp(-1/2) one pixel right
    ((1, 5, 5), 1.0, 0.6065)
    """
    xp = _backend(backend)
    cos_t, sin_t = cos_sin_deg(np.atleast_1d(np.asarray(orientation_deg, dtype=np.float64)))
    c, s = _column(cos_t, xp, device), _column(sin_t, xp, device)
    x, y = _coordinates(*size, xp=xp, device=device)
    u = x * c + y * s
    v = y * c - x * s
    return xp.exp(((u / sigma_u_px) ** 2 + (v / sigma_v_px) ** 2) * -0.5)


def square_window(size: tuple[int, int], side_px: float, *, backend: str = "numpy") -> Any:
    """Anti-aliased square aperture of side ``side_px`` centred on the image, as 1 x H x W.

    Each pixel holds the fraction of its area inside ``|x|, |y| <= side_px / 2``.  A window for
    :func:`grating_wave`.

    Examples
    --------
    >>> square_window((4, 4), 2.0)[0].tolist()[1]
    [0.0, 1.0, 1.0, 0.0]
    """
    xp = _backend(backend)
    x, y = _coordinates(*size)
    half = 0.5 * side_px
    cover = np.clip(half - np.abs(x) + 0.5, 0.0, 1.0) * np.clip(half - np.abs(y) + 0.5, 0.0, 1.0)
    return cover if xp is np else xp.as_tensor(cover)


def grating_wave(
    size: tuple[int, int],
    kx: object,
    ky: object,
    phase_deg: object = 0.0,
    *,
    radial: bool = False,
    window: Any = None,
    backend: str = "numpy",
    device: Any = None,
) -> Any:
    """THE grating renderer of hvsprobe: unit-contrast waves ``window * cos(2 pi c + phase)``.

    ``c = frac(kx x + ky y)`` is the number of cycles from the image centre (taken modulo 1
    before the cosine, which keeps a grating whose wave vector fits a ``H x W`` torus exactly
    periodic in floating point); with ``radial=True``, ``c = frac(kx r)``, ``r`` the distance
    from the centre (concentric gratings; ``ky`` is ignored).  Coordinates are pixels from the
    image centre, ``x`` right and ``y`` up (:mod:`hvsprobe.stimuli`).  The stimulus grid, the
    torus route of :mod:`hvsprobe.response`, the psychophysics stimuli and the battery all
    render through this function; :func:`luminance` turns waves into images.

    Parameters
    ----------
    size : tuple of int
        ``(H, W)``.
    kx, ky : float or array of float
        Wave vector(s) in cycles per pixel, one per stimulus (broadcast together).
    phase_deg : float or array of float
        Phase at the centre in degrees (0 = cosine phase: the maximum at the centre).
    radial : bool
        Concentric gratings of radial frequency ``kx``.
    window : array, optional
        Envelope multiplied into the wave, broadcastable to N x H x W, of ``backend``
        (:func:`gaussian_window`, :func:`square_window`).
    backend : {'numpy', 'torch'}
        Array library; computation is float64 in both.
    device : torch.device or str, optional
        Device of a torch result.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        float64 N x H x W in [-1, 1].

    Examples
    --------
    >>> w = grating_wave((1, 8), 0.25, 0.0)  # 4 pixels per cycle, vertical bars
    >>> w.shape, [round(float(v), 3) for v in w[0, 0, :4]]
    ((1, 1, 8), [0.707, -0.707, -0.707, 0.707])
    """
    xp = _backend(backend)
    kx_a, ky_a, ph_a = np.broadcast_arrays(
        np.atleast_1d(np.asarray(kx, dtype=np.float64)),
        np.atleast_1d(np.asarray(ky, dtype=np.float64)),
        np.atleast_1d(np.asarray(phase_deg, dtype=np.float64)),
    )
    x, y = _coordinates(*size, xp=xp, device=device)
    if radial:
        cycles = xp.sqrt(x * x + y * y) * _column(kx_a, xp, device)
    else:
        cycles = x * _column(kx_a, xp, device) + y * _column(ky_a, xp, device)
    cycles = xp.remainder(cycles, 1.0)
    wave = xp.cos(2.0 * math.pi * cycles + _column(np.deg2rad(ph_a), xp, device))
    return wave if window is None else wave * window


def luminance(wave: Any, contrast: object, mean: float) -> Any:
    """Images ``clip(mean * (1 + contrast * wave), 0, 1)`` from waves (N x H x W, float64).

    ``contrast`` is one value per wave (or one for all); numpy or torch follows ``wave``.

    Examples
    --------
    >>> luminance(grating_wave((1, 4), 0.25, 0.0), 0.5, 0.5).round(3).tolist()
    [[[0.323, 0.677, 0.677, 0.323]]]
    """
    c: Any = np.asarray(contrast, dtype=np.float64).reshape(-1, 1, 1)
    if not isinstance(wave, np.ndarray):
        import torch

        c = torch.as_tensor(c, device=wave.device)
    lum = mean * (1.0 + c * wave)
    return lum.clip(0.0, 1.0)


def render_batch(
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
    """``N`` stimuli of the grid (parameters as 1-D arrays of length ``N``) as N x 3 x H x W."""
    import torch

    h, w = size
    out_device = torch.device(device) if device is not None else torch.device("cpu")
    # float64 is not available on every backend (e.g. Apple MPS): compute there on the CPU.
    work = out_device if out_device.type != "mps" else torch.device("cpu")
    lum: torch.Tensor = render_batch_array(
        size,
        f_cpp,
        orientation_deg,
        phase_deg,
        contrast,
        mean,
        kind,
        sigma_px,
        sigma_y_px,
        backend="torch",
        device=work,
    )
    n = int(lum.shape[0])
    return lum.to(dtype=dtype).unsqueeze(1).expand(n, 3, h, w).contiguous().to(out_device)


def render_batch_array(
    size: tuple[int, int],
    f_cpp: np.ndarray,
    orientation_deg: np.ndarray,
    phase_deg: np.ndarray,
    contrast: np.ndarray,
    mean: float,
    kind: str,
    sigma_px: float | None,
    sigma_y_px: float | None,
    *,
    backend: str = "numpy",
    device: Any = None,
) -> Any:
    """The grid's stimuli as float64 N x H x W luminance, through :func:`grating_wave`."""
    f = np.asarray(f_cpp, dtype=np.float64)
    cos_t, sin_t = cos_sin_deg(orientation_deg)
    window = None
    if kind == "gabor":
        assert sigma_px is not None and sigma_y_px is not None
        window = gaussian_window(
            size, orientation_deg, sigma_px, sigma_y_px, backend=backend, device=device
        )
    wave = grating_wave(
        size,
        f * cos_t if kind != "concentric" else f,
        f * sin_t,
        phase_deg,
        radial=kind == "concentric",
        window=window,
        backend=backend,
        device=device,
    )
    return luminance(wave, contrast, mean)


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
    hw = check_size(size)
    p = check_positive(cast(float, ppd), "ppd")
    f = check_frequency_cpd(frequency, p)
    o = check_finite(orientation, "orientation")
    ph = check_finite(phase, "phase")
    m = check_mean(mean)
    c = check_contrast(contrast, m)
    dtype = check_dtype(dtype)
    sx = sy = None
    if kind == "gabor":
        sx = check_positive(cast(float, sigma_deg), "sigma_deg") * p
        sy = (
            sx
            if sigma_y_deg is None
            else check_positive(cast(float, sigma_y_deg), "sigma_y_deg") * p
        )
    img = render_batch(
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
    dtype: torch.dtype = FLOAT32,
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

    Examples
    --------
    >>> img = grating(16, frequency=7.5, ppd=60.0)  # 8 pixels per cycle, vertical bars
    >>> img.shape, img.dtype
    (torch.Size([3, 16, 16]), torch.float32)
    >>> bool((img[:, 0] == img[:, 5]).all())  # constant along each column
    True
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
    dtype: torch.dtype = FLOAT32,
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

    Examples
    --------
    >>> img = concentric_grating(15, frequency=6.0, ppd=60.0)
    >>> float(img[0, 7, 7])  # phase 0: the maximum at the centre pixel
    1.0
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
    dtype: torch.dtype = FLOAT32,
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

    Examples
    --------
    >>> img = gabor(33, frequency=6.0, sigma_deg=0.05, ppd=60.0)
    >>> round(float(img[0, 16, 16]), 3), round(float(img[0, 0, 0]), 3)  # peak vs background
    (1.0, 0.5)
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
