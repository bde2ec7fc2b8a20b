"""Do our channel scores agree with what LPIPS learned?

LPIPS (Zhang et al. 2018) weights every channel of its backbone with a learned non-negative
linear weight.  If the channels our probe scores as human-like (high ``mu1``, ``mu2``, PE)
are the ones LPIPS relies on, scores and weights should be rank-correlated.  For each layer
and each score this module computes the Spearman correlation between the channels' scores
and their LPIPS weights, with a permutation p-value.

Pure functions on arrays: no network, no file access.

Permutation test
----------------
The weights are shuffled ``n_perm`` times over the live channels (seeded); the two-sided
p-value is ``(1 + #{|rho_perm| >= |rho_obs|}) / (1 + n_perm)`` (one-sided variants count
``rho_perm >= rho_obs`` or ``<=``), which is never 0 and is exact in expectation under
exchangeability.  Channels with a NaN score (dead channels: no response to any stimulus)
are left out of that score's correlation and counted in ``n_dead``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._validation import check_choice

__all__ = ["LayerAgreement", "lpips_agreement", "score_weight_agreement"]

_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class LayerAgreement:
    """Rank agreement of one score with the LPIPS weights of one layer.

    Attributes
    ----------
    layer : str
        Layer name.
    score : str
        Score name (``'mu1'``, ``'mu2'``, ``'pe'``, ...).
    rho : float
        Spearman correlation over the live channels (NaN if fewer than 3 or constant).
    p_value : float
        Permutation p-value (NaN when ``rho`` is NaN).
    n_channels : int
        Channels in the layer.
    n_used : int
        Channels with a finite score (and finite weight).
    n_dead : int
        Channels left out because the score is NaN.
    n_perm : int
        Permutations drawn.
    alternative : str
        ``'two-sided'``, ``'greater'`` or ``'less'``.
    """

    layer: str
    score: str
    rho: float
    p_value: float
    n_channels: int
    n_used: int
    n_dead: int
    n_perm: int
    alternative: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "layer": self.layer,
            "score": self.score,
            "rho": self.rho,
            "p_value": self.p_value,
            "n_channels": self.n_channels,
            "n_used": self.n_used,
            "n_dead": self.n_dead,
            "n_perm": self.n_perm,
            "alternative": self.alternative,
        }


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation of ``x`` (n,) with every row of ``y`` (k, n)."""
    rx = stats.rankdata(x)
    ry = stats.rankdata(y, axis=1)
    rx = rx - rx.mean()
    ry = ry - ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum()) * np.sqrt((ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ry @ rx) / den


def score_weight_agreement(
    scores: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    *,
    layer: str = "",
    score: str = "",
    n_perm: int = 10000,
    seed: int = 0,
    alternative: str = "two-sided",
    batch: int = 2000,
) -> LayerAgreement:
    """Spearman correlation between channel scores and weights, with a permutation p-value.

    Parameters
    ----------
    scores : array_like
        One score per channel; NaN marks a dead channel (left out and counted).
    weights : array_like
        LPIPS linear weight of the same channels, same length and order.
    layer, score : str
        Names recorded in the result.
    n_perm : int
        Number of permutations (>= 1).
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    alternative : str
        ``'two-sided'`` (default), ``'greater'`` or ``'less'``.
    batch : int
        Permutations computed per vectorised block (memory ``batch x channels``).

    Returns
    -------
    LayerAgreement

    Raises
    ------
    ValueError
        On different lengths, non-finite weights or a bad ``n_perm``.
    """
    check_choice(alternative, "alternative", _ALTERNATIVES)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if s.shape != w.shape:
        raise ValueError(
            f"layer {layer!r}: {s.size} scores but {w.size} weights; they must describe the same "
            "channels in the same order"
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"layer {layer!r}: weights contain NaN or infinite values")
    if not isinstance(n_perm, int | np.integer) or isinstance(n_perm, bool) or n_perm < 1:
        raise ValueError(f"n_perm must be an int >= 1, got {n_perm!r}")
    if np.isinf(s).any():
        raise ValueError(f"layer {layer!r}: scores contain infinite values")
    live = np.isfinite(s)
    n_dead = int((~live).sum())
    sl, wl = s[live], w[live]
    nan = math.nan
    if sl.size < 3 or np.ptp(sl) == 0 or np.ptp(wl) == 0:
        return LayerAgreement(
            layer, score, nan, nan, s.size, int(sl.size), n_dead, int(n_perm), alternative
        )
    rho = float(stats.spearmanr(sl, wl).statistic)
    rng = np.random.default_rng(seed)
    hits = 0
    done = 0
    tol = 1e-12
    while done < n_perm:
        k = min(batch, n_perm - done)
        perm = rng.permuted(np.broadcast_to(wl, (k, wl.size)), axis=1)
        r = _spearman_rows(sl, perm)
        if alternative == "two-sided":
            hits += int(np.sum(np.abs(r) >= abs(rho) - tol))
        elif alternative == "greater":
            hits += int(np.sum(r >= rho - tol))
        else:
            hits += int(np.sum(r <= rho + tol))
        done += k
    p = (1 + hits) / (1 + n_perm)
    return LayerAgreement(
        layer, score, rho, p, s.size, int(sl.size), n_dead, int(n_perm), alternative
    )


def lpips_agreement(
    scores_by_layer: Mapping[str, Mapping[str, Sequence[float] | np.ndarray]],
    weights_by_layer: Mapping[str, Sequence[float] | np.ndarray],
    *,
    score_names: Sequence[str] | None = None,
    n_perm: int = 10000,
    seed: int = 0,
    alternative: str = "two-sided",
) -> list[LayerAgreement]:
    """Agreement of every score with the LPIPS weights, layer by layer.

    Parameters
    ----------
    scores_by_layer : mapping
        ``{layer: {score name: array over channels}}``, e.g.
        ``{'relu1': {'mu1': ..., 'mu2': ..., 'pe': ...}, ...}``.
    weights_by_layer : mapping
        ``{layer: array over channels}`` of LPIPS linear weights.
    score_names : sequence of str, optional
        Scores to test; default every score of each layer.
    n_perm : int
        Permutations per test.
    seed : int
        Base seed; test ``i`` (in layer, then score order) uses ``seed + i``.
    alternative : str
        ``'two-sided'``, ``'greater'`` or ``'less'``.

    Returns
    -------
    list of LayerAgreement
        In the order of ``scores_by_layer``, then of the score names.

    Raises
    ------
    KeyError
        If a layer has no weights or a requested score is missing.
    """
    out: list[LayerAgreement] = []
    i = 0
    for layer, table in scores_by_layer.items():
        if layer not in weights_by_layer:
            raise KeyError(
                f"no LPIPS weights for layer {layer!r}; weights are given for "
                f"{sorted(weights_by_layer)}"
            )
        names = list(table) if score_names is None else list(score_names)
        for name in names:
            if name not in table:
                raise KeyError(f"layer {layer!r} has no score {name!r}; it has {sorted(table)}")
            out.append(
                score_weight_agreement(
                    table[name],
                    weights_by_layer[layer],
                    layer=layer,
                    score=name,
                    n_perm=n_perm,
                    seed=seed + i,
                    alternative=alternative,
                )
            )
            i += 1
    return out
