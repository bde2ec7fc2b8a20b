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
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import __version__
from ._format import format_number
from ._io import write_json_atomic, write_text_atomic
from ._preflight import available_memory, check_device, check_memory, check_output_dir
from .backbones import Backbone, as_backbone, get_backbone
from .errors import UserError
from .probe import (
    PRECISIONS,
    cached_probe,
    check_route,
    checked_layers,
    probe_config,
    probe_identity,
)
from .response import ResponseConfig, TorusError, plan_torus
from .results_folder import ResultsWriter, check_replaceable
from .scores import ChannelScores, ScoreConfig, compute_scores
from .selection import Selection, select_channels
from .stimuli import StimulusGrid
from .tuning import Tuning

__all__ = [
    "DEFAULT_SELECTION",
    "Analysis",
    "analyze",
    "check_analysis",
    "format_summary",
    "results_folder_name",
]

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
    """Everything :func:`analyze` produced.

    Examples
    --------
    >>> list(Analysis.__dataclass_fields__)[:5]  # filled by analyze(), see its example
    ['out', 'tuning', 'scores', 'selection', 'summary']
    """

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
    response: str | ResponseConfig | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    checkpoint_every: float = 60.0,
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
        :data:`DEFAULT_SELECTION` (by ``mu1`` for concentric gratings, which have no
        orientation and so no mu2 or PE).
    response : str or ResponseConfig, optional
        How a feature map becomes one response (:mod:`hvsprobe.response`); default
        ``'torus'``, the border-free response to an infinite grating.
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

    Examples
    --------
    >>> import tempfile
    >>> import torch
    >>> from torch import nn
    >>> import hvsprobe
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
    >>> bb = hvsprobe.wrap(net, ["1", "3"], name="tiny")
    >>> grid = StimulusGrid.default(size=16, n_frequencies=4, n_orientations=4, n_phases=2, f_min=2.0)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res = analyze(bb, grid=grid, out=Path(d) / "tiny", progress=False, response="whole_map")
    ...     files = sorted(p.name for p in res.out.iterdir())
    >>> files
    ['checksums.json', 'scores.csv', 'scores.json', 'selection.json', 'summary.json', 'summary.md', 'tuning.json', 'tuning.npz']
    >>> res.scores.layers, res.selection.strategy["name"]
    (['1', '3'], 'top_fraction')
    """
    say = log or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    grid = grid or StimulusGrid.default()
    response = ResponseConfig.coerce(response)
    sel_kwargs = _selection_kwargs(grid, selection)
    check_analysis(
        grid,
        score_config,
        sel_kwargs,
        out=out,
        device=device,
        precision=precision,
        batch_size=batch_size,
        checkpoint_every=checkpoint_every,
        response=response,
    )
    if isinstance(backbone, str):
        bb = get_backbone(backbone, weights, device=device, progress=say)
    else:
        bb = as_backbone(backbone)
    timings["load_backbone_s"] = time.perf_counter() - t0
    names = checked_layers(bb, grid, layers)
    check_route(bb, grid, names, response)  # e.g. a ViT on the torus: refused before any work
    _check_layer_memory(bb, names, grid, response, batch_size)
    out = Path(out) if out is not None else Path("hvsprobe-results") / results_folder_name(bb)
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
            response=response,
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
        _write_summary(writer.new, bb, grid, names, tuning, reused, timings, scores, sel, summary)
        writer.commit()
    return Analysis(out, tuning, scores, sel, summary, timings, reused)


def _selection_kwargs(grid: StimulusGrid, selection: dict[str, Any] | None) -> dict[str, Any]:
    """:data:`DEFAULT_SELECTION` (by mu1 for concentric gratings) updated with ``selection``."""
    base = dict(DEFAULT_SELECTION)
    if grid.kind == "concentric":
        base["score"] = "mu1"  # no orientation, so no mu2 and no PE
    return {**base, **(selection or {})}


def _write_summary(
    folder: Path,
    bb: Backbone,
    grid: StimulusGrid,
    names: list[str],
    tuning: Tuning,
    reused: bool,
    timings: dict[str, float],
    scores: ChannelScores,
    sel: Selection,
    summary: list[dict[str, Any]],
) -> None:
    """Write ``summary.json`` (configuration, timings, per-layer summary) and ``summary.md``."""
    write_json_atomic(
        folder / "summary.json",
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
    text = format_summary(summary, bb.name, bb.weights, sel, tuning.response_method)
    write_text_atomic(folder / "summary.md", text + "\n")


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
    cfg = probe_config(
        bb, grid, names, precision=kwargs.get("precision", "fp32"), response=kwargs.get("response")
    )
    key = probe_identity(cfg)
    seeded = writer.seed_tuning(probe_identity, key)
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
    response: str | ResponseConfig | None = None,
) -> None:
    """Check every option of :func:`analyze` that can be checked without a model; create nothing.

    Beyond the options one by one: the memory of the largest forward pass's input images
    (a lower bound) must fit in the memory available, and on the torus route every grating
    of the grid must fit a torus (checked with the smallest unit; a network's stride can
    only make the torus larger).

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
    resp = ResponseConfig.coerce(response)
    n, h, w, option = _largest_pass(grid, resp, int(batch_size))
    _check_pass_memory(n, 4.0 * 3 * h * w, option, f"of {h} x {w} px (3 x {h} x {w} float32 each)")
    if resp.method == "torus" and grid.kind == "grating":
        try:
            plan_torus(grid.frequencies, grid.orientations, grid.ppd, 1, resp)
        except TorusError as exc:
            raise UserError(_line(exc)) from None
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
    chosen = selection if selection is not None else _selection_kwargs(grid, None)
    kwargs = {k: v for k, v in chosen.items() if k != "layers"}
    try:
        scores = compute_scores(fake, score_config)
    except (ValueError, KeyError) as exc:
        raise UserError(f"the score settings do not fit the grid: {_line(exc)}") from exc
    try:
        select_channels(scores, **kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"the selection settings are not valid: {_line(exc)}") from exc


