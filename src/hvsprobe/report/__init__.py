"""A self-contained HTML report of a results folder written by :func:`hvsprobe.analyze.analyze`.

>>> from hvsprobe.report import build_report
>>> build_report("hvsprobe-results/vgg16-imagenet")  # doctest: +SKIP
PosixPath('hvsprobe-results/vgg16-imagenet/report.html')

The report is ``report.html`` plus PNG figures in ``figures/`` and one channel-browser page
per layer in ``channels/`` beside it, referenced by relative paths; it loads nothing from the
network. The page is rendered from jinja2 templates (``templates/``); figures whose inputs did
not change since the last build are reused (:mod:`hvsprobe.report.cache`), and a rebuild
gives the same bytes. Contents: run and configuration header (with the response method),
per-layer summary and flag tables (top channels link to the browser), example stimuli, score
distributions, shares of selective / weak / border-dominated / edge-of-grid / dead channels,
best frequencies against the CSF peak, mu1-vs-mu2 scatter with flagged channels marked,
tuning curves at both ends of the ranking, the selections, and optional sections
(:data:`DEFAULT_SECTIONS`). Several folders: :func:`hvsprobe.report.compare.build_comparison`.
How to read each figure: ``docs/report.md``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from .. import __version__ as _version
from .._io import read_json, write_text_atomic
from ..scores import ChannelScores
from ..selection import Selection
from ..tuning import Tuning
from . import figures as figs
from .cache import FigureCache, file_digest
from .channels import channel_page_name, write_channel_pages
from .html import (
    csv_to_html,
    esc,
    figure,
    fmt_share,
    json_to_html,
    kv_table,
    markdown_to_html,
    rel_href,
    render,
    slug,
    table,
)
from .inputs import (
    check_consistent,
    check_inputs,
    csf_for,
    grid_items,
    load_selections,
    read_summary,
    response_method_text,
    run_items,
    score_items,
    selection_files,
    timing_items,
)
from .tuning_figures import tuning_curves

__all__ = ["DEFAULT_SECTIONS", "Section", "build_report"]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


@dataclass(frozen=True)
class Section:
    """An optional report section: shown only when one of ``globs`` matches a file.

    Attributes
    ----------
    title : str
        Section header.
    globs : tuple of str
        Patterns relative to the results folder, in display order. Markdown (``.md``) is
        converted to HTML, images are embedded, ``.json`` and ``.csv`` become tables, other
        files are linked.
    """

    title: str
    globs: tuple[str, ...]


#: Optional sections looked for in every results folder.
DEFAULT_SECTIONS: tuple[Section, ...] = (
    Section("Claim 1", ("claim1.md", "claim1/*.md", "claim1/*.png")),
    Section("Claim 2", ("claim2.md", "claim2/*.md", "claim2/*.png")),
    Section(
        "Benchmarks",
        ("benchmarks.md", "benchmarks/*.md", "benchmarks/results.json", "benchmarks/*.png"),
    ),
)
#: What ``build_report(..., inversion=DIR)`` shows from ``DIR`` (``hvsprobe invert`` output).
INVERSION_SECTION = Section("Feature inversion", ("inversion.md", "inversion*.png", "measures.csv"))


@dataclass
class _Fig:
    """One figure of the page: anchor, title, file (src relative to the page) and caption."""

    key: str
    title: str
    path: Path
    caption: str
    src: str = ""


# ----------------------------------------------------------------------------------------
# tables


def _fixed(value: Any, decimals: int) -> str:
    """``value`` with a fixed number of decimals; a dash for a missing or NaN value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{float(value):.{decimals}f}"


def _top_links(r: dict[str, Any], href: str) -> Markup:
    links = [f'<a href="{esc(href)}#c{c}">{c}</a>' for c in r["top_channels"]]
    return Markup(", ".join(links) if links else "—")


