"""A page comparing several results folders: networks and layers on the same axes.

Layers are aligned by relative depth (the layer's position among the folder's probed layers,
0 for the first and 1 for the last), because networks differ in depth. The page shows, per
network, the population frequency tuning over the human CSF in cycles/degree; the score
distributions and the shares of selective / weak / border-dominated / edge-of-grid channels
against relative depth; and a table ranking every (network, layer) by the median PE of its
selectable channels, with a percentile bootstrap interval over channels.

>>> from hvsprobe.report.compare import build_comparison
>>> build_comparison(["res/vgg16", "res/vgg16-random"], "cmp")  # doctest: +SKIP
PosixPath('cmp/compare.html')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from .._io import write_text_atomic
from ..scores import ChannelScores
from ..tuning import Tuning, tuning_curve_data
from . import figures as figs
from .html import fmt_share, rel_href, render, table
from .inputs import CSFCurve, check_consistent, check_inputs, csf_for, response_method_text
from .output import report_folder

__all__ = [
    "Network",
    "bootstrap_median",
    "build_comparison",
    "build_leaderboard",
    "leaderboard",
    "load_network",
    "ranking",
]

#: The measure of the ranking table, in words.
MEASURE = (
    "median of μ1·μ2 (the raw product, PE variant `product`) over the layer's selectable "
    "channels (live, not weak, not border dominated). Not the default PE, which is divided by "
    "each layer's maxima and so gives every layer a best channel of 1: μ1 is gain-normalised "
    "and μ2 lies in [0, 1], so their product is comparable across layers and networks"
)
_SHARES = (
    ("orientation_selective", "orientation selective"),
    ("weak", "weak"),
    ("border_dominated", "border dominated"),
    ("edge", "peak at a grid edge"),
)


@dataclass
class Network:
    """One results folder, as the comparison uses it."""

    label: str
    folder: Path
    tuning: Tuning
    scores: ChannelScores

    @property
    def depths(self) -> dict[str, float]:
        """Layer -> relative depth in [0, 1] among the probed layers."""
        n = len(self.scores.layers)
        return {name: (i / (n - 1) if n > 1 else 0.0) for i, name in enumerate(self.scores.layers)}


def load_network(folder: str | os.PathLike[str], label: str | None = None) -> Network:
    """Load and check one results folder (same checks and messages as the report).

    Examples
    --------
    >>> load_network("res/vgg16").label  # doctest: +SKIP
    'vgg16 (imagenet)'
    """
    path = Path(folder)
    check_inputs(path)
    tuning = Tuning.load(path)
    scores = ChannelScores.load(path)
    check_consistent(tuning, scores, path)
    if label is None:
        backbone = scores.config.get("backbone") or tuning.backbone or path.name
        label = f"{backbone} ({tuning.config.get('weights', '?')})"
    return Network(str(label), path, tuning, scores)


def bootstrap_median(
    values: np.ndarray, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Median of ``values`` and its percentile bootstrap interval (resampling values).

    Examples
    --------
    >>> m, lo, hi = bootstrap_median(np.arange(101.0))
    >>> m, lo < 50 < hi
    (50.0, True)
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(int(n_boot), v.size))
    meds = np.median(v[idx], axis=1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(meds, [alpha, 1.0 - alpha])
    return float(np.median(v)), float(lo), float(hi)


def _selectable(t: dict[str, np.ndarray]) -> np.ndarray:
    ok = ~np.asarray(t["dead"], dtype=bool)
    if "selectable" in t:
        ok &= np.asarray(t["selectable"], dtype=bool)
    return ok


def ranking(
    networks: Sequence[Network], *, n_boot: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """Every (network, layer) with the median μ1·μ2 of its selectable channels and a 95 % interval.

    The raw product (PE variant ``product``) is used, not the layer-normalised default PE,
    whose per-layer maxima would make every layer's best channel equal to 1 and the layers
    incomparable (docs/method.md, section 6). Sorted by that median, highest first (NaN last). The bootstrap uses ``seed`` for every
    layer, so the table is reproducible.

    Examples
    --------
    >>> rows = ranking([load_network("res/vgg16"), load_network("res/alexnet")])  # doctest: +SKIP
    >>> rows[0]["network"], rows[0]["layer"], rows[0]["ci_low"] <= rows[0]["median"]  # doctest: +SKIP
    ('vgg16 (imagenet)', 'relu3_1', True)
    """
    rows = []
    for net in networks:
        for name, depth in net.depths.items():
            t = net.scores.layer(name)
            product = np.asarray(t["mu1"], dtype=np.float64) * np.asarray(t["mu2"], np.float64)
            values = product[_selectable(t)]
            med, lo, hi = bootstrap_median(values, n_boot=n_boot, seed=seed)
            rows.append(
                {
                    "network": net.label,
                    "layer": name,
                    "depth": depth,
                    "n": int(np.isfinite(values).sum()),
                    "median": med,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
    rows.sort(key=lambda r: (not math.isfinite(r["median"]), -np.nan_to_num(r["median"])))
    return rows


def _shares(t: dict[str, np.ndarray]) -> dict[str, tuple[int, int]]:
    live = ~np.asarray(t["dead"], dtype=bool)
    n = int(live.sum())
    out = {}
    for col, _ in _SHARES:
        if col == "edge":
            flag = np.zeros(live.shape, dtype=bool)
            for c in ("peak_at_top", "peak_at_bottom"):
                if c in t:
                    flag |= np.asarray(t[c], dtype=bool)
        else:
            flag = np.asarray(t[col], dtype=bool) if col in t else np.zeros(live.shape, bool)
        out[col] = (int((flag & live).sum()), n)
    return out


def _population_curve(net: Network, name: str) -> np.ndarray | None:
    """Median over selectable channels of each channel's frequency curve scaled to peak 1."""
    cfg = dict(net.scores.config.get("score") or {})
    fc, _ = tuning_curve_data(
        net.tuning.responses[name],
        frequency_curve=str(cfg.get("frequency_curve", "preferred")),
        contrast_index=int(cfg.get("contrast_index", -1)),
    )
    fc = fc[_selectable(net.scores.layer(name))]
    peak = np.max(np.abs(fc), axis=1, keepdims=True) if fc.size else fc
    ok = peak[:, 0] > 0 if fc.size else np.zeros(0, bool)
    if not ok.any():
        return None
    return np.median(fc[ok] / peak[ok], axis=0)


