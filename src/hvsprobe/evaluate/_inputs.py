"""Input checks shared by the statistics: two equal-length, finite 1-D arrays."""

from __future__ import annotations

import numpy as np

__all__ = ["paired_arrays"]


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
