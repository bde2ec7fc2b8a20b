"""Input checks shared by every public function.

Each helper raises :class:`ValueError` (or :class:`TypeError` for wrong types)
with a message that says what was expected and what arrived.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def check_images(x: object, name: str = "x", *, min_size: int = 1) -> torch.Tensor:
    """Check that ``x`` is a float image batch N x 3 x H x W with values in [0, 1].

    Parameters
    ----------
    x : object
        The candidate tensor.
    name : str
        Name used in error messages.
    min_size : int
        Smallest allowed height and width.

    Returns
    -------
    torch.Tensor
        ``x`` itself, unchanged.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor.
    ValueError
        If the shape, the channel count or the value range is wrong, or ``x`` holds NaN/inf.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape N x 3 x H x W, got {type(x).__name__}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor with values in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape N x 3 x H x W, got shape {tuple(x.shape)}")
    if x.shape[1] != 3:
        raise ValueError(
            f"{name} must have 3 (RGB) channels in dimension 1, got {x.shape[1]} "
            f"(shape {tuple(x.shape)}); repeat grey images with x.expand(-1, 3, -1, -1)"
        )
    if x.shape[2] < min_size or x.shape[3] < min_size:
        raise ValueError(
            f"{name} is {x.shape[2]} x {x.shape[3]} pixels, smaller than the {min_size} x {min_size} "
            "this network needs"
        )
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    with torch.no_grad():
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        hint = ""
        if lo >= -1.0 and lo < 0.0 and hi <= 1.0:
            hint = " It looks like [-1, 1] input: pass (x + 1) / 2."
        elif hi > 1.0 and hi <= 255.0 and lo >= 0.0:
            hint = " It looks like [0, 255] input: pass x / 255."
        raise ValueError(
            f"{name} must have values in [0, 1], got range [{lo:.4g}, {hi:.4g}].{hint}"
        )
    return x


def check_same_shape(x: torch.Tensor, y: torch.Tensor, names: tuple[str, str] = ("x", "y")) -> None:
    """Raise ``ValueError`` unless ``x`` and ``y`` have the same shape."""
    if x.shape != y.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(x.shape)} and "
            f"{tuple(y.shape)}"
        )


def check_comparable(x: torch.Tensor, y: torch.Tensor) -> None:
    """Raise unless ``x`` and ``y`` (each already checked) can be compared elementwise.

    ``ValueError`` for different shapes or devices, ``TypeError`` for different dtypes.
    """
    check_same_shape(x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"x and y must have the same dtype, got {x.dtype} and {y.dtype}")
    if x.device != y.device:
        raise ValueError(f"x and y must be on the same device, got {x.device} and {y.device}")


def check_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is finite and positive (or zero when allowed)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def check_in_range(value: float, name: str, lo: float, hi: float) -> float:
    """Return ``float(value)`` if ``lo <= value <= hi``, else raise ``ValueError``."""
    v = float(value)
    if not (lo <= v <= hi) or math.isnan(v):
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value!r}")
    return v


def check_choice(value: str, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError`` listing them."""
    choices = list(choices)
    if value not in choices:
        raise ValueError(
            f"unknown {name} {value!r}; choose one of: {', '.join(map(repr, choices))}"
        )
    return value
