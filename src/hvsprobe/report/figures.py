"""The report's figures, drawn with matplotlib's Agg canvas (never a display).

Every function draws one PNG and returns its path. Figures are built as
:class:`matplotlib.figure.Figure` objects on a :class:`FigureCanvasAgg`, so pyplot's global
figure registry and the interactive backend are never touched; each figure is cleared once
saved. The style is reset to matplotlib's defaults inside :func:`report_style` (a user's
``matplotlibrc`` does not change the output), mathtext is off (a ``$`` in a layer name is
drawn as a ``$``), and the PNG carries no software or date metadata, so the same inputs
give the same bytes.

Tuning-curve figures: :mod:`hvsprobe.report.tuning_figures`. See ``docs/report.md`` for what each figure shows and how to read it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)

from .._io import atomic_path
from ..scores import ChannelScores
from ..stimuli import StimulusGrid
from .png import png_bytes

__all__ = [
    "DPI",
    "best_frequency_histograms",
    "layer_shares",
    "mu1_mu2_scatter",
    "report_style",
    "save_canvas",
    "save_figure",
    "score_distributions",
    "selection_counts",
    "stimulus_examples",
]

#: Resolution of every PNG (dots per inch).
DPI = 100
_RC = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "text.parse_math": False,
    "svg.hashsalt": "hvsprobe",
}
_SELECTED = "#d9640f"
_OTHER = "#8f98a3"
_FLAGGED = "#c23b22"
_CSF_COLOR = "#555555"
_TOP_COLORS = ("#1f5fa8", "#2a9d4b", "#c23b22", "#8a4fbf")
_FREQ_TICKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)

#: A CSF for the plots: ``normalized(f)`` (peak 1), its peak frequency and a label.
CSFCurve = tuple[Callable[[np.ndarray], np.ndarray], float, str]


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    """Matplotlib defaults plus the report's settings, restored on exit."""
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


