"""A self-contained HTML report of a results folder written by :func:`hvsprobe.analyze.analyze`.

>>> from hvsprobe.report import build_report
>>> build_report("hvsprobe-results/vgg16-imagenet")  # doctest: +SKIP
PosixPath('hvsprobe-results/vgg16-imagenet/report.html')

The report is ``report.html`` plus PNG figures in ``figures/`` beside it, referenced by
relative paths; it loads nothing from the network. Contents: run and configuration header,
per-layer summary table, example stimuli, score distributions, shares of orientation
selective and dead channels, best frequencies against the CSF peak, mu1-vs-mu2 scatter,
tuning curves of the best and worst channels of every layer, the selections, and optional
sections (:data:`DEFAULT_SECTIONS`) for extra files found in the folder. How to read each
figure: ``docs/report.md``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import read_json, write_text_atomic
from ..probe import Tuning
from ..scores import ChannelScores
from ..selection import Selection
from . import figures as figs
from .html import (
    csv_to_html,
    esc,
    figure,
    fmt_value,
    json_to_html,
    kv_table,
    markdown_to_html,
    page,
    rel_href,
    slug,
    table,
)

__all__ = ["DEFAULT_SECTIONS", "Section", "build_report"]

#: Files every report needs, and the command that writes them.
REQUIRED = ("tuning.json", "tuning.npz", "scores.json", "scores.csv")
_MAKE = "hvsprobe analyze BACKBONE --out {dir}"
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
    """One figure of the page: anchor, title, file and caption."""

    key: str
    title: str
    path: Path
    caption: str


# ----------------------------------------------------------------------------------------
# inputs


def _check_inputs(results: Path) -> None:
    make = _MAKE.format(dir=results)
    if not results.exists():
        raise FileNotFoundError(
            f"results folder {results} does not exist; make it with `{make}` "
            "(or hvsprobe.analyze.analyze(..., out=...))"
        )
    if not results.is_dir():
        raise FileNotFoundError(f"{results} is not a folder; expected a results folder ({make})")
    missing = [name for name in REQUIRED if not (results / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"results folder {results} lacks {', '.join(missing)}: the report needs the probe "
            f"responses (tuning.json, tuning.npz) and the channel scores (scores.json, "
            f"scores.csv); `{make}` writes them all"
        )


def _check_consistent(tuning: Tuning, scores: ChannelScores, results: Path) -> None:
    sha_t = tuning.weights_sha256
    sha_s = str(scores.config.get("weights_sha256", ""))
    rerun = f"rerun `{_MAKE.format(dir=results)}`"
    if sha_t and sha_s and sha_t != sha_s:
        raise ValueError(
            f"{results}: scores.json was computed for weights {sha_s[:12]}… but tuning.json "
            f"holds weights {sha_t[:12]}…; {rerun}"
        )
    for name in scores.layers:
        if name not in tuning.responses:
            raise ValueError(f"{results}: scores has layer {name!r}, tuning does not; {rerun}")
        n_s = len(scores.layer(name)["channel"])
        if tuning.channels(name) != n_s:
            raise ValueError(
                f"{results}: layer {name!r} has {n_s} scored channels but "
                f"{tuning.channels(name)} probed; {rerun}"
            )


def _read_summary(results: Path, notes: list[str]) -> dict[str, Any]:
    path = results / "summary.json"
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        notes.append(f"summary.json could not be read ({exc}); timings are not shown.")
        return {}
    return data if isinstance(data, dict) else {}


def _selection_files(results: Path) -> list[Path]:
    out = [results / "selection.json"] if (results / "selection.json").is_file() else []
    return out + sorted(p for p in results.glob("selection-*.json") if p.is_file())


def _load_selections(results: Path, notes: list[str]) -> list[tuple[str, Selection]]:
    loaded = []
    for path in _selection_files(results):
        try:
            loaded.append((path.name, Selection.load(path)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"{path.name} is not a readable selection and is left out: {exc}")
    return loaded


def _csf_for(score_cfg: dict[str, Any], notes: list[str]) -> figs.CSFCurve | None:
    """The CSF that weighted mu1 (normalised), its peak frequency and a label."""
    from ..human import get_csf

    if score_cfg.get("mu1") == "vfss_v1":
        name, params = "mannos_sakrison_v1", {}
    else:
        name = str(score_cfg.get("csf", "castle_fit"))
        params = dict(score_cfg.get("csf_params") or {})
    try:
        model = get_csf(name, **params)
        peak = float(model.peak_frequency())
    except (ValueError, TypeError, KeyError) as exc:
        notes.append(f"the CSF {name!r} could not be built ({exc}); it is not drawn.")
        return None

    def normalized(f: np.ndarray) -> np.ndarray:
        return np.asarray(model.normalized(f), dtype=np.float64)

    return normalized, peak, f"human CSF ({name})"


# ----------------------------------------------------------------------------------------
# sections of the page


def _file_name(layer: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", layer).strip("_") or "layer"


def _grid_items(tuning: Tuning) -> list[tuple[str, Any]]:
    g = tuning.grid
    h, w = g.size
    f = g.frequencies
    items: list[tuple[str, Any]] = [
        ("stimulus kind", g.kind),
        ("image size", f"{h} × {w} px ({h / g.ppd:.2f}° × {w / g.ppd:.2f}°)"),
        ("pixels per degree", f"{g.ppd:g} (Nyquist {g.ppd / 2:g} cpd)"),
        ("frequencies", f"{len(f)}, {f[0]:.3g} – {f[-1]:.3g} cpd"),
        ("orientations", f"{len(g.orientations)}: " + ", ".join(f"{o:g}°" for o in g.orientations)),
        (
            "phases",
            f"{len(g.phases)}{' (averaged)' if len(g.phases) > 1 else ''}: "
            + ", ".join(f"{p:g}°" for p in g.phases),
        ),
        ("contrasts", ", ".join(f"{c:g}" for c in g.contrasts)),
        ("mean luminance", g.mean),
    ]
    if g.gabor_sigma_deg is not None:
        items.append(("Gabor sigma", f"{g.gabor_sigma_deg:g}°"))
    items.append(("number of stimuli", len(g)))
    return items


def _run_items(
    tuning: Tuning, scores: ChannelScores, summary: dict[str, Any]
) -> list[tuple[str, Any]]:
    cfg = tuning.config
    items: list[tuple[str, Any]] = [
        ("backbone", scores.config.get("backbone") or cfg.get("backbone", "?")),
        ("weights", cfg.get("weights", "?")),
        ("weights sha256", cfg.get("weights_sha256", "?")),
    ]
    if summary.get("weights_origin"):
        items.append(("weights origin", summary["weights_origin"]))
    items += [
        ("layers", ", ".join(tuning.layers)),
        ("number of stimuli", summary.get("n_stimuli", len(tuning.grid))),
        ("response", cfg.get("response", "?")),
        ("precision, batch size", f"{cfg.get('precision', '?')}, {cfg.get('batch_size', '?')}"),
        ("hvsprobe version", summary.get("hvsprobe_version", cfg.get("hvsprobe_version", "?"))),
    ]
    return items


def _score_items(score_cfg: dict[str, Any]) -> list[tuple[str, Any]]:
    names = {
        "mu1": "μ1 (frequency score)",
        "mu2": "μ2 (orientation score)",
        "pe": "PE (combination)",
        "csf": "CSF",
        "csf_params": "CSF parameters",
        "frequency_curve": "frequency curve",
        "contrast_index": "contrast index",
        "selective_osi": "orientation selective if peak OSI ≥",
        "dead_rtol": "dead channel: relative tolerance",
        "dead_atol": "dead channel: absolute tolerance",
    }
    items = [(names.get(k, k), v) for k, v in score_cfg.items()]
    if score_cfg.get("mu1") == "vfss_v1":
        items.append(("note", "vfss_v1 always weights by the v1 Mannos–Sakrison CSF"))
    return items


def _timing_items(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    t = summary.get("timings") or {}
    items: list[tuple[str, Any]] = []
    labels = {
        "load_backbone_s": "load backbone",
        "probe_s": "probe",
        "score_select_s": "score and select",
        "total_s": "total",
    }
    for k, v in t.items():
        text = f"{v:.2f} s" if isinstance(v, int | float) else v
        items.append((labels.get(k, k), text))
    if "reused_tuning" in summary:
        items.append(("tuning reused from cache", bool(summary["reused_tuning"])))
    return items


def _fixed(value: Any, decimals: int) -> str:
    """``value`` with a fixed number of decimals; a dash for a missing or NaN value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{float(value):.{decimals}f}"


