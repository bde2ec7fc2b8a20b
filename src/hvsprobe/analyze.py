"""The main job: probe a backbone with the grating grid, score every channel, select.

:func:`analyze` ties the pipeline together and writes a results folder::

    OUT/
      tuning.npz, tuning.json      per-channel responses (see hvsprobe.probe)
      scores.csv, scores.json      per-channel mu1, mu2, PE, best frequency, ... (hvsprobe.scores)
      selection.json               the default selection (top 25 % by PE in every layer)
      summary.json, summary.md     per-layer summary, timings, full configuration

Everything is written atomically; a rerun with the same configuration reuses ``tuning.*``
(the slow part), and an interrupted probe resumes from its partial checkpoint.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import __version__
from ._io import write_json_atomic, write_text_atomic
from .backbones import Backbone, as_backbone, get_backbone
from .probe import Tuning, cached_probe
from .scores import ChannelScores, ScoreConfig, compute_scores
from .selection import Selection, select_channels
from .stimuli import StimulusGrid

__all__ = ["DEFAULT_SELECTION", "Analysis", "analyze", "format_summary", "results_folder_name"]

SCHEMA_VERSION = 1
#: The selection written by ``analyze``: the top quarter of every layer's live channels by PE.
DEFAULT_SELECTION: dict[str, Any] = {
    "score": "pe",
    "strategy": "top_fraction",
    "value": 0.25,
    "scope": "layer",
}


@dataclass
class Analysis:
    """Everything :func:`analyze` produced."""

    out: Path
    tuning: Tuning
    scores: ChannelScores
    selection: Selection
    summary: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    reused_tuning: bool = False


def analyze(
    backbone: str | Backbone | nn.Module = "vgg16",
    *,
    weights: str = "imagenet",
    layers: Sequence[str] | None = None,
    grid: StimulusGrid | None = None,
    out: str | Path | None = None,
    device: str | torch.device | None = None,
    precision: str = "fp32",
    batch_size: int = 16,
    score_config: ScoreConfig | None = None,
    selection: dict[str, Any] | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> Analysis:
    """Probe, score and select in one call, writing a results folder.

    Parameters
    ----------
    backbone : str, Backbone or torch.nn.Module
        Registry name, a built backbone (:func:`hvsprobe.wrap`, :func:`hvsprobe.load_model`)
        or a plain module (wrapped with :func:`hvsprobe.wrap`'s defaults).
    weights : str
        ``'imagenet'``, ``'random[:SEED]'`` or a file (used when ``backbone`` is a name).
    layers : sequence of str, optional
        Default: every ReLU output (VGG-16: the 13 conv layers' relu1_1 … relu5_3).
    grid : StimulusGrid, optional
        Default :meth:`StimulusGrid.default` (224 x 224, 60 px/deg, 24 frequencies
        0.5–28.5 cpd, 12 orientations, 4 phases averaged, full contrast).
    out : path, optional
        Results folder; default ``hvsprobe-results/<name>-<weights>``, named after the
        backbone's display name and weights label (characters other than letters, digits,
        ``.``, ``_`` and ``-`` dropped).
    device, precision, batch_size
        Passed to :func:`hvsprobe.probe.probe`.
    score_config : ScoreConfig, optional
        Score variants and CSF (defaults in docs/method.md).
    selection : dict, optional
        Keyword arguments of :func:`hvsprobe.selection.select_channels`; default
        :data:`DEFAULT_SELECTION`.
    progress : bool
        Progress bars.
    log : callable, optional
        Receives one-line status messages.

    Returns
    -------
    Analysis
    """
    say = log or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if isinstance(backbone, str):
        bb = get_backbone(backbone, weights, device=device, progress=say)
    else:
        bb = as_backbone(backbone)
    timings["load_backbone_s"] = time.perf_counter() - t0
    grid = grid or StimulusGrid.default()
    names = bb.check_layers(layers if layers is not None else bb.default_layers)
    out = Path(out) if out is not None else Path("hvsprobe-results") / results_folder_name(bb)
    out.mkdir(parents=True, exist_ok=True)
    say(
        f"probing {bb.name} ({bb.weights}, sha256 {bb.weights_sha256[:12]}…): {len(names)} layers, {len(grid)} stimuli -> {out}"
    )
    t1 = time.perf_counter()
    tuning, reused = cached_probe(
        bb,
        grid,
        out,
        names,
        batch_size=batch_size,
        precision=precision,
        device=device,
        progress=progress,
    )
    timings["probe_s"] = time.perf_counter() - t1
    if reused:
        say("reused the cached tuning in the results folder (same configuration)")
    t2 = time.perf_counter()
    scores = compute_scores(tuning, score_config)
    scores.save(out)
    sel_kwargs = {**DEFAULT_SELECTION, **(selection or {})}
    sel = select_channels(scores, **sel_kwargs)
    sel.save(out / "selection.json")
    timings["score_select_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    summary = scores.summary()
    write_json_atomic(
        out / "summary.json",
        {
            "kind": "analysis",
            "schema_version": SCHEMA_VERSION,
            "hvsprobe_version": __version__,
            "backbone": bb.name,
            "weights": bb.weights,
            "weights_sha256": bb.weights_sha256,
            "weights_origin": bb.weights_origin,
            "layers": names,
            "n_stimuli": len(grid),
            "reused_tuning": reused,
            "timings": timings,
            "selection": {**sel.strategy, "score": sel.score, "n_selected": sel.n_selected},
            "score_config": scores.config["score"],
            "probe_config": tuning.config,
            "summary": summary,
        },
    )
    write_text_atomic(out / "summary.md", format_summary(summary, bb.name, bb.weights, sel) + "\n")
    return Analysis(out, tuning, scores, sel, summary, timings, reused)


def results_folder_name(backbone: Backbone) -> str:
    """``<name>-<weights>`` with only letters, digits, ``.``, ``_`` and ``-`` kept.

    Examples
    --------
    >>> from hvsprobe.backbones import get_backbone
    >>> results_folder_name(get_backbone("alexnet", "random:3"))
    'alexnet-random3'
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "", backbone.name).strip(".") or "model"
    return f"{name}-{re.sub(r'[^A-Za-z0-9._-]+', '', backbone.weights) or 'weights'}"


