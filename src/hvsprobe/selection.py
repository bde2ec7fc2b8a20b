"""Choose channels from scores; save the choice as JSON with full provenance.

A :class:`Selection` maps each layer to channel indices and per-channel weights. It is what
:mod:`hvsprobe.metric` and the losses load to build a perceptual distance.

Strategies (``scope='layer'`` applies them inside every layer, ``'global'`` across all):

``top_fraction``  the best ``value`` share (0 < value <= 1) of live channels;
``top_count``     the best ``value`` channels;
``threshold``     every channel whose score is >= ``value``;
``soft``          every live channel, weight = score / max score (in its scope), ``value``
                  is an exponent applied to that ratio (1 = linear);
``random_fraction`` a seeded random ``value`` share (a control of the same size);
``all``           every channel, weight 1, including dead channels and channels with NaN
                  scores (the unweighted baseline).

``bottom=True`` ranks from the worst instead of the best (a control). Dead channels and
channels with NaN scores are never selected, except by ``all``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import check_schema, read_json, write_json_atomic
from ._validation import check_choice
from .scores import ChannelScores

__all__ = ["STRATEGIES", "Selection", "select_channels"]

SCHEMA_VERSION = 1
STRATEGIES = ("top_fraction", "top_count", "threshold", "soft", "random_fraction", "all")
SCORE_COLUMNS = ("pe", "mu1", "mu2")


@dataclass
class Selection:
    """Channels (and weights) chosen per layer, with provenance.

    Attributes
    ----------
    backbone : str
    weights_sha256 : str
        Content hash of the weights the scores were measured on; a metric refuses a
        backbone with other weights.
    layers : dict
        Layer -> ``{"channels": [int, ...], "weights": [float, ...], "n_channels": int}``.
    score : str
        The score column used.
    strategy : dict
        Strategy name, value, scope, bottom flag, seed.
    provenance : dict
        Score and probe configuration.
    """

    backbone: str
    weights_sha256: str
    layers: dict[str, dict[str, Any]]
    score: str = "pe"
    strategy: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def n_selected(self) -> int:
        """Total number of selected channels."""
        return sum(len(v["channels"]) for v in self.layers.values())

    def used_layers(self) -> list[str]:
        """Layers with at least one selected channel (in stored order)."""
        return [k for k, v in self.layers.items() if v["channels"]]

    def weight_vector(self, layer: str) -> np.ndarray:
        """Per-channel weights of ``layer`` (0 for channels that are not selected)."""
        entry = self.layers[layer]
        w = np.zeros(int(entry["n_channels"]), dtype=np.float64)
        w[np.asarray(entry["channels"], dtype=np.int64)] = np.asarray(
            entry["weights"], dtype=np.float64
        )
        return w

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": "selection",
            "schema_version": SCHEMA_VERSION,
            "backbone": self.backbone,
            "weights_sha256": self.weights_sha256,
            "score": self.score,
            "strategy": self.strategy,
            "n_selected": self.n_selected,
            "layers": self.layers,
            "provenance": self.provenance,
        }

    def save(self, path: str | Path) -> Path:
        """Write the selection JSON atomically."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: object = "") -> Selection:
        """Build from :meth:`to_dict` output, validating it."""
        check_schema(data, "selection", SCHEMA_VERSION, source)
        layers = data["layers"]
        for name, entry in layers.items():
            ch, w, n = entry.get("channels"), entry.get("weights"), entry.get("n_channels")
            if ch is None or w is None or n is None or len(ch) != len(w):
                raise ValueError(
                    f"{source}: layer {name} needs channels, weights of equal length, n_channels"
                )
            if any((not 0 <= int(c) < int(n)) for c in ch):
                raise ValueError(
                    f"{source}: layer {name} has channel indices outside 0..{int(n) - 1}"
                )
        return cls(
            backbone=data["backbone"],
            weights_sha256=data["weights_sha256"],
            layers=layers,
            score=data.get("score", "pe"),
            strategy=data.get("strategy", {}),
            provenance=data.get("provenance", {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> Selection:
        """Read a selection JSON."""
        return cls.from_dict(read_json(path), path)


def _pick(
    values: np.ndarray, strategy: str, value: float, bottom: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``values`` (finite entries only) and their weights."""
    if strategy == "all":
        # every channel, also those without a finite score (dead or NaN grating scores):
        # they still respond to natural images, and an all-channel baseline must hold them
        everything = np.arange(values.size)
        return everything, np.ones(everything.size)
    finite = np.nonzero(np.isfinite(values))[0]
    v = values[finite]
    if strategy == "random_fraction":
        k = math.ceil(value * finite.size) if finite.size else 0
        chosen = np.sort(rng.choice(finite, size=k, replace=False)) if k else finite[:0]
        return chosen, np.ones(chosen.size)
    if strategy == "soft":
        ref = (v.min() if bottom else v.max()) if v.size else 1.0
        if bottom:
            ratio = np.where(v > 0, ref / np.where(v > 0, v, 1.0), 0.0)
        else:
            ratio = v / ref if ref > 0 else np.zeros_like(v)
        keep = ratio > 0
        return finite[keep], ratio[keep] ** value
    order = np.argsort(v if bottom else -v, kind="stable")
    if strategy == "top_fraction":
        k = math.ceil(value * v.size) if v.size else 0
    elif strategy == "top_count":
        k = min(int(value), v.size)
    else:  # threshold
        k = int((v <= value).sum() if bottom else (v >= value).sum())
    chosen = np.sort(finite[order[:k]])
    return chosen, np.ones(chosen.size)


def select_channels(
    scores: ChannelScores,
    *,
    score: str = "pe",
    strategy: str = "top_fraction",
    value: float = 0.25,
    scope: str = "layer",
    bottom: bool = False,
    layers: list[str] | None = None,
    seed: int = 0,
) -> Selection:
    """Select channels from a score table.

    Parameters
    ----------
    scores : ChannelScores
    score : {'pe', 'mu1', 'mu2'}
        Which score ranks the channels.
    strategy : str
        One of :data:`STRATEGIES` (see module docstring).
    value : float
        The strategy's parameter (fraction, count, threshold or exponent).
    scope : {'layer', 'global'}
        Rank within each layer or across all layers.
    bottom : bool
        Take the worst channels instead of the best (a control).
    layers : list of str, optional
        Restrict to these layers (default: every scored layer).
    seed : int
        Seed for ``random_fraction``.

    Returns
    -------
    Selection
    """
    check_choice(score, "score", SCORE_COLUMNS)
    check_choice(strategy, "strategy", STRATEGIES)
    check_choice(scope, "scope", ("layer", "global"))
    if strategy in ("top_fraction", "random_fraction") and not 0.0 < value <= 1.0:
        raise ValueError(f"{strategy} needs 0 < value <= 1, got {value}")
    if strategy == "top_count" and (value < 1 or value != int(value)):
        raise ValueError(f"top_count needs a positive integer value, got {value}")
    if strategy == "soft" and not value > 0:
        raise ValueError(f"soft needs a positive exponent value, got {value}")
    names = layers if layers is not None else scores.layers
    missing = [n for n in names if n not in scores.layers]
    if missing:
        raise ValueError(f"layers {missing} are not in the scores (have {scores.layers})")
    rng = np.random.default_rng(seed)
    per_layer = {n: scores.layer(n) for n in names}
    out: dict[str, dict[str, Any]] = {}

    def values_of(t: dict[str, np.ndarray]) -> np.ndarray:
        vals = t[score].astype(np.float64).copy()
        vals[t["dead"]] = np.nan
        return vals

    if scope == "layer":
        for n, t in per_layer.items():
            idx, w = _pick(values_of(t), strategy, value, bottom, rng)
            out[n] = {
                "channels": t["channel"][idx].astype(int).tolist(),
                "weights": [float(x) for x in w],
                "n_channels": int(len(t["channel"])),
            }
    else:
        all_vals = np.concatenate([values_of(t) for t in per_layer.values()])
        idx, w = _pick(all_vals, strategy, value, bottom, rng)
        offsets = np.cumsum([0] + [len(t["channel"]) for t in per_layer.values()])
        for i, (n, t) in enumerate(per_layer.items()):
            m = (idx >= offsets[i]) & (idx < offsets[i + 1])
            local = idx[m] - offsets[i]
            out[n] = {
                "channels": t["channel"][local].astype(int).tolist(),
                "weights": [float(x) for x in w[m]],
                "n_channels": int(len(t["channel"])),
            }
    return Selection(
        backbone=str(scores.config.get("backbone", "")),
        weights_sha256=str(scores.config.get("weights_sha256", "")),
        layers=out,
        score=score,
        strategy={"name": strategy, "value": value, "scope": scope, "bottom": bottom, "seed": seed},
        provenance={"scores": scores.config},
    )
