"""Validation of stimulus parameters: finite numbers, frequencies below Nyquist, sizes, dtypes.

Every check returns the normalised value or raises ``ValueError``/``TypeError`` naming the
parameter at fault and what would be accepted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np

from .._validation import is_tensor

if TYPE_CHECKING:
    import torch

_CONTRAST_TOL = 1e-9


class _Float32:
    """Stands for ``torch.float32`` as a default argument, so that defining the renderers
    (and importing :mod:`hvsprobe.stimuli`) needs no torch; :func:`check_dtype` resolves it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "torch.float32"


#: The default ``dtype=`` of the renderers: ``torch.float32`` once passed through
#: :func:`check_dtype`.
FLOAT32 = cast("torch.dtype", _Float32())


def check_finite(value: object, name: str) -> float:
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


def check_frequency_cpd(frequency: object, ppd: float, name: str = "frequency") -> float:
    """Return the frequency (cpd) as float if ``0 < frequency < ppd / 2``."""
    f = check_finite(frequency, name)
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


def check_mean(mean: object) -> float:
    m = check_finite(mean, "mean")
    if not 0.0 < m < 1.0:
        raise ValueError(f"mean luminance must lie in (0, 1) (display units), got {mean!r}")
    return m


def check_contrast(contrast: object, mean: float, name: str = "contrast") -> float:
    c = check_finite(contrast, name)
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


def check_size(size: object, name: str = "size", min_size: int = 1) -> tuple[int, int]:
    """Return ``(H, W)`` from an int or a pair of ints, each ``>= min_size``."""

    def is_int(v: object) -> bool:
        return isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_)

    expected = f"{name} must be an int or a pair (H, W) of ints >= {min_size}"
    if is_int(size):
        hw = (int(size), int(size))  # type: ignore[call-overload]
    elif isinstance(size, Sequence | np.ndarray) and not isinstance(size, str):
        items = list(size)
        if len(items) != 2 or not all(is_int(v) for v in items):
            raise ValueError(f"{expected}, got {size!r}")
        hw = (int(items[0]), int(items[1]))
    else:
        raise ValueError(f"{expected}, got {size!r}")
    if min(hw) < min_size:
        raise ValueError(f"{expected}, got {size!r}")
    return hw


def check_dtype(dtype: torch.dtype) -> torch.dtype:
    """Return ``dtype`` (``torch.float32`` for the default :data:`FLOAT32`) if it is a
    floating-point torch dtype, else raise ``TypeError``."""
    import torch

    if dtype is FLOAT32:
        return torch.float32
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def as_float_tuple(values: object, name: str) -> tuple[float, ...]:
    """Normalise a number or a 1-D sequence/array of numbers to a non-empty tuple of floats."""
    if isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    if is_tensor(values):
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
    out = tuple(check_finite(v, f"{name}[{i}]") for i, v in enumerate(items))
    if len(set(out)) != len(out):
        dup = sorted({v for v in out if out.count(v) > 1})
        raise ValueError(f"{name} must hold unique values, got duplicates {dup} in {out}")
    return out
