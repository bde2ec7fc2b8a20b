"""The report's μ1-μ2 figure: one scatter panel per layer, drawn cheaply.

A many-panel figure's cost is mostly matplotlib's axis machinery (ticks, tick labels, label
placement), so each panel's frame, grid, ticks and tick labels are drawn as a few plain
artists (:func:`plain_axes`), the dots as line markers, with one legend for the figure. See
``docs/report.md`` for how to read the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import transforms
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import TICKDOWN, TICKLEFT, Line2D
from matplotlib.ticker import LogLocator, MaxNLocator

from ..scores import ChannelScores
from .figures import (
    DPI,
    FLAGGED,
    OTHER,
    SELECTED,
    flagged_mask,
    layer_axes,
    no_live_channels,
    save_figure,
    text_inches,
)

__all__ = ["mu1_mu2_scatter", "plain_axes"]


def plain_axes(
    ax: Axes, xticks: Sequence[float], yticks: Sequence[float], *, ylabels: bool = True
) -> None:
    """Draw ``ax``'s frame, grid, ticks and tick labels as a few plain artists.

    Replaces matplotlib's axis machinery (about 25 ms an axes here, most of a many-panel
    figure's cost) with one L-shaped frame, one grid collection, two tick-mark lines and a
    text per tick label; the look matches the report style. Set the axis limits first;
    ticks outside them are dropped.
    """
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    xs = [float(v) for v in xticks if min(x0, x1) <= v <= max(x0, x1)]
    ys = [float(v) for v in yticks if min(y0, y1) <= v <= max(y0, y1)]
    ax.set_axis_off()
    grid = [[(x, y0), (x, y1)] for x in xs] + [[(x0, y), (x1, y)] for y in ys]
    ax.add_collection(
        LineCollection(grid, colors="#b0b0b0", linewidths=0.8, alpha=0.25, zorder=0.5),
        autolim=False,
    )
    frame: dict[str, Any] = {"color": "black", "lw": 0.8, "clip_on": False, "zorder": 2.5}
    ax.plot([0, 0, 1], [1, 0, 0], transform=ax.transAxes, **frame)
    mark: dict[str, Any] = {"ls": "", "ms": 3.5, "mew": 0.8, "color": "black", "clip_on": False}
    ax.plot(xs, [0.0] * len(xs), marker=TICKDOWN, transform=ax.get_xaxis_transform(), **mark)
    ax.plot([0.0] * len(ys), ys, marker=TICKLEFT, transform=ax.get_yaxis_transform(), **mark)
    size = matplotlib.rcParams["xtick.labelsize"]
    pad = 5.5 * DPI / 72  # tick length plus pad, 5.5 points, in pixels
    below = transforms.offset_copy(ax.get_xaxis_transform(), y=-pad, units="dots")
    for x in xs:
        ax.text(x, 0, f"{x:g}", transform=below, ha="center", va="top", fontsize=size)
    if ylabels:
        left = transforms.offset_copy(ax.get_yaxis_transform(), x=-pad, units="dots")
        for y in ys:
            ax.text(0, y, f"{y:g}", transform=left, ha="right", va="center", fontsize=size)


_TITLE_SIZE = 8.5
_FLAG_LABEL = "flagged: weak, border dominated or peak at a grid edge"


def _scatter_legend(fig: Figure, selection_label: str | None) -> None:
    """One legend for all panels of :func:`mu1_mu2_scatter`, above them."""
    mark: dict[str, Any] = {"ls": "", "markersize": 5}
    rest = "other live channels" if selection_label is not None else "live channels"
    handles = [
        Line2D([], [], marker="o", color=OTHER, **mark, label=rest),
        Line2D([], [], marker="x", color=FLAGGED, mew=1.2, **mark, label=_FLAG_LABEL),
    ]
    if selection_label is not None:
        handles.append(Line2D([], [], marker="o", color=SELECTED, **mark, label=selection_label))
    fig.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 1 - 0.05 / fig.get_figheight()),
        ncols=len(handles),
        frameon=False,
        fontsize=8.5,
    )


def _chosen(
    t: Mapping[str, np.ndarray], name: str, selected: Mapping[str, Sequence[int]] | None
) -> np.ndarray:
    """Rows of ``t`` whose channel is in ``selected[name]`` (none without a selection)."""
    chosen = np.zeros(np.asarray(t["channel"]).shape, dtype=bool)
    if selected is not None and name in selected:
        pos = {int(c): i for i, c in enumerate(t["channel"])}
        for c in selected[name]:
            if int(c) in pos:
                chosen[pos[int(c)]] = True
    return chosen


def _mu1_ticks(ax: Axes, mu1: np.ndarray, log: bool) -> list[float]:
    """Set ``ax``'s mu1 limits (data range plus 5 %, as autoscaling would) and pick ticks."""
    lo, hi = float(np.min(mu1)), float(np.max(mu1))
    if log:
        ax.set_xscale("log")
        pad = (hi / lo) ** 0.05 if hi > lo else 2.0
        lo, hi = lo / pad, hi * pad
        ax.set_xlim(lo, hi)
        for subs in ((1.0,), (1.0, 2.0, 5.0), tuple(range(1, 10))):  # decades, else more
            ticks = [float(v) for v in LogLocator(subs=subs).tick_values(lo, hi) if lo <= v <= hi]
            if len(ticks) >= 2:
                break
        return ticks
    pad = 0.05 * (hi - lo) if hi > lo else max(0.05 * abs(lo), 0.05)
    ax.set_xlim(lo - pad, hi + pad)
    return [float(v) for v in MaxNLocator(4).tick_values(lo - pad, hi + pad)]


