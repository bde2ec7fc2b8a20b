"""Choose channels from scores; save the choice as JSON with full provenance.

A :class:`Selection` maps each layer to channel indices and per-channel weights. It is what
:mod:`hvsprobe.metrics` and the losses load to build a perceptual distance.

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

import json
import math
import numbers
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import check_schema, read_json, write_json_atomic
from ._validation import check_choice
from .scores import ChannelScores

__all__ = ["DEFAULT_EXCLUDE", "STRATEGIES", "Selection", "random_subsets", "select_channels"]

SCHEMA_VERSION = 1
STRATEGIES = ("top_fraction", "top_count", "threshold", "soft", "random_fraction", "all")
#: Flags that keep a channel out of a selection by default (see :func:`select_channels`).
DEFAULT_EXCLUDE = ("weak", "border_dominated")
#: Flag columns that ``exclude`` accepts.
EXCLUDABLE = ("weak", "border_dominated", "peak_at_top", "peak_at_bottom", "bandwidth_censored")
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

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> sel = Selection("tiny", "", {"a": {"channels": [1, 2], "weights": [1.0, 0.5], "n_channels": 4}})
    >>> sel.n_selected, sel.weight_vector("a").tolist()
    (2, [0.0, 1.0, 0.5, 0.0])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     Selection.load(sel.save(Path(d) / "selection.json")).layers == sel.layers
    True
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

    def __post_init__(self) -> None:
        check_selection_fields(
            {
                "backbone": self.backbone,
                "weights_sha256": self.weights_sha256,
                "layers": self.layers,
                "score": self.score,
                "strategy": self.strategy,
                "provenance": self.provenance,
            },
            "Selection",
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: object = "") -> Selection:
        """Build from :meth:`to_dict` output, validating every field.

        Raises
        ------
        ValueError
            Naming ``source`` (the file) and the field at fault: not a selection document,
            missing or mistyped keys, duplicate, non-integer or out-of-range channel indices,
            negative or non-finite weights, channels and weights of different lengths.
        """
        where = str(source) or "selection"
        if not isinstance(data, dict):
            raise ValueError(
                f"{where}: expected a JSON object (a hvsprobe selection), got {type(data).__name__}"
            )
        check_schema(data, "selection", SCHEMA_VERSION, where)
        check_selection_fields(data, where)
        return cls(
            backbone=data["backbone"],
            weights_sha256=data["weights_sha256"],
            layers=data["layers"],
            score=data.get("score", "pe"),
            strategy=data.get("strategy", {}),
            provenance=data.get("provenance", {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> Selection:
        """Read and validate a selection JSON (``ValueError`` naming the file if malformed).

        Examples
        --------
        >>> sel = Selection("vgg16", "", {"relu1_2": {"channels": [0], "weights": [1.0],
        ...                                            "n_channels": 64}})
        >>> import tempfile, os
        >>> path = sel.save(os.path.join(tempfile.mkdtemp(), "sel.json"))
        >>> Selection.load(path).n_selected
        1
        """
        try:
            data = read_json(path)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}); is it a selection file?") from None
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not a UTF-8 text file; is it a selection file?") from None
        sel = cls.from_dict(data, path)
        folder = Path(path).parent
        if Path(path).name == "selection.json":  # a results folder's own: check its identity
            from .results_folder import verify_checksums

            verify_checksums(folder, ("selection.json",))
        return sel


def _is_int(v: object) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_selection_fields(data: dict[str, Any], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` and the field unless ``data`` is a valid selection.

    Checks the keys and types of a selection document (``backbone``, ``weights_sha256``,
    ``layers``, optional ``score``, ``strategy``, ``provenance``) and every layer entry with
    :func:`check_layer_entry`.

    Examples
    --------
    >>> check_selection_fields({"backbone": "vgg16", "weights_sha256": "", "layers": {}}, "sel")
    >>> check_selection_fields({"backbone": "vgg16", "layers": {}}, "sel")
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    for key in ("backbone", "weights_sha256", "layers"):
        if key not in data:
            raise ValueError(f"{where}: missing key {key!r}")
    for key in ("backbone", "weights_sha256", "score"):
        if key in data and not isinstance(data[key], str):
            raise ValueError(f"{where}: {key} must be a string, got {data[key]!r}")
    for key in ("strategy", "provenance"):
        if key in data and not isinstance(data[key], dict):
            raise ValueError(f"{where}: {key} must be an object, got {type(data[key]).__name__}")
    layers = data["layers"]
    if not isinstance(layers, dict):
        raise ValueError(
            f"{where}: layers must be an object mapping layer name -> entry, got "
            f"{type(layers).__name__}"
        )
    for name, entry in layers.items():
        check_layer_entry(entry, f"{where}: layers.{name}")


def check_layer_entry(entry: object, where: str) -> None:
    """Raise ``ValueError`` unless ``entry`` is ``{"channels", "weights", "n_channels"}`` valid.

    ``channels``: distinct integers in ``0 .. n_channels - 1``; ``weights``: finite numbers
    >= 0, one per channel; ``n_channels``: a positive integer.

    Examples
    --------
    >>> check_layer_entry({"channels": [0, 2], "weights": [1.0, 1.0], "n_channels": 4}, "a")
    >>> check_layer_entry({"channels": [0, 2], "weights": [1.0], "n_channels": 4}, "a")
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be an object, got {type(entry).__name__}")
    for key in ("channels", "weights", "n_channels"):
        if key not in entry:
            raise ValueError(f"{where}: missing key {key!r}")
    ch, w, n = entry["channels"], entry["weights"], entry["n_channels"]
    if not _is_int(n) or n < 1:
        raise ValueError(f"{where}.n_channels must be a positive integer, got {n!r}")
    for key, values in (("channels", ch), ("weights", w)):
        if not isinstance(values, list | tuple):
            raise ValueError(f"{where}.{key} must be a list, got {type(values).__name__}")
    bad = [c for c in ch if not _is_int(c)]
    if bad:
        raise ValueError(f"{where}.channels must be integers, got {bad[0]!r}")
    outside = [c for c in ch if not 0 <= c < n]
    if outside:
        raise ValueError(
            f"{where}.channels has indices outside 0..{n - 1}: {sorted(set(outside))[:5]}"
        )
    dupes = sorted(int(c) for c, k in Counter(int(c) for c in ch).items() if k > 1)
    if dupes:
        raise ValueError(f"{where}.channels lists channels more than once: {dupes[:5]}")
    if len(ch) != len(w):
        raise ValueError(
            f"{where}: channels and weights must have the same length, got {len(ch)} and {len(w)}"
        )
    bad_w = [v for v in w if not _is_number(v) or not math.isfinite(v) or v < 0]
    if bad_w:
        raise ValueError(f"{where}.weights must be finite numbers >= 0, got {bad_w[0]!r}")


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
    exclude: Sequence[str] | None = None,
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
    exclude : sequence of str, optional
        Flag columns of the scores whose channels are never selected by a ranking or random
        strategy (dead channels never are). Default :data:`DEFAULT_EXCLUDE`: weak and
        border-dominated channels, whose gain-invariant scores describe noise or the
        network's zero padding rather than a response to the grating (docs/method.md).
        ``exclude=()`` keeps them. The counts excluded per layer are recorded.

    Returns
    -------
    Selection

    Examples
    --------
    >>> import numpy as np
    >>> from hvsprobe.scores import COLUMNS, FLAG_COLUMNS, ChannelScores
    >>> cols = {c: np.zeros(4, dtype=bool) if c in FLAG_COLUMNS else np.zeros(4) for c in COLUMNS}
    >>> cols["layer"], cols["channel"] = np.array(["a"] * 4, dtype=object), np.arange(4)
    >>> cols["pe"] = np.array([0.1, 0.9, 0.5, 0.3])
    >>> scores = ChannelScores(cols, config={"backbone": "tiny"})
    >>> select_channels(scores, value=0.5).layers["a"]["channels"]
    [1, 2]
    >>> select_channels(scores, strategy="top_count", value=1, bottom=True).layers["a"]["channels"]
    [0]
    """
    _check_request(score, strategy, value, scope)
    names = layers if layers is not None else scores.layers
    missing = [n for n in names if n not in scores.layers]
    if missing:
        raise ValueError(f"layers {missing} are not in the scores (have {scores.layers})")
    rng = np.random.default_rng(seed)
    per_layer = {n: scores.layer(n) for n in names}
    flags = _exclusion_flags(exclude, strategy)
    excluded: dict[str, dict[str, int]] = {}

    def values_of(t: dict[str, np.ndarray]) -> np.ndarray:
        return _ranked_values(t, score, flags, excluded)

    if scope == "layer":
        out = {}
        for n, t in per_layer.items():
            idx, w = _pick(values_of(t), strategy, value, bottom, rng)
            out[n] = _layer_entry(t, idx, w)
    else:
        all_vals = np.concatenate([values_of(t) for t in per_layer.values()])
        idx, w = _pick(all_vals, strategy, value, bottom, rng)
        out = _split_global(per_layer, idx, w)
    if strategy == "threshold" and not any(e["channels"] for e in out.values()):
        _refuse_empty_threshold(per_layer, score, value, bottom, flags)
    return Selection(
        backbone=str(scores.config.get("backbone", "")),
        weights_sha256=str(scores.config.get("weights_sha256", "")),
        layers=out,
        score=score,
        strategy={
            "name": strategy,
            "value": value,
            "scope": scope,
            "bottom": bottom,
            "seed": seed,
            "exclude": list(flags),
        },
        provenance={"scores": scores.config, "excluded": excluded},
    )


def random_subsets(
    scores: ChannelScores,
    fraction: float,
    n: int,
    *,
    seed: int = 0,
    layers: list[str] | None = None,
) -> list[Selection]:
    """``n`` seeded random ``fraction`` subsets of each layer: the control of every experiment.

    Subset ``r`` is drawn with seed ``1000 * seed + r + int(1000 * fraction)``, so claim 1
    and the battery compare against the same random subsets for the same seed and fraction.

    Examples
    --------
    >>> import numpy as np
    >>> from hvsprobe.scores import COLUMNS, FLAG_COLUMNS, ChannelScores
    >>> cols = {c: np.zeros(8, dtype=bool) if c in FLAG_COLUMNS else np.zeros(8) for c in COLUMNS}
    >>> cols["layer"], cols["channel"] = np.array(["a"] * 8, dtype=object), np.arange(8)
    >>> subsets = random_subsets(ChannelScores(cols, config={"backbone": "tiny"}), 0.25, 3)
    >>> [len(s.layers["a"]["channels"]) for s in subsets]
    [2, 2, 2]
    """
    return [
        select_channels(
            scores,
            strategy="random_fraction",
            value=fraction,
            layers=layers,
            seed=seed * 1000 + r + int(1000 * fraction),
        )
        for r in range(n)
    ]


def _check_request(score: str, strategy: str, value: float, scope: str) -> None:
    """Refuse an unknown score, strategy or scope, or a value the strategy cannot use."""
    check_choice(score, "score", SCORE_COLUMNS)
    check_choice(strategy, "strategy", STRATEGIES)
    check_choice(scope, "scope", ("layer", "global"))
    if strategy in ("top_fraction", "random_fraction") and not 0.0 < value <= 1.0:
        raise ValueError(f"{strategy} needs 0 < value <= 1, got {value}")
    if strategy == "top_count" and (value < 1 or value != int(value)):
        raise ValueError(f"top_count needs a positive integer value, got {value}")
    if strategy == "soft" and not value > 0:
        raise ValueError(f"soft needs a positive exponent value, got {value}")


def _refuse_empty_threshold(
    per_layer: dict[str, dict[str, np.ndarray]],
    score: str,
    value: float,
    bottom: bool,
    flags: tuple[str, ...],
) -> None:
    """Raise ``ValueError`` naming the best available score: a threshold above every channel.

    An empty selection is never what was meant (a metric built on it refuses it later, far
    from the cause), so the threshold is refused where it is chosen.
    """
    vals = np.concatenate([_ranked_values(t, score, flags, {}) for t in per_layer.values()])
    finite = vals[np.isfinite(vals)]
    side, word = ("<=", "smallest") if bottom else (">=", "largest")
    if finite.size == 0:
        raise ValueError(
            f"threshold {value:g} selects no channel: no selectable channel has a finite "
            f"{score} score in these layers; choose other layers or another score"
        )
    best = float(finite.min() if bottom else finite.max())
    raise ValueError(
        f"threshold {value:g} selects no channel: the {word} {score} among the selectable "
        f"channels is {best:.6g}, so no channel has {score} {side} {value:g}; give a value "
        f"{'at or above' if bottom else 'at or below'} {best:.6g}"
    )


def _exclusion_flags(exclude: Sequence[str] | None, strategy: str) -> tuple[str, ...]:
    """The flag columns whose channels the selection leaves out (none for ``all``)."""
    flags = DEFAULT_EXCLUDE if exclude is None else tuple(exclude)
    for f in flags:
        if f not in EXCLUDABLE:
            raise ValueError(f"cannot exclude by {f!r}; choose from {', '.join(EXCLUDABLE)}")
    if strategy == "all":
        return ()  # the all-channel baseline holds every channel, flagged or not
    return flags


def _ranked_values(
    t: dict[str, np.ndarray],
    score: str,
    flags: tuple[str, ...],
    excluded: dict[str, dict[str, int]],
) -> np.ndarray:
    """One layer's scores with dead and excluded channels set to NaN; counts into ``excluded``."""
    vals = t[score].astype(np.float64).copy()
    vals[t["dead"]] = np.nan
    layer = str(t["layer"][0]) if len(t["layer"]) else ""
    excluded[layer] = {}
    for f in flags:
        if f in t:
            hit = np.asarray(t[f], dtype=bool) & ~np.asarray(t["dead"], dtype=bool)
            excluded[layer][f] = int(hit.sum())
            vals[hit] = np.nan
    return vals


def _layer_entry(t: dict[str, np.ndarray], idx: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """The selection's entry of one layer: channel numbers, weights, channel count."""
    return {
        "channels": t["channel"][idx].astype(int).tolist(),
        "weights": [float(x) for x in w],
        "n_channels": int(len(t["channel"])),
    }


def _split_global(
    per_layer: dict[str, dict[str, np.ndarray]], idx: np.ndarray, w: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Entries per layer of a choice made over all layers' rows concatenated."""
    out: dict[str, dict[str, Any]] = {}
    offsets = np.cumsum([0] + [len(t["channel"]) for t in per_layer.values()])
    for i, (n, t) in enumerate(per_layer.items()):
        m = (idx >= offsets[i]) & (idx < offsets[i + 1])
        out[n] = _layer_entry(t, idx[m] - offsets[i], w[m])
    return out
