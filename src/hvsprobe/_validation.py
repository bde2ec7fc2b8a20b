"""Input checks shared by every public function: images, numbers, choices, CSF frequencies
and parameters (the CSF formulas), paired 1-D samples (the statistics).

Each helper raises :class:`ValueError` (or :class:`TypeError` for wrong types)
with a message that says what was expected and what arrived.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeGuard

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import torch

#: The input ranges the metrics accept (``input_range=``).
INPUT_RANGES = ((0.0, 1.0), (-1.0, 1.0))
#: How far outside the range counts as a slight under/overshoot (resampling, sharpening):
#: the hint is then to clamp, not to rescale.
SLIGHT = 0.1


def check_input_range(value: object, name: str = "input_range") -> tuple[float, float]:
    """Return ``value`` as ``(0.0, 1.0)`` or ``(-1.0, 1.0)``; ``ValueError`` for anything else.

    Examples
    --------
    >>> check_input_range((-1, 1))
    (-1.0, 1.0)
    """
    try:
        pair = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pair = ()
    if isinstance(value, str | bytes) or pair not in INPUT_RANGES:
        raise ValueError(f"{name} must be (0, 1) or (-1, 1), got {value!r}")
    return pair  # type: ignore[return-value]


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (numpy booleans too), else ``TypeError``.

    A string such as ``'no'`` or ``'false'`` is refused rather than taken as true.

    Examples
    --------
    >>> check_bool(False, "spatial")
    False
    """
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_" and type(value).__module__ == "numpy":
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def range_hint(lo: float, hi: float, low: float, high: float) -> str:
    """A hint for values in ``[lo, hi]`` that should lie in ``[low, high]`` (``''`` if none).

    * within ``SLIGHT`` of the range (e.g. -0.01 or 1.02 after resampling): clamp;
    * expected [0, 1] and clearly negative but within [-1, 1]: ``input_range=(-1, 1)``;
    * non-negative with a maximum above 2 and at most 255 (65535): divide by 255 (65535).
    """
    if lo >= low - SLIGHT and hi <= high + SLIGHT:
        text = (
            f" It looks slightly out of range (resampling?): clamp with x.clamp({low:g}, {high:g})"
        )
        if low == 0.0 and lo < 0.0:
            text += "; if the images are in [-1, 1], pass input_range=(-1, 1)"
        return text + "."
    if low == 0.0 and lo >= -1.0 - SLIGHT and hi <= 1.0 + SLIGHT:
        return " It looks like [-1, 1] input: pass input_range=(-1, 1)."
    then = "" if low == 0.0 else " and pass input_range=(0, 1)"
    if lo >= -SLIGHT and 2.0 < hi <= 255.0 + SLIGHT:
        return f" It looks like [0, 255] input: divide by 255{then}."
    if lo >= -SLIGHT and 255.0 < hi <= 65535.0 + SLIGHT:
        return f" It looks like 16-bit [0, 65535] input: divide by 65535{then}."
    return ""


def is_tensor(x: object) -> TypeGuard[torch.Tensor]:
    """Whether ``x`` is a :class:`torch.Tensor`, without importing torch.

    Nothing can be a tensor before torch is imported, so this module (and with it the
    report, the scores and the stimulus grid) loads without torch.

    Examples
    --------
    >>> is_tensor([1.0, 2.0])
    False
    """
    module = sys.modules.get("torch")
    return module is not None and isinstance(x, module.Tensor)


def check_value_range(
    x: torch.Tensor, name: str, low: float = 0.0, high: float = 1.0, *, hint: str | None = None
) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN/inf or values outside ``[low, high]``.

    ``hint`` replaces the automatic :func:`range_hint` when given.
    """
    import torch

    with torch.no_grad():
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
    if lo < low or hi > high:
        extra = range_hint(lo, hi, low, high) if hint is None else hint
        raise ValueError(
            f"{name} must have values in [{low:g}, {high:g}], got range [{lo:.4g}, {hi:.4g}].{extra}"
        )


def check_images(
    x: object,
    name: str = "x",
    *,
    min_size: int = 1,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Check that ``x`` is a float image batch N x 3 x H x W with values in ``value_range``.

    Parameters
    ----------
    x : object
        The candidate tensor.
    name : str
        Name used in error messages.
    min_size : int
        Smallest allowed height and width.
    value_range : tuple of float
        Allowed values, ``(0, 1)`` by default (``(-1, 1)`` for ``input_range=(-1, 1)``).
        Values slightly outside (within 0.1) get the hint to clamp, clearly negative values
        above -1 the hint ``input_range=(-1, 1)``, maxima up to 255 the hint to divide by 255.
        A [-1, 1] image whose minimum is >= 0 cannot be told from a [0, 1] one: that is
        why the metrics take an explicit ``input_range``.

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

    Examples
    --------
    >>> import torch
    >>> check_images(torch.zeros(1, 3, 4, 4)).shape
    torch.Size([1, 3, 4, 4])
    """
    low, high = value_range
    if not is_tensor(x):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape N x 3 x H x W, got {type(x).__name__}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor with values in [{low:g}, {high:g}], got "
            f"dtype {x.dtype}; convert uint8 images with x.float() / 255"
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
    check_value_range(x, name, low, high)
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


def check_frequency(frequency_cpd: ArrayLike, name: str = "frequency_cpd") -> np.ndarray:
    """Return ``frequency_cpd`` as a float array after checking it is finite and > 0."""
    try:
        f = np.asarray(frequency_cpd, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number or an array of numbers (cycles per degree), "
            f"got {type(frequency_cpd).__name__}"
        ) from None
    if f.size and not bool(np.all(np.isfinite(f))):
        raise ValueError(f"{name} must be finite; it contains NaN or infinite values")
    if f.size and bool(np.any(f <= 0)):
        raise ValueError(
            f"{name} must be > 0 cycles per degree, got minimum {float(np.min(f)):.6g}"
        )
    return f


def check_positive_array(value: ArrayLike, name: str, *, allow_zero: bool = False) -> np.ndarray:
    """Return ``value`` as a float array after checking it is finite and positive."""
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not bool(np.all(np.isfinite(v))):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = v < 0 if allow_zero else v <= 0
    if bool(np.any(bad)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return v


def paired_arrays(x: object, y: object, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float64 1-D arrays; ``ValueError`` unless equal-length, finite, >= ``min_n``."""
    xa = np.asarray(x, dtype=np.float64).reshape(-1) if np.ndim(x) <= 1 else None
    ya = np.asarray(y, dtype=np.float64).reshape(-1) if np.ndim(y) <= 1 else None
    if xa is None or ya is None:
        raise ValueError(
            f"x and y must be one-dimensional, got shapes {np.shape(x)} and {np.shape(y)}"
        )
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must have the same length, got {xa.size} and {ya.size}")
    if xa.size < min_n:
        raise ValueError(f"need at least {min_n} points, got {xa.size}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite (found NaN or infinite values)")
    return xa, ya
