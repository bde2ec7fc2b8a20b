"""Paired comparisons of metrics on the same human data: differences, intervals, verdicts.

Two metrics (or two channel subsets of one network) evaluated on the *same* rows are not
independent: their correlations with the human scores share the sampling noise of the rows.
The question "is A better than B?" is answered by the **difference** of their statistics,
with an interval from a *paired* bootstrap: every replicate draws reference images (groups)
with replacement and recomputes both statistics on the same drawn rows, so the difference
carries only the noise that does not cancel.

* :func:`group_bootstrap` — the engine: statistics of many variants on shared replicates;
* :func:`paired_difference` — statistic(A) − statistic(B) with its interval and, for rank
  statistics, a permutation p-value (A and B swapped within whole groups);
* :func:`random_control` — where one subset falls in the distribution of random subsets: a
  percentile with its own interval, and the difference to the random median;
* :func:`verdict` — ``"supported"``, ``"contradicted"`` or ``"not resolved by these data"``
  from an interval of a difference oriented so that positive favours the claim.

Conventions: ``x`` values are oriented like the human scores (see
:mod:`hvsprobe.evaluate.iqa`: higher = better quality on both sides), so a better metric has
a larger SRCC.  Statistics where lower is better (RMSE) pass ``higher_is_better=False``; the
difference is always reported as A − B in the statistic's own units, and the verdict looks at
its sign in the direction of "A is better".
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from .resampling import (
    StatisticFn,
    bootstrap_replicates,
    bootstrap_srcc,
    check_level,
    group_bootstrap,
    group_indices,
    percentile_interval,
    rank_correlations,
    statistic_function,
)

__all__ = [
    "SUPPORTED",
    "CONTRADICTED",
    "NOT_RESOLVED",
    "VERDICTS",
    "PairedDifference",
    "RandomControl",
    "bootstrap_srcc",
    "difference_from_replicates",
    "group_bootstrap",
    "paired_difference",
    "random_control",
    "random_control_from_replicates",
    "rank_correlations",
    "swap_permutation_pvalue",
    "verdict",
]

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NOT_RESOLVED = "not resolved by these data"
#: The three possible verdicts, in this order.
VERDICTS: tuple[str, str, str] = (SUPPORTED, CONTRADICTED, NOT_RESOLVED)


def verdict(low: float, high: float, *, higher_is_better: bool = True) -> str:
    """One of :data:`VERDICTS` from the interval ``[low, high]`` of a difference A − B.

    Parameters
    ----------
    low, high : float
        Interval of the difference A − B of a statistic.
    higher_is_better : bool
        Whether a larger statistic is better (SRCC: yes; RMSE: no).

    Returns
    -------
    str
        ``"supported"`` (A better than B) when the whole interval lies on A's better side of
        0, ``"contradicted"`` when it lies on the other side, else ``"not resolved by these
        data"`` (also for a NaN interval).

    Examples
    --------
    >>> verdict(0.01, 0.05)
    'supported'
    >>> verdict(0.01, 0.05, higher_is_better=False)
    'contradicted'
    >>> verdict(-0.02, 0.05)
    'not resolved by these data'
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return NOT_RESOLVED
    sign = 1.0 if higher_is_better else -1.0
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return SUPPORTED
    if hi < 0:
        return CONTRADICTED
    return NOT_RESOLVED


# --------------------------------------------------------------------------------------------
# A versus B


@dataclass(frozen=True)
class PairedDifference:
    """Statistic(A) − statistic(B) on the same rows, with a paired bootstrap interval.

    Attributes
    ----------
    statistic : str
        Name of the statistic (``'srcc'``, ``'rmse'``, ...).
    a, b : float
        The statistic of A and of B on all rows.
    diff : float
        ``a - b``.
    low, high : float
        Percentile interval of the difference over replicates that resample groups.
    level : float
        Confidence level.
    n_boot, n_failed : int
        Replicates drawn, and those where either statistic failed (left out).
    n_rows, n_groups : int
        Rows and groups (reference images) of the data.
    higher_is_better : bool
        Direction of the statistic.
    p_value : float or None
        Two-sided permutation p-value of "A and B are exchangeable" (A and B swapped within
        whole groups), where computed; ``None`` otherwise.
    verdict : str
        :func:`verdict` of the interval: is A better than B?
    """

    statistic: str
    a: float
    b: float
    diff: float
    low: float
    high: float
    level: float
    n_boot: int
    n_failed: int
    n_rows: int
    n_groups: int
    higher_is_better: bool
    p_value: float | None
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return dict(self.__dict__)

    def text(self, nd: int = 3) -> str:
        """``'+0.012 [-0.004, +0.030]: not resolved by these data'``."""
        p = "" if self.p_value is None else f", permutation p = {self.p_value:.3g}"
        return f"{self.diff:+.{nd}f} [{self.low:+.{nd}f}, {self.high:+.{nd}f}]{p}: {self.verdict}"


