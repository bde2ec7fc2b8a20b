"""The report's best-frequency figure: one heat map row per layer.

Layers are rows (network order, top to bottom), the grid's sampled frequencies are columns
(one bin per sample on a log axis), and a cell's colour is the share of the layer's live
channels whose best frequency falls in it. Two maps side by side split the channels: the
selectable ones (left) and the weak or border-dominated ones (right); in one row the two maps
together sum to 1. :func:`frequency_rows` computes the numbers (pure, tested),
:func:`best_frequency_map` draws them. See ``docs/report.md`` for how to read the figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import ListedColormap, PowerNorm
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..scores import ChannelScores
from ..stimuli import StimulusGrid
from .figures import DPI, FREQ_TICKS, any_flag, new_figure, save_figure, text_inches
from .html import fmt_share

__all__ = ["FrequencyRow", "best_frequency_map", "frequency_bin_edges", "frequency_rows"]

_CSF = "#c23b22"
_EMPTY = "#c9ced6"
_EDGE = "#1d232b"
#: Blues from 15 % on: the smallest non-zero share stays distinct from an empty (white) cell.
_CMAP = ListedColormap(matplotlib.colormaps["Blues"](np.linspace(0.15, 1.0, 256)), "hvs_blues")
_CBAR_TICKS = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
_ROW_IN = 0.26  # height of one layer's row, inches
_MONO = FontProperties(family="monospace", size=8)


@dataclass(frozen=True)
class FrequencyRow:
    """One layer's best frequencies, binned on the grid's frequencies.

    Attributes
    ----------
    selectable, flagged : ndarray
        Per bin, the share of the layer's live channels (finite best frequency) that fall in
        it and are not / are weak or border dominated; together they sum to 1 over the bins
        (all zeros for a layer without live channels).
    n_live : int
        Live channels with a finite best frequency (the shares' denominator).
    n_flagged : int
        Of those, the weak or border-dominated ones.
    n_edge : int
        Of those, the ones flagged as peaking at the top or bottom of the grid.
    median : float
        Median best frequency of the live channels (cycles/degree); NaN without any.
    """

    selectable: np.ndarray
    flagged: np.ndarray
    n_live: int
    n_flagged: int
    n_edge: int
    median: float


def frequency_bin_edges(frequencies: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bin edges with one bin per sampled frequency: edges at the geometric midpoints.

    The outer edges lie as far (in log frequency) beyond the first and last sample as the
    nearest midpoint lies inside; a single frequency gets ``f / 1.2 .. f * 1.2``.

    Examples
    --------
    >>> frequency_bin_edges([1.0, 4.0]).tolist()
    [0.5, 2.0, 8.0]
    """
    freqs = np.asarray(frequencies, dtype=np.float64)
    if freqs.size == 0 or not np.all(freqs > 0) or np.any(np.diff(freqs) <= 0):
        raise ValueError(f"frequencies must be positive and increasing; got {freqs.tolist()}")
    if freqs.size == 1:
        return np.array([freqs[0] / 1.2, freqs[0] * 1.2])
    mids = np.sqrt(freqs[1:] * freqs[:-1])
    return np.concatenate([[freqs[0] ** 2 / mids[0]], mids, [freqs[-1] ** 2 / mids[-1]]])


def frequency_rows(t: Mapping[str, np.ndarray], edges: np.ndarray) -> FrequencyRow:
    """Bin one layer's live channels by best frequency (see :class:`FrequencyRow`).

    Best frequencies beyond the outer edges count in the outermost bins, which therefore
    hold every channel whose peak lies at or beyond the grid edge.

    Examples
    --------
    >>> t = {"dead": np.array([False, False, True]), "best_frequency_cpd": np.array([1.0, 9.0, 1.0]),
    ...      "weak": np.array([False, True, False])}
    >>> r = frequency_rows(t, frequency_bin_edges([1.0, 4.0]))
    >>> r.selectable.tolist(), r.flagged.tolist(), r.n_live, r.median
    ([0.5, 0.0], [0.0, 0.5], 2, 5.0)
    """
    bf = np.asarray(t["best_frequency_cpd"], dtype=np.float64)
    live = ~np.asarray(t["dead"], dtype=bool) & np.isfinite(bf)
    bad = any_flag(t, "weak", "border_dominated") & live
    n_bins = len(edges) - 1
    n = int(live.sum())
    if n == 0:
        zero = np.zeros(n_bins)
        return FrequencyRow(zero, zero.copy(), 0, 0, 0, math.nan)
    clipped = np.clip(bf, edges[0], edges[-1])
    good_counts = np.histogram(clipped[live & ~bad], bins=edges)[0]
    bad_counts = np.histogram(clipped[bad], bins=edges)[0]
    edge = any_flag(t, "peak_at_top", "peak_at_bottom") & live
    return FrequencyRow(
        selectable=good_counts / n,
        flagged=bad_counts / n,
        n_live=n,
        n_flagged=int(bad.sum()),
        n_edge=int(edge.sum()),
        median=float(np.median(bf[live])),
    )


def _row_text(r: FrequencyRow) -> str:
    if r.n_live == 0:
        return f"{0:>5}  no live channels"
    return f"{r.n_live:>5} {r.n_edge:>7} {fmt_share(r.n_flagged, r.n_live):>8} {r.median:>7.3g}"


_HEADER = f"{'live':>5} {'at grid':>7} {'weak or':>8} {'median':>7}\n" + (
    f"{'':>5} {'edge':>7} {'border':>8} {'cpd':>7}"
)


def _frequency_ticks(ax: Axes, edges: np.ndarray, freqs: np.ndarray) -> None:
    """Octave ticks in range, or the sampled frequencies where fewer than 2 octaves fit."""
    lo, hi = float(edges[0]), float(edges[-1])
    ticks = [t for t in FREQ_TICKS if lo <= t <= hi]
    if len(ticks) < 2:
        ticks = [float(f) for f in freqs[:: max(1, math.ceil(len(freqs) / 5))]]
    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.3g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def _draw_map(
    ax: Axes,
    shares: np.ndarray,
    rows: Sequence[FrequencyRow],
    edges: np.ndarray,
    norm: PowerNorm,
    csf_peak: float | None,
) -> QuadMesh:
    """One heat map: shares, CSF line, outlined grid-edge columns, hatched empty rows."""
    n = len(rows)
    y = np.arange(n + 1) - 0.5
    mesh = ax.pcolormesh(
        edges, y, np.ma.masked_equal(shares, 0.0), cmap=_CMAP, norm=norm, shading="flat"
    )
    ax.set_ylim(n - 0.5, -0.5)
    ax.grid(False)
    for i, r in enumerate(rows):
        if r.n_live == 0:
            ax.axhspan(i - 0.5, i + 0.5, facecolor="none", edgecolor=_EMPTY, hatch="///", lw=0)
    if csf_peak is not None and math.isfinite(csf_peak):
        ax.axvline(csf_peak, color=_CSF, lw=1.5, ls="--")
    outer = [(edges[0], edges[1])] + ([(edges[-2], edges[-1])] if len(edges) > 2 else [])
    for a, b in outer:
        ax.add_patch(Rectangle((a, -0.5), b - a, n, fill=False, ec=_EDGE, lw=1.3, zorder=3))
    return mesh


def _colour_scale(rows: Sequence[FrequencyRow]) -> PowerNorm:
    """Square-root colour scale from 0 to the largest share of any cell (1 when all empty)."""
    top = max((float(max(r.selectable.max(), r.flagged.max())) for r in rows), default=0.0)
    return PowerNorm(0.5, vmin=0.0, vmax=top if top > 0 else 1.0)


def _legend(fig: Figure, csf_peak: float | None, csf_label: str) -> None:
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            ms=5,
            mfc="white",
            mec=_EDGE,
            label="median best frequency of all live channels",
        ),
        Rectangle((0, 0), 1, 1, fill=False, ec=_EDGE, lw=1.3, label="peak at/beyond grid edge"),
    ]
    if csf_peak is not None and math.isfinite(csf_peak):
        handles.insert(
            1, Line2D([], [], color=_CSF, ls="--", lw=1.5, label=f"{csf_label} {csf_peak:.3g} cpd")
        )
    h = fig.get_figheight()
    fig.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.02, 1 - 0.04 / h),
        ncols=len(handles),
        frameon=False,
        fontsize=8,
        handlelength=1.8,
    )