def _summary_table(scores: ChannelScores) -> str:
    header = [
        "layer",
        "channels",
        "dead",
        "median μ1",
        "median μ2",
        "median PE",
        "median best f (cpd)",
        "orientation selective",
        "top channels (PE)",
    ]
    rows = []
    for r in scores.summary():
        share = r["share_orientation_selective"]
        pct = "" if share is None or math.isnan(share) else f" ({100 * share:.0f} %)"
        rows.append(
            [
                r["layer"],
                r["channels"],
                r["dead"],
                _fixed(r["median_mu1"], 3),
                _fixed(r["median_mu2"], 3),
                _fixed(r["median_pe"], 3),
                _fixed(r["median_best_frequency_cpd"], 2),
                f"{r['orientation_selective']}{pct}",
                ", ".join(map(str, r["top_channels"])),
            ]
        )
    numeric = [False, True, True, True, True, True, True, True, False]
    return table(header, rows, numeric=numeric)


def _selection_table(selections: list[tuple[str, Selection]]) -> str:
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
            return figure(href, rel, rel)
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


def _resolve_out(results: Path, out: str | os.PathLike[str] | None) -> Path:
    if out is None:
        return results / "report.html"
    out = Path(out)
    if out.is_dir() or out.suffix.lower() not in (".html", ".htm"):
        return out / "report.html"
    return out


