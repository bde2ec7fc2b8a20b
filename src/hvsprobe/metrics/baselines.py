"""Classic full-reference baselines: PSNR, SSIM and MS-SSIM, per sample.

SSIM and MS-SSIM are computed by ``pytorch-msssim`` (Gaussian window 11 / sigma 1.5, 'valid'
filtering, K = (0.01, 0.03), Wang et al.'s five MS-SSIM weights). What makes them reproduce the
official MATLAB numbers is the input convention, which is the default here:

* ``color="gray"``: RGB is turned into luma with MATLAB ``rgb2gray``'s coefficients
  (0.2989, 0.5870, 0.1140) on the 0-255 scale,
* ``quantize=True``: the luma is rounded to integer levels, as ``rgb2gray`` does on ``uint8``
  images (the rounding uses a straight-through gradient, so the metrics stay differentiable),
* no automatic downsampling (``downsample=False``), and ``data_range`` 255 internally.

PSNR is ``10 log10(data_range^2 / MSE)`` over all channels and pixels (``skimage``'s
``peak_signal_noise_ratio`` on RGB). All three accept ``N x 1 x H x W`` or ``N x 3 x H x W``
floating-point images in ``[0, data_range]``, or in [-1, 1] with ``input_range=(-1, 1)`` (mapped
to [0, 1] first; ``data_range`` must then be 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    check_bool,
    check_choice,
    check_comparable,
    check_input_range,
    check_positive,
    check_value_range,
)
from .perceptual import REDUCTIONS, reduce_batch

__all__ = ["MSSSIM", "PSNR", "SSIM", "ms_ssim", "psnr", "rgb_to_gray", "ssim"]

#: MATLAB ``rgb2gray`` weights (the luma row of ``inv(ntsc2rgb)``, ~ ITU-R BT.601).
MATLAB_GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)
COLORS = ("gray", "rgb")
#: pytorch-msssim refuses smaller images: the fifth scale must still hold an 11-pixel window.
MS_SSIM_MIN_SIZE = 161
SSIM_MIN_SIZE = 11


def _msssim_lib() -> Any:
    try:
        import pytorch_msssim
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ssim/ms_ssim need the 'pytorch-msssim' package: pip install pytorch-msssim"
        ) from exc
    return pytorch_msssim


def check_image_pair(
    x: object,
    y: object,
    *,
    data_range: float = 1.0,
    min_size: int = 1,
    what: str = "this metric",
    value_range: tuple[float, float] | None = None,
) -> None:
    """Validate a pair of ``N x C x H x W`` (C = 1 or 3) images in ``[0, data_range]``.

    ``value_range`` replaces ``(0, data_range)`` as the allowed range when given.

    Raises
    ------
    TypeError
        Not a floating-point tensor, or ``x``/``y`` dtypes differ.
    ValueError
        Wrong rank or channel count, shapes differ, NaN/inf, values outside the range, images
        smaller than ``min_size``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 16, 16)
    >>> check_image_pair(x, x)  # a valid pair: nothing happens
    >>> check_image_pair(x, x[:, :, :8])
    Traceback (most recent call last):
        ...
    ValueError: x and y must have the same shape, got (1, 3, 16, 16) and (1, 3, 8, 16)
    """
    low, high = (0.0, data_range) if value_range is None else value_range
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor N x C x H x W, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(
                f"{name} must be a floating-point tensor with values in [0, {data_range:g}], got "
                f"dtype {t.dtype}; convert uint8 images with x.float() / 255"
            )
        if t.ndim != 4 or t.shape[1] not in (1, 3):
            raise ValueError(
                f"{name} must have shape N x 3 x H x W (or N x 1 x H x W), got {tuple(t.shape)}"
            )
        if t.numel() == 0:
            raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
        if t.shape[2] < min_size or t.shape[3] < min_size:
            raise ValueError(
                f"{name} is {t.shape[2]} x {t.shape[3]} pixels, smaller than the "
                f"{min_size} x {min_size} {what} needs"
            )
        hint, d = None, t.detach()
        if low == 0.0 and high == 1.0 and float(d.max()) > 2.0 and float(d.min()) >= 0.0:
            hint = " Pass data_range=255 for 0-255 images."
        check_value_range(t, name, low, high, hint=hint)
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
    check_comparable(x, y)


def _unit_pair(
    x: object,
    y: object,
    data_range: float,
    input_range: object,
    *,
    min_size: int = 1,
    what: str = "this metric",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``x``, ``y`` and map them from ``input_range`` to ``[0, data_range]``."""
    rng = check_input_range(input_range)
    if rng[0] < 0 and data_range != 1.0:
        raise ValueError(f"input_range=(-1, 1) needs data_range=1, got data_range={data_range:g}")
    value_range = (-1.0, 1.0) if rng[0] < 0 else None  # None: [0, data_range]
    check_image_pair(
        x, y, data_range=data_range, min_size=min_size, what=what, value_range=value_range
    )
    assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
    if rng[0] < 0:
        return (x + 1.0) * 0.5, (y + 1.0) * 0.5
    return x, y


