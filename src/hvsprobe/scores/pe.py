"""PE, the combined score: mu1 times mu2, normalised within the layer."""

from __future__ import annotations

import numpy as np

__all__ = ["normalise_pe"]


def normalise_pe(
    mu1: np.ndarray, mu2: np.ndarray, variant: str, reference: np.ndarray | None = None
) -> np.ndarray:
    """PE of every channel with finite scores, normalised within the layer.

    The layer maxima (``product_layer_max``) and percentile ranks (``product_layer_rank``)
    are taken over the ``reference`` channels (default: all with finite scores; the driver
    passes the selectable ones, so that a near-silent or border-driven channel cannot set
    the scale). Flagged channels are scored on the same scale and may exceed 1.

    Examples
    --------
    >>> mu1, mu2 = np.array([1.0, 2.0, np.nan]), np.array([0.5, 1.0, 0.2])
    >>> normalise_pe(mu1, mu2, "product_layer_max").tolist()
    [0.25, 1.0, nan]
    >>> normalise_pe(mu1, mu2, "product").tolist()
    [0.5, 2.0, nan]
    """
    live = np.isfinite(mu1) & np.isfinite(mu2)
    ref = live if reference is None else (live & reference)
    if not ref.any():
        ref = live
    pe = np.full(mu1.shape, np.nan)
    if not live.any():
        return pe
    a, b = mu1[live], mu2[live]
    if variant == "product":
        pe[live] = a * b
    elif variant == "product_layer_max":
        ma, mb = mu1[ref].max(), mu2[ref].max()
        pe[live] = (a / ma if ma > 0 else 0.0) * (b / mb if mb > 0 else 0.0)
    elif variant == "product_layer_rank":
        ra, rb = np.sort(mu1[ref]), np.sort(mu2[ref])

        def pct(sorted_ref: np.ndarray, v: np.ndarray) -> np.ndarray:
            lo = np.searchsorted(sorted_ref, v, side="left")
            hi = np.searchsorted(sorted_ref, v, side="right")
            return (lo + hi + 1) / 2.0 / sorted_ref.size  # mid-rank, as scipy's rankdata

        pe[live] = pct(ra, a) * pct(rb, b)
    return pe
