"""The report's figures, drawn with matplotlib's Agg canvas (never a display).

Every function draws one PNG and returns its path. Figures are built as
:class:`matplotlib.figure.Figure` objects on a :class:`FigureCanvasAgg`, so pyplot's global
figure registry and the interactive backend are never touched. The style is reset to
matplotlib's defaults inside :func:`report_style` (a user's ``matplotlibrc`` does not change
the output), mathtext is off (a ``$`` in a layer name is drawn as a ``$``), and the PNG
carries no software or date metadata, so the same inputs give the same bytes.

Tuning-curve figures: :mod:`hvsprobe.report.tuning_figures`; the best-frequency heat map:
:mod:`hvsprobe.report.frequency_map`; the μ1-μ2 scatter: :mod:`hvsprobe.report.scatter`. See ``docs/report.md`` for what each figure shows and
how to read it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib import cbook, mlab, transforms
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.text import Text
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    NullFormatter,
    NullLocator,
)

from .._io import atomic_path
from ..scores import ChannelScores
from ..stimuli import StimulusGrid

__all__ = [
    "CSF_COLOR",
    "DPI",
    "FLAGGED",
    "FREQ_TICKS",
    "OTHER",
    "SELECTED",
    "TOP_COLORS",
    "any_flag",
    "layer_axes",
    "layer_shares",
    "log_frequency_axis",
    "new_figure",
    "no_live_channels",
    "report_style",
    "save_canvas",
    "save_figure",
    "score_distributions",
    "selection_counts",
    "stimulus_examples",
    "text_inches",
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
SELECTED = "#d9640f"
OTHER = "#8f98a3"
FLAGGED = "#c23b22"
CSF_COLOR = "#555555"
TOP_COLORS = ("#1f5fa8", "#2a9d4b", "#c23b22", "#8a4fbf")
FREQ_TICKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@contextlib.contextmanager
def report_style() -> Iterator[None]:
    """Matplotlib defaults plus the report's settings, restored on exit."""
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        yield


def new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    """A matplotlib Figure on an Agg canvas (no pyplot state), constrained layout by default."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def _write_png(fig: Figure, path: Path) -> Path:
    """Write the pixels on ``fig``'s canvas as PNG with Pillow, atomically.

    An opaque figure (every report figure: white background) is written as RGB, a quarter
    fewer bytes to compress than RGBA for the same picture; zlib level 3 is as small as the
    default 6 on these flat-colour figures at half the time. Only the DPI is stored (no date
    or software name), so the same pixels give the same bytes.
    """
    from PIL import Image

    pixels = np.asarray(fig.canvas.buffer_rgba())  # type: ignore[attr-defined]
    if bool((pixels[..., 3] == 255).all()):
        pixels = pixels[..., :3]
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(pixels)).save(
            tmp, format="PNG", dpi=(DPI, DPI), compress_level=3
        )
    return path


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Draw ``fig`` and write it as PNG to ``path`` atomically, without metadata.

    The figure is not cleared afterwards: clearing rebuilds every axis's ticks (about 0.1 s
    for a many-panel figure) only for the figure to be dropped; the caller's reference going
    away frees it.
    """
    fig.canvas.draw()
    return _write_png(fig, Path(path))


def save_canvas(fig: Figure, path: str | Path) -> Path:
    """Write what is on ``fig``'s canvas now, as :func:`save_figure` would, without a redraw.

    For figures drawn piecewise (blitting): the canvas must have been drawn at least once.
    """
    return _write_png(fig, Path(path))


