"""The main job: probe a backbone with the grating grid, score every channel, select.

:func:`analyze` ties the pipeline together and writes a results folder::

    OUT/
      tuning.npz, tuning.json      per-channel responses (see hvsprobe.probe)
      scores.csv, scores.json      per-channel mu1, mu2, PE, best frequency, ... (hvsprobe.scores)
      selection.json               the default selection (top 25 % by PE in every layer)
      summary.json, summary.md     per-layer summary, timings, full configuration

The folder is all-or-nothing: it is built in a work folder beside it and renamed into
place when complete (:mod:`hvsprobe.results_folder`), so a failure at any point leaves the
previous folder untouched. Every option is checked before a model is built or a folder is
made (:func:`check_analysis`). A rerun with the same configuration reuses ``tuning.*`` (the
slow part), and an interrupted probe resumes from its checksummed checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from ._io import write_json_atomic, write_text_atomic
from ._preflight import check_device, check_output_dir
from .backbones import Backbone, get_backbone
from .errors import UserError
from .probe import PRECISIONS, Tuning, _checked_layers, _identity, cached_probe, probe_config
from .results_folder import ResultsWriter, check_replaceable
from .scores import ChannelScores, ScoreConfig, compute_scores
from .selection import Selection, select_channels
from .stimuli import StimulusGrid

__all__ = ["DEFAULT_SELECTION", "Analysis", "analyze", "check_analysis", "format_summary"]

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
    backbone: str | Backbone = "vgg16",
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
    checkpoint_every: float = 60.0,
) -> Analysis:
    """Probe, score and select in one call, writing a results folder.

    Parameters
    ----------
    backbone : str or Backbone
        Registry name or a built backbone.
    weights : str
        ``'imagenet'``, ``'random[:SEED]'`` or a file (used when ``backbone`` is a name).
    layers : sequence of str, optional
        Default: every ReLU output (VGG-16: the 13 conv layers' relu1_1 … relu5_3).
    grid : StimulusGrid, optional
        Default :meth:`StimulusGrid.default` (224 x 224, 60 px/deg, 24 frequencies
        0.5–28.5 cpd, 12 orientations, 4 phases averaged, full contrast).
    out : path, optional
        Results folder; default ``hvsprobe-results/<backbone>-<weights>``.
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
    checkpoint_every : float
        Seconds between probe checkpoints (also written on Ctrl-C and SIGTERM).

    Returns
    -------
    Analysis

    Raises
    ------
    hvsprobe.errors.UserError
        A bad option, found before any work (see :func:`check_analysis`).
    hvsprobe.errors.ResultsFolderError
        ``out`` is busy (another process writes it) or holds foreign files.
    """
    say = log or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    grid = grid or StimulusGrid.default()
    sel_kwargs = {**DEFAULT_SELECTION, **(selection or {})}
    check_analysis(
        grid,
        score_config,
        sel_kwargs,
        out=out,
        device=device,
        precision=precision,
        batch_size=batch_size,
        checkpoint_every=checkpoint_every,
    )
    if isinstance(backbone, str):
        bb = get_backbone(backbone, weights, device=device, progress=say)
    else:
        bb = backbone
    timings["load_backbone_s"] = time.perf_counter() - t0
    names = _checked_layers(bb, grid, layers)
    out = (
        Path(out)
        if out is not None
        else Path("hvsprobe-results") / f"{bb.name}-{bb.weights.replace(':', '')}"
    )
    out = check_replaceable(out)
    say(
        f"probing {bb.name} ({bb.weights}, sha256 {bb.weights_sha256[:12]}…): {len(names)} layers, {len(grid)} stimuli -> {out}"
    )
    with ResultsWriter(out, log=say) as writer:
        t1 = time.perf_counter()
        tuning, reused = _probe_into(
            writer,
            bb,
            grid,
            names,
            say,
            batch_size=batch_size,
            precision=precision,
            device=device,
            progress=progress,
            checkpoint_every=checkpoint_every,
        )
        timings["probe_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        scores = compute_scores(tuning, score_config)
        scores.save(writer.new)
        sel = select_channels(scores, **sel_kwargs)
        sel.save(writer.new / "selection.json")
        timings["score_select_s"] = time.perf_counter() - t2
        timings["total_s"] = time.perf_counter() - t0
        summary = scores.summary()
        write_json_atomic(
            writer.new / "summary.json",
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
                "probe_run": _probe_run(tuning, reused),
                "timings": timings,
                "selection": {**sel.strategy, "score": sel.score, "n_selected": sel.n_selected},
                "score_config": scores.config["score"],
                "probe_config": tuning.config,
                "summary": summary,
            },
        )
        write_text_atomic(
            writer.new / "summary.md", format_summary(summary, bb.name, bb.weights, sel) + "\n"
        )
        writer.commit()
    return Analysis(out, tuning, scores, sel, summary, timings, reused)


def _probe_into(
    writer: ResultsWriter,
    bb: Backbone,
    grid: StimulusGrid,
    names: list[str],
    say: Callable[[str], None],
    **kwargs: Any,
) -> tuple[Tuning, bool]:
    """Probe into ``writer.new`` (checkpoint in the work folder), reusing a matching tuning.

    The tuning of the previous results folder is copied in first when its configuration
    matches; a tuning finished by an interrupted run is already there.
    """
    key = _identity(probe_config(bb, grid, names, precision=kwargs.get("precision", "fp32")))
    seeded = writer.seed_tuning(_identity, key)
    tuning, reused = cached_probe(
        bb, grid, writer.new, names, checkpoint=writer.checkpoint_dir, log=say, **kwargs
    )
    if reused:
        where = f"of the previous results in {writer.target}" if seeded else "of an earlier run"
        say(f"reused the tuning {where} (same configuration)")
    return tuning, reused


def check_analysis(
    grid: StimulusGrid,
    score_config: ScoreConfig | None = None,
    selection: dict[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    device: str | torch.device | None = None,
    precision: str = "fp32",
    batch_size: int = 16,
    checkpoint_every: float = 60.0,
) -> None:
    """Check every option of :func:`analyze` that can be checked without a model; create nothing.

    The score settings and the selection are tried on a small synthetic tuning of ``grid``
    (three channels with random responses), so a CSF name, a score variant that does not
    fit the grid (e.g. mu1 with fewer than three frequencies) or a bad selection fails in
    milliseconds rather than after the probe.

    Raises
    ------
    hvsprobe.errors.UserError
        Saying which option is at fault.

    Examples
    --------
    >>> grid = StimulusGrid.default(size=32, n_frequencies=2, n_orientations=4, n_phases=1)
    >>> check_analysis(grid)
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: the score settings do not fit the grid: mu1 needs at least 3 frequencies, got 2
    """
    if precision not in PRECISIONS:
        raise UserError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if int(batch_size) < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    if not checkpoint_every >= 0:
        raise UserError(f"checkpoint interval must be >= 0 seconds, got {checkpoint_every}")
    check_device(device)
    if out is not None:
        check_replaceable(out)
    else:  # the name needs the backbone; its folder must be writable
        check_output_dir(Path("hvsprobe-results") / "new")
    rng = np.random.default_rng(0)
    f, o, p, k = grid.shape
    fake = Tuning(
        responses={"check": (rng.random((3, f, o, p, k)) + 0.1).astype(np.float32)},
        grid=grid,
        config={"backbone": "check", "weights_sha256": "", "grid": grid.to_dict()},
    )
    kwargs = {k: v for k, v in (selection or DEFAULT_SELECTION).items() if k != "layers"}
    try:
        scores = compute_scores(fake, score_config)
    except (ValueError, KeyError) as exc:
        raise UserError(f"the score settings do not fit the grid: {_line(exc)}") from exc
    try:
        select_channels(scores, **kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"the selection settings are not valid: {_line(exc)}") from exc


def _line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _probe_run(tuning: Tuning, reused: bool) -> dict[str, Any]:
    """The ``probe_run`` entry of ``summary.json``: resumes and probe time."""
    if tuning.run is None:
        return {"resumes": 0, "resumed": False, "probe_s_total": None, "reused_tuning": reused}
    return {**tuning.run.to_dict(), "reused_tuning": reused}


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