def best_frequency_map(
    scores: ChannelScores,
    grid: StimulusGrid,
    path: str | Path,
    *,
    csf_peak: float | None = None,
    csf_label: str = "CSF peak",
) -> Path:
    """Heat maps of the live channels' best frequencies: layers in rows, frequency bins in columns.

    Left: selectable channels; right (narrower): weak or border-dominated ones; colour: share
    of the layer's live channels in the bin (square-root scale, white: none). Circles mark each
    layer's median best frequency, the dashed line ``csf_peak``; the outlined outer columns
    hold the channels peaking at or beyond the grid edge. The right-hand column gives per
    layer the live channels, those flagged as peaking at a grid edge, the weak or border share
    and the median. The figure's height grows with the number of layers (0.26 inch a row).
    """
    freqs = np.asarray(grid.frequencies, dtype=np.float64)
    edges = frequency_bin_edges(freqs)
    layers = scores.layers
    rows = [frequency_rows(scores.layer(name), edges) for name in layers]
    n = len(rows)
    texts = [_row_text(r) for r in rows]
    name_w = text_inches(layers, FontProperties(size=8.5)) + 0.2
    text_w = text_inches([*texts, *_HEADER.splitlines()], _MONO) + 0.2
    w1, w2, gap, top, bottom = 5.0, 2.6, 0.3, 0.8, 1.3
    map_h = max(n, 2) * _ROW_IN
    width, height = name_w + w1 + gap + w2 + text_w, top + map_h + bottom
    fig = new_figure(width, height, constrained=False)
    x1, x2 = name_w / width, (name_w + w1 + gap) / width
    ax1 = fig.add_axes((x1, bottom / height, w1 / width, map_h / height))
    ax2 = fig.add_axes((x2, bottom / height, w2 / width, map_h / height))
    norm = _colour_scale(rows)
    for ax, key, title in (
        (ax1, "selectable", "selectable"),
        (ax2, "flagged", "weak or border-dominated"),
    ):
        shares = np.array([getattr(r, key) for r in rows]).reshape(n, len(edges) - 1)
        mesh = _draw_map(ax, shares, rows, edges, norm, csf_peak)
        _frequency_ticks(ax, edges, freqs)
        ax.set_title(f"{title} channels", fontsize=9.5, loc="left", y=1.0, pad=4)
        ax.set_xlabel("best frequency (cycles/degree)", fontsize=9)
    med = [(min(max(r.median, edges[0]), edges[-1]), i) for i, r in enumerate(rows) if r.n_live]
    if med:
        marks: dict[str, Any] = {
            "ls": "",
            "marker": "o",
            "ms": 4.5,
            "mfc": "white",
            "mec": _EDGE,
            "mew": 1,
        }
        ax1.plot(*zip(*med, strict=True), clip_on=False, zorder=4, **marks)
    _row_labels(ax1, ax2, layers, texts)
    cax = fig.add_axes((x1, 0.55 / height, 0.6 * w1 / width, 0.12 / height))
    _colour_bar(fig, mesh, cax, norm)
    _legend(fig, csf_peak, csf_label)
    return save_figure(fig, path)