def _round_ste(v: torch.Tensor) -> torch.Tensor:
    """Round to integers; the gradient passes straight through."""
    return v + (torch.round(v) - v).detach()


def rgb_to_gray(x: torch.Tensor, *, data_range: float = 1.0, quantize: bool = True) -> torch.Tensor:
    """MATLAB ``rgb2gray`` luma on the 0-255 scale, ``N x 1 x H x W``.

    ``quantize`` rounds to integer levels (what ``rgb2gray`` returns for ``uint8`` input) with a
    straight-through gradient. One-channel input is only rescaled (and rounded).

    Examples
    --------
    >>> import torch
    >>> rgb_to_gray(torch.ones(1, 3, 1, 2)).tolist()
    [[[[255.0, 255.0]]]]
    """
    v = x * (255.0 / data_range)
    if v.shape[1] == 3:
        coeff = torch.tensor(MATLAB_GRAY, dtype=v.dtype, device=v.device).view(1, 3, 1, 1)
        v = (v * coeff).sum(dim=1, keepdim=True)
    return _round_ste(v) if quantize else v


def _prepare(x: torch.Tensor, data_range: float, color: str, quantize: bool) -> torch.Tensor:
    if color == "gray":
        return rgb_to_gray(x, data_range=data_range, quantize=quantize)
    v = x * (255.0 / data_range)
    return _round_ste(v) if quantize else v


def _symmetric_pad(v: torch.Tensor, before: int, after: int, dim: int) -> torch.Tensor:
    """MATLAB 'symmetric' padding (mirror including the edge sample) along ``dim``."""
    parts = []
    if before:
        parts.append(v.narrow(dim, 0, before).flip(dim))
    parts.append(v)
    if after:
        parts.append(v.narrow(dim, v.shape[dim] - after, after).flip(dim))
    return torch.cat(parts, dim=dim) if len(parts) > 1 else v


def wang_downsample(v: torch.Tensor) -> torch.Tensor:
    """The automatic downsampling of Wang's 2009 ``ssim.m``.

    ``f = max(1, round(min(H, W) / 256))``; an ``f x f`` mean filter (``imfilter``,
    'symmetric') followed by taking every ``f``-th pixel.

    Examples
    --------
    >>> import torch
    >>> tuple(wang_downsample(torch.rand(1, 1, 512, 512)).shape), tuple(wang_downsample(torch.rand(1, 1, 300, 300)).shape)
    ((1, 1, 256, 256), (1, 1, 300, 300))
    """
    f = max(1, math.floor(min(v.shape[-2:]) / 256 + 0.5))
    if f == 1:
        return v
    before, after = (f + 1) // 2 - 1, f - (f + 1) // 2  # MATLAB's kernel centre for size f
    for dim in (2, 3):
        v = _symmetric_pad(v, before, after, dim)
    return F.avg_pool2d(v, kernel_size=f, stride=f)