def difference_from_replicates(
    a: float,
    b: float,
    reps_a: np.ndarray,
    reps_b: np.ndarray,
    *,
    statistic: str,
    n_rows: int,
    n_groups: int,
    higher_is_better: bool = True,
    level: float = 0.95,
    p_value: float | None = None,
) -> PairedDifference:
    """A :class:`PairedDifference` from point values and replicates computed elsewhere.

    ``reps_a`` and ``reps_b`` must come from the *same* bootstrap replicates (e.g. two
    columns of one :func:`group_bootstrap` result), which is what makes the interval paired.

    Examples
    --------
    >>> r = np.linspace(0.01, 0.05, 101)
    >>> difference_from_replicates(0.9, 0.87, 0.9 + r, 0.9 + 0 * r, statistic="srcc",
    ...                            n_rows=10, n_groups=5).verdict
    'supported'
    """
    ra = np.asarray(reps_a, dtype=np.float64)
    rb = np.asarray(reps_b, dtype=np.float64)
    if ra.shape != rb.shape or ra.ndim != 1:
        raise ValueError(f"replicates must be 1-D of equal length, got {ra.shape} and {rb.shape}")
    lo, hi, failed = percentile_interval(ra - rb, check_level(level))
    if n_groups < 2:
        lo = hi = math.nan
    return PairedDifference(
        statistic,
        float(a),
        float(b),
        float(a) - float(b),
        lo,
        hi,
        float(level),
        int(ra.size),
        failed,
        int(n_rows),
        int(n_groups),
        bool(higher_is_better),
        p_value,
        verdict(lo, hi, higher_is_better=higher_is_better),
    )


