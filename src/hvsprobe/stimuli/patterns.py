"""Rendering of the stimulus patterns: gratings, concentric gratings and Gabor patches.

See :mod:`hvsprobe.stimuli` for the conventions (luminance, coordinates, phase, envelope).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np

from .._validation import check_positive
from ._checks import (
    FLOAT32,
    _check_contrast,
    _check_dtype,
    _check_finite,
    _check_frequency,
    _check_mean,
    _check_size,
)
from .geometry import cos_sin_deg

if TYPE_CHECKING:
    import torch

__all__ = ["KINDS", "concentric_grating", "gabor", "grating"]

#: Stimulus kinds understood by :class:`~hvsprobe.stimuli.StimulusGrid`.
KINDS: tuple[str, ...] = ("grating", "gabor", "concentric")


def _columns(
    f_cpp: np.ndarray, orientation_deg: np.ndarray, phase_deg: np.ndarray, contrast: np.ndarray
) -> dict[str, np.ndarray]:
    """Per-stimulus factors of the formula as float64 arrays of shape ``(N, 1, 1)``.

    Shared by :func:`_render` (torch) and :func:`_render_array` (numpy): ``2 pi f_cpp``, the
    cosine and sine of the orientation, the phase in radians and the contrast.
    """

    def col(values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)

    cos_t, sin_t = cos_sin_deg(orientation_deg)
    return {
        "two_pi_f": col(2.0 * math.pi * np.asarray(f_cpp, dtype=np.float64)),
        "cos": col(cos_t),
        "sin": col(sin_t),
        "phase": col(np.deg2rad(np.asarray(phase_deg, dtype=np.float64))),
        "contrast": col(contrast),
    }


def _coordinates(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates ``x`` (1 x 1 x W, to the right) and ``y`` (1 x H x 1, up), in float64.

    The values are integers or half-integers, so they are exact whatever computes them.
    """
    x = (np.arange(w, dtype=np.float64) - (w - 1) / 2.0).reshape(1, 1, w)
    y = ((h - 1) / 2.0 - np.arange(h, dtype=np.float64)).reshape(1, h, 1)
    return x, y


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
    loop over stimuli or pixels.  :func:`_render_array` is the same formula in numpy.
    """
    import torch

    h, w = size
    out_device = torch.device(device) if device is not None else torch.device("cpu")
    # float64 is not available on every backend (e.g. Apple MPS): compute there on the CPU.
    work = out_device if out_device.type != "mps" else torch.device("cpu")
    c = {
        k: torch.as_tensor(v, device=work)
        for k, v in _columns(f_cpp, orientation_deg, phase_deg, contrast).items()
    }
    n = int(c["two_pi_f"].shape[0])
    x, y = (torch.as_tensor(a, device=work) for a in _coordinates(h, w))
    envelope = None
    if kind == "concentric":
        arg = torch.sqrt(x * x + y * y) * c["two_pi_f"]  # r, the distance from the centre
    else:
        arg = x * c["cos"] + y * c["sin"]  # u, the coordinate along the wave vector
        if kind == "gabor":
            assert sigma_px is not None and sigma_y_px is not None
            v = y * c["cos"] - x * c["sin"]  # across the wave vector (along the bars)
            envelope = (arg / sigma_px).square_().add_(v.div_(sigma_y_px).square_())
            envelope = envelope.mul_(-0.5).exp_()
        arg = arg.mul_(c["two_pi_f"])
    # in-place from here on: one N x H x W float64 buffer (two for Gabor patches)
    lum = arg.add_(c["phase"]).cos_()
    if envelope is not None:
        lum = lum.mul_(envelope)
    lum = lum.mul_(c["contrast"]).add_(1.0).mul_(mean).clamp_(0.0, 1.0).to(dtype=dtype)
    return lum.unsqueeze(1).expand(n, 3, h, w).contiguous().to(out_device)


def _render_array(
    size: tuple[int, int],
    f_cpp: np.ndarray,
    orientation_deg: np.ndarray,
    phase_deg: np.ndarray,
    contrast: np.ndarray,
    mean: float,
    kind: str,
    sigma_px: float | None,
    sigma_y_px: float | None,
) -> np.ndarray:
    """:func:`_render` in numpy, without torch: ``N`` stimuli as one float64 N x H x W array.

    The same operations in the same order; only the cosine and exponential come from
    numpy rather than torch, so the values agree with :func:`_render` in float64 to a few
    units in the last place.
    """
    c = _columns(f_cpp, orientation_deg, phase_deg, contrast)
    x, y = _coordinates(*size)
    envelope = None
    arg: np.ndarray
    if kind == "concentric":
        arg = np.sqrt(x * x + y * y) * c["two_pi_f"]
    else:
        arg = x * c["cos"] + y * c["sin"]
        if kind == "gabor":
            assert sigma_px is not None and sigma_y_px is not None
            v = y * c["cos"] - x * c["sin"]
            envelope = np.square(arg / sigma_px) + np.square(v / sigma_y_px)
            envelope = np.exp(envelope * -0.5, out=envelope)
        arg *= c["two_pi_f"]
    arg += c["phase"]
    lum: np.ndarray = np.cos(arg, out=arg)
    if envelope is not None:
        lum *= envelope
    lum *= c["contrast"]
    lum += 1.0
    lum *= mean
    np.clip(lum, 0.0, 1.0, out=lum)
    return lum


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
    p = check_positive(cast(float, ppd), "ppd")
    f = _check_frequency(frequency, p)
    o = _check_finite(orientation, "orientation")
    ph = _check_finite(phase, "phase")
    m = _check_mean(mean)
    c = _check_contrast(contrast, m)
    dtype = _check_dtype(dtype)
    sx = sy = None
    if kind == "gabor":
        sx = check_positive(cast(float, sigma_deg), "sigma_deg") * p
        sy = (
            sx
            if sigma_y_deg is None
            else check_positive(cast(float, sigma_y_deg), "sigma_y_deg") * p
        )
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
