"""Correlation statistics for quality metrics: SRCC, KRCC, PLCC, RMSE and bootstrap CIs.

Conventions
-----------
* Every function takes the metric's predictions ``x`` and the human scores ``y`` as 1-D
  arrays of equal length.  The functions are sign-agnostic: orient the inputs first (see
  :mod:`hvsprobe.evaluate.iqa`, which makes "higher = better quality" on both sides).
* PLCC and RMSE are computed *after* the 5-parameter logistic of VQEG (2000)::

      q(x) = b1 * (1/2 - 1 / (1 + exp(b2 (x - b3)))) + b4 x + b5

  fitted to map ``x`` onto ``y`` by least squares (:mod:`hvsprobe.evaluate.logistic`).  A
  failed fit is never hidden: the fit raises
  :class:`~hvsprobe.evaluate.logistic.LogisticFitError`, and the summaries record it.
* Bootstrap confidence intervals resample **groups** (in IQA: reference images), not rows:
  every replicate draws ``G`` group ids with replacement out of the ``G`` groups present and
  takes all rows of each drawn group.  Distorted versions of the same reference image are
  not independent, so resampling rows would give intervals that are too narrow.  Intervals
  are percentile intervals; the random generator is seeded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from .._validation import paired_arrays
from .logistic import LogisticFit, LogisticFitError, fit_logistic5
from .resampling import check_level, group_bootstrap, group_indices, percentile_interval

__all__ = [
    "STATISTICS",
    "BootstrapCI",
    "CorrelationSummary",
    "bootstrap_ci",
    "correlation_summary",
    "krcc",
    "plcc",
    "rmse",
    "srcc",
]

#: Names of the statistics computed by :func:`correlation_summary`, in order.
STATISTICS: tuple[str, ...] = ("srcc", "krcc", "plcc", "rmse")


# --------------------------------------------------------------------------------------------
# rank and linear correlations


def srcc(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman rank-order correlation coefficient (SRCC).

    Parameters
    ----------
    x, y : array_like
        Equal-length 1-D arrays (at least 2 finite values each).

    Returns
    -------
    float
        ``scipy.stats.spearmanr(x, y)``; NaN when either input is constant.
    """
    xa, ya = paired_arrays(x, y)
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return math.nan
    return float(stats.spearmanr(xa, ya).statistic)