def _figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def _write_png(fig: Figure, path: Path) -> Path:
    """Write the pixels on ``fig``'s canvas as PNG (:mod:`hvsprobe.report.png`), atomically.

    An opaque figure (every report figure: white background) is written as RGB, a quarter
    fewer bytes to compress than RGBA for the same picture.
    """
    pixels = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
    if bool((pixels[..., 3] == 255).all()):
        pixels = pixels[..., :3]
    data = png_bytes(pixels, dpi=DPI)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return path


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Draw ``fig`` and write it as PNG to ``path`` atomically, without metadata; clear it."""
    try:
        fig.canvas.draw()
        return _write_png(fig, Path(path))
    finally:
        fig.clear()


def save_canvas(fig: Figure, path: str | Path) -> Path:
    """Write what is on ``fig``'s canvas now, as :func:`save_figure` would, without a redraw.

    For figures drawn piecewise (blitting): the canvas must have been drawn at least once.
    """
    return _write_png(fig, Path(path))


def _layer_axes(
    n: int, *, ncols: int = 4, w: float = 3.3, h: float = 2.8
) -> tuple[Figure, list[Axes]]:
    """A figure with one panel per layer (unused panels hidden).

    Fixed margins in inches rather than constrained layout: the same look for these simple
    panels at half the drawing time.
    """
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    width, height = max(w * ncols, 6.0), h * nrows + 0.4
    fig = _figure(width, height, constrained=False)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    fig.subplots_adjust(
        left=0.7 / width,
        right=1 - 0.3 / width,
        bottom=0.55 / height,
        top=1 - 0.55 / height,
        wspace=0.34,
        hspace=0.75,
    )
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _empty(ax: Axes, text: str = "no live channels") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=_OTHER)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def _no_live_channels(ax: Axes) -> None:
    """Say in the middle of an empty panel that it has no live channels."""
    ax.text(
        0.5, 0.5, "no live channels", ha="center", va="center", transform=ax.transAxes, color=_OTHER
    )


def _log_frequency_axis(ax: Axes, f_lo: float, f_hi: float) -> None:
    """Log x axis in cycles/degree with plain-number ticks at octaves."""
    ax.set_xscale("log")
    ax.set_xlim(f_lo / 1.2, f_hi * 1.2)
    ticks = [t for t in _FREQ_TICKS if f_lo / 1.2 <= t <= f_hi * 1.2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _layer_tick_labels(ax: Axes, layers: Sequence[str]) -> None:
    ax.set_xticks(np.arange(len(layers)))
    rotate = len(layers) > 6 or max((len(s) for s in layers), default=0) > 10
    ax.set_xticklabels(layers, rotation=35 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(layers) - 0.4)


# ----------------------------------------------------------------------------------------
# stimuli


def _spread(n_total: int, n_pick: int, *, periodic: bool = False) -> list[int]:
    """Up to ``n_pick`` indices spread evenly over ``range(n_total)``.

    Ends included, or, with ``periodic``, evenly spaced around the cycle from index 0
    (orientations: 0, 45, 90, 135 degrees out of 12 samples).
    """
    if n_total <= n_pick:
        return list(range(n_total))
    if periodic:
        return sorted({int(math.floor(k * n_total / n_pick)) for k in range(n_pick)})
    return sorted({int(round(x)) for x in np.linspace(0, n_total - 1, n_pick)})


def stimulus_examples(
    grid: StimulusGrid,
    path: str | Path,
    *,
    n_frequencies: int = 4,
    n_orientations: int = 4,
    contrast_index: int = -1,
) -> Path:
    """A grid of example stimuli: frequencies in rows, orientations in columns.

    Frequencies are spread evenly over the grid's (ends included), orientations evenly over
    the half circle; the first phase and the scored contrast are shown. Rows are labelled
    in cycles/degree (and cycles across the image), columns in degrees of the wave vector
    (0 = vertical bars). The images form one montage on a single axes, separated by white
    gaps, each shown at an integer zoom of its pixels where the figure width allows.
    """
    n_f, n_o, _n_p, n_c = grid.shape
    fi = _spread(n_f, n_frequencies)
    oi = _spread(n_o, n_orientations, periodic=True)
    ci = contrast_index % n_c
    idx = [int(np.ravel_multi_index((f, o, 0, ci), grid.shape)) for f in fi for o in oi]
    # numpy, not torch (the report imports no torch); rounded to the float32 the network saw
    images = grid.render_array(idx).astype(np.float32).astype(np.float64)
    h, w = grid.size
    gap = max(2, w // 16)
    mont = np.ones((len(fi) * (h + gap) - gap, len(oi) * (w + gap) - gap))
    for r in range(len(fi)):
        for c in range(len(oi)):
            y, x = r * (h + gap), c * (w + gap)
            mont[y : y + h, x : x + w] = images[r * len(oi) + c]
    # pixels of the montage per figure pixel: an integer zoom keeps the gratings undistorted
    zoom = max(1, int(round(230 / w)))
    width_in = mont.shape[1] * zoom / DPI
    height_in = mont.shape[0] * zoom / DPI
    left, right, top, bottom = 1.55, 0.2, 0.75, 0.15
    fig = _figure(width_in + left + right, height_in + top + bottom, constrained=False)
    fw, fh = width_in + left + right, height_in + top + bottom
    ax = fig.add_axes((left / fw, bottom / fh, width_in / fw, height_in / fh))
    ax.imshow(mont, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", aspect="equal")
    ax.grid(False)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.xaxis.tick_top()
    ax.set_xticks([c * (w + gap) + (w - 1) / 2 for c in range(len(oi))])
    suffix = " (ignored)" if grid.kind == "concentric" else ""
    ax.set_xticklabels([f"θ = {grid.orientations[o]:g}°{suffix}" for o in oi], fontsize=10)
    ax.set_yticks([r * (h + gap) + (h - 1) / 2 for r in range(len(fi))])
    ax.set_yticklabels(
        [
            f"{grid.frequencies[f]:.3g} cpd\n{grid.frequencies[f] * w / grid.ppd:.3g} cycles/image"
            for f in fi
        ],
        fontsize=9.5,
    )
    ax.tick_params(length=0, pad=6)
    fig.suptitle(
        f"{grid.kind}, {h}×{w} px at {grid.ppd:g} px/deg ({w / grid.ppd:.2f}° wide), "
        f"contrast {grid.contrasts[ci]:g}, phase {grid.phases[0]:g}°",
        fontsize=10,
        y=1 - 0.12 / fh,
        va="top",
    )
    return save_figure(fig, path)


# ----------------------------------------------------------------------------------------
# scores across layers


def _live(t: Mapping[str, np.ndarray], col: str) -> np.ndarray:
    v = np.asarray(t[col], dtype=np.float64)[~np.asarray(t["dead"], dtype=bool)]
    return v[np.isfinite(v)]


def score_distributions(scores: ChannelScores, path: str | Path, *, log_mu1: bool = False) -> Path:
    """Violins of mu1, mu2 and PE per layer (live channels), with medians marked.

    With ``log_mu1`` the first panel shows ``log10 mu1`` (for the unnormalised
    ``vfss_v1`` variant, whose values span orders of magnitude across layers).
    """
    layers = scores.layers
    rows = [
        ("mu1", "log10 μ1 (frequency)" if log_mu1 else "μ1 (frequency)"),
        ("mu2", "μ2 (orientation)"),
        ("pe", "PE (combined)"),
    ]
    fig = _figure(max(7.0, 0.75 * len(layers) + 3.0), 7.6)
    axes = fig.subplots(3, 1, sharex=True)
    for ax, (col, label) in zip(axes, rows, strict=True):
        pos, data = [], []
        for i, name in enumerate(layers):
            v = _live(scores.layer(name), col)
            if log_mu1 and col == "mu1":
                v = np.log10(v[v > 0])
            if v.size:
                pos.append(i)
                data.append(v)
        spread = [(p, d) for p, d in zip(pos, data, strict=True) if np.ptp(d) > 0 and d.size > 1]
        if spread:
            parts = ax.violinplot(
                [d for _, d in spread],
                positions=[p for p, _ in spread],
                widths=0.8,
                showextrema=False,
            )
            for body in parts["bodies"]:
                body.set_facecolor("#7fa7d6")
                body.set_edgecolor("#1f5fa8")
                body.set_alpha(0.7)
        for p, d in zip(pos, data, strict=True):
            if np.ptp(d) == 0 or d.size == 1:
                ax.plot([p], [d[0]], "o", color="#1f5fa8", ms=4)
            q1, med, q3 = np.percentile(d, [25, 50, 75])
            ax.vlines(p, q1, q3, color="#1d232b", lw=3)
            ax.plot([p], [med], "o", color="white", mec="#1d232b", ms=5, zorder=3)
        missing = [i for i in range(len(layers)) if i not in pos]
        for i in missing:
            ax.text(
                i,
                0.5,
                "no live\nchannels",
                ha="center",
                va="center",
                fontsize=7,
                color=_OTHER,
                transform=ax.get_xaxis_transform(),
            )
        ax.set_ylabel(label)
        if col in ("mu2", "pe"):
            ax.set_ylim(-0.03, 1.03)
    _layer_tick_labels(axes[-1], layers)
    axes[0].set_title("distribution over live channels (bar: quartiles, dot: median)")
    return save_figure(fig, path)


#: Flags drawn per layer by :func:`layer_shares`: column, label, colour, denominator.
SHARE_FLAGS = (
    ("orientation_selective", "orientation selective", "#1f5fa8", "live"),
    ("weak", "weak", "#e0a526", "live"),
    ("border_dominated", "border dominated", "#8a4fbf", "live"),
    ("peak_at_top", "peak at top of grid", "#2a9d4b", "live"),
    ("peak_at_bottom", "peak at bottom of grid", "#7ac29a", "live"),
    ("dead", "dead", "#b0413e", "all"),
)


def _pct_label(v: float) -> str:
    """A bar label that is 0 only for exactly 0 (two significant digits below 10 %)."""
    if math.isnan(v):
        return ""
    if v == 0 or v >= 10:
        return f"{v:.0f}"
    return f"{v:.2g}"


def layer_shares(scores: ChannelScores, path: str | Path) -> Path:
    """Bars per layer: shares of live channels with each flag (:data:`SHARE_FLAGS`), and dead.

    Flags absent from the scores (older results) are drawn as empty bars.
    """
    layers = scores.layers
    k = len(SHARE_FLAGS)
    values = np.full((k, len(layers)), math.nan)
    for j, name in enumerate(layers):
        t = scores.layer(name)
        d = np.asarray(t["dead"], dtype=bool)
        live = ~d
        for i, (col, _label, _c, denom) in enumerate(SHARE_FLAGS):
            if col not in t:
                continue
            flag = np.asarray(t[col], dtype=bool)
            if denom == "all":
                values[i, j] = 100.0 * flag.mean() if flag.size else math.nan
            elif live.any():
                values[i, j] = 100.0 * flag[live].mean()
    x = np.arange(len(layers))
    width = 0.84 / k
    fig = _figure(max(7.5, 1.25 * len(layers) + 3.0), 4.0)
    ax = fig.subplots()
    for i, (_col, label, color, denom) in enumerate(SHARE_FLAGS):
        unit = "% of all channels" if denom == "all" else "% of live"
        bars = ax.bar(
            x - 0.42 + width * (i + 0.5),
            np.nan_to_num(values[i]),
            width=width * 0.95,
            color=color,
            label=f"{label} ({unit})",
        )
        ax.bar_label(bars, labels=[_pct_label(v) for v in values[i]], fontsize=6, padding=1)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% of channels")
    ax.grid(axis="x", visible=False)
    _layer_tick_labels(ax, layers)
    fig.legend(loc="outside upper center", ncols=3, frameon=False, fontsize=7.5)
    return save_figure(fig, path)


def flagged_mask(t: Mapping[str, np.ndarray]) -> np.ndarray:
    """Live channels with a trust flag: weak, border dominated or peak at a grid edge.

    Columns missing from older results count as unflagged.

    Examples
    --------
    >>> t = {"dead": np.array([False, False]), "weak": np.array([True, False])}
    >>> flagged_mask(t).tolist()
    [True, False]
    """
    dead = np.asarray(t["dead"], dtype=bool)
    out = np.zeros(dead.shape, dtype=bool)
    for col in ("weak", "border_dominated", "peak_at_top", "peak_at_bottom"):
        if col in t:
            out |= np.asarray(t[col], dtype=bool)
    return out & ~dead


def mu1_mu2_scatter(
    scores: ChannelScores,
    path: str | Path,
    *,
    selected: Mapping[str, Sequence[int]] | None = None,
    selection_label: str = "selected",
    log_mu1: bool = False,
) -> Path:
    """One panel per layer: mu1 against mu2 for live channels, selected channels highlighted."""
    layers = scores.layers
    fig, axes = _layer_axes(len(layers))
    legend_done = False
    for ax, name in zip(axes, layers, strict=True):
        t = scores.layer(name)
        live = ~np.asarray(t["dead"], dtype=bool)
        ok = live & np.isfinite(t["mu1"]) & np.isfinite(t["mu2"])
        if log_mu1:
            ok &= np.asarray(t["mu1"]) > 0
        if not ok.any():
            _empty(ax)
            ax.set_title(name)
            continue
        chosen = np.zeros(ok.shape, dtype=bool)
        if selected is not None and name in selected:
            pos = {int(c): i for i, c in enumerate(t["channel"])}
            for c in selected[name]:
                if int(c) in pos:
                    chosen[pos[int(c)]] = True
        flagged = flagged_mask(t)
        rest = ok & ~chosen & ~flagged
        pick = ok & chosen
        marked = ok & ~chosen & flagged
        ax.scatter(
            t["mu1"][rest],
            t["mu2"][rest],
            s=9,
            color=_OTHER,
            alpha=0.6,
            lw=0,
            label="other live channels" if selected is not None else "live channels",
        )
        if marked.any():
            ax.scatter(
                t["mu1"][marked],
                t["mu2"][marked],
                s=14,
                marker="x",
                color=_FLAGGED,
                lw=0.9,
                label="flagged: weak, border or grid edge",
            )
        if pick.any():
            ax.scatter(
                t["mu1"][pick], t["mu2"][pick], s=14, color=_SELECTED, lw=0, label=selection_label
            )
        if log_mu1:
            ax.set_xscale("log")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("μ1 (frequency)")
        ax.set_ylabel("μ2 (orientation)")
        n_sel = f", {int(pick.sum())} selected" if selected is not None else ""
        ax.set_title(
            f"{name}\n{int(ok.sum())} live, {int(marked.sum())} flagged{n_sel}", fontsize=9
        )
        if not legend_done:
            ax.legend(loc="lower right", fontsize=7, markerscale=1.5, framealpha=0.8)
            legend_done = True
    return save_figure(fig, path)


def best_frequency_histograms(
    scores: ChannelScores,
    grid: StimulusGrid,
    path: str | Path,
    *,
    csf_peak: float | None = None,
    csf_label: str = "CSF peak",
) -> Path:
    """Histogram of the channels' best frequencies per layer on a log axis.

    One bin per sampled frequency (edges at the geometric midpoints), because the best
    frequency is only refined within a sample's neighbourhood. ``csf_peak`` draws the
    human CSF's peak frequency as a vertical line.
    """
    freqs = np.asarray(grid.frequencies, dtype=np.float64)
    if freqs.size > 1:
        mids = np.sqrt(freqs[1:] * freqs[:-1])
        edges = np.concatenate([[freqs[0] ** 2 / mids[0]], mids, [freqs[-1] ** 2 / mids[-1]]])
    else:
        edges = np.array([freqs[0] / 1.2, freqs[0] * 1.2])
    layers = scores.layers
    fig, axes = _layer_axes(len(layers), h=2.6)
    for k, (ax, name) in enumerate(zip(axes, layers, strict=True)):
        t = scores.layer(name)
        v = _live(t, "best_frequency_cpd")
        _log_frequency_axis(ax, float(edges[0]), float(edges[-1]))
        if not v.size:
            ax.set_title(name)
            _no_live_channels(ax)
            continue
        bf = np.asarray(t["best_frequency_cpd"], dtype=np.float64)
        live = ~np.asarray(t["dead"], dtype=bool) & np.isfinite(bf)
        bad = np.zeros(bf.shape, dtype=bool)
        for col in ("weak", "border_dominated"):
            if col in t:
                bad |= np.asarray(t[col], dtype=bool)
        groups = [np.clip(bf[live & ~bad], edges[0], edges[-1])]
        groups.append(np.clip(bf[live & bad], edges[0], edges[-1]))
        ax.hist(
            groups,
            bins=edges,
            stacked=True,
            color=["#7fa7d6", "#f2b8a9"],
            ec="#1f5fa8",
            lw=0.6,
            label=["selectable", "weak or border dominated"],
        )
        at_edge = 0
        for col in ("peak_at_top", "peak_at_bottom"):
            if col in t:
                at_edge += int((np.asarray(t[col], dtype=bool) & live).sum())
        med = float(np.median(v))
        ax.axvline(med, color="#1d232b", lw=1.2, ls=":", label=f"median {med:.3g} cpd")
        if csf_peak is not None and math.isfinite(csf_peak):
            ax.axvline(
                csf_peak, color="#c23b22", lw=1.6, ls="--", label=f"{csf_label} {csf_peak:.3g} cpd"
            )
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{name} (n = {v.size}, {at_edge} at grid edge)")
        ax.set_xlabel("best frequency (cycles/degree)")
        if k % 4 == 0:
            ax.set_ylabel("channels")
        ax.legend(loc="upper left", fontsize=7, framealpha=0.8)
    return save_figure(fig, path)


# ----------------------------------------------------------------------------------------
# selection


def selection_counts(
    layers: Sequence[str],
    live: Mapping[str, int],
    selections: Sequence[tuple[str, Mapping[str, int]]],
    path: str | Path,
) -> Path:
    """Channels kept per layer, one bar per selection file, over the layer's live count.

    Parameters
    ----------
    layers : sequence of str
        Layers in display order.
    live : mapping
        Layer -> number of live channels (drawn as a light background bar).
    selections : sequence of (label, mapping)
        Selection label and its layer -> number of kept channels.
    """
    x = np.arange(len(layers))
    k = max(1, len(selections))
    width = 0.8 / k
    fig = _figure(max(6.5, (0.45 + 0.3 * k) * len(layers) + 2.0) + 3.0, 3.8)
    ax = fig.subplots()
    ax.bar(
        x,
        [live.get(name, 0) for name in layers],
        width=0.9,
        color="#e4e8ee",
        label="live channels",
        zorder=0,
    )
    cmap = matplotlib.colormaps["tab10"]
    for j, (label, counts) in enumerate(selections):
        vals = [counts.get(name, 0) for name in layers]
        bars = ax.bar(
            x - 0.4 + width * (j + 0.5),
            vals,
            width=width * 0.95,
            color=cmap(j % 10),
            label=label,
            zorder=2,
        )
        if k == 1:
            ax.bar_label(bars, fontsize=7, padding=1)
    ax.set_ylabel("channels")
    ax.grid(axis="x", visible=False)
    _layer_tick_labels(ax, layers)
    top = max([live.get(name, 0) for name in layers] + [1])
    ax.set_ylim(0, top * 1.08)
    # outside the axes: a legend inside would make constrained layout shrink the axes
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    return save_figure(fig, path)