def _summary_table(scores: ChannelScores, pages: dict[str, str]) -> Markup:
    header = [
        "layer",
        "channels",
        "live",
        "median μ1",
        "median μ2",
        "median PE",
        "median best f (cpd)",
        "peak at grid edge",
        "orientation selective",
        "top channels",
    ]
    rows = []
    for r in scores.summary():
        live = r["channels"] - r["dead"]
        edge = r["peak_at_top"] + r["peak_at_bottom"]
        by = "PE" if r.get("top_channels_by", "pe") == "pe" else "μ1"
        rows.append(
            [
                Markup(f'<a href="{esc(pages[r["layer"]])}">{esc(r["layer"])}</a>'),
                r["channels"],
                live,
                _fixed(r["median_mu1"], 3),
                _fixed(r["median_mu2"], 3),
                _fixed(r["median_pe"], 3),
                _fixed(r["median_best_frequency_cpd"], 2),
                f"{edge} ({fmt_share(edge, live)})",
                f"{r['orientation_selective']} ({fmt_share(r['orientation_selective'], live)})",
                Markup(f'{_top_links(r, pages[r["layer"]])} <span class="muted">by {by}</span>'),
            ]
        )
    numeric = [False, True, True, True, True, True, True, True, True, False]
    return table(header, rows, numeric=numeric)


#: Flag columns of the flag table: summary key, header, denominator.
_FLAG_TABLE = (
    ("dead", "dead", "all"),
    ("weak", "weak", "live"),
    ("border_dominated", "border dominated", "live"),
    ("peak_at_top", "peak at top", "live"),
    ("peak_at_bottom", "peak at bottom", "live"),
    ("bandwidth_censored", "censored bandwidth", "live"),
    ("selectable", "selectable", "live"),
)


def _flag_table(scores: ChannelScores) -> Markup:
    header = ["layer", "channels"] + [h for _, h, _ in _FLAG_TABLE]
    rows = []
    for r in scores.summary():
        live = r["channels"] - r["dead"]
        row: list[Any] = [r["layer"], r["channels"]]
        for key, _, denom in _FLAG_TABLE:
            n = int(r.get(key, 0))
            row.append(f"{n} ({fmt_share(n, r['channels'] if denom == 'all' else live)})")
        rows.append(row)
    return table(header, rows, numeric=[False] + [True] * (len(header) - 1))


def _selection_table(selections: list[tuple[str, Selection]]) -> Markup:
    rows = []
    for name, s in selections:
        st = s.strategy
        rows.append(
            [
                name,
                s.score,
                st.get("name", "?"),
                st.get("value", ""),
                st.get("scope", ""),
                bool(st.get("bottom", False)),
                s.n_selected,
            ]
        )
    header = ["file", "score", "strategy", "value", "scope", "bottom (control)", "channels"]
    return table(header, rows, numeric=[False, False, False, True, False, False, True])


# ----------------------------------------------------------------------------------------
# optional sections


def _embed_file(path: Path, results: Path, html_dir: Path, used: set[Path]) -> str:
    """HTML for one file of an optional section."""
    rel = path.relative_to(results).as_posix()
    href = rel_href(path, html_dir)
    source = f'<p class="source">from <a href="{esc(href)}">{esc(rel)}</a></p>'
    suffix = path.suffix.lower()
    try:
        if suffix == ".md":
            body = markdown_to_html(
                path.read_text(encoding="utf-8"),
                base_dir=path.parent,
                html_dir=html_dir,
                heading_offset=2,
                used=used,
            )
        elif suffix in _IMAGE_SUFFIXES:
            return str(figure(href, rel, rel))
        elif suffix == ".json":
            body = json_to_html(read_json(path))
        elif suffix == ".csv":
            body = csv_to_html(path)
        else:
            return f"<p>{source}</p>"
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        body = f'<p class="note">could not be read: {esc(exc)}</p>'
    return f'<div class="embedded">{source}{body}</div>'


def _optional_section(section: Section, results: Path, html_dir: Path) -> str | None:
    files: list[Path] = []
    for pattern in section.globs:
        for p in sorted(results.glob(pattern)):
            if p.is_file() and p not in files:
                files.append(p)
    if not files:
        return None
    used: set[Path] = set()
    parts = []
    # text first (it may embed some of the images), then the images it did not embed
    texts = [p for p in files if p.suffix.lower() not in _IMAGE_SUFFIXES]
    images = [p for p in files if p.suffix.lower() in _IMAGE_SUFFIXES]
    for p in texts:
        parts.append(_embed_file(p, results, html_dir, used))
    for p in images:
        if p.resolve() not in used:
            parts.append(_embed_file(p, results, html_dir, used))
    sid = "extra-" + slug(section.title)
    return (
        f'<section id="{esc(sid)}">\n<h2>{esc(section.title)}</h2>\n'
        + "\n".join(parts)
        + ("\n</section>")
    )