def _depth_colour(depth: float) -> Any:
    return matplotlib.colormaps["viridis"](0.05 + 0.85 * depth)


def frequency_figure(networks: Sequence[Network], path: Path, csf: CSFCurve | None) -> Path:
    """One panel per network: population frequency tuning per layer over the human CSF."""
    fig, axes = figs.layer_axes(len(networks), ncols=3, w=4.2, h=3.2)
    f_lo = min(float(n.tuning.grid.frequencies[0]) for n in networks)
    f_hi = max(float(n.tuning.grid.frequencies[-1]) for n in networks)
    f_dense = np.geomspace(f_lo, f_hi, 200)
    for ax, net in zip(axes, networks, strict=True):
        figs.log_frequency_axis(ax, f_lo, f_hi)
        if csf is not None:
            ax.plot(f_dense, csf[0](f_dense), color="#555555", lw=2.0, ls="--", label=csf[2])
        freqs = np.asarray(net.tuning.grid.frequencies, dtype=np.float64)
        names = list(net.depths)
        for name, depth in net.depths.items():
            curve = _population_curve(net, name)
            # only the shallowest and deepest layer are named; the colour bar gives the rest
            label = name if name in (names[0], names[-1]) else None
            if curve is not None:
                ax.plot(freqs, curve, "o-", ms=2.5, lw=1.4, color=_depth_colour(depth), label=label)
        ax.set_ylim(-0.05, 1.08)
        ax.set_title(net.label)
        ax.set_xlabel("spatial frequency (cycles/degree)")
        ax.set_ylabel("median response / channel peak")
        ax.legend(loc="upper left", fontsize=6.5, framealpha=0.8)
    _depth_colourbar(fig, axes[: len(networks)])
    return figs.save_figure(fig, path)