def _largest_pass(
    grid: StimulusGrid, resp: ResponseConfig, batch_size: int
) -> tuple[int, int, int, str]:
    """``(images, height, width, option)`` of the largest forward pass of a probe.

    whole_map: ``batch_size`` stimuli of the grid's size; interior: stimuli of twice the
    size; torus: the border pass runs every phase of a best stimulus at the grid's size
    (the torus pass itself is at most ``max_torus`` pixels a side).
    """
    h, w = (int(v) for v in grid.size)
    if resp.method == "torus":
        return int(grid.shape[2]), h, w, "--n-phases"
    if resp.method == "interior":
        h, w = 2 * h, 2 * w
    return batch_size, h, w, "--batch-size"


def _check_pass_memory(n: int, per_image: float, option: str, what: str) -> None:
    """Refuse a pass of ``n`` images of ``per_image`` bytes each that cannot fit in memory."""
    free = available_memory()
    lower = "lower --size"
    if n > 1 and free is not None:
        fits = int(free // per_image)
        lower += f" or {option}" + (f" ({option} {fits} fits)" if 1 <= fits < n else "")
    images = "1 stimulus" if n == 1 else f"{n} stimuli"
    check_memory(n * per_image, f"one forward pass of {images} {what}", lower, free)


def _check_layer_memory(
    bb: Backbone,
    names: list[str],
    grid: StimulusGrid,
    response: ResponseConfig,
    batch_size: int,
) -> None:
    """The largest pass with the probed layers' feature maps (float32), before any work."""
    n, h, w, option = _largest_pass(grid, response, int(batch_size))
    try:
        infos = bb.describe_layers(names)
    except ValueError:  # the dry run's size does not fit a layer: no estimate
        return
    values = 3 * h * w + sum(
        i.channels * math.ceil(h / i.stride) * math.ceil(w / i.stride) for i in infos
    )
    what = (
        f"of {h} x {w} px through {bb.name} (the images and the {len(names)} probed "
        "layers' feature maps in float32)"
    )
    _check_pass_memory(n, 4.0 * values, option, what)


def _line(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _probe_run(tuning: Tuning, reused: bool) -> dict[str, Any]:
    """The ``probe_run`` entry of ``summary.json``: resumes and probe time."""
    if tuning.run is None:
        return {"resumes": 0, "resumed": False, "probe_s_total": None, "reused_tuning": reused}
    return {**tuning.run.to_dict(), "reused_tuning": reused}


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


def _fmt(x: float | None, digits: int = 3) -> str:
    return format_number(x, digits, nonfinite="nan")


def _pct(n: int, total: int) -> str:
    """``n (p %)`` with enough digits that a non-zero share never prints as 0."""
    if not total:
        return f"{n}"
    p = 100.0 * n / total
    text = f"{p:.0f}" if p >= 10 or p == 0 else f"{p:.1f}" if p >= 1 else f"{p:.2g}"
    return f"{n} ({text} %)"


def format_summary(
    summary: list[dict[str, Any]],
    backbone: str,
    weights: str,
    selection: Selection | None = None,
    response: str = "",
) -> str:
    """A markdown summary: scores per layer, then the trust flags per layer.

    Examples
    --------
    >>> import numpy as np
    >>> from hvsprobe.scores import COLUMNS, FLAG_COLUMNS
    >>> cols = {c: np.zeros(2, dtype=bool) if c in FLAG_COLUMNS else np.ones(2) for c in COLUMNS}
    >>> cols["layer"], cols["channel"] = np.array(["a", "a"], dtype=object), np.arange(2)
    >>> text = format_summary(ChannelScores(cols, {}).summary(), "tiny", "random:0")
    >>> text.splitlines()[0]
    '# tiny (random:0): per-layer channel scores'
    """
    lines = [
        f"# {backbone} ({weights}): per-layer channel scores",
        "",
        f"Response: {response or 'whole_map'} (docs/method.md section 2). Medians over live "
        "channels; `at top` = share of live channels whose best frequency is the grid's "
        "highest (the median best frequency is then a lower bound for them).",
        "",
        "| layer | channels | median mu1 | median mu2 | median PE | median best f (cpd) | at top | orientation selective (1 - CV >= 1/6) | peak index >= 1/3 | top channels |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    tot = {"sel": 0, "peak": 0, "live": 0}
    for r in summary:
        live = r["channels"] - r["dead"]
        tot["sel"] += r["orientation_selective"]
        tot["peak"] += r.get("orientation_selective_peak", 0)
        tot["live"] += live
        lines.append(
            f"| {r['layer']} | {r['channels']} | {_fmt(r['median_mu1'])} | "
            f"{_fmt(r['median_mu2'])} | {_fmt(r['median_pe'])} | "
            f"{_fmt(r['median_best_frequency_cpd'], 2)} | {_pct(r.get('peak_at_top', 0), live)} | "
            f"{_pct(r['orientation_selective'], live)} | "
            f"{_pct(r.get('orientation_selective_peak', 0), live)} | "
            f"{', '.join(map(str, r['top_channels']))} (by {r.get('top_channels_by', 'pe')}) |"
        )
    lines += [
        "",
        "## Trust flags per layer",
        "",
        "Counts (share of live channels). Dead: no response; weak: peak below 0.1 x the "
        "layer's median peak (or 0.001 x its largest); border dominated: the zero-padded border "
        "changes the whole-map response to the best stimulus by more than half; at top / "
        "bottom: best frequency at the edge of the grid; censored: bandwidth is a lower bound. "
        "Weak and border-dominated channels are never selected by default.",
        "",
        "| layer | dead | weak | border dominated | peak at top | peak at bottom | bandwidth censored | selectable |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary:
        live = r["channels"] - r["dead"]
        lines.append(
            f"| {r['layer']} | {_pct(r['dead'], r['channels'])} | {_pct(r.get('weak', 0), live)} | "
            f"{_pct(r.get('border_dominated', 0), live)} | {_pct(r.get('peak_at_top', 0), live)} | "
            f"{_pct(r.get('peak_at_bottom', 0), live)} | "
            f"{_pct(r.get('bandwidth_censored', 0), live)} | {_pct(r.get('selectable', live), live)} |"
        )
    lines.append("")
    if tot["live"]:
        lines.append(
            f"Orientation selective: {_pct(tot['sel'], tot['live'])} of {tot['live']} live "
            "channels by mu2's own index (1 - circular variance >= 1/6, the 2:1 "
            "preferred-to-orthogonal criterion for a sinusoidal orientation curve); by the "
            f"peak index (>= 1/3): {_pct(tot['peak'], tot['live'])}."
        )
    if selection is not None:
        s = selection.strategy
        exc = selection.provenance.get("excluded", {})
        n_exc = sum(sum(v.values()) for v in exc.values()) if exc else 0
        lines.append(
            f"Default selection: {s.get('name')} {s.get('value')} by {selection.score} "
            f"(scope {s.get('scope')}): {selection.n_selected} channels; "
            f"{n_exc} flagged channels excluded ({', '.join(s.get('exclude', [])) or 'none'})."
        )
    return "\n".join(lines)
