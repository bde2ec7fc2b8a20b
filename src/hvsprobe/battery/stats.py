"""The battery's statistics (definitions in ``docs/battery.md`` section 4)."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "MULTIPLIERS",
    "crossing",
    "match_contrasts",
    "matching_rmse",
    "pooled_spearman",
    "threshold_errors",
    "threshold_rmse",
]

#: Multipliers of the human threshold shown in detection and masking: 2^-2 ... 2^2.
MULTIPLIERS = 2.0 ** np.arange(-2.0, 2.01, 0.5)


def crossing(resp: np.ndarray, x: np.ndarray, target: float) -> tuple[float, int]:
    """Where ``resp`` (over increasing ``x``) first reaches ``target``, linear in ``resp``.

    Non-finite cells are skipped. Returns ``(x*, censored)`` with censored -1 when the first
    finite response is already at or above ``target`` (x* = that ``x``), +1 when none reaches
    it (x* = the last finite ``x``), 0 otherwise; ``(nan, 0)`` when no cell is finite.

    Examples
    --------
    >>> crossing(np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 2.0]), 3.0)
    (1.5, 0)
    >>> crossing(np.array([1.0, 2.0]), np.array([0.0, 1.0]), 5.0)
    (1.0, 1)
    """
    ok = np.isfinite(resp) & np.isfinite(x)
    r, xs = np.asarray(resp, dtype=np.float64)[ok], np.asarray(x, dtype=np.float64)[ok]
    if r.size == 0 or not math.isfinite(target):
        return math.nan, 0
    above = np.nonzero(r >= target)[0]
    if above.size == 0:
        return float(xs[-1]), 1
    j = int(above[0])
    if j == 0:
        return float(xs[0]), -1
    t = (target - r[j - 1]) / (r[j] - r[j - 1])
    return float(xs[j - 1] + t * (xs[j] - xs[j - 1])), 0


def threshold_errors(
    resp: np.ndarray, multipliers: np.ndarray = MULTIPLIERS
) -> tuple[np.ndarray, np.ndarray, float]:
    """Per condition, ``log10`` of the subject's threshold in units of the human one.

    Parameters
    ----------
    resp : numpy.ndarray
        ``(C, M)`` responses of ``C`` conditions at the ``M`` multipliers (NaN: not shown).
    multipliers : numpy.ndarray
        ``(M,)`` increasing, containing 1.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, float)
        ``e`` (C,), censoring flags (C,) and the criterion ``R*`` (median response at 1).
        ``e`` is NaN for a condition not shown at ``m = 1`` (its human threshold cannot be
        displayed), which the statistics leave out.

    Examples
    --------
    A subject whose response is contrast / human threshold has no error:

    >>> m = MULTIPLIERS; resp = np.stack([m, m, m])
    >>> e, cens, crit = threshold_errors(resp)
    >>> bool(np.abs(e).max() < 1e-12), cens.tolist(), crit
    (True, [0, 0, 0], 1.0)
    """
    r = np.asarray(resp, dtype=np.float64)
    m = np.asarray(multipliers, dtype=np.float64)
    one = int(np.argmin(np.abs(np.log(m))))
    if not np.isclose(m[one], 1.0):
        raise ValueError("the multipliers must contain 1")
    at_one = r[:, one]
    crit = float(np.nanmedian(at_one)) if np.isfinite(at_one).any() else math.nan
    lm = np.log10(m)
    out = np.array([crossing(row, lm, crit) for row in r], dtype=np.float64).reshape(-1, 2)
    # a condition whose human threshold itself cannot be shown has no threshold here
    e = np.where(np.isfinite(at_one), out[:, 0], math.nan)
    return e, np.where(np.isfinite(at_one), out[:, 1], 0).astype(np.int64), crit


def threshold_rmse(e: np.ndarray) -> float:
    """RMSE of the finite ``e`` about their mean (one free overall sensitivity).

    Examples
    --------
    >>> threshold_rmse(np.array([0.1, 0.3]))
    0.1
    """
    v = np.asarray(e, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan
    return round(float(np.sqrt(np.mean((v - v.mean()) ** 2))), 15)


def pooled_spearman(resp: np.ndarray, multipliers: np.ndarray = MULTIPLIERS) -> float:
    """Spearman correlation of response against multiplier over all shown cells (Cai et al.).

    Examples
    --------
    >>> pooled_spearman(np.stack([MULTIPLIERS, MULTIPLIERS]))  # ordered by multiplier
    1.0
    >>> round(pooled_spearman(np.stack([MULTIPLIERS, 2 * MULTIPLIERS])), 3)  # thresholds differ
    0.937
    """
    from scipy.stats import spearmanr

    r = np.asarray(resp, dtype=np.float64)
    m = np.broadcast_to(np.asarray(multipliers, dtype=np.float64), r.shape)
    ok = np.isfinite(r)
    if ok.sum() < 3:
        return math.nan
    return float(spearmanr(r[ok], m[ok]).statistic)


def match_contrasts(
    ladder: np.ndarray, contrasts: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``log10`` of the contrast at which each ladder's response reaches its target.

    Parameters
    ----------
    ladder : numpy.ndarray
        ``(R, K)`` responses of each row's test stimulus at ``contrasts``.
    contrasts : numpy.ndarray
        ``(K,)`` increasing test contrasts.
    targets : numpy.ndarray
        ``(R,)`` the reference's response of each row.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        log10 matches (R,) and censoring flags (R,).

    Examples
    --------
    >>> c = np.array([0.01, 0.1, 1.0])
    >>> match_contrasts(np.stack([c, 2 * c]), c, np.array([0.1, 0.2]))[0].round(12).tolist()
    [-1.0, -1.0]
    """
    lc = np.log10(np.asarray(contrasts, dtype=np.float64))
    out = [crossing(row, lc, float(t)) for row, t in zip(ladder, targets, strict=True)]
    a = np.array(out, dtype=np.float64).reshape(-1, 2)
    return a[:, 0], a[:, 1].astype(np.int64)


def matching_rmse(log_match: np.ndarray, human_match: np.ndarray) -> float:
    """RMSE of ``log_match - log10(human_match)`` over finite rows, nothing fitted.

    Examples
    --------
    >>> matching_rmse(np.log10([0.1, 0.2]), np.array([0.1, 0.2]))
    0.0
    """
    d = np.asarray(log_match, dtype=np.float64) - np.log10(np.asarray(human_match, dtype=float))
    d = d[np.isfinite(d)]
    return math.nan if d.size == 0 else float(np.sqrt(np.mean(d * d)))