def _depth_colourbar(fig: Any, axes: Sequence[Any]) -> None:
    """A colour bar of relative depth, in the colours of :func:`_depth_colour`."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    cmap = ListedColormap([_depth_colour(d) for d in np.linspace(0.0, 1.0, 256)])
    bar = fig.colorbar(
        ScalarMappable(Normalize(0.0, 1.0), cmap), ax=list(axes), shrink=0.6, pad=0.02
    )
    bar.set_label("relative depth (0 = first probed layer, 1 = last)")


def scores_figure(networks: Sequence[Network], path: Path) -> Path:
    """mu1, mu2 and PE against relative depth: median and quartiles of live channels."""
    fig = figs.new_figure(11.5, 3.6)
    axes = fig.subplots(1, 3)
    cmap = matplotlib.colormaps["tab10"]
    for ax, (col, label) in zip(axes, (("mu1", "μ1"), ("mu2", "μ2"), ("pe", "PE")), strict=True):
        for k, net in enumerate(networks):
            xs, med, q1, q3 = [], [], [], []
            for name, depth in net.depths.items():
                t = net.scores.layer(name)
                v = np.asarray(t[col], dtype=np.float64)[~np.asarray(t["dead"], dtype=bool)]
                v = v[np.isfinite(v)]
                if v.size:
                    a, m, b = np.percentile(v, [25, 50, 75])
                    xs.append(depth)
                    med.append(m)
                    q1.append(a)
                    q3.append(b)
            colour = cmap(k % 10)
            ax.plot(xs, med, "o-", color=colour, lw=1.6, ms=4, label=net.label)
            ax.fill_between(xs, q1, q3, color=colour, alpha=0.15, lw=0)
        ax.set_xlabel("relative depth (first probed layer 0, last 1)")
        ax.set_ylabel(f"{label} (median, quartiles shaded)")
        ax.set_xlim(-0.05, 1.05)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=4)
    return figs.save_figure(fig, path)


def shares_figure(networks: Sequence[Network], path: Path) -> Path:
    """Shares of live channels with each property against relative depth, one panel each."""
    fig = figs.new_figure(13.0, 3.4)
    axes = fig.subplots(1, len(_SHARES))
    cmap = matplotlib.colormaps["tab10"]
    for ax, (col, label) in zip(axes, _SHARES, strict=True):
        for k, net in enumerate(networks):
            xs, ys = [], []
            for name, depth in net.depths.items():
                n_flag, n_live = _shares(net.scores.layer(name))[col]
                if n_live:
                    xs.append(depth)
                    ys.append(100.0 * n_flag / n_live)
            ax.plot(xs, ys, "o-", color=cmap(k % 10), lw=1.6, ms=4, label=net.label)
        ax.set_title(label)
        ax.set_xlabel("relative depth")
        ax.set_ylabel("% of live channels")
        ax.set_xlim(-0.05, 1.05)
        ax.set_ylim(bottom=0)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=4)
    return figs.save_figure(fig, path)


def _config_notes(networks: Sequence[Network]) -> list[str]:
    """Say where the folders' score or probe settings differ (the scores are then not alike)."""
    notes = []
    ref = networks[0]
    for net in networks[1:]:
        for what, a, b in (
            ("score configuration", ref.scores.config.get("score"), net.scores.config.get("score")),
            ("response method", ref.tuning.response_method, net.tuning.response_method),
            ("pixels per degree", ref.tuning.grid.ppd, net.tuning.grid.ppd),
            (
                "frequency grid",
                list(ref.tuning.grid.frequencies),
                list(net.tuning.grid.frequencies),
            ),
        ):
            if a != b:
                notes.append(
                    f"{net.label} and {ref.label} differ in their {what}: their scores are not "
                    "measured alike, so compare them with care."
                )
    return notes


def _labels(networks: list[Network]) -> None:
    """Make labels unique by appending the folder name where two are the same."""
    seen: dict[str, int] = {}
    for net in networks:
        seen[net.label] = seen.get(net.label, 0) + 1
    for net in networks:
        if seen[net.label] > 1:
            net.label = f"{net.label} [{net.folder.name}]"


