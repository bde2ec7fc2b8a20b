"""``build_report``: a results folder to ``report.html``, its figures and channel pages.

The steps: read and check the folder (:func:`_load`), draw or reuse the figures
(:func:`_figures`), write the channel browser, render the page (:func:`_render_page`).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .._io import write_text_atomic
from ..scores import ChannelScores
from ..tuning import Tuning
from .cache import FigureCache
from .channels import write_channel_pages
from .html import kv_table, rel_href, render, slug
from .inputs import (
    check_consistent,
    check_inputs,
    grid_items,
    load_selections,
    read_summary,
    response_method_text,
    run_items,
    score_items,
    selection_files,
    timing_items,
)
from .output import report_folder
from .page_figures import FigureContext, PageFigures, draw_page_figures, input_digest
from .parallel import default_workers
from .sections import (
    DEFAULT_SECTIONS,
    INVERSION_SECTION,
    Section,
    inversion_section,
    optional_section,
)
from .tables import flag_table, selection_table, summary_table

__all__ = ["build_report"]

#: The page's fixed sections: anchor and table-of-contents label.
_TOC = (
    ("run", "Run"),
    ("summary", "Summary"),
    ("flags", "Flags"),
    ("stimuli", "Stimuli"),
    ("scores", "Scores"),
    ("tuning", "Tuning curves"),
    ("selection", "Selection"),
)


def _resolve_out(results: Path, out: str | os.PathLike[str] | None) -> Path:
    if out is None:
        return results / "report.html"
    out = Path(out)
    if out.is_dir() or out.suffix.lower() not in (".html", ".htm"):
        return out / "report.html"
    return out


def _remove_stale(fig_dir: Path, keep: set[Path]) -> None:
    """Delete per-layer figures of earlier builds that this build did not draw."""
    for p in fig_dir.glob("tuning_*.png"):
        if p not in keep:
            p.unlink()


def _page_context(
    ctx: FigureContext, results: Path, html_dir: Path, summary: dict[str, Any]
) -> dict[str, Any]:
    """Template variables that do not depend on the figures."""
    tuning, scores = ctx.tuning, ctx.scores
    backbone = str(scores.config.get("backbone") or tuning.backbone or "?")
    weights = str(tuning.config.get("weights", "?"))
    files = [
        p
        for p in [results / n for n in ("summary.md", "summary.json", "scores.csv")]
        + selection_files(results)
        if p.is_file()
    ]
    timing = timing_items(summary)
    return {
        "title": f"hvsprobe report: {backbone} ({weights})",
        "response_method": response_method_text(tuning),
        "run_table": kv_table(run_items(tuning, scores, summary), mono=("weights sha256",)),
        "timing_table": kv_table(timing) if timing else "",
        "grid_table": kv_table(grid_items(tuning)),
        "score_table": kv_table(score_items(ctx.score_cfg)),
        "files": [(p.name, rel_href(p, html_dir)) for p in files],
        "flag_table": flag_table(scores),
        "selection_table": selection_table(ctx.selections) if ctx.selections else "",
        "results_name": results.name or str(results),
    }


def _load(results: Path, n_curves: int, notes: list[str]) -> tuple[FigureContext, dict[str, Any]]:
    """Read and check a results folder: what the figures are drawn from, and its summary."""
    check_inputs(results)
    if int(n_curves) < 1:
        raise ValueError(f"n_curves must be >= 1, got {n_curves}")
    tuning = Tuning.load(results)
    scores = ChannelScores.load(results)
    check_consistent(tuning, scores, results)
    summary = read_summary(results, notes)
    selections = load_selections(results, notes)
    score_cfg = dict(scores.config.get("score") or {})
    return FigureContext(tuning, scores, score_cfg, selections, int(n_curves)), summary


def _start_figures(
    ctx: FigureContext,
    results: Path,
    html_dir: Path,
    say: Callable[[str], None],
    workers: int,
) -> tuple[PageFigures, Callable[[], None], FigureCache]:
    """Start drawing (or reusing) the figures into ``html_dir/figures``."""
    fig_dir = html_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    cache = FigureCache(fig_dir, input_digest(results, selection_files(results)))
    made, finish = draw_page_figures(ctx, cache, say, workers)
    return made, finish, cache


def _finish_figures(
    ctx: FigureContext,
    made: PageFigures,
    cache: FigureCache,
    html_dir: Path,
    notes: list[str],
    say: Callable[[str], None],
) -> bool:
    """Record the drawn figures, drop stale ones, set their links; whether a CSF is drawn."""
    _remove_stale(cache.fig_dir, {f.path for f in made.tuning})
    has_csf, csf_notes = ctx.csf_facts(cache)
    notes += csf_notes
    cache.save(f.path.name for f in made.all)
    for f in made.all:
        f.src = rel_href(f.path, html_dir)
    say(f"figures: {len(cache.drawn)} drawn, {len(cache.reused)} reused")
    return has_csf


def _extra_sections(
    sections: Sequence[Section], results: Path, html_dir: Path, inv_html: str | None
) -> list[tuple[Section, str]]:
    """The optional sections that have files, then the inversion section if asked for."""
    extra = [(s, optional_section(s, results, html_dir)) for s in sections]
    if inv_html is not None:
        extra.append((INVERSION_SECTION, inv_html))
    return [(s, h) for s, h in extra if h is not None]


def _render_page(
    context: dict[str, Any],
    made: PageFigures,
    page_hrefs: dict[str, str],
    extra: list[tuple[Section, str]],
    *,
    notes: list[str],
    has_csf: bool,
    scores: ChannelScores,
) -> str:
    """The report page's HTML."""
    toc = list(_TOC) + [("extra-" + slug(s.title), s.title) for s, _ in extra]
    return render(
        "report.html.j2",
        **context,
        toc=toc,
        notes=notes,
        has_csf=has_csf,
        summary_table=summary_table(scores, page_hrefs),
        browser_links=list(page_hrefs.items()),
        stimuli=made.stimuli,
        score_figs=[
            made.scores[k] for k in ("distributions", "shares", "best_frequency", "scatter")
        ],
        tuning_figs=made.tuning,
        selection_fig=made.selection,
        extra=[Markup(h) for _, h in extra],
    )


