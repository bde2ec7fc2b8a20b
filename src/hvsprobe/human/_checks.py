"""Input checks shared by the CSF formulas: finite positive frequencies and parameters."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["check_frequency", "check_positive_array"]


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
