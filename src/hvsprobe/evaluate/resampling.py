"""Resampling engine of the paired comparisons: group bootstrap and vectorised statistics.

:func:`group_bootstrap` draws whole groups (reference images) with replacement and evaluates
a vector of statistics (one per variant) on the drawn rows; :func:`bootstrap_srcc` does the
same for Spearman correlations, vectorised over variants and replicates.  Used by
:mod:`hvsprobe.evaluate.paired` and the claim experiments.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import stats as sps

from .logistic import LogisticFitError, fit_logistic5

__all__ = [
    "StatisticFn",
    "bootstrap_replicates",
    "bootstrap_srcc",
    "check_level",
    "group_bootstrap",
    "group_indices",
    "percentile_interval",
    "rank_correlations",
    "statistic_function",
]

StatisticFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def rank_correlations(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of every row of ``x`` (V x n) with ``y`` (n,), vectorised.

    Ties get average ranks (as :func:`scipy.stats.spearmanr`); a constant row gives NaN.

    Examples
    --------
    >>> rank_correlations(np.array([[1.0, 2, 3], [3.0, 2, 1]]), np.array([1.0, 2, 4]))
    array([ 1., -1.])
    """
    xa = np.atleast_2d(np.asarray(x, dtype=np.float64))
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if xa.shape[1] != ya.size:
        raise ValueError(f"x has {xa.shape[1]} columns but y has {ya.size} values")
    rx = sps.rankdata(xa, axis=1)
    ry = sps.rankdata(ya)
    rx -= rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean()
    den = np.sqrt(np.sum(rx * rx, axis=1) * np.sum(ry * ry))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (rx @ ry) / den
    return np.where(den > 0, out, np.nan)