def _remove_stale(fig_dir: Path, keep: set[Path]) -> None:
    """Delete per-layer figures of earlier builds that this build did not redraw."""
    for p in fig_dir.glob("tuning_*.png"):
        if p not in keep:
            p.unlink()


def build_report(
    results_dir: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    *,
    sections: Sequence[Section] = DEFAULT_SECTIONS,
    n_curves: int = 4,
    log: Callable[[str], None] | None = None,
    inversion: str | os.PathLike[str] | None = None,
) -> Path:
    """Write an HTML report of a results folder, with its figures as PNG files.

    Parameters
    ----------
    results_dir : path
        Folder written by ``hvsprobe analyze`` (needs ``tuning.json``, ``tuning.npz``,
        ``scores.json``, ``scores.csv``; ``summary.json`` and ``selection*.json`` are used
        when present).
    out : path, optional
        The HTML file to write; a folder (or a path without ``.html``) means
        ``out/report.html``. Default ``results_dir/report.html``. The figures go to a
        ``figures/`` folder beside the HTML file, and every link is relative.
    sections : sequence of Section
        Optional sections, each shown only when its files exist (default
        :data:`DEFAULT_SECTIONS`: ``claim1``, ``claim2``, ``benchmarks``).
    n_curves : int
        Channels shown per layer in the tuning-curve figures, from each end of the PE
        ranking.
    log : callable, optional
        Receives one-line progress messages.
    inversion : path, optional
        A folder written by ``hvsprobe invert`` (or the inversion experiment): its figure
        (``inversion*.png``), ``inversion.md`` and ``measures.csv`` become a section.

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
    _check_inputs(results)
    if int(n_curves) < 1:
        raise ValueError(f"n_curves must be >= 1, got {n_curves}")
    notes: list[str] = []
    tuning = Tuning.load(results)
    scores = ChannelScores.load(results)
    _check_consistent(tuning, scores, results)
    summary = _read_summary(results, notes)
    selections = _load_selections(results, notes)
    score_cfg = dict(scores.config.get("score") or {})
    csf = _csf_for(score_cfg, notes)
    html_path = _resolve_out(results, out)
    html_dir = html_path.parent
    inv_html = _inversion_section(Path(inversion), html_dir) if inversion is not None else None
    fig_dir = html_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    grid = tuning.grid
    layers = scores.layers
    log_mu1 = score_cfg.get("mu1") == "vfss_v1"
    contrast_index = int(score_cfg.get("contrast_index", -1))
    frequency_curve = str(score_cfg.get("frequency_curve", "preferred"))
    default_sel = next((s for name, s in selections if name == "selection.json"), None)

    made: dict[str, _Fig] = {}
    with figs.report_style():
        say("figure: stimuli")
        made["stimuli"] = _Fig(
            "stimuli",
            "Example stimuli",
            figs.stimulus_examples(grid, fig_dir / "stimuli.png", contrast_index=contrast_index),
            "Stimuli from the probe grid, rendered as the network saw them: frequencies spread "
            "over the grid in rows (cycles/degree, and cycles across the image), orientations "
            "in columns (direction of the wave vector, counter-clockwise; 0° = vertical bars).",
        )
        say("figure: score distributions")
        made["distributions"] = _Fig(
            "distributions",
            "Score distributions per layer",
            figs.score_distributions(scores, fig_dir / "score_distributions.png", log_mu1=log_mu1),
            "μ1 (CSF-weighted frequency score), μ2 (orientation selectivity) and PE (their "
            "combination) over the live channels of each layer. Violins: density; black bar: "
            "quartiles; white dot: median.",
        )
        made["shares"] = _Fig(
            "shares",
            "Orientation-selective and dead channels",
            figs.layer_shares(scores, fig_dir / "layer_shares.png"),
            "Blue: share of live channels whose peak orientation index reaches "
            f"{fmt_value(score_cfg.get('selective_osi', 1 / 3), 3)} (preferred orientation "
            "at least twice the orthogonal response at 1/3). Red: share of channels that "
            "never respond (excluded from every score and selection).",
        )
        csf_peak = csf[1] if csf is not None else None
        made["best_frequency"] = _Fig(
            "best-frequency",
            "Best frequencies",
            figs.best_frequency_histograms(
                scores,
                grid,
                fig_dir / "best_frequency.png",
                csf_peak=csf_peak,
                csf_label="CSF peak",
            ),
            "Distribution of each channel's best frequency (the frequency of its strongest "
            "response), one bin per sampled frequency, log axis. Red dashed: peak of the human "
            "CSF used by μ1; dotted: the layer's median.",
        )
        say("figure: mu1 vs mu2")
        sel_map = {k: v["channels"] for k, v in default_sel.layers.items()} if default_sel else None
        made["scatter"] = _Fig(
            "scatter",
            "μ1 against μ2",
            figs.mu1_mu2_scatter(
                scores,
                fig_dir / "mu1_mu2_scatter.png",
                selected=sel_map,
                selection_label="selected (selection.json)",
                log_mu1=log_mu1,
            ),
            "Each dot is a live channel."
            + (
                " Orange: the channels kept by selection.json."
                if default_sel is not None
                else " No selection.json in the folder, so nothing is highlighted."
            ),
        )
        tuning_figs: list[_Fig] = []
        for i, name in enumerate(layers):
            say(f"figure: tuning curves {name}")
            path = fig_dir / f"tuning_{i:02d}_{_file_name(name)}.png"
            tuning_figs.append(
                _Fig(
                    f"tuning-{i}",
                    name,
                    figs.tuning_curves(
                        name,
                        tuning.responses[name],
                        grid,
                        scores.layer(name),
                        path,
                        n=int(n_curves),
                        csf=csf,
                        frequency_curve=frequency_curve,
                        contrast_index=contrast_index,
                    ),
                    f"Layer {name}: frequency and orientation tuning of the {n_curves} "
                    f"highest-PE (top row) and {n_curves} lowest-PE (bottom row) live channels; "
                    "each curve divided by its largest absolute value.",
                )
            )
        sel_fig = None
        if selections:
            live = {n: int((~scores.layer(n)["dead"]).sum()) for n in layers}
            all_layers = list(layers)
            for _, s in selections:
                all_layers += [k for k in s.layers if k not in all_layers]
            counts = [
                (name, {k: len(v["channels"]) for k, v in s.layers.items()})
                for name, s in selections
            ]
            sel_fig = _Fig(
                "selection",
                "Channels kept per layer",
                figs.selection_counts(all_layers, live, counts, fig_dir / "selection.png"),
                "Number of channels each selection file keeps per layer; grey: the layer's "
                "live channels.",
            )
    _remove_stale(fig_dir, {f.path for f in tuning_figs})

    # ---- the page
    def fig_html(f: _Fig) -> str:
        return figure(rel_href(f.path, html_dir), f.title, f.caption)

    backbone = str(scores.config.get("backbone") or tuning.backbone or "?")
    weights = str(tuning.config.get("weights", "?"))
    title = f"hvsprobe report: {backbone} ({weights})"
    extra = [(s, _optional_section(s, results, html_dir)) for s in sections]
    if inv_html is not None:
        extra.append((INVERSION_SECTION, inv_html))
    extra = [(s, h) for s, h in extra if h is not None]
    toc = [
        ("run", "Run"),
        ("summary", "Summary"),
        ("stimuli", "Stimuli"),
        ("scores", "Scores"),
        ("tuning", "Tuning curves"),
        ("selection", "Selection"),
    ] + [("extra-" + slug(s.title), s.title) for s, _ in extra]
    body: list[str] = [
        f"<h1>{esc(title)}</h1>",
        '<p class="muted">Channels probed with sinusoidal gratings and scored against human '
        "vision: μ1 frequency score weighted by a human CSF, μ2 orientation selectivity, PE "
        "their combination (Tariq et al., ECCV 2020; definitions in docs/method.md, how to "
        "read this page in docs/report.md).</p>",
        '<nav class="toc">'
        + "".join(f'<a href="#{esc(k)}">{esc(v)}</a>' for k, v in toc)
        + "</nav>",
    ]
    for n in notes:
        body.append(f'<p class="note">{esc(n)}</p>')
    body.append('<section id="run"><h2>Run</h2><div class="cols"><div>')
    body.append(
        "<h3>Backbone and probe</h3>"
        + kv_table(_run_items(tuning, scores, summary), mono=("weights sha256",))
    )
    timing = _timing_items(summary)
    if timing:
        body.append("<h3>Timings</h3>" + kv_table(timing))
    body.append("</div><div>")
    body.append("<h3>Stimulus grid</h3>" + kv_table(_grid_items(tuning)))
    body.append("<h3>Score configuration</h3>" + kv_table(_score_items(score_cfg)))
    body.append("</div></div>")
    files = [
        p
        for p in [results / n for n in ("summary.md", "summary.json", "scores.csv")]
        + _selection_files(results)
        if p.is_file()
    ]
    if files:
        links = ", ".join(
            f'<a href="{esc(rel_href(p, html_dir))}">{esc(p.name)}</a>' for p in files
        )
        body.append(f"<p>Files: {links}</p>")
    body.append("</section>")
    body.append('<section id="summary"><h2>Per-layer summary</h2>')
    body.append(_summary_table(scores))
    body.append(
        '<p class="muted">Medians over live channels; orientation selective: peak index '
        "≥ the configured threshold (share of live channels); top channels: the five "
        "highest PE.</p></section>"
    )
    body.append('<section id="stimuli"><h2>Stimuli</h2>' + fig_html(made["stimuli"]))
    body.append("</section>")
    body.append('<section id="scores"><h2>Scores across layers</h2>')
    for key in ("distributions", "shares", "best_frequency", "scatter"):
        f = made[key]
        body.append(f'<h3 id="{esc(f.key)}">{esc(f.title)}</h3>' + fig_html(f))
    body.append("</section>")
    body.append('<section id="tuning"><h2>Tuning curves</h2>')
    body.append(
        '<p class="muted">Per layer, the channels at both ends of the PE ranking. Left: '
        "response against spatial frequency (log axis"
        + (", with the normalised human CSF dashed" if csf is not None else "")
        + "); right: response against orientation at each channel's best frequency.</p>"
    )
    for f in tuning_figs:
        body.append(f'<h3 id="{esc(f.key)}">{esc(f.title)}</h3>' + fig_html(f))
    body.append("</section>")
    body.append('<section id="selection"><h2>Selection</h2>')
    if selections:
        body.append(_selection_table(selections))
        if sel_fig is not None:
            body.append(fig_html(sel_fig))
    else:
        body.append(
            "<p>No selection file (selection.json, selection-*.json) in the folder; "
            f"<code>hvsprobe select {esc(results)}</code> writes one.</p>"
        )
    body.append("</section>")
    for _, h in extra:
        body.append(h)
    body.append(
        f"<footer>Generated by hvsprobe from {esc(results.name or str(results))}; "
        "self-contained: the page and figures/ need no network.</footer>"
    )
    write_text_atomic(html_path, page(title, "\n".join(body)))
    say(f"report: {html_path}")
    return html_path