def build_report(
    results_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    sections: Sequence[Section] = DEFAULT_SECTIONS,
    n_curves: int = 4,
    log: Callable[[str], None] | None = None,
    inversion: str | os.PathLike[str] | None = None,
    workers: int | None = None,
) -> Path:
    """Write an HTML report of a results folder, with its figures and channel browser.

    Parameters
    ----------
    results_dir : path
        Folder written by ``hvsprobe analyze`` (needs ``tuning.json``, ``tuning.npz``,
        ``scores.json``, ``scores.csv``; ``summary.json`` and ``selection*.json`` are used
        when present).
    out : path, optional
        The HTML file to write; a folder (or a path without ``.html``) means
        ``out/report.html``. Default ``results_dir/report.html``. The figures go to
        ``figures/`` and the per-layer channel pages to ``channels/`` beside the HTML file;
        every link is relative. Figures whose inputs did not change are reused.
    sections : sequence of Section
        Optional sections, each shown only when its files exist (default
        :data:`DEFAULT_SECTIONS`: ``claim1``, ``claim2``, ``benchmarks``).
    n_curves : int
        Channels shown per layer in the tuning-curve figures, from each end of the ranking.
    log : callable, optional
        Receives one-line progress messages.
    inversion : path, optional
        A folder written by ``hvsprobe invert``: its figure (``inversion*.png``),
        ``inversion.md`` and ``measures.csv`` become a section.
    workers : int, optional
        Processes drawing the figures (default: the CPUs available, at most 8; 1 draws them
        in this process). The output does not depend on it.

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    FileNotFoundError
        If the folder or one of the required files is missing (the message names them and
        the command that writes them).
    ValueError
        If the scores and the tuning in the folder do not belong to the same run.
    """
    with _collector_paused():
        return _build(results_dir, out, sections, n_curves, log, inversion, workers)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects that existed before the build.

    ``gc.freeze`` moves them (the imported modules: matplotlib alone makes tens of thousands)
    out of the collector's sight, so the collections the build's allocations trigger scan
    only the build's own objects (measured: about 0.5 s of CPU less on a serial VGG-16
    build); the forked figure workers inherit this, as the :mod:`gc` documentation advises
    before a fork. ``gc.unfreeze`` puts them back afterwards, whatever happened.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _build(
    results_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    sections: Sequence[Section],
    n_curves: int,
    log: Callable[[str], None] | None,
    inversion: str | os.PathLike[str] | None,
    workers: int | None,
) -> Path:
    """:func:`build_report`'s steps."""
    say = log or (lambda _msg: None)
    results = Path(results_dir)
    notes: list[str] = []
    ctx, summary = _load(results, n_curves, notes)
    html_path = _resolve_out(results, out)
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1 (or None: the CPUs available), got {workers}")
    n_workers = default_workers() if workers is None else int(workers)
    # written into work_dir, renamed to html_dir when complete (report/output.py); links to
    # files outside the folder are made from html_dir, links inside it are the same in both
    with report_folder(html_path, say) as (work_dir, html_dir):
        inv_html = inversion_section(Path(inversion), html_dir) if inversion is not None else None
        made, finish, cache = _start_figures(ctx, results, work_dir, say, n_workers)
        context = _page_context(ctx, results, html_dir, summary)
        pages = write_channel_pages(
            ctx.tuning,
            ctx.scores,
            work_dir / "channels",
            report_href=rel_href(work_dir / html_path.name, work_dir / "channels"),
            title=context["title"].removeprefix("hvsprobe report: "),
            contrast_index=int(ctx.score_cfg.get("contrast_index", -1)),
            frequency_curve=str(ctx.score_cfg.get("frequency_curve", "preferred")),
        )
        finish()
        has_csf = _finish_figures(ctx, made, cache, work_dir, notes, say)
        page_hrefs = {k: rel_href(v, work_dir) for k, v in pages.items()}
        extra = _extra_sections(sections, results, html_dir, inv_html)
        html = _render_page(
            context, made, page_hrefs, extra, notes=notes, has_csf=has_csf, scores=ctx.scores
        )
        write_text_atomic(work_dir / html_path.name, html)
    html_path = html_dir / html_path.name
    say(f"report: {html_path}")
    return html_path