def _plcc_row(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    try:
        q = fit_logistic5(x, y, maxfev=400)(x)
    except LogisticFitError:
        return math.nan
    return float(np.corrcoef(q, y)[0, 1]) if np.ptp(q) > 0 else math.nan


def _krcc_row(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(sps.kendalltau(x, y).statistic)  # tau-b, as evaluate.stats.krcc


def statistic_function(statistic: str | StatisticFn) -> StatisticFn:
    """``f(X (V x n), y (n,)) -> (V,)`` for ``'srcc'``, ``'krcc'``, ``'plcc'`` or a callable.

    A callable ``g(x, y) -> float`` on one variant is applied to every row.

    Examples
    --------
    >>> f = statistic_function("srcc")
    >>> f(np.array([[1.0, 2, 3]]), np.array([1.0, 2, 3]))
    array([1.])
    """
    if callable(statistic):
        g = statistic

        def rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            return np.array([float(g(r, y)) for r in np.atleast_2d(x)])

        return rows
    if statistic == "srcc":
        return rank_correlations
    one = {"krcc": _krcc_row, "plcc": _plcc_row}.get(statistic)
    if one is None:
        raise ValueError(
            f"statistic must be 'srcc', 'krcc', 'plcc' or a callable, got {statistic!r}"
        )

    def each(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.array([one(r, y) for r in np.atleast_2d(x)])

    return each


def group_indices(groups: Sequence[Any] | np.ndarray, n: int) -> list[np.ndarray]:
    """The row indices of every group (groups in sorted order of their labels as text)."""
    g = np.asarray(groups)
    if g.ndim != 1 or g.size != n:
        raise ValueError(f"groups must be one-dimensional with {n} entries, got shape {g.shape}")
    _, inverse = np.unique(g.astype(str), return_inverse=True)
    return [np.flatnonzero(inverse == k) for k in range(int(inverse.max()) + 1)]


def _draws(
    groups: Sequence[Any] | np.ndarray, n_boot: int, seed: int
) -> tuple[list[tuple[int, ...]], list[np.ndarray]]:
    """The sorted group draws of ``n_boot`` replicates and the row indices of every group."""
    if not isinstance(n_boot, int | np.integer) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    g = np.asarray(groups)
    index = group_indices(g, g.size)
    picks = np.sort(np.random.default_rng(seed).integers(0, len(index), (int(n_boot), len(index))))
    return [tuple(int(k) for k in p) for p in picks], index


def bootstrap_srcc(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """:func:`group_bootstrap` of :func:`rank_correlations`, vectorised over replicates.

    Gives the same replicates as ``group_bootstrap(lambda r: rank_correlations(x[:, r],
    y[r]), groups, ...)``; replicates with the same number of rows are ranked in one call.

    Parameters
    ----------
    x : array_like
        ``(V, n)`` predictions of ``V`` variants.
    y : array_like
        ``(n,)`` human scores.
    groups : array_like
        Resampling unit per row.
    n_boot, seed : int
        Replicates and seed.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, V)`` Spearman correlations.

    Examples
    --------
    >>> x = np.arange(12.0)[None]; g = np.repeat(np.arange(4), 3)
    >>> bootstrap_srcc(x, x[0], g, n_boot=3)
    array([[1.],
           [1.],
           [1.]])
    """
    xa = np.atleast_2d(np.asarray(x, dtype=np.float64))
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    keys, index = _draws(groups, n_boot, seed)
    unique = list(dict.fromkeys(keys))
    rows = {k: np.concatenate([index[i] for i in k]) for k in unique}
    by_len: dict[int, list[tuple[int, ...]]] = {}
    for k in unique:
        by_len.setdefault(rows[k].size, []).append(k)
    memo: dict[tuple[int, ...], np.ndarray] = {}
    for ks in by_len.values():
        r = np.stack([rows[k] for k in ks])  # (K, m)
        rx = sps.rankdata(xa[:, r], axis=2)  # (V, K, m)
        ry = sps.rankdata(ya[r], axis=1)  # (K, m)
        rx -= rx.mean(axis=2, keepdims=True)
        ry -= ry.mean(axis=1, keepdims=True)
        den = np.sqrt(np.sum(rx * rx, axis=2) * np.sum(ry * ry, axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(den > 0, np.einsum("vkm,km->vk", rx, ry) / den, np.nan)
        for j, k in enumerate(ks):
            memo[k] = rho[:, j]
    return np.stack([memo[k] for k in keys])


def group_bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray],
    groups: Sequence[Any] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Replicates of a vector of statistics under resampling of whole groups.

    Every replicate draws ``G`` group ids with replacement out of the ``G`` groups and passes
    the row indices of all drawn groups to ``statistic``; replicates drawing the same
    multiset of groups are computed once (the statistics must not depend on row order).

    Parameters
    ----------
    statistic : callable
        ``statistic(rows) -> (V,)`` array: one value per variant for the rows ``rows``
        (integer indices); NaN marks a failed value.  A ``ValueError`` or
        :class:`~hvsprobe.evaluate.logistic.LogisticFitError` marks the whole replicate failed.
    groups : array_like
        Group label of every row (in IQA: the reference image).
    n_boot : int
        Number of replicates (>= 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, V)`` replicate statistics.

    Examples
    --------
    >>> x = np.arange(8.0); g = [0, 0, 1, 1, 2, 2, 3, 3]
    >>> group_bootstrap(lambda rows: np.array([x[rows].mean()]), g, n_boot=5).shape
    (5, 1)
    """
    keys, index = _draws(groups, n_boot, seed)
    memo: dict[tuple[int, ...], np.ndarray] = {}
    reps: list[np.ndarray] = []
    width = None
    for key in keys:
        if key not in memo:
            rows = np.concatenate([index[k] for k in key])
            try:
                memo[key] = np.asarray(statistic(rows), dtype=np.float64).reshape(-1)
            except (ValueError, LogisticFitError):
                memo[key] = np.array([])
            if memo[key].size:
                width = memo[key].size
        reps.append(memo[key])
    if width is None:
        raise ValueError("the statistic failed on every bootstrap replicate")
    return np.stack([r if r.size else np.full(width, np.nan) for r in reps])


def bootstrap_replicates(
    f: StatisticFn,
    statistic: str | StatisticFn,
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """``n_boot`` group-bootstrap replicates of ``f`` (rows of ``x``: metrics); SRCC takes its
    fast route (:func:`bootstrap_srcc`)."""
    if isinstance(statistic, str) and statistic == "srcc":
        return bootstrap_srcc(x, y, groups, n_boot=n_boot, seed=seed)
    return group_bootstrap(lambda rows: f(x[:, rows], y[rows]), groups, n_boot=n_boot, seed=seed)


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float, int]:
    """Percentile interval of the finite ``values`` and how many were not finite."""
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        return math.nan, math.nan, int(values.size)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.percentile(ok, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi), int(values.size - ok.size)


def check_level(level: float) -> float:
    """``level`` as a float in (0, 1), else ``ValueError``."""
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    return float(level)