def _scatter_title(
    name: str, n_live: int, n_flagged: int, n_selected: int | None, width_in: float
) -> str:
    """Layer name and its live, flagged and selected counts; on two lines when wider than
    ``width_in`` inches."""
    counts = f"{n_live} live, {n_flagged} flagged"
    if n_selected is not None:
        counts += f", {n_selected} selected"
    one_line = f"{name}: {counts}"
    fits = text_inches([one_line], FontProperties(size=_TITLE_SIZE)) <= width_in
    return one_line if fits else f"{name}\n{counts}"


def mu1_mu2_scatter(
    scores: ChannelScores,
    path: str | Path,
    *,
    selected: Mapping[str, Sequence[int]] | None = None,
    selection_label: str = "selected",
    log_mu1: bool = False,
) -> Path:
    """One panel per layer: mu1 against mu2 for live channels, selected channels highlighted.

    The panels share the mu2 axis (0 to 1, tick labels on the left column) and one legend
    above them; each title gives the layer's live, flagged and (with ``selected``) selected
    channels.
    """
    layers = scores.layers
    fig, axes = layer_axes(len(layers), h=2.45, top=0.75, bottom=0.6, wspace=0.12, grid=False)
    title: dict[str, Any] = {"fontsize": _TITLE_SIZE, "y": 1.0, "pad": 3}  # y: no auto-placing
    panel_in = axes[0].get_position().width * fig.get_figwidth()
    for k, (ax, name) in enumerate(zip(axes, layers, strict=True)):
        t = scores.layer(name)
        ok = ~np.asarray(t["dead"], dtype=bool) & np.isfinite(t["mu1"]) & np.isfinite(t["mu2"])
        if log_mu1:
            ok &= np.asarray(t["mu1"]) > 0
        chosen = _chosen(t, name, selected)
        flagged = flagged_mask(t)
        rest, pick, marked = ok & ~chosen & ~flagged, ok & chosen, ok & ~chosen & flagged
        n_sel = int(pick.sum()) if selected is not None else None
        head = _scatter_title(name, int(ok.sum()), int(marked.sum()), n_sel, panel_in)
        ax.set_title(head, **title)
        ax.set_ylim(-0.03, 1.03)
        if not ok.any():
            plain_axes(ax, [], [0.0, 0.5, 1.0], ylabels=k % 4 == 0)
            no_live_channels(ax)
            continue
        # markers on lines, not scatter collections: the same dots at half the cost
        dots: dict[str, Any] = {"ls": "", "marker": "o", "mew": 0}
        ax.plot(t["mu1"][rest], t["mu2"][rest], ms=3.0, color=OTHER, alpha=0.6, **dots)
        if marked.any():
            crosses = {"ls": "", "marker": "x", "ms": 3.7, "mew": 0.9, "color": FLAGGED}
            ax.plot(t["mu1"][marked], t["mu2"][marked], **crosses)
        if pick.any():
            ax.plot(t["mu1"][pick], t["mu2"][pick], ms=3.7, color=SELECTED, **dots)
        plain_axes(ax, _mu1_ticks(ax, t["mu1"][ok], log_mu1), [0.0, 0.5, 1.0], ylabels=k % 4 == 0)
    fig.supxlabel("μ1 (frequency)" + (", log axis" if log_mu1 else ""), fontsize=10, y=0.02)
    fig.supylabel("μ2 (orientation)", fontsize=10, x=0.01)
    _scatter_legend(fig, selection_label if selected is not None else None)
    return save_figure(fig, path)
