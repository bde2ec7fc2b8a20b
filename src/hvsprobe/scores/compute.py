"""The driver: every score and flag of one layer (:func:`score_layer`) and of a whole probe."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..tuning import Tuning, frequency_curves
from .config import COLUMNS, ScoreConfig
from .flags import border_shares, dead_channels, strength
from .frequency import (
    bandwidth_octaves,
    csf_values,
    mu1_csf_logslope,
    mu1_vfss_v1,
    refine_peak_log,
    resolve_csf_params,
)
from .orientation import orientation_columns
from .pe import normalise_pe
from .table import ChannelScores

__all__ = ["compute_scores", "score_layer"]


def _mu1(
    curve: np.ndarray,
    freqs: np.ndarray,
    config: ScoreConfig,
    csf_fn: Callable[[np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    """mu1 of the frequency curves with the configured variant and CSF."""
    if config.mu1 == "csf_logslope":
        csf = csf_fn(freqs) if csf_fn else csf_values(config.csf_name, config.csf_params, freqs)
        return mu1_csf_logslope(curve, freqs, csf)
    return mu1_vfss_v1(curve, csf_values("mannos_sakrison_v1", {}, freqs))


def score_layer(
    responses: np.ndarray,
    freqs: np.ndarray,
    orientations: np.ndarray,
    config: ScoreConfig,
    csf_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    best_whole_map: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scores and flags for one layer's responses ``C x F x O x P x K`` (see :class:`ScoreConfig`).

    Examples
    --------
    >>> import numpy as np
    >>> from hvsprobe.scores import ScoreConfig
    >>> freqs, orients = np.array([1.0, 2.0, 4.0, 8.0]), np.array([0.0, 90.0])
    >>> r = np.zeros((2, 4, 2, 1, 1))  # 2 channels x F x O x P x K
    >>> r[0, :, 0, 0, 0] = [0.1, 1.0, 0.4, 0.1]  # channel 0: tuned to 2 cpd, vertical bars
    >>> cols = score_layer(r, freqs, orients, ScoreConfig(), csf_fn=lambda f: np.ones_like(f))
    >>> cols["dead"].tolist(), float(cols["mu2"][0]), float(cols["preferred_orientation_deg"][0])
    ([False, True], 1.0, 0.0)
    """
    resp = np.asarray(responses, dtype=np.float64)
    if resp.ndim != 5:
        raise ValueError(f"responses must be C x F x O x P x K, got shape {resp.shape}")
    c, f, o = resp.shape[:3]
    if f != len(freqs) or o != len(orientations):
        raise ValueError("responses do not match the grid's frequencies/orientations")
    dead = dead_channels(resp, config)
    r = resp.mean(axis=3)[..., config.contrast_index]  # C x F x O
    flat = r.reshape(c, -1).argmax(axis=1)
    kf, ko = np.unravel_index(flat, (f, o))
    rows = np.arange(c)
    mu1 = _mu1(frequency_curves(r, ko, config.frequency_curve), freqs, config, csf_fn)
    ori = orientation_columns(r, kf, orientations, config)
    pref_curve = r[rows, :, ko]
    bw, cens = bandwidth_octaves(pref_curve, freqs)
    best_f = np.array([refine_peak_log(pref_curve[i], freqs, int(kf[i])) for i in range(c)])
    mu1, mu2, osi, pref, bw, best_f = (
        np.where(dead, np.nan, v) for v in (mu1, ori["mu2"], ori["osi"], ori["pref"], bw, best_f)
    )
    live = ~dead
    peak = r.reshape(c, -1).max(axis=1)
    rel, weak = strength(peak, live, config)
    share = np.where(dead, np.nan, border_shares(r, best_whole_map))
    border = live & (np.nan_to_num(share, nan=0.0) > config.border_max_share)
    return {
        "dead": dead,
        "mu1": mu1,
        "mu2": mu2,
        "pe": normalise_pe(mu1, mu2, config.pe, live & ~weak & ~border),
        "best_frequency_cpd": best_f,
        "preferred_orientation_deg": pref,
        "osi_peak": osi,
        "orientation_selective": live & ori["sel"],
        "orientation_selective_peak": live & ori["sel_peak"],
        "bandwidth_oct": bw,
        "bandwidth_censored": cens & live,
        "peak_response": peak,
        "peak_rel_median": rel,
        "weak": weak,
        "border_share": share,
        "border_dominated": border,
        "peak_at_top": live & (kf == f - 1),
        "peak_at_bottom": live & (kf == 0),
        "selectable": live & ~weak & ~border,
    }


def compute_scores(tuning: Tuning, config: ScoreConfig | None = None) -> ChannelScores:
    """Score every channel of every layer of ``tuning``.

    Parameters
    ----------
    tuning : Tuning
        Probe result (see :func:`hvsprobe.probe.probe`).
    config : ScoreConfig, optional
        Variants and CSF; defaults documented in ``docs/method.md``.

    Returns
    -------
    ChannelScores

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import hvsprobe
    >>> from hvsprobe.probe import probe
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> _ = torch.manual_seed(0)
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()), ["1"])
    >>> grid = StimulusGrid.default(size=16, n_frequencies=4, n_orientations=4, n_phases=2, f_min=2.0)
    >>> tuning = probe(bb, grid, ["1"], progress=False, response="whole_map")
    >>> scores = compute_scores(tuning)
    >>> len(scores), scores.layers, scores.config["score"]["csf"]
    (4, ['1'], 'barten')
    """
    config = config or ScoreConfig()
    grid = tuning.grid
    freqs = np.asarray(grid.frequencies, dtype=np.float64)
    orients = np.asarray(grid.orientations, dtype=np.float64)
    csf_params = resolve_csf_params(config.csf_name, config.csf_params, grid)
    csf = csf_values(config.csf_name, csf_params, freqs)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in COLUMNS}
    for layer in tuning.layers:
        res = score_layer(
            tuning.responses[layer],
            freqs,
            orients,
            config,
            csf_fn=lambda _f: csf,
            best_whole_map=tuning.best_whole_map.get(layer),
        )
        n = len(res["mu1"])
        parts["layer"].append(np.array([layer] * n, dtype=object))
        parts["channel"].append(np.arange(n, dtype=np.int64))
        for k, v in res.items():
            parts[k].append(v)
    cols = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    cfg = {
        "score": {**config.to_dict(), "csf_params": csf_params},
        "backbone": tuning.backbone,
        "weights": tuning.config.get("weights"),
        "weights_sha256": tuning.weights_sha256,
        "probe": {k: v for k, v in tuning.config.items() if k != "hvsprobe_version"},
    }
    return ChannelScores(columns=cols, config=cfg)
