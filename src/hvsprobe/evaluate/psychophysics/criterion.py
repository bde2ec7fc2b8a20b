"""The one free parameter: the criterion distance at threshold, fitted for a whole data set."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .thresholds import thresholds_from_curves

__all__ = ["CriterionFit", "fit_single_criterion"]


@dataclass(frozen=True)
class CriterionFit:
    """The single fitted criterion and what it predicts.

    Attributes
    ----------
    criterion : float
        Fitted criterion (distance at threshold).
    predicted_log10 : numpy.ndarray
        Predicted log10 sensitivity ``-log10 threshold`` per stimulus.
    thresholds : numpy.ndarray
        Threshold contrasts.
    censored : numpy.ndarray
        See :func:`thresholds_from_curves`.
    rmse : float
        RMSE in log10 sensitivity at the fitted criterion.
    """

    criterion: float
    predicted_log10: np.ndarray
    thresholds: np.ndarray
    censored: np.ndarray
    rmse: float


def fit_single_criterion(
    contrasts: Sequence[float] | np.ndarray,
    distances: np.ndarray,
    human_log10_sensitivity: Sequence[float] | np.ndarray,
    *,
    n_candidates: int = 256,
) -> CriterionFit:
    """Fit the one criterion that minimises the RMSE in log10 sensitivity.

    ``RMSE(k) = sqrt(mean_i (-log10 c_i(k) - h_i)^2)`` with ``c_i(k)`` from
    :func:`thresholds_from_curves` (censored thresholds count at the end of the contrast
    range, so a criterion that pushes stimuli out of range is penalised).  ``RMSE(k)`` is
    evaluated at ``n_candidates`` quantiles of all sampled distances; the best one is refined
    with a bounded scalar minimisation (in ``log k`` when all distances are positive)
    between its neighbours.  This needs no assumption about the form of ``D(c)``.

    Parameters
    ----------
    contrasts : array_like
        ``(K,)`` increasing contrasts.
    distances : numpy.ndarray
        ``(S, K)`` distance curves.
    human_log10_sensitivity : array_like
        ``(S,)`` human log10 sensitivities.
    n_candidates : int
        Candidate criteria of the initial scan.

    Returns
    -------
    CriterionFit
    """
    c = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    h = np.asarray(human_log10_sensitivity, dtype=np.float64).reshape(-1)
    if d.shape != (h.size, c.size):
        raise ValueError(f"distances {d.shape} must be (stimuli {h.size}, contrasts {c.size})")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(h))):
        raise ValueError("distances and human sensitivities must be finite")
    if h.size < 2:
        raise ValueError("need at least 2 stimuli to fit a criterion")
    values = np.unique(d)
    cand = np.unique(np.quantile(values, np.linspace(0.0, 1.0, int(n_candidates))))
    use_log = bool(cand[0] > 0)

    def loss(k: float) -> float:
        thr, _ = thresholds_from_curves(c, d, k)
        return float(np.sqrt(np.mean((-np.log10(thr) - h) ** 2)))

    losses = np.array([loss(k) for k in cand])
    b = int(np.argmin(losses))
    best_k, best_loss = float(cand[b]), float(losses[b])
    lo, hi = cand[max(b - 1, 0)], cand[min(b + 1, cand.size - 1)]
    if hi > lo:
        if use_log:
            res = optimize.minimize_scalar(
                lambda t: loss(math.exp(t)),
                bounds=(math.log(lo), math.log(hi)),
                method="bounded",
                options={"xatol": 1e-6},
            )
            k_ref = math.exp(float(res.x))
        else:
            res = optimize.minimize_scalar(
                loss,
                bounds=(float(lo), float(hi)),
                method="bounded",
                options={"xatol": 1e-9 * max(1.0, abs(hi - lo))},
            )
            k_ref = float(res.x)
        if loss(k_ref) < best_loss:
            best_k, best_loss = k_ref, loss(k_ref)
    thr, cens = thresholds_from_curves(c, d, best_k)
    return CriterionFit(best_k, -np.log10(thr), thr, cens, best_loss)
