"""The VQEG (2000) 5-parameter logistic and its fit, which map metric values onto human scores.

::

    q(x) = b1 * (1/2 - 1 / (1 + exp(b2 (x - b3)))) + b4 x + b5

The curve is evaluated with :func:`scipy.special.expit`, so a large ``|b2 (x - b3)|`` cannot
overflow.  A failed fit is never hidden: :func:`fit_logistic5` raises :class:`LogisticFitError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import optimize, special

from .._validation import paired_arrays

__all__ = [
    "AMPLITUDE_BOUND",
    "CENTRE_MARGIN",
    "MIN_POINTS_LOGISTIC",
    "RUNAWAY",
    "SLOPE_BOUND",
    "LogisticFit",
    "LogisticFitError",
    "fit_logistic5",
    "logistic5",
]

#: Fewest points accepted by the 5-parameter logistic fit (more points than parameters).
MIN_POINTS_LOGISTIC = 6


class LogisticFitError(RuntimeError):
    """The 5-parameter logistic could not be fitted (too few points, no convergence, ...)."""


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


class _Scale(NamedTuple):
    """Standardisation of ``x`` and ``y`` for the fit, and the parameter maps across it.

    ``q(x) = sy * c(xs) + my`` with ``xs = (x - mx) / sx`` and ``c`` the logistic with
    standardised parameters ``c1 .. c5``.
    """

    mx: float
    sx: float
    my: float
    sy: float

    def to_std(self, p: Sequence[float]) -> tuple[float, ...]:
        """Parameters in the original units -> standardised units."""
        mx, sx, my, sy = self
        b1, b2, b3, b4, b5 = (float(v) for v in p)
        return (b1 / sy, b2 * sx, (b3 - mx) / sx, b4 * sx / sy, (b5 + b4 * mx - my) / sy)

    def from_std(self, c: Sequence[float]) -> tuple[float, float, float, float, float]:
        """Standardised parameters -> the original units."""
        mx, sx, my, sy = self
        c1, c2, c3, c4, c5 = (float(v) for v in c)
        return (
            sy * c1,
            c2 / sx,
            mx + sx * c3,
            sy * c4 / sx,
            sy * c5 + my - sy * c4 * mx / sx,
        )


def _fit_input(x: object, y: object) -> tuple[np.ndarray, np.ndarray, _Scale]:
    """Checked float64 ``x``, ``y`` and their standardisation; :class:`LogisticFitError` if unfit."""
    try:
        xa, ya = paired_arrays(x, y, min_n=1)
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
    return xa, ya, _Scale(mx, sx, my, sy)


_Best = tuple[np.ndarray, float] | None


def _unbounded_fits(
    xs: np.ndarray, ys: np.ndarray, p0_std: Sequence[float] | None, maxfev: int
) -> tuple[_Best, int]:
    """Levenberg-Marquardt from ``p0_std`` first, else from every grid start: best, converged."""
    best: _Best = None
    converged = 0
    if p0_std is not None:
        res = _curve_fit(xs, ys, p0_std, maxfev)
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
    return best, converged


def _bounded_fits(xs: np.ndarray, ys: np.ndarray, maxfev: int) -> tuple[_Best, int, bool]:
    """The bounded fallback from the three best grid starts: best, converged, at a bound."""
    best: _Best = None
    converged = 0
    for start in _starts(xs, ys)[:3]:
        res = _bounded_fit(xs, ys, start, maxfev)
        if res is None:
            continue
        converged += 1
        if best is None or res[1] < best[1]:
            best = res
    at_bound = False
    if best is not None:
        lb, ub = _fallback_bounds(xs, ys)
        tol = 1e-6 * np.where(np.isfinite(ub - lb), ub - lb, 1.0)
        at_bound = bool(np.any(best[0] <= lb + tol) or np.any(best[0] >= ub - tol))
    return best, converged, at_bound


def _monotonic(params: Sequence[float], xa: np.ndarray, ya: np.ndarray) -> bool:
    """Whether the curve is monotonic over the range of ``xa`` (256 points)."""
    grid = np.linspace(xa.min(), xa.max(), 256)
    d = np.diff(logistic5(grid, *params))
    tol = 1e-12 * max(1.0, float(np.ptp(ya)))
    return bool(np.all(d >= -tol) or np.all(d <= tol))


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
    xa, ya, scale = _fit_input(x, y)
    xs, ys = (xa - scale.mx) / scale.sx, (ya - scale.my) / scale.sy
    p0_std = None
    if p0 is not None:
        if len(p0) != 5:
            raise ValueError(f"p0 must hold 5 parameters, got {len(p0)}")
        p0_std = scale.to_std(p0)
    best, converged = _unbounded_fits(xs, ys, p0_std, maxfev)
    at_bound = False
    if best is None:
        # the least-squares optimum lies at infinity (a step or an exponential tail): fit
        # again inside bounds with a trust-region method
        best, converged_bounded, at_bound = _bounded_fits(xs, ys, maxfev)
        converged += converged_bounded
    if best is None:
        raise LogisticFitError(
            f"the 5-parameter logistic did not converge from any of the initialisations "
            f"({xa.size} points, x in [{xa.min():.4g}, {xa.max():.4g}], y in "
            f"[{ya.min():.4g}, {ya.max():.4g}])"
        )
    params = scale.from_std(best[0])
    sse = float(np.sum((logistic5(xa, *params) - ya) ** 2))
    return LogisticFit(params, sse, xa.size, _monotonic(params, xa, ya), converged, at_bound)