def psnr(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    *,
    reduction: str = "none",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, per sample, over all channels and pixels.

    ``inf`` for identical images, with a gradient of 0 there (not NaN). Matches
    ``skimage.metrics.peak_signal_noise_ratio`` on RGB images (the official calibration row
    is PSNR on RGB 0-255). ``input_range=(-1, 1)`` maps [-1, 1] inputs to [0, 1] first.

    Examples
    --------
    >>> x = torch.full((1, 3, 4, 4), 0.5)
    >>> round(float(psnr(x, x + 0.1)[0]), 2)
    20.0
    """
    data_range = check_positive(data_range, "data_range")
    check_choice(reduction, "reduction", REDUCTIONS)
    x, y = _unit_pair(x, y, data_range, input_range, what="PSNR")
    mse = (x - y).pow(2).flatten(1).mean(dim=1)
    same = mse == 0
    value = 10.0 * torch.log10(data_range**2 / torch.where(same, torch.ones_like(mse), mse))
    return reduce_batch(torch.where(same, torch.full_like(value, math.inf), value), reduction)


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    quantize: bool = True,
    downsample: bool = False,
    reduction: str = "none",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004), per sample; 1 for identical images.

    Parameters
    ----------
    x, y : torch.Tensor
        ``N x 3 x H x W`` (or ``N x 1 x H x W``) in ``[0, data_range]``, at least 11 x 11.
    data_range : float
        Value range of the inputs.
    color : {'gray', 'rgb'}
        ``'gray'``: SSIM of the MATLAB ``rgb2gray`` luma (reproduces the official values);
        ``'rgb'``: mean of the per-channel SSIMs.
    quantize : bool
        Round to 8-bit levels first (as the official code on ``uint8`` images);
        straight-through gradient.
    downsample : bool
        Apply the automatic downsampling of Wang's 2009 ``ssim.m`` (off: the official
        calibration values are computed without it).
    reduction : {'none', 'mean', 'sum'}
    input_range : (0, 1) or (-1, 1)
        ``(-1, 1)`` maps [-1, 1] inputs to [0, 1] first (``data_range`` must be 1).

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 16, 16)
    >>> float(ssim(x, x)[0]), float(ssim(x, x.flip(-1))[0]) < 1.0
    (1.0, True)
    """
    return _structural_similarity(
        x, y, False, data_range, color, quantize, downsample, reduction, input_range
    )


def ms_ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    data_range: float = 1.0,
    color: str = "gray",
    quantize: bool = True,
    reduction: str = "none",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), per sample; 1 for identical images.

    Five scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2 x 2 mean
    downsampling. Needs images of at least 161 x 161 pixels. Arguments as in :func:`ssim`.
    On odd sizes pytorch-msssim pads the 2 x 2 mean with zeros where MATLAB mirrors: border
    pixels then differ slightly from the MATLAB code.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 161, 161)
    >>> float(ms_ssim(x, x)[0])
    1.0
    """
    return _structural_similarity(
        x, y, True, data_range, color, quantize, False, reduction, input_range
    )


def _structural_similarity(
    x: torch.Tensor,
    y: torch.Tensor,
    multiscale: bool,
    data_range: float,
    color: str,
    quantize: bool,
    downsample: bool,
    reduction: str,
    input_range: tuple[float, float],
) -> torch.Tensor:
    """:func:`ssim` and :func:`ms_ssim`: the same checks, luma and 11-tap Gaussian window."""
    data_range = check_positive(data_range, "data_range")
    check_choice(color, "color", COLORS)
    check_choice(reduction, "reduction", REDUCTIONS)
    check_bool(quantize, "quantize")
    check_bool(downsample, "downsample")
    min_size, what = (MS_SSIM_MIN_SIZE, "MS-SSIM") if multiscale else (SSIM_MIN_SIZE, "SSIM")
    x, y = _unit_pair(x, y, data_range, input_range, min_size=min_size, what=what)
    a, b = _prepare(x, data_range, color, quantize), _prepare(y, data_range, color, quantize)
    if downsample:
        a, b = wang_downsample(a), wang_downsample(b)
        if min(a.shape[-2:]) < SSIM_MIN_SIZE:
            raise ValueError("the downsampled images are smaller than the 11 x 11 SSIM window")
    lib = _msssim_lib()
    index = lib.ms_ssim if multiscale else lib.ssim
    val = index(a, b, data_range=255.0, size_average=False, win_size=11, win_sigma=1.5)
    return reduce_batch(val, reduction)


def _check_baseline_options(
    data_range: float, reduction: str, input_range: object, color: str = "gray"
) -> None:
    """The constructor checks shared by :class:`PSNR`, :class:`SSIM` and :class:`MSSSIM`."""
    data_range = check_positive(data_range, "data_range")
    check_choice(reduction, "reduction", REDUCTIONS)
    check_choice(color, "color", COLORS)
    if check_input_range(input_range)[0] < 0 and data_range != 1.0:
        raise ValueError(f"input_range=(-1, 1) needs data_range=1, got data_range={data_range:g}")


class _Baseline(nn.Module):
    """A baseline as a module with the registry's interface."""

    name = ""
    higher_is_better = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.kwargs = kwargs

    #: The function the module calls (a ``staticmethod`` in each subclass).
    _fn: Callable[..., torch.Tensor]

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self._fn(x, y, **self.kwargs)

    def extra_repr(self) -> str:  # noqa: D102
        return ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())


class PSNR(_Baseline):
    """:func:`psnr` as a module (``name='psnr'``, higher is better).

    Examples
    --------
    >>> import torch
    >>> metric = PSNR(reduction="mean")
    >>> x = torch.full((2, 3, 4, 4), 0.5)
    >>> round(float(metric(x, x + 0.1)), 2), metric.higher_is_better
    (20.0, True)
    """

    name = "psnr"

    def __init__(
        self,
        data_range: float = 1.0,
        *,
        reduction: str = "none",
        input_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        _check_baseline_options(data_range, reduction, input_range)
        super().__init__(data_range=data_range, reduction=reduction, input_range=input_range)

    _fn = staticmethod(psnr)


class SSIM(_Baseline):
    """:func:`ssim` as a module (``name='ssim'``, higher is better).

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 16, 16)
    >>> SSIM(color="rgb")(x, x)
    tensor([1.])
    """

    name = "ssim"

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        color: str = "gray",
        quantize: bool = True,
        downsample: bool = False,
        reduction: str = "none",
        input_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        _check_baseline_options(data_range, reduction, input_range, color)
        check_bool(quantize, "quantize")
        if check_bool(downsample, "downsample") and not self._downsample:
            raise ValueError(f"{self.name} takes no downsample= (it downsamples by itself)")
        options = {"downsample": downsample} if self._downsample else {}
        super().__init__(
            data_range=data_range,
            color=color,
            quantize=quantize,
            **options,
            reduction=reduction,
            input_range=input_range,
        )

    _fn: Callable[..., torch.Tensor] = staticmethod(ssim)
    _downsample = True  # whether the options include ``downsample``


class MSSSIM(SSIM):
    """:func:`ms_ssim` as a module (``name='ms-ssim'``, higher is better); options as
    :class:`SSIM` except ``downsample``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 161, 161)
    >>> MSSSIM()(x, x)
    tensor([1.])
    """

    name = "ms-ssim"

    _fn: Callable[..., torch.Tensor] = staticmethod(ms_ssim)
    _downsample = False
