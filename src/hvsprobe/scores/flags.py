"""Flags that keep a channel's scores from meaning what they say: dead, weak, border dominated."""

from __future__ import annotations

import math

import numpy as np

from .config import ScoreConfig

__all__ = ["border_shares", "dead_channels", "strength"]


def dead_channels(responses: np.ndarray, config: ScoreConfig) -> np.ndarray:
    """Channels that respond to no stimulus: ``max |response| <= atol + rtol * layer max``.

    Parameters
    ----------
    responses : ndarray, shape (C, ...)
        One layer's responses, channels first.
    config : ScoreConfig
        Supplies ``dead_atol`` and ``dead_rtol``.

    Returns
    -------
    ndarray of bool, shape (C,)

    Examples
    --------
    >>> from hvsprobe.scores import ScoreConfig
    >>> r = np.array([[0.0, 0.0], [0.5, 2.0]])
    >>> dead_channels(r, ScoreConfig()).tolist()
    [True, False]
    """
    c = responses.shape[0]
    scale = np.abs(responses).reshape(c, -1).max(axis=1)
    dead: np.ndarray = scale <= config.dead_atol + config.dead_rtol * (scale.max() if c else 0.0)
    return dead


def strength(
    peak: np.ndarray, live: np.ndarray, config: ScoreConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Peak relative to the layer's median live peak, and the ``weak`` flag.

    Examples
    --------
    >>> from hvsprobe.scores import ScoreConfig
    >>> peak = np.array([1.0, 2.0, 0.01])
    >>> rel, weak = strength(peak, np.ones(3, dtype=bool), ScoreConfig())
    >>> rel.tolist(), weak.tolist()
    ([1.0, 2.0, 0.01], [False, False, True])
    """
    mags = np.abs(peak[live])
    med = float(np.median(mags)) if mags.size else math.nan
    top = float(mags.max()) if mags.size else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(live, peak / med, np.nan) if med > 0 else np.full(peak.shape, np.nan)
    weak = live & ((peak < config.weak_fraction * med) | (peak < config.weak_max_fraction * top))
    return rel, weak


def border_shares(r: np.ndarray, best_whole_map: np.ndarray | None) -> np.ndarray:
    """Share of each channel's whole-map best-stimulus response that the border changes.

    ``|a_whole - a_free| / max(|a_whole|, |a_free|)`` with ``a_free`` the border-free
    response to the channel's best stimulus and ``a_whole`` the paper's whole-map response
    to the same stimulus (``Tuning.best_whole_map``): 0 when the border changes nothing,
    above 0.5 when it contributes more than half, 1 for a channel that responds only to the
    border. NaN without a border-free probe.

    Parameters
    ----------
    r : ndarray, shape (C, F, O)
        Border-free phase-averaged responses at the scored contrast.
    best_whole_map : ndarray, shape (C, 3), optional
        Frequency index, orientation index and whole-map response per channel.

    Examples
    --------
    >>> r = np.ones((2, 1, 1))  # border-free responses: 1 for both channels
    >>> best = np.array([[0, 0, 1.0], [0, 0, 4.0]])  # whole-map responses 1 and 4
    >>> border_shares(r, best).tolist()
    [0.0, 0.75]
    """
    c = r.shape[0]
    if best_whole_map is None or len(best_whole_map) != c:
        return np.full(c, np.nan)
    i_f = best_whole_map[:, 0].astype(np.int64)
    i_o = best_whole_map[:, 1].astype(np.int64)
    free = r[np.arange(c), i_f, i_o]
    whole = best_whole_map[:, 2]
    denom = np.maximum(np.abs(whole), np.abs(free))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, np.abs(whole - free) / denom, np.nan)