def layer_axes(
    n: int,
    *,
    ncols: int = 4,
    w: float = 3.3,
    h: float = 2.8,
    top: float = 0.55,
    bottom: float = 0.55,
    wspace: float = 0.34,
    grid: bool = True,
) -> tuple[Figure, list[Axes]]:
    """A figure with one panel per layer, ``ncols`` to a row (``grid``: matplotlib's grid).

    Fixed margins in inches (``top``, ``bottom``) rather than constrained layout: the same
    look for these simple panels at half the drawing time. Only the ``n`` panels are made
    (an axes costs about as much as ten texts to make and draw).
    """
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    width, height = max(w * ncols, 6.0), h * nrows + 0.4
    fig = new_figure(width, height, constrained=False)
    gs = fig.add_gridspec(
        nrows,
        ncols,
        left=0.7 / width,
        right=1 - 0.3 / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wspace,
        hspace=0.75,
    )
    with matplotlib.rc_context({"axes.grid": grid}):
        return fig, [fig.add_subplot(gs[i // ncols, i % ncols]) for i in range(n)]


def no_live_channels(ax: Axes) -> Text:
    """Say in the middle of an empty panel that it has no live channels; the text artist."""
    return ax.text(
        0.5, 0.5, "no live channels", ha="center", va="center", transform=ax.transAxes, color=OTHER
    )


def log_frequency_axis(ax: Axes, f_lo: float, f_hi: float) -> None:
    """Log x axis in cycles/degree with plain-number ticks at octaves."""
    ax.set_xscale("log")
    ax.set_xlim(f_lo / 1.2, f_hi * 1.2)
    ticks = [t for t in FREQ_TICKS if f_lo / 1.2 <= t <= f_hi * 1.2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _layer_tick_labels(ax: Axes, layers: Sequence[str]) -> None:
    ax.set_xticks(np.arange(len(layers)))
    rotate = _rotate_layer_labels(layers)
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
    fig = new_figure(width_in + left + right, height_in + top + bottom, constrained=False)
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
    width = max(7.0, 0.75 * len(layers) + 3.0)
    fig, axes = _fixed_axes(width, 3 * 2.2, n_rows=3, layers=layers, top=0.4, hspace=0.25)
    tables = [scores.layer(name) for name in layers]
    for ax, (col, label) in zip(axes, rows, strict=True):
        data = {}
        for i, t in enumerate(tables):
            v = _live(t, col)
            if log_mu1 and col == "mu1":
                v = np.log10(v[v > 0])
            if v.size:
                data[i] = v
        _violins(ax, data)
        for i in (i for i in range(len(layers)) if i not in data):
            ax.text(
                i,
                0.5,
                "no live\nchannels",
                ha="center",
                va="center",
                fontsize=7,
                color=OTHER,
                transform=ax.get_xaxis_transform(),
            )
        ax.set_ylabel(label)
        if col in ("mu2", "pe"):
            ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(-0.6, len(layers) - 0.4)
        ax.set_xticks(np.arange(len(layers)))
        if ax is not axes[-1]:
            ax.tick_params(axis="x", labelbottom=False)
    _layer_tick_labels(axes[-1], layers)
    axes[0].set_title("distribution over live channels (bar: quartiles, dot: median)", y=1.0)
    return save_figure(fig, path)


def _violins(ax: Axes, data: Mapping[int, np.ndarray]) -> None:
    """Violins at the layer positions of ``data`` (single values as dots), quartile bars and
    median dots, each kind drawn by one call."""
    spread = {p: d for p, d in data.items() if np.ptp(d) > 0 and d.size > 1}
    if spread:  # matplotlib's violin shapes, drawn as one collection instead of one per layer
        stats = cbook.violin_stats(list(spread.values()), _gaussian_kde, points=100)
        bodies = []
        for p, st in zip(spread, stats, strict=True):
            half = 0.4 * st["vals"] / st["vals"].max()
            xs = np.concatenate([p - half, (p + half)[::-1]])
            bodies.append(np.column_stack([xs, np.concatenate([st["coords"], st["coords"][::-1]])]))
        ax.add_collection(
            PolyCollection(bodies, facecolors="#7fa7d6", edgecolors="#1f5fa8", alpha=0.7)
        )
        ax.autoscale_view()
    single = [(p, float(d[0])) for p, d in data.items() if p not in spread]
    if single:
        ax.plot(*zip(*single, strict=True), "o", color="#1f5fa8", ms=4)
    if data:
        q = np.array([np.percentile(d, [25, 50, 75]) for d in data.values()])
        ax.vlines(list(data), q[:, 0], q[:, 2], color="#1d232b", lw=3)
        ax.plot(list(data), q[:, 1], "o", color="white", mec="#1d232b", ms=5, zorder=3)


def _gaussian_kde(x: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``x`` at ``coords``, Scott's bandwidth (as ``violinplot``)."""
    return np.asarray(mlab.GaussianKDE(x, None).evaluate(coords))


def _rotate_layer_labels(layers: Sequence[str]) -> bool:
    return len(layers) > 6 or max((len(s) for s in layers), default=0) > 10


def _fixed_axes(
    width: float,
    axes_height: float,
    *,
    n_rows: int,
    layers: Sequence[str],
    top: float,
    hspace: float = 0.2,
) -> tuple[Figure, list[Axes]]:
    """``n_rows`` stacked axes over layer positions, with margins in inches made to fit the
    layer labels below (instead of constrained layout, which draws the figure twice)."""
    size = float(matplotlib.rcParams["xtick.labelsize"])
    line = size * 1.4 / 72  # one line of tick label, inches
    if _rotate_layer_labels(layers):
        angle = math.radians(35)
        depth = text_inches(layers, FontProperties(size=size)) * math.sin(angle)
        depth += line * math.cos(angle)
    else:
        depth = line
    bottom = depth + 0.25
    height = top + axes_height + bottom
    fig = new_figure(width, height, constrained=False)
    gs = fig.add_gridspec(
        n_rows,
        1,
        left=0.85 / width,
        right=1 - 0.25 / width,
        bottom=bottom / height,
        top=1 - top / height,
        hspace=hspace,
    )
    return fig, [fig.add_subplot(gs[i, 0]) for i in range(n_rows)]


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
    fig, (ax,) = _fixed_axes(
        max(7.5, 1.25 * len(layers) + 3.0), 2.9, n_rows=1, layers=layers, top=0.55
    )
    above = transforms.offset_copy(ax.transData, y=DPI / 72, units="dots")  # bar_label's padding
    for i, (_col, label, color, denom) in enumerate(SHARE_FLAGS):
        unit = "% of all channels" if denom == "all" else "% of live"
        heights = np.nan_to_num(values[i])
        xs = x - 0.42 + width * (i + 0.5)
        ax.bar(xs, heights, width=width * 0.95, color=color, label=f"{label} ({unit})")
        for xi, h, v in zip(xs, heights, values[i], strict=True):
            if not math.isnan(v):  # plain texts: bar_label's annotations cost twice as much
                ax.text(xi, h, _pct_label(v), transform=above, ha="center", va="bottom", fontsize=6)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% of channels")
    ax.grid(axis="x", visible=False)
    _layer_tick_labels(ax, layers)
    fig.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.03 / fig.get_figheight()),
        ncols=3,
        frameon=False,
        fontsize=7.5,
    )
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
    flags = any_flag(t, "weak", "border_dominated", "peak_at_top", "peak_at_bottom")
    return flags & ~np.asarray(t["dead"], dtype=bool)


def any_flag(t: Mapping[str, np.ndarray], *cols: str) -> np.ndarray:
    """OR of the boolean columns ``cols`` present in ``t`` (missing ones, from older results:
    False).

    Examples
    --------
    >>> any_flag({"dead": np.array([False, True]), "weak": np.array([True, False])}, "weak", "x").tolist()
    [True, False]
    """
    out = np.zeros(np.asarray(t["dead"]).shape, dtype=bool)
    for col in cols:
        if col in t:
            out |= np.asarray(t[col], dtype=bool)
    return out


def text_inches(texts: Sequence[str], prop: FontProperties) -> float:
    """Width in inches of the widest of ``texts`` drawn in ``prop`` (measured, not drawn).

    Examples
    --------
    >>> text_inches(["ab", "abcd"], FontProperties(size=10)) > text_inches(["ab"], FontProperties(size=10))
    True
    """
    renderer = RendererAgg(1, 1, DPI)
    width = max(
        (renderer.get_text_width_height_descent(s, prop, ismath=False)[0] for s in texts),
        default=0.0,
    )
    return float(width) / DPI


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
    fig = new_figure(max(6.5, (0.45 + 0.3 * k) * len(layers) + 2.0) + 3.0, 3.8)
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
