"""Correlation statistics for quality metrics: logistic mapping, SRCC, KRCC, PLCC, RMSE, CIs.

Conventions
-----------
* Every function takes the metric's predictions ``x`` and the human scores ``y`` as 1-D
  arrays of equal length.  The functions are sign-agnostic: orient the inputs first (see
  :mod:`hvsprobe.evaluate.iqa`, which makes "higher = better quality" on both sides).
* PLCC and RMSE are computed *after* the 5-parameter logistic of VQEG (2000)::

      q(x) = b1 * (1/2 - 1 / (1 + exp(b2 (x - b3)))) + b4 x + b5

  fitted to map ``x`` onto ``y`` by least squares.  A failed fit is never hidden: the fit
  raises :class:`LogisticFitError`, and the summaries record it.
* Bootstrap confidence intervals resample **groups** (in IQA: reference images), not rows:
  every replicate draws ``G`` group ids with replacement out of the ``G`` groups present and
  takes all rows of each drawn group.  Distorted versions of the same reference image are
  not independent, so resampling rows would give intervals that are too narrow.  Intervals
  are percentile intervals; the random generator is seeded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

__all__ = [
    "STATISTICS",
    "BootstrapCI",
    "CorrelationSummary",
    "LogisticFit",
    "LogisticFitError",
    "bootstrap_ci",
    "correlation_summary",
    "fit_logistic5",
    "krcc",
    "logistic5",
    "plcc",
    "rmse",
    "srcc",
]

#: Names of the statistics computed by :func:`correlation_summary`, in order.
STATISTICS: tuple[str, ...] = ("srcc", "krcc", "plcc", "rmse")

#: Fewest points accepted by the 5-parameter logistic fit (more points than parameters).
MIN_POINTS_LOGISTIC = 6


class LogisticFitError(RuntimeError):
    """The 5-parameter logistic could not be fitted (too few points, no convergence, ...)."""


# --------------------------------------------------------------------------------------------
# input checks


def _as_pair(x: object, y: object, min_n: int = 2) -> tuple[np.ndarray, np.ndarray]:
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
    xa, ya = _as_pair(x, y)
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
    xa, ya = _as_pair(x, y)
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return math.nan
    return float(stats.kendalltau(xa, ya).statistic)


# --------------------------------------------------------------------------------------------
# logistic


def logistic5(
    x: np.ndarray | float, b1: float, b2: float, b3: float, b4: float, b5: float
) -> np.ndarray:
    """The VQEG 5-parameter logistic ``b1 (1/2 - 1/(1 + exp(b2 (x - b3)))) + b4 x + b5``.

    Evaluated with :func:`scipy.special.expit` so that large ``|b2 (x - b3)|`` cannot overflow.

    Parameters
    ----------
    x : array_like
        Metric values.
    b1, b2, b3, b4, b5 : float
        Parameters: amplitude, slope, centre, linear term, offset.

    Returns
    -------
    numpy.ndarray
        Mapped values, same shape as ``x``.
    """
    xa = np.asarray(x, dtype=np.float64)
    return b1 * (0.5 - special.expit(-b2 * (xa - b3))) + b4 * xa + b5


@dataclass(frozen=True)
class LogisticFit:
    """A fitted 5-parameter logistic.

    Attributes
    ----------
    params : tuple of float
        ``(b1, b2, b3, b4, b5)`` in the units of the original ``x`` and ``y``.
    sse : float
        Residual sum of squares.
    n : int
        Number of points fitted.
    monotonic : bool
        Whether the fitted curve is monotonic over the range of the fitted ``x``.
    n_starts_converged : int
        How many of the initialisations converged.
    at_bound : bool
        Whether the bounded fallback fit ended on a bound (see :func:`fit_logistic5`): the
        unconstrained optimum lies at infinity (a step or an exponential tail).
    """

    params: tuple[float, float, float, float, float]
    sse: float
    n: int
    monotonic: bool
    n_starts_converged: int
    at_bound: bool = False

    def __call__(self, x: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """Map metric values ``x`` through the fitted curve."""
        return logistic5(np.asarray(x, dtype=np.float64), *self.params)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "params": list(self.params),
            "sse": self.sse,
            "n": self.n,
            "monotonic": self.monotonic,
            "n_starts_converged": self.n_starts_converged,
            "at_bound": self.at_bound,
        }


def _logistic5_jac(
    x: np.ndarray, b1: float, b2: float, b3: float, b4: float, b5: float
) -> np.ndarray:
    """Analytic Jacobian of :func:`logistic5` with respect to ``(b1, ..., b5)``, shape (n, 5)."""
    del b4, b5
    sig = special.expit(b2 * (x - b3))  # logistic5 = b1 (sig - 1/2) + b4 x + b5
    dsig = sig * (1.0 - sig)
    return np.stack([sig - 0.5, b1 * dsig * (x - b3), -b1 * dsig * b2, x, np.ones_like(x)], axis=1)


def _curve_fit(
    xs: np.ndarray, y: np.ndarray, p0: Sequence[float], maxfev: int
) -> tuple[np.ndarray, float] | None:
    """One Levenberg-Marquardt fit in standardised units; ``None`` when it does not converge."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            p, _ = optimize.curve_fit(
                logistic5, xs, y, p0=list(p0), jac=_logistic5_jac, maxfev=maxfev
            )
    except (RuntimeError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    if _runaway(p, y):
        return None
    sse = float(np.sum((logistic5(xs, *p) - y) ** 2))
    return (p, sse) if math.isfinite(sse) else None


#: Largest parameter magnitude (standardised units, amplitudes relative to the score range)
#: accepted from the unbounded fit; beyond it the optimiser is running to infinity.
RUNAWAY = 1e6


def _runaway(p: np.ndarray, y: np.ndarray) -> bool:
    """Whether an unbounded fit ran away: non-finite or astronomically large parameters.

    When the least-squares optimum lies at infinity (a step, or an exponential tail where
    amplitude and centre grow together) Levenberg-Marquardt can stop on finite but huge
    parameters; evaluating the curve there overflows (the RuntimeWarning users saw) and the
    result is meaningless.  Such a start counts as not converged, and if no start converges
    the bounded fallback of :func:`fit_logistic5` finds the limit inside its bounds.  With
    standardised ``x`` (|x| of a few units) and parameters below :data:`RUNAWAY` every term
    of the curve stays far below the float range.
    """
    if not np.all(np.isfinite(p)):
        return True
    span = max(float(np.ptp(y)), 1e-12)
    b1, b2, b3, b4, b5 = (abs(float(v)) for v in p)
    return (
        max(b2, b3) > RUNAWAY
        or max(b1, b4, b5) > RUNAWAY * span
        or b1 * b2 > RUNAWAY**2 * span  # the Jacobian's largest term
    )


#: Bounds of the fallback fit, in standardised units: |slope| <= 1000 (a transition over
#: 1/1000 of a standard deviation is a step), centre within 2 standard deviations of the
#: data, |amplitude| <= 50 times the range of the scores.
SLOPE_BOUND = 1000.0
CENTRE_MARGIN = 2.0
AMPLITUDE_BOUND = 50.0


def _fallback_bounds(xs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    amp = AMPLITUDE_BOUND * float(np.ptp(y))
    lb = np.array([-amp, -SLOPE_BOUND, xs.min() - CENTRE_MARGIN, -np.inf, -np.inf])
    ub = np.array([amp, SLOPE_BOUND, xs.max() + CENTRE_MARGIN, np.inf, np.inf])
    return lb, ub


def _bounded_fit(
    xs: np.ndarray, y: np.ndarray, p0: Sequence[float], max_nfev: int
) -> tuple[np.ndarray, float] | None:
    """Trust-region fit inside :func:`_fallback_bounds`.

    It converges where the unbounded least-squares optimum lies at infinity (a step:
    slope -> infinity; an exponential tail: amplitude and centre -> infinity) and
    Levenberg-Marquardt runs away.
    """
    lb, ub = _fallback_bounds(xs, y)
    width = np.where(np.isfinite(ub - lb), ub - lb, 1.0)
    start = np.clip(np.asarray(p0, dtype=np.float64), lb + 1e-6 * width, ub - 1e-6 * width)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            res = optimize.least_squares(
                lambda p: logistic5(xs, *p) - y,
                start,
                jac=lambda p: _logistic5_jac(xs, *p),
                bounds=(lb, ub),
                method="trf",
                x_scale="jac",
                max_nfev=max_nfev,
            )
    except (ValueError, np.linalg.LinAlgError):
        return None
    if res.status <= 0 or not np.all(np.isfinite(res.x)):
        return None
    sse = float(np.sum(res.fun**2))
    return (res.x, sse) if math.isfinite(sse) else None


def _starts(xs: np.ndarray, y: np.ndarray, n_best: int = 8) -> list[tuple[float, ...]]:
    """Initial parameter vectors (standardised x and y) from a grid over slope and centre.

    For a fixed slope ``b2`` and centre ``b3`` the logistic is linear in ``b1``, ``b4`` and
    ``b5``, which are then solved by linear least squares.  The ``n_best`` grid points with
    the lowest residual become the starts of the full non-linear fit.  (The least-squares
    surface has several local minima when the metric values are skewed, e.g. MSE, so a
    handful of fixed starts is not enough.)
    """
    slopes = np.geomspace(0.1, 100.0, 19)
    centres = np.unique(
        np.concatenate(
            [np.linspace(xs.min(), xs.max(), 25), np.percentile(xs, [5, 25, 50, 75, 95])]
        )
    )
    b2, b3 = (g.reshape(-1) for g in np.meshgrid(slopes, centres, indexing="ij"))
    sig = 0.5 - special.expit(-b2[:, None] * (xs[None, :] - b3[:, None]))  # (G, n)
    a = np.stack([sig, np.broadcast_to(xs, sig.shape), np.ones_like(sig)], axis=2)  # (G, n, 3)
    # least squares per grid point through the (slightly regularised) normal equations
    ata = np.einsum("gnk,gnl->gkl", a, a)
    ata += 1e-9 * np.trace(ata, axis1=1, axis2=2)[:, None, None] * np.eye(3)
    coef = np.linalg.solve(ata, np.einsum("gnk,n->gk", a, y)[..., None])[..., 0]  # (G, 3)
    sse = np.sum((np.einsum("gnk,gk->gn", a, coef) - y) ** 2, axis=1)
    found = [
        (
            float(sse[g]),
            (float(coef[g, 0]), float(b2[g]), float(b3[g]), float(coef[g, 1]), float(coef[g, 2])),
        )
        for g in np.flatnonzero(np.isfinite(sse))
    ]
    # very large amplitudes mean a nearly flat sigmoid cancelled by the linear term: an
    # ill-conditioned start from which Levenberg-Marquardt rarely converges
    span = float(np.ptp(y))
    found = [f for f in found if abs(f[1][0]) <= 2.0 * span and abs(f[1][3]) <= 2.0 * span]
    found.sort(key=lambda t: t[0])
    r = float(np.corrcoef(xs, y)[0, 1]) if np.ptp(xs) > 0 and span > 0 else 1.0
    amp = span if not r < 0 else -span
    classic = [(amp, b2, float(np.median(xs)), 0.0, float(np.mean(y))) for b2 in (1.0, 3.0)]
    return [p for _, p in found[:n_best]] + classic


def fit_logistic5(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    p0: Sequence[float] | None = None,
    maxfev: int = 1000,
) -> LogisticFit:
    """Fit the VQEG 5-parameter logistic mapping ``x`` (metric) onto ``y`` (human scores).

    ``x`` is standardised (zero mean, unit standard deviation) for the fit and the parameters
    are converted back.  Without ``p0`` the starts come from a grid over slope (0.1 to 100 in
    standardised units, log-spaced) and centre (across the range of ``x``) on which the three
    linear parameters are solved exactly; the 8 best grid points are refined by
    :func:`scipy.optimize.curve_fit` (Levenberg-Marquardt, analytic Jacobian) and the lowest
    residual wins (the surface has local minima).  When no start converges — typically
    because the least-squares optimum lies at infinity (a step, slope -> infinity, or an
    exponential tail, amplitude and centre -> infinity) — the three best grid starts are
    refitted with a trust-region method inside bounds (standardised units: ``|b2| <=``
    :data:`SLOPE_BOUND`, ``b3`` within :data:`CENTRE_MARGIN` of the data, ``|b1| <=``
    :data:`AMPLITUDE_BOUND` times the score range); the result records ``at_bound``.  With ``p0`` (parameters in the original units, e.g. from a
    previous fit) that start is tried first and the others only if it fails.

    Parameters
    ----------
    x, y : array_like
        Metric values and human scores, equal-length 1-D, finite.
    p0 : sequence of 5 floats, optional
        Preferred start in the original units.
    maxfev : int
        Largest number of function evaluations per start (Levenberg-Marquardt with the
        analytic Jacobian converges in far fewer when it converges at all).

    Returns
    -------
    LogisticFit

    Raises
    ------
    LogisticFitError
        With fewer than :data:`MIN_POINTS_LOGISTIC` distinct metric values, constant ``y``,
        or when no initialisation converges to finite parameters.
    """
    try:
        xa, ya = _as_pair(x, y, min_n=1)
    except ValueError as exc:
        raise LogisticFitError(f"cannot fit the logistic: {exc}") from None
    n = xa.size
    n_distinct = np.unique(xa).size
    if n_distinct < MIN_POINTS_LOGISTIC:
        raise LogisticFitError(
            f"cannot fit the 5-parameter logistic to {n} points with {n_distinct} distinct "
            f"metric value(s); it needs at least {MIN_POINTS_LOGISTIC}"
        )
    mx, sx = float(np.mean(xa)), float(np.std(xa))
    my, sy = float(np.mean(ya)), float(np.std(ya))
    if sy == 0:
        raise LogisticFitError("cannot fit the logistic: the human scores are constant")
    xs, ys = (xa - mx) / sx, (ya - my) / sy

    # q(x) = sy * c(xs) + my with xs = (x - mx) / sx, c the logistic with parameters c1..c5
    def to_std(p: Sequence[float]) -> tuple[float, ...]:
        b1, b2, b3, b4, b5 = (float(v) for v in p)
        return (b1 / sy, b2 * sx, (b3 - mx) / sx, b4 * sx / sy, (b5 + b4 * mx - my) / sy)

    def from_std(c: Sequence[float]) -> tuple[float, float, float, float, float]:
        c1, c2, c3, c4, c5 = (float(v) for v in c)
        return (
            sy * c1,
            c2 / sx,
            mx + sx * c3,
            sy * c4 / sx,
            sy * c5 + my - sy * c4 * mx / sx,
        )

    best: tuple[np.ndarray, float] | None = None
    converged = 0
    if p0 is not None:
        if len(p0) != 5:
            raise ValueError(f"p0 must hold 5 parameters, got {len(p0)}")
        res = _curve_fit(xs, ys, to_std(p0), maxfev)
        if res is not None:
            best, converged = res, 1
    if best is None:
        for start in _starts(xs, ys):
            res = _curve_fit(xs, ys, start, maxfev)
            if res is None:
                continue
            converged += 1
            if best is None or res[1] < best[1]:
                best = res
    bounded = False
    if best is None:
        # the least-squares optimum lies at infinity (a step or an exponential tail): fit
        # again inside bounds with a trust-region method
        for start in _starts(xs, ys)[:3]:
            res = _bounded_fit(xs, ys, start, maxfev)
            if res is None:
                continue
            converged += 1
            if best is None or res[1] < best[1]:
                best, bounded = res, True
    at_bound = False
    if bounded and best is not None:
        lb, ub = _fallback_bounds(xs, ys)
        tol = 1e-6 * np.where(np.isfinite(ub - lb), ub - lb, 1.0)
        at_bound = bool(np.any(best[0] <= lb + tol) or np.any(best[0] >= ub - tol))
    if best is None:
        raise LogisticFitError(
            f"the 5-parameter logistic did not converge from any of the initialisations "
            f"({n} points, x in [{xa.min():.4g}, {xa.max():.4g}], y in "
            f"[{ya.min():.4g}, {ya.max():.4g}])"
        )
    params = from_std(best[0])
    sse = float(np.sum((logistic5(xa, *params) - ya) ** 2))
    grid = np.linspace(xa.min(), xa.max(), 256)
    d = np.diff(logistic5(grid, *params))
    tol = 1e-12 * max(1.0, float(np.ptp(ya)))
    monotonic = bool(np.all(d >= -tol) or np.all(d <= tol))
    return LogisticFit(params, sse, n, monotonic, converged, at_bound)


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
    xa, ya = _as_pair(x, y)
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
    xa, ya = _as_pair(x, y)
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


def _group_index(groups: Sequence[Any] | np.ndarray, n: int) -> list[np.ndarray]:
    g = np.asarray(groups)
    if g.ndim != 1 or g.size != n:
        raise ValueError(f"groups must be one-dimensional with {n} entries, got shape {g.shape}")
    _, inverse = np.unique(g.astype(str), return_inverse=True)
    return [np.flatnonzero(inverse == k) for k in range(int(inverse.max()) + 1)]


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
    xa, ya = _as_pair(x, y, min_n=1)
    if not isinstance(n_boot, int | np.integer) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"n_boot must be an int >= 1, got {n_boot!r}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    index = _group_index(groups, xa.size)
    n_groups = len(index)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    # The statistics do not depend on the order of the rows, so replicates that draw the same
    # multiset of groups (frequent when there are few groups) are computed once.
    memo: dict[tuple[int, ...], dict[str, float]] = {}
    for _ in range(int(n_boot)):
        pick = np.sort(rng.integers(0, n_groups, size=n_groups))
        key = tuple(int(k) for k in pick)
        if key not in memo:
            rows = np.concatenate([index[k] for k in pick])
            try:
                memo[key] = dict(statistic(xa[rows], ya[rows]))
            except (LogisticFitError, ValueError):
                memo[key] = {}
        values = memo[key]
        for name in values:
            draws.setdefault(name, [])
        for name in draws:
            draws[name].append(float(values.get(name, math.nan)))
    alpha = (1.0 - float(level)) / 2.0
    out: dict[str, BootstrapCI] = {}
    for name, vals in draws.items():
        arr = np.asarray(vals + [math.nan] * (int(n_boot) - len(vals)))
        ok = arr[np.isfinite(arr)]
        if ok.size == 0 or n_groups < 2:
            lo = hi = math.nan
        else:
            lo, hi = (float(v) for v in np.percentile(ok, [100 * alpha, 100 * (1 - alpha)]))
        out[name] = BootstrapCI(
            lo, hi, float(level), int(n_boot), int(arr.size - ok.size), n_groups
        )
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
    xa, ya = _as_pair(x, y)
    n_groups = len(_group_index(groups, xa.size))
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