def _inversion_section(folder: Path, html_dir: Path) -> str:
    """The feature-inversion section from a ``hvsprobe invert`` folder (which must hold a figure)."""
    if not folder.is_dir() or not any(folder.glob("inversion*.png")):
        raise FileNotFoundError(
            f"inversion folder {folder} holds no inversion*.png figure; make it with "
            f"`hvsprobe invert IMAGE --results RESULTS --out {folder}`"
        )
    html = _optional_section(INVERSION_SECTION, folder, html_dir)
    assert html is not None
    return html


# ----------------------------------------------------------------------------------------
# the builder


# ----------------------------------------------------------------------------------------
# the builder


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


def _input_digest(results: Path, selections: list[Path]) -> str:
    """Digest of everything every figure depends on: results files, figure code, versions."""
    import matplotlib

    here = Path(figs.__file__).parent
    code = [
        here / "figures.py",
        here / "tuning_figures.py",
        *sorted((here.parent / "human").glob("*.py")),
    ]
    files = [results / n for n in ("tuning.json", "tuning.npz", "scores.json", "scores.csv")]
    extra = f"{matplotlib.__version__}\0{_version}\0"
    return file_digest([*files, *selections, *code]) + extra


@dataclass
class _Ctx:
    """What the figures of one report are drawn from.

    The CSF is built on first use only (its import is the slowest part of a rebuild whose
    figures are all reused); what it said is kept for the page in ``csf_state``.
    """

    tuning: Tuning
    scores: ChannelScores
    score_cfg: dict[str, Any]
    selections: list[tuple[str, Selection]]
    n_curves: int
    csf_state: dict[str, Any] = field(default_factory=dict)

    @property
    def csf(self) -> figs.CSFCurve | None:
        if "curve" not in self.csf_state:
            notes: list[str] = []
            self.csf_state["curve"] = csf_for(self.score_cfg, notes)
            self.csf_state["notes"] = notes
        return self.csf_state["curve"]

    def csf_facts(self, cache: FigureCache) -> tuple[bool, list[str]]:
        """Whether a CSF is drawn and its notes, from this build or the cached record."""
        if "curve" not in self.csf_state and "csf" in cache.meta:
            return bool(cache.meta["csf"]["drawn"]), list(cache.meta["csf"]["notes"])
        drawn, notes = self.csf is not None, list(self.csf_state["notes"])
        cache.meta["csf"] = {"drawn": drawn, "notes": notes}
        return drawn, notes


def _layer_figs(ctx: _Ctx, cache: FigureCache, say: Callable[[str], None]) -> list[_Fig]:
    contrast_index = int(ctx.score_cfg.get("contrast_index", -1))
    frequency_curve = str(ctx.score_cfg.get("frequency_curve", "preferred"))
    out = []
    for i, name in enumerate(ctx.scores.layers):
        file = f"tuning_{i:02d}_{channel_page_name(i, name)[3:-5]}.png"

        def draw(p: Path, name: str = name) -> Path:
            say(f"figure: tuning curves {name}")
            return tuning_curves(
                name,
                ctx.tuning.responses[name],
                ctx.tuning.grid,
                ctx.scores.layer(name),
                p,
                n=ctx.n_curves,
                csf=ctx.csf,
                frequency_curve=frequency_curve,
                contrast_index=contrast_index,
            )

        args = (name, ctx.n_curves, frequency_curve, contrast_index)  # CSF: in the salt
        out.append(
            _Fig(
                f"tuning-{i}",
                name,
                cache.figure(file, args, draw),
                f"Layer {name}: frequency and orientation tuning of the {ctx.n_curves} "
                f"highest-PE (top row) and {ctx.n_curves} lowest-PE (bottom row) selectable "
                "channels; each curve divided by its largest absolute value (the legend gives "
                "each channel's peak relative to the layer's median peak).",
            )
        )
    return out