def swap_permutation_pvalue(
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    statistic: str | StatisticFn = "srcc",
    *,
    n_perm: int = 10000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of "A and B are exchangeable", swapping them within whole groups.

    ``a`` and ``b`` are replaced by their ranks first (on one common scale 1..n), so a swap
    never mixes two metrics' units; this fits rank statistics (SRCC, KRCC), which do not
    change under ranking.  With ``2**G <= n_perm`` every swap pattern is enumerated (exact
    test; with 4 groups the smallest possible p is 2/16); otherwise ``n_perm`` random
    patterns give ``p = (1 + #{|d*| >= |d|}) / (1 + n_perm)``.

    Examples
    --------
    >>> y = np.arange(12.0); g = np.repeat(np.arange(6), 2)
    >>> swap_permutation_pvalue(y, y[::-1], y, g)  # 2**6 = 64 patterns, exact
    0.03125
    """
    f = statistic_function(statistic)
    ya = np.asarray(y, dtype=np.float64)
    ra, rb = sps.rankdata(a), sps.rankdata(b)
    index = group_indices(groups, ya.size)
    n_groups = len(index)
    membership = np.zeros((n_groups, ya.size), dtype=bool)
    for k, rows in enumerate(index):
        membership[k, rows] = True

    def diffs(swaps: np.ndarray) -> np.ndarray:
        """``|d|`` for a (P, G) block of swap patterns, all statistics in one call each."""
        rows = swaps.astype(np.float64) @ membership.astype(np.float64) > 0  # (P, n)
        xa, xb = np.where(rows, rb, ra), np.where(rows, ra, rb)
        return np.abs(f(xa, ya) - f(xb, ya))

    observed = float(diffs(np.zeros((1, n_groups), dtype=bool))[0])
    tol = 1e-12 * max(1.0, observed)
    block = max(1, 200_000 // max(ya.size, 1))
    if 2**n_groups <= n_perm:
        patterns = np.array(list(itertools.product((0, 1), repeat=n_groups)), dtype=bool)
        hits = sum(
            int(np.sum(diffs(patterns[i : i + block]) >= observed - tol))
            for i in range(0, len(patterns), block)
        )
        return hits / len(patterns)
    rng = np.random.default_rng(seed)
    swaps = rng.integers(0, 2, (n_perm, n_groups)).astype(bool)
    hits = sum(
        int(np.sum(diffs(swaps[i : i + block]) >= observed - tol)) for i in range(0, n_perm, block)
    )
    return (1 + hits) / (1 + n_perm)


def paired_difference(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    statistic: str | StatisticFn = "srcc",
    higher_is_better: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    n_perm: int = 2000,
) -> PairedDifference:
    """Statistic(A) − statistic(B) against the same human scores, with a paired interval.

    Parameters
    ----------
    a, b : array_like
        Predictions of metrics A and B for the same rows, oriented like ``y`` (a distance
        is negated against a quality score; see :mod:`hvsprobe.evaluate.iqa`).
    y : array_like
        Human scores.
    groups : array_like
        Resampling unit of every row (reference image).
    statistic : {'srcc', 'krcc', 'plcc'} or callable
        ``'plcc'`` refits the logistic per metric and replicate; a callable ``g(x, y)``
        returns a float for one metric.
    higher_is_better : bool
        Direction of the statistic (for the verdict).
    n_boot, seed, level : int, int, float
        Bootstrap replicates, seed and confidence level.
    n_perm : int
        Permutations of :func:`swap_permutation_pvalue`, computed for ``'srcc'`` and
        ``'krcc'`` only (0 skips it).

    Returns
    -------
    PairedDifference

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q = rng.normal(size=60); g = np.repeat(np.arange(20), 3)
    >>> good, bad = q + 0.1 * rng.normal(size=60), q + 2.0 * rng.normal(size=60)
    >>> paired_difference(good, bad, q, g, n_boot=200).verdict
    'supported'
    """
    xa = np.asarray(a, dtype=np.float64).reshape(-1)
    xb = np.asarray(b, dtype=np.float64).reshape(-1)
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if not (xa.size == xb.size == ya.size):
        raise ValueError(f"a, b and y must have equal lengths, got {xa.size}, {xb.size}, {ya.size}")
    if not (np.isfinite(xa).all() and np.isfinite(xb).all() and np.isfinite(ya).all()):
        raise ValueError("a, b and y must be finite (found NaN or infinite values)")
    f = statistic_function(statistic)
    x = np.stack([xa, xb])
    point = f(x, ya)
    n_groups = len(group_indices(groups, ya.size))
    reps = bootstrap_replicates(f, statistic, x, ya, groups, n_boot, seed)
    p = None
    if n_perm and statistic in ("srcc", "krcc") and n_groups >= 2:
        p = swap_permutation_pvalue(xa, xb, ya, groups, statistic, n_perm=n_perm, seed=seed)
    name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    return difference_from_replicates(
        point[0],
        point[1],
        reps[:, 0],
        reps[:, 1],
        statistic=name,
        n_rows=ya.size,
        n_groups=n_groups,
        higher_is_better=higher_is_better,
        level=level,
        p_value=p,
    )


# --------------------------------------------------------------------------------------------
# one subset against the distribution of random subsets


@dataclass(frozen=True)
class RandomControl:
    """Where one subset's statistic falls among random subsets of the same size.

    Attributes
    ----------
    statistic : str
        Statistic name.
    value : float
        The subset's statistic on all rows.
    random_median : float
        Median statistic of the random subsets on all rows.
    percentile, percentile_low, percentile_high : float
        Share (in %) of random subsets the subset beats (ties count half), on all rows and
        its bootstrap interval.
    difference : PairedDifference
        value − random median, with the paired interval and :func:`verdict` ("is the subset
        better than a typical random subset?").
    n_random : int
        Number of random subsets.
    """

    statistic: str
    value: float
    random_median: float
    percentile: float
    percentile_low: float
    percentile_high: float
    difference: PairedDifference
    n_random: int

    @property
    def verdict(self) -> str:
        """The verdict of :attr:`difference`."""
        return self.difference.verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        d = {k: v for k, v in self.__dict__.items() if k != "difference"}
        d["difference"] = self.difference.to_dict()
        return d


def _percentile_beaten(value: np.ndarray, randoms: np.ndarray, higher: bool) -> np.ndarray:
    """Per row: 100 x (share of randoms worse than value + half the ties); NaN if no finite."""
    v = np.asarray(value, dtype=np.float64)[:, None]
    r = np.asarray(randoms, dtype=np.float64)
    ok = np.isfinite(r)
    better = (v > r) if higher else (v < r)
    share = (np.sum(better & ok, axis=1) + 0.5 * np.sum((v == r) & ok, axis=1)) / np.maximum(
        ok.sum(axis=1), 1
    )
    out = 100.0 * share
    return np.where((ok.sum(axis=1) > 0) & np.isfinite(v[:, 0]), out, np.nan)


def random_control_from_replicates(
    value: float,
    randoms: np.ndarray,
    reps_value: np.ndarray,
    reps_randoms: np.ndarray,
    *,
    statistic: str,
    n_rows: int,
    n_groups: int,
    higher_is_better: bool = True,
    level: float = 0.95,
) -> RandomControl:
    """A :class:`RandomControl` from point values and shared replicates.

    Parameters
    ----------
    value : float
        The subset's statistic on all rows.
    randoms : array_like
        ``(R,)`` statistics of the random subsets on all rows.
    reps_value, reps_randoms : array_like
        ``(B,)`` and ``(B, R)`` replicates from the same bootstrap draws.
    statistic, n_rows, n_groups, higher_is_better, level
        As in :func:`difference_from_replicates`.

    Examples
    --------
    >>> rc = random_control_from_replicates(0.95, np.array([0.90, 0.91, 0.92]),
    ...     np.full(10, 0.95), np.tile([0.90, 0.91, 0.92], (10, 1)), statistic="srcc",
    ...     n_rows=20, n_groups=5)
    >>> rc.percentile, rc.verdict
    (100.0, 'supported')
    """
    rnd = np.asarray(randoms, dtype=np.float64).reshape(-1)
    rv = np.asarray(reps_value, dtype=np.float64).reshape(-1)
    rr = np.asarray(reps_randoms, dtype=np.float64).reshape(rv.size, rnd.size)
    pct = float(_percentile_beaten(np.array([value]), rnd[None], higher_is_better)[0])
    reps_pct = _percentile_beaten(rv, rr, higher_is_better)
    lo, hi, _ = percentile_interval(reps_pct, check_level(level))
    with np.errstate(all="ignore"):
        reps_med = np.nanmedian(np.where(np.isfinite(rr), rr, np.nan), axis=1)
    med = float(np.nanmedian(rnd)) if np.isfinite(rnd).any() else math.nan
    diff = difference_from_replicates(
        value,
        med,
        rv,
        reps_med,
        statistic=statistic,
        n_rows=n_rows,
        n_groups=n_groups,
        higher_is_better=higher_is_better,
        level=level,
    )
    return RandomControl(statistic, float(value), med, pct, lo, hi, diff, int(rnd.size))


def random_control(
    x: Sequence[float] | np.ndarray,
    randoms: np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    statistic: str | StatisticFn = "srcc",
    higher_is_better: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> RandomControl:
    """Where the predictions ``x`` fall among random-subset predictions, with uncertainty.

    Parameters
    ----------
    x : array_like
        ``(n,)`` predictions of the subset under test (oriented like ``y``).
    randoms : array_like
        ``(R, n)`` predictions of ``R`` random subsets on the same rows.
    y, groups, statistic, higher_is_better, n_boot, seed, level
        As in :func:`paired_difference`.

    Returns
    -------
    RandomControl

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> q = rng.normal(size=60); g = np.repeat(np.arange(20), 3)
    >>> rnd = q + rng.normal(size=(10, 60))
    >>> rc = random_control(q + 0.05 * rng.normal(size=60), rnd, q, g, n_boot=200)
    >>> rc.percentile
    100.0
    """
    xa = np.asarray(x, dtype=np.float64).reshape(1, -1)
    rr = np.atleast_2d(np.asarray(randoms, dtype=np.float64))
    ya = np.asarray(y, dtype=np.float64).reshape(-1)
    if xa.shape[1] != ya.size or rr.shape[1] != ya.size:
        raise ValueError(
            f"x ({xa.shape[1]}), randoms ({rr.shape[1]} columns) and y ({ya.size}) must match"
        )
    f = statistic_function(statistic)
    allx = np.concatenate([xa, rr])
    point = f(allx, ya)
    reps = bootstrap_replicates(f, statistic, allx, ya, groups, n_boot, seed)
    name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    return random_control_from_replicates(
        point[0],
        point[1:],
        reps[:, 0],
        reps[:, 1:],
        statistic=name,
        n_rows=ya.size,
        n_groups=len(group_indices(groups, ya.size)),
        higher_is_better=higher_is_better,
        level=level,
    )