def _fmt(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def format_summary(
    summary: list[dict[str, Any]], backbone: str, weights: str, selection: Selection | None = None
) -> str:
    """A markdown table of the per-layer summary."""
    lines = [
        f"# {backbone} ({weights}): per-layer channel scores",
        "",
        "| layer | channels | dead | median mu1 | median mu2 | median PE | median best f (cpd) | orientation selective | top channels (PE) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    tot_sel = tot_live = 0
    for r in summary:
        live = r["channels"] - r["dead"]
        tot_sel += r["orientation_selective"]
        tot_live += live
        share = r["share_orientation_selective"]
        lines.append(
            f"| {r['layer']} | {r['channels']} | {r['dead']} | {_fmt(r['median_mu1'])} | "
            f"{_fmt(r['median_mu2'])} | {_fmt(r['median_pe'])} | {_fmt(r['median_best_frequency_cpd'])} | "
            f"{r['orientation_selective']} ({100 * share:.0f} %) | {', '.join(map(str, r['top_channels']))} |"
        )
    lines.append("")
    if tot_live:
        lines.append(
            f"Orientation selective (peak index >= 1/3, i.e. preferred >= 2 x orthogonal): "
            f"{tot_sel} of {tot_live} live channels ({100 * tot_sel / tot_live:.1f} %)."
        )
    if selection is not None:
        s = selection.strategy
        lines.append(
            f"Default selection: {s.get('name')} {s.get('value')} by {selection.score} "
            f"(scope {s.get('scope')}): {selection.n_selected} channels."
        )
    return "\n".join(lines)