def _score_figs(ctx: _Ctx, cache: FigureCache) -> dict[str, _Fig]:
    scores, cfg = ctx.scores, ctx.score_cfg
    log_mu1 = cfg.get("mu1") == "vfss_v1"
    default_sel = next((s for name, s in ctx.selections if name == "selection.json"), None)
    sel_map = {k: v["channels"] for k, v in default_sel.layers.items()} if default_sel else None
    made = {
        "distributions": _Fig(
            "distributions",
            "Score distributions per layer",
            cache.figure(
                "score_distributions.png",
                log_mu1,
                lambda p: figs.score_distributions(scores, p, log_mu1=log_mu1),
            ),
            "μ1 (CSF-weighted frequency score), μ2 (orientation selectivity) and PE (their "
            "combination) over the live channels of each layer. Violins: density; black bar: "
            "quartiles; white dot: median.",
        ),
        "shares": _Fig(
            "shares",
            "Flags and orientation selectivity per layer",
            cache.figure("layer_shares.png", 1, lambda p: figs.layer_shares(scores, p)),
            "Shares of live channels that are orientation selective (μ2's own index reaches "
            "its threshold), weak, border dominated, or peak at the top or bottom of the "
            "frequency grid; red: share of all channels that never respond. Labels below "
            "10 % carry two significant digits, so only an exact 0 reads 0.",
        ),
        "best_frequency": _Fig(
            "best-frequency",
            "Best frequencies",
            cache.figure(
                "best_frequency.png",
                1,
                lambda p: figs.best_frequency_histograms(
                    scores,
                    ctx.tuning.grid,
                    p,
                    csf_peak=ctx.csf[1] if ctx.csf is not None else None,
                    csf_label="CSF peak",
                ),
            ),
            "Each live channel's best frequency, one bin per sampled frequency, log axis; "
            "pink: weak or border-dominated channels, stacked on the selectable ones. The "
            "outermost bins hold the channels whose peak lies at or beyond the grid edge "
            "(counted in each title). Red dashed: peak of the human CSF used by μ1; dotted: "
            "the layer's median.",
        ),
        "scatter": _Fig(
            "scatter",
            "μ1 against μ2",
            cache.figure(
                "mu1_mu2_scatter.png",
                (sel_map is not None, log_mu1),
                lambda p: figs.mu1_mu2_scatter(
                    scores,
                    p,
                    selected=sel_map,
                    selection_label="selected (selection.json)",
                    log_mu1=log_mu1,
                ),
            ),
            "Each mark is a live channel; red crosses: flagged channels (weak, border "
            "dominated, or peak at a grid edge)."
            + (
                " Orange: the channels kept by selection.json, drawn orange even when flagged (the "
                "default selection leaves out weak and border-dominated channels but keeps those "
                "peaking at a grid edge)."
                if default_sel is not None
                else " No selection.json in the folder, so no selection is highlighted."
            ),
        ),
    }
    return made


def _selection_fig(ctx: _Ctx, cache: FigureCache) -> _Fig | None:
    if not ctx.selections:
        return None
    layers = ctx.scores.layers
    live = {n: int((~ctx.scores.layer(n)["dead"]).sum()) for n in layers}
    all_layers = list(layers)
    for _, s in ctx.selections:
        all_layers += [k for k in s.layers if k not in all_layers]
    counts = [
        (name, {k: len(v["channels"]) for k, v in s.layers.items()}) for name, s in ctx.selections
    ]
    return _Fig(
        "selection",
        "Channels kept per layer",
        cache.figure(
            "selection.png",
            (all_layers, live, counts),
            lambda p: figs.selection_counts(all_layers, live, counts, p),
        ),
        "Number of channels each selection file keeps per layer; grey: the layer's live channels.",
    )


def _page_context(
    ctx: _Ctx, results: Path, html_dir: Path, summary: dict[str, Any]
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
        "flag_table": _flag_table(scores),
        "selection_table": _selection_table(ctx.selections) if ctx.selections else "",
        "results_name": results.name or str(results),
    }