def krcc(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Kendall rank correlation coefficient (tau-b, which handles ties).

    Parameters
    ----------
    x, y : array_like
        Equal-length 1-D arrays.

    Returns
    -------
    float
        ``scipy.stats.kendalltau(x, y)`` (tau-b); NaN when either input is constant.
    """
    xa, ya = paired_arrays(x, y)
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return math.nan
    return float(stats.kendalltau(xa, ya).statistic)


def plcc(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    fit: LogisticFit | None = None,
    logistic: bool = True,
) -> float:
    """Pearson linear correlation, by default after the 5-parameter logistic.

    Parameters
    ----------
    x, y : array_like
        Metric values and human scores.
    fit : LogisticFit, optional
        A logistic already fitted to ``(x, y)``; fitted here when omitted.
    logistic : bool
        ``False`` gives the plain Pearson correlation of ``x`` and ``y``.

    Returns
    -------
    float
        ``pearsonr(q(x), y)``; NaN when the mapped values are constant.

    Raises
    ------
    LogisticFitError
        If the logistic cannot be fitted.
    """
    xa, ya = paired_arrays(x, y)
    if logistic:
        xa = (fit if fit is not None else fit_logistic5(xa, ya))(xa)
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return math.nan
    return float(stats.pearsonr(xa, ya).statistic)


def rmse(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    fit: LogisticFit | None = None,
) -> float:
    """Root-mean-square error between the logistic-mapped ``x`` and ``y`` (units of ``y``).

    Parameters
    ----------
    x, y : array_like
        Metric values and human scores.
    fit : LogisticFit, optional
        A logistic already fitted to ``(x, y)``; fitted here when omitted.

    Returns
    -------
    float

    Raises
    ------
    LogisticFitError
        If the logistic cannot be fitted.
    """
    xa, ya = paired_arrays(x, y)
    f = fit if fit is not None else fit_logistic5(xa, ya)
    return float(np.sqrt(np.mean((f(xa) - ya) ** 2)))


# --------------------------------------------------------------------------------------------
# bootstrap over groups


@dataclass(frozen=True)
class BootstrapCI:
    """Percentile bootstrap interval of one statistic.

    Attributes
    ----------
    low, high : float
        Interval bounds (NaN when no replicate succeeded or fewer than 2 groups).
    level : float
        Confidence level, e.g. 0.95.
    n_boot : int
        Replicates drawn.
    n_failed : int
        Replicates whose statistic could not be computed (NaN, or a failed logistic fit);
        they are left out of the percentiles.
    n_groups : int
        Number of resampled groups.
    """

    low: float
    high: float
    level: float
    n_boot: int
    n_failed: int
    n_groups: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "low": self.low,
            "high": self.high,
            "level": self.level,
            "n_boot": self.n_boot,
            "n_failed": self.n_failed,
            "n_groups": self.n_groups,
        }


def bootstrap_ci(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], Mapping[str, float]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, BootstrapCI]:
    """Percentile bootstrap intervals that resample whole groups.

    Parameters
    ----------
    x, y : array_like
        Metric values and human scores.
    groups : array_like
        Group label of every row (in IQA: the reference image id).
    statistic : callable
        ``statistic(x_sample, y_sample) -> {name: value}``; it may raise
        :class:`LogisticFitError` or ``ValueError`` or return NaN, which marks that statistic
        of the replicate as failed.
    n_boot : int
        Number of replicates (>= 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    level : float
        Confidence level in (0, 1).

    Returns
    -------
    dict of str to BootstrapCI
        One interval per statistic name returned by ``statistic``.
    """
    xa, ya = paired_arrays(x, y, min_n=1)
    level = check_level(level)
    n_groups = len(group_indices(groups, xa.size))
    # the one group-bootstrap engine (evaluate.resampling): each distinct multiset of groups
    # is computed once; the replicate's value here is the index of its statistics
    found: list[dict[str, float]] = []

    def one(rows: np.ndarray) -> np.ndarray:
        try:
            found.append(dict(statistic(xa[rows], ya[rows])))
        except (LogisticFitError, ValueError):
            found.append({})
        return np.array([len(found) - 1], dtype=np.float64)

    which = group_bootstrap(one, groups, n_boot=n_boot, seed=seed)[:, 0].astype(np.int64)
    names = list(dict.fromkeys(name for d in found for name in d))
    out: dict[str, BootstrapCI] = {}
    for name in names:
        arr = np.array([found[k].get(name, math.nan) for k in which], dtype=np.float64)
        lo, hi, n_failed = percentile_interval(arr, level)
        if n_groups < 2:
            lo = hi = math.nan
        out[name] = BootstrapCI(lo, hi, level, int(n_boot), n_failed, n_groups)
    return out


# --------------------------------------------------------------------------------------------
# the summary used by the IQA protocol


@dataclass(frozen=True)
class CorrelationSummary:
    """SRCC, KRCC, PLCC (after the logistic) and RMSE of one subset, with bootstrap CIs.

    Attributes
    ----------
    n : int
        Number of rows.
    n_groups : int
        Number of groups (reference images).
    srcc, krcc, plcc, rmse : float
        The statistics; ``plcc`` and ``rmse`` are NaN when the logistic fit failed.
    ci : dict of str to BootstrapCI
        Intervals per statistic (empty when ``n_boot == 0``).
    logistic : LogisticFit or None
        The fitted logistic, ``None`` when the fit failed.
    fit_error : str or None
        Why the logistic fit failed.
    """

    n: int
    n_groups: int
    srcc: float
    krcc: float
    plcc: float
    rmse: float
    ci: dict[str, BootstrapCI] = field(default_factory=dict)
    logistic: LogisticFit | None = None
    fit_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "n": self.n,
            "n_groups": self.n_groups,
            "srcc": self.srcc,
            "krcc": self.krcc,
            "plcc": self.plcc,
            "rmse": self.rmse,
            "ci": {k: v.to_dict() for k, v in self.ci.items()},
            "logistic": None if self.logistic is None else self.logistic.to_dict(),
            "fit_error": self.fit_error,
        }


def correlation_summary(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    groups: Sequence[Any] | np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> CorrelationSummary:
    """All four statistics of ``(x, y)`` with group-bootstrap confidence intervals.

    The bootstrap refits the logistic in every replicate, starting from the full-sample fit.

    Parameters
    ----------
    x, y : array_like
        Metric values and human scores (oriented the same way, see the module docstring).
    groups : array_like
        Group label per row (reference image).
    n_boot : int
        Bootstrap replicates; 0 skips the intervals.
    seed : int
        Bootstrap seed.
    level : float
        Confidence level.

    Returns
    -------
    CorrelationSummary
    """
    xa, ya = paired_arrays(x, y)
    n_groups = len(group_indices(groups, xa.size))
    fit: LogisticFit | None
    try:
        fit = fit_logistic5(xa, ya)
        fit_error = None
    except LogisticFitError as exc:
        fit, fit_error = None, str(exc)
    s, k = srcc(xa, ya), krcc(xa, ya)
    p = plcc(xa, ya, fit=fit) if fit is not None else math.nan
    e = rmse(xa, ya, fit=fit) if fit is not None else math.nan
    ci: dict[str, BootstrapCI] = {}
    if n_boot:
        p0 = fit.params if fit is not None else None

        def statistic(xb: np.ndarray, yb: np.ndarray) -> dict[str, float]:
            out = {"srcc": math.nan, "krcc": math.nan, "plcc": math.nan, "rmse": math.nan}
            if np.ptp(xb) == 0 or np.ptp(yb) == 0:
                return out
            out["srcc"], out["krcc"] = srcc(xb, yb), krcc(xb, yb)
            try:
                fb = fit_logistic5(xb, yb, p0=p0, maxfev=400)
            except LogisticFitError:
                return out
            out["plcc"], out["rmse"] = plcc(xb, yb, fit=fb), rmse(xb, yb, fit=fb)
            return out

        ci = bootstrap_ci(xa, ya, groups, statistic, n_boot=n_boot, seed=seed, level=level)
    return CorrelationSummary(xa.size, n_groups, s, k, p, e, ci, fit, fit_error)