def _ranking_table(rows: list[dict[str, Any]]) -> Any:
    body = [
        [
            k + 1,
            r["network"],
            r["layer"],
            f"{r['depth']:.2f}",
            r["n"],
            "—" if not math.isfinite(r["median"]) else f"{r['median']:.3f}",
            "—" if not math.isfinite(r["ci_low"]) else f"{r['ci_low']:.3f} – {r['ci_high']:.3f}",
        ]
        for k, r in enumerate(rows)
    ]
    header = [
        "rank",
        "network",
        "layer",
        "relative depth",
        "channels",
        "median μ1·μ2",
        "95 % interval",
    ]
    return table(header, body, numeric=[True, False, False, True, True, True, True])


def _shares_table(networks: Sequence[Network]) -> Any:
    rows = []
    for net in networks:
        for name, depth in net.depths.items():
            sh = _shares(net.scores.layer(name))
            cells = [f"{n} ({fmt_share(n, d)})" for n, d in (sh[c] for c, _ in _SHARES)]
            rows.append([net.label, name, f"{depth:.2f}", sh["weak"][1], *cells])
    header = ["network", "layer", "relative depth", "live", *[label for _, label in _SHARES]]
    return table(header, rows, numeric=[False, False, True, True, True, True, True, True])


def build_comparison(
    results_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write ``compare.html`` (and its figures) comparing several results folders.

    Parameters
    ----------
    results_dirs : sequence of path
        Two or more folders written by ``hvsprobe analyze``.
    out : path
        Output folder (``out/compare.html``, ``out/figures/``), or an ``.html`` file.
    labels : sequence of str, optional
        One name per folder; default ``backbone (weights)``.
    n_boot, seed : int
        Bootstrap resamples and seed of the ranking's intervals.
    log : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    Path
        The HTML file.

    Raises
    ------
    ValueError
        With fewer than two folders, or a wrong number of labels.
    FileNotFoundError
        If a folder or one of its required files is missing.

    Examples
    --------
    >>> build_comparison(["res/a", "res/b"], "cmp", n_boot=200)  # doctest: +SKIP
    PosixPath('cmp/compare.html')
    """
    say = log or (lambda _msg: None)
    if len(results_dirs) < 2:
        raise ValueError(
            f"a comparison needs at least two results folders, got {len(results_dirs)}"
        )
    if labels is not None and len(labels) != len(results_dirs):
        raise ValueError(f"got {len(labels)} labels for {len(results_dirs)} results folders")
    networks = [
        load_network(d, labels[i] if labels is not None else None)
        for i, d in enumerate(results_dirs)
    ]
    _labels(networks)
    out = Path(out)
    html_path = out if out.suffix.lower() in (".html", ".htm") else out / "compare.html"
    notes = _config_notes(networks)
    csf = csf_for(dict(networks[0].scores.config.get("score") or {}), notes)
    say("ranking (bootstrap)")
    rows = ranking(networks, n_boot=n_boot, seed=seed)
    # built in a work folder and renamed into place whole (report/output.py)
    with report_folder(html_path, say, rebuilt=()) as (work_dir, html_dir):
        fig_dir = work_dir / "figures"
        fig_dir.mkdir(exist_ok=True)
        with figs.report_style():
            say("figure: population frequency tuning")
            f_freq = frequency_figure(networks, fig_dir / "compare_frequency.png", csf)
            say("figure: scores and shares")
            f_scores = scores_figure(networks, fig_dir / "compare_scores.png")
            f_shares = shares_figure(networks, fig_dir / "compare_shares.png")
        folders = []
        for net in networks:
            report = net.folder / "report.html"
            href = rel_href(report, html_dir) if report.is_file() else None
            folders.append((net.label, str(net.folder), response_method_text(net.tuning), href))
        html = render(
            "compare.html.j2",
            title="hvsprobe comparison: " + ", ".join(n.label for n in networks),
            folders=folders,
            notes=notes,
            measure=MEASURE,
            n_boot=int(n_boot),
            seed=int(seed),
            csf_label=csf[2] if csf is not None else None,
            f_freq=rel_href(f_freq, work_dir),
            f_scores=rel_href(f_scores, work_dir),
            f_shares=rel_href(f_shares, work_dir),
            ranking_table=_ranking_table(rows),
            shares_table=_shares_table(networks),
        )
        write_text_atomic(work_dir / html_path.name, html)
    html_path = html_dir / html_path.name
    say(f"comparison: {html_path}")
    return html_path


# --------------------------------------------------------------------------------------------
# the leaderboard of a sweep: one row per model, random-weight controls beside trained twins


def _is_control(net: Network) -> bool:
    return str(net.tuning.config.get("weights", "")).startswith("random")


def _share_interval(flags: np.ndarray, *, n_boot: int, seed: int) -> tuple[float, float, float]:
    """Share of ``True`` in ``flags`` and its percentile bootstrap interval over channels."""
    v = np.asarray(flags, dtype=np.float64)
    if v.size == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(int(n_boot), v.size))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(v.mean()), float(lo), float(hi)


def leaderboard(
    networks: Sequence[Network], *, n_boot: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """One row per model: its layers against relative depth and its most human-like layer.

    Relative depth counts the input as 0 and the last probed layer as 1 (layer ``i`` of
    ``n``: ``(i + 1) / n``). Per layer: the median μ1·μ2 of the selectable channels (the comparison's measure,
    :data:`MEASURE`) and the share of the layer's channels that are selectable, each with a
    95 % percentile bootstrap interval over channels (``seed`` for every layer). The most
    human-like layer is the one with the highest median. Rows are ordered by that median,
    highest first, each random-weight control (weights ``random:*``) right after the
    trained model of the same backbone.

    Examples
    --------
    >>> rows = leaderboard([load_network("res/vgg16"), load_network("res/vgg16-r0")])  # doctest: +SKIP
    >>> rows[0]["best_layer"], rows[1]["control_of"]  # doctest: +SKIP
    ('relu3_1', 'vgg16 (imagenet)')
    """
    rows = []
    for net in networks:
        layers = []
        names = net.scores.layers
        for i, name in enumerate(names):
            depth = (i + 1) / len(names)  # 0 is the input, 1 the last probed layer
            t = net.scores.layer(name)
            sel = _selectable(t)
            product = np.asarray(t["mu1"], dtype=np.float64) * np.asarray(t["mu2"], np.float64)
            med = bootstrap_median(product[sel], n_boot=n_boot, seed=seed)
            share = _share_interval(sel, n_boot=n_boot, seed=seed)
            layers.append({"layer": name, "depth": depth, "median": med, "share": share})
        finite = [x for x in layers if math.isfinite(x["median"][0])]
        best = max(finite, key=lambda x: x["median"][0]) if finite else None
        rows.append(
            {
                "network": net.label,
                "backbone": str(net.tuning.config.get("backbone", net.label)),
                "weights": str(net.tuning.config.get("weights", "")),
                "control": _is_control(net),
                "control_of": "",
                "folder": net.folder,
                "layers": layers,
                "best_layer": best["layer"] if best else "",
                "best_depth": best["depth"] if best else math.nan,
                "best": best["median"] if best else (math.nan, math.nan, math.nan),
            }
        )
    trained = [r for r in rows if not r["control"]]
    trained.sort(key=lambda r: (not math.isfinite(r["best"][0]), -np.nan_to_num(r["best"][0])))
    ordered = []
    for r in trained:
        ordered.append(r)
        for c in rows:
            if c["control"] and c["backbone"] == r["backbone"] and not c["control_of"]:
                c["control_of"] = r["network"]
                ordered.append(c)
    ordered += [c for c in rows if c["control"] and not c["control_of"]]
    return ordered


def _ci(v: tuple[float, float, float], digits: int = 3, pct: bool = False) -> str:
    if not math.isfinite(v[0]):
        return "—"
    k = 100.0 if pct else 1.0
    unit = " %" if pct else ""
    return f"{k * v[0]:.{digits}f}{unit} [{k * v[1]:.{digits}f}, {k * v[2]:.{digits}f}]"


def leaderboard_figure(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Median μ1·μ2 and share of selectable channels against relative depth, one line per model.

    Trained models solid, random-weight controls dashed in their trained twin's colour.
    """
    fig = figs.new_figure(11.0, 3.8)
    axes = fig.subplots(1, 2)
    cmap = matplotlib.colormaps["tab10"]
    colours: dict[str, Any] = {}
    for r in rows:
        key = r["control_of"] or r["network"]
        colour = colours.setdefault(key, cmap(len(colours) % 10))
        xs = [x["depth"] for x in r["layers"]]
        style = "--" if r["control"] else "-"
        for ax, values in (
            (axes[0], [x["median"] for x in r["layers"]]),
            (axes[1], [tuple(100.0 * v for v in x["share"]) for x in r["layers"]]),
        ):
            mid = [v[0] for v in values]
            ax.plot(xs, mid, "o" + style, color=colour, lw=1.6, ms=4, label=r["network"])
            ax.fill_between(
                xs, [v[1] for v in values], [v[2] for v in values], color=colour, alpha=0.12, lw=0
            )
    axes[0].set_ylabel("median μ1·μ2 of selectable channels")
    axes[1].set_ylabel("% of channels selectable")
    for ax in axes:
        ax.set_xlabel("relative depth (0 = input, 1 = last probed layer)")
        ax.set_xlim(0.0, 1.05)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=3)
    return figs.save_figure(fig, path)