def build_report(
    results_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    sections: Sequence[Section] = DEFAULT_SECTIONS,
    n_curves: int = 4,
    log: Callable[[str], None] | None = None,
    inversion: str | os.PathLike[str] | None = None,
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
    say = log or (lambda _msg: None)
    results = Path(results_dir)
    check_inputs(results)
    if int(n_curves) < 1:
        raise ValueError(f"n_curves must be >= 1, got {n_curves}")
    notes: list[str] = []
    tuning = Tuning.load(results)
    scores = ChannelScores.load(results)
    check_consistent(tuning, scores, results)
    summary = read_summary(results, notes)
    selections = load_selections(results, notes)
    score_cfg = dict(scores.config.get("score") or {})
    ctx = _Ctx(tuning, scores, score_cfg, selections, int(n_curves))
    html_path = _resolve_out(results, out)
    html_dir = html_path.parent
    inv_html = _inversion_section(Path(inversion), html_dir) if inversion is not None else None
    fig_dir = html_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    cache = FigureCache(fig_dir, _input_digest(results, selection_files(results)))
    contrast_index = int(score_cfg.get("contrast_index", -1))
    with figs.report_style():
        stimuli = _Fig(
            "stimuli",
            "Example stimuli",
            cache.figure(
                "stimuli.png",
                contrast_index,
                lambda p: figs.stimulus_examples(tuning.grid, p, contrast_index=contrast_index),
            ),
            "Stimuli from the probe grid (a flat, bordered rendering; with the 'torus' "
            "response method the network saw the same gratings exactly periodic): frequencies "
            "in rows (cycles/degree, and cycles across the image), orientations in columns "
            "(direction of the wave vector, counter-clockwise; 0° = vertical bars).",
        )
        made = _score_figs(ctx, cache)
        tuning_figs = _layer_figs(ctx, cache, say)
        sel_fig = _selection_fig(ctx, cache)
    all_figs = [stimuli, *made.values(), *tuning_figs] + ([sel_fig] if sel_fig else [])
    _remove_stale(fig_dir, {f.path for f in tuning_figs})
    has_csf, csf_notes = ctx.csf_facts(cache)
    notes += csf_notes
    cache.save(f.path.name for f in all_figs)
    for f in all_figs:
        f.src = rel_href(f.path, html_dir)
    say(f"figures: {len(cache.drawn)} drawn, {len(cache.reused)} reused")

    context = _page_context(ctx, results, html_dir, summary)
    pages = write_channel_pages(
        tuning,
        scores,
        html_dir / "channels",
        report_href=rel_href(html_path, html_dir / "channels"),
        title=context["title"].removeprefix("hvsprobe report: "),
        contrast_index=contrast_index,
        frequency_curve=str(score_cfg.get("frequency_curve", "preferred")),
    )
    page_hrefs = {k: rel_href(v, html_dir) for k, v in pages.items()}
    extra = [(s, _optional_section(s, results, html_dir)) for s in sections]
    if inv_html is not None:
        extra.append((INVERSION_SECTION, inv_html))
    extra = [(s, h) for s, h in extra if h is not None]
    toc = [
        ("run", "Run"),
        ("summary", "Summary"),
        ("flags", "Flags"),
        ("stimuli", "Stimuli"),
        ("scores", "Scores"),
        ("tuning", "Tuning curves"),
        ("selection", "Selection"),
    ] + [("extra-" + slug(s.title), s.title) for s, _ in extra]
    html = render(
        "report.html.j2",
        **context,
        toc=toc,
        notes=notes,
        has_csf=has_csf,
        summary_table=_summary_table(scores, page_hrefs),
        browser_links=list(page_hrefs.items()),
        stimuli=stimuli,
        score_figs=[made[k] for k in ("distributions", "shares", "best_frequency", "scatter")],
        tuning_figs=tuning_figs,
        selection_fig=sel_fig,
        extra=[Markup(h) for _, h in extra],
    )
    write_text_atomic(html_path, html)
    say(f"report: {html_path}")
    return html_path