def _row_labels(ax1: Axes, ax2: Axes, layers: Sequence[str], texts: Sequence[str]) -> None:
    """Layer names left of the first map, the per-layer counts right of the second.

    Plain texts rather than tick labels: a tick costs about twice a text to make and draw.
    """
    ax1.set_yticks([])
    ax2.set_yticks([])
    pt = DPI / 72
    left = transforms.offset_copy(ax1.get_yaxis_transform(), x=-4 * pt, units="dots")
    right = transforms.offset_copy(ax2.get_yaxis_transform(), x=6 * pt, units="dots")
    for i, (name, text) in enumerate(zip(layers, texts, strict=True)):
        ax1.text(0, i, name, transform=left, ha="right", va="center_baseline", fontsize=8.5)
        ax2.text(1, i, text, transform=right, ha="left", va="center_baseline", fontproperties=_MONO)
    head = transforms.offset_copy(ax2.transAxes, x=6 * pt, y=3 * pt, units="dots")
    ax2.text(1.0, 1.0, _HEADER, transform=head, ha="left", va="bottom", fontproperties=_MONO)


def _colour_bar(fig: Figure, mesh: QuadMesh, cax: Axes, norm: PowerNorm) -> None:
    cbar = fig.colorbar(mesh, cax=cax, orientation="horizontal")
    top = 1.0 if norm.vmax is None else float(norm.vmax)
    cbar.set_ticks([t for t in _CBAR_TICKS if t <= top])
    cbar.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{100 * v:g} %"))
    cbar.ax.tick_params(labelsize=8)
    cbar.set_label(
        "share of the layer's live channels (square-root scale; white: none)",
        fontsize=8.5,
        loc="left",
    )