def build_leaderboard(
    results_dirs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> Path:
    """Write ``leaderboard.html`` (and ``figures/leaderboard.png``) for a sweep's results folders.

    Parameters
    ----------
    results_dirs : sequence of path
        One or more folders written by ``hvsprobe analyze``.
    out : path
        Output folder.
    n_boot, seed : int
        Bootstrap resamples and seed of the intervals.

    Returns
    -------
    Path
        The HTML file.

    Examples
    --------
    >>> build_leaderboard(["sweep/vgg16-imagenet", "sweep/vgg16-random0"], "sweep")  # doctest: +SKIP
    PosixPath('sweep/leaderboard.html')
    """
    networks = [load_network(d) for d in results_dirs]
    _labels(networks)
    out = Path(out)
    html_path = out / "leaderboard.html"
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    rows = leaderboard(networks, n_boot=n_boot, seed=seed)
    with figs.report_style():
        f_lb = leaderboard_figure(rows, fig_dir / "leaderboard.png")
    models = [
        [
            k + 1,
            r["network"],
            (f"random control of {r['control_of']}" if r["control_of"] else "random control")
            if r["control"]
            else "trained",
            r["best_layer"] or "—",
            "—" if not math.isfinite(r["best_depth"]) else f"{r['best_depth']:.2f}",
            _ci(r["best"]),
            len(r["layers"]),
        ]
        for k, r in enumerate(rows)
    ]
    per_layer = [
        [r["network"], x["layer"], f"{x['depth']:.2f}", _ci(x["median"]), _ci(x["share"], 1, True)]
        for r in rows
        for x in r["layers"]
    ]
    folders = [(r["network"], rel_href(Path(r["folder"]) / "summary.md", out)) for r in rows]
    html = render(
        "leaderboard.html.j2",
        title=f"hvsprobe leaderboard: {len(rows)} models",
        measure=MEASURE,
        n_boot=int(n_boot),
        seed=int(seed),
        notes=_config_notes(networks),
        folders=folders,
        f_lb=rel_href(f_lb, out),
        models_table=table(
            ["rank", "model", "kind", "most human-like layer", "relative depth",
             "median μ1·μ2 [95 % interval]", "layers"],
            models,
            numeric=[True, False, False, False, True, True, True],
        ),
        layers_table=table(
            ["model", "layer", "relative depth", "median μ1·μ2 [95 % interval]",
             "selectable [95 % interval]"],
            per_layer,
            numeric=[False, False, True, True, True],
        ),
    )  # fmt: skip
    write_text_atomic(html_path, html)
    return html_path
