"""Tuning-curve figures of the report, and the curves as the scores define them.

Drawn like every report figure (:mod:`hvsprobe.report.figures`: Agg canvas, no metadata).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform

from ..stimuli import StimulusGrid
from ..tuning import tuning_curve_data
from .figures import (
    CSF_COLOR,
    TOP_COLORS,
    log_frequency_axis,
    new_figure,
    no_live_channels,
    save_canvas,
)
from .inputs import CSFCurve

__all__ = ["TuningFigure", "tuning_curves"]


#: How the frequency curve is taken, in words for the panel titles.
_FC_NAMES = {
    "preferred": "at preferred orientation",
    "mean": "mean over orientations",
    "max": "max over orientations",
}


def _rank(pe: np.ndarray, dead: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the ``n`` highest and ``n`` lowest finite PE values (stable order)."""
    ok = np.nonzero(np.isfinite(pe) & ~dead)[0]
    order = ok[np.argsort(-pe[ok], kind="stable")]
    return order[:n], order[::-1][:n]


def _normed(curve: np.ndarray) -> np.ndarray:
    m = np.max(np.abs(curve))
    return curve / m if m > 0 else curve


def _ranked_groups(
    layer_scores: Mapping[str, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PE, channel numbers, peak / layer median, and the top and bottom ``n`` channels."""
    pe = np.asarray(layer_scores["pe"], dtype=np.float64)
    dead = np.asarray(layer_scores["dead"], dtype=bool)
    channels = np.asarray(layer_scores["channel"])
    if "selectable" in layer_scores:  # rank only channels that are live, strong, border-free
        dead = dead | ~np.asarray(layer_scores["selectable"], dtype=bool)
    rel = np.asarray(layer_scores.get("peak_rel_median", np.full(pe.shape, np.nan)), np.float64)
    top, bottom = _rank(pe, dead, n)
    return pe, channels, rel, top, bottom


def _draw_csf(ax: Axes, csf: CSFCurve, freqs: np.ndarray) -> None:
    """The normalised human CSF, dashed over a light fill, on a frequency axis."""
    f_dense = np.geomspace(freqs[0], freqs[-1], 200)
    norm = csf[0]
    ax.fill_between(f_dense, 0, norm(f_dense), color=CSF_COLOR, alpha=0.12, lw=0)
    ax.plot(f_dense, norm(f_dense), color=CSF_COLOR, lw=2.0, ls="--")


#: The key right of each orientation panel: font size (points) and, in units of it, the
#: handle length, the gap to the label, the line height and the space between entries.
_KEY_SIZE, _KEY_HANDLE, _KEY_PAD, _KEY_LINE, _KEY_GAP = 8.0, 2.0, 0.8, 1.25, 0.55


def _key(
    ax: Axes, entries: list[tuple[str, dict[str, Any]]], start: float = 0.0
) -> tuple[list[Artist], float]:
    """A legend-like key right of ``ax``: for each entry a line sample and its label.

    Drawn as plain figure artists in pixel coordinates (the figure's geometry is fixed),
    which costs a fraction of a :class:`matplotlib.legend.Legend` (its box layout is most
    of the drawing time of a layer). ``entries`` are (label, Line2D style) pairs, from the
    top of the axes down, after ``start`` pixels. Returns the artists, added to the figure,
    and the pixels used.
    """
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    em = _KEY_SIZE * fig.dpi / 72.0
    x0, top = ax.transAxes.transform((1.03, 1.0))
    y = top - start
    made: list[Artist] = []
    for label, style in entries:
        height = (label.count("\n") + 1) * _KEY_LINE * em
        mid = y - height / 2.0
        handle = [x0, x0 + _KEY_HANDLE * em / 2.0, x0 + _KEY_HANDLE * em]
        line = Line2D(handle, [mid] * 3, transform=IdentityTransform(), markevery=[1], **style)
        text = Text(
            x0 + (_KEY_HANDLE + _KEY_PAD) * em,
            mid,
            label,
            transform=IdentityTransform(),
            fontsize=_KEY_SIZE,
            va="center",
            ha="left",
        )
        made += [fig.add_artist(line), fig.add_artist(text)]
        y -= height + _KEY_GAP * em
    return made, top - y


def _y_floor(lows: list[float]) -> float:
    """Lower y limit of a row: a small margin below 0, or below the lowest curve point."""
    return round(min(-0.05, min(lows + [0.0]) - 0.05), 6)


class TuningFigure:
    """Draws the per-layer tuning-curve figures of one report, sharing what they share.

    Every layer's figure has the same axes, ticks, labels, titles and CSF curve; only the
    curves, their keys and the title differ. So the common part is drawn once (per pair of
    y ranges) and kept as a bitmap (matplotlib's blitting: ``copy_from_bbox`` /
    ``restore_region``); each layer restores it and draws only its own artists on top,
    in the order a full draw uses (curves, then the axis lines over them, then keys and
    title). This is what makes 13 layers cost about one full figure.

    Parameters
    ----------
    grid : StimulusGrid
        The probe grid (frequencies and orientations of the curves).
    n : int
        Channels per row, from each end of the PE ranking.
    csf : CSFCurve, optional
        The human CSF drawn (normalised) under the frequency curves.
    frequency_curve : {'preferred', 'mean', 'max'}
        How the frequency curve is taken (as in the scores).
    contrast_index : int
        Contrast to use.
    """

    def __init__(
        self,
        grid: StimulusGrid,
        *,
        n: int = 4,
        csf: CSFCurve | None = None,
        frequency_curve: str = "preferred",
        contrast_index: int = -1,
    ) -> None:
        self.freqs = np.asarray(grid.frequencies, dtype=np.float64)
        orients = np.mod(np.asarray(grid.orientations, dtype=np.float64), 180.0)
        self.o_order = np.argsort(orients)
        o_sorted = orients[self.o_order]
        self.o_x = np.concatenate([o_sorted, [o_sorted[0] + 180.0]])
        self.n, self.csf = int(n), csf
        self.frequency_curve, self.contrast_index = frequency_curve, int(contrast_index)
        self._fig: Figure | None = None
        self._axes: list[list[Axes]] = []
        self._ylims: tuple[float, float] | None = None
        self._background: Any = None
        self._key_top = 0.0  # pixels below the axes' top where the channels' key starts

    def _build(self) -> None:
        """The figure with everything every layer shares (limits come with the background)."""
        fig = new_figure(12.5, 6.6, constrained=False)  # fixed geometry: no layout pass per layer
        axes = fig.subplots(2, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})
        fig.subplots_adjust(
            left=0.075, right=0.77, bottom=0.085, top=0.895, wspace=0.16, hspace=0.34
        )
        fc_name = _FC_NAMES.get(self.frequency_curve, self.frequency_curve)
        for row, label in enumerate(("highest PE", "lowest PE")):
            ax_f, ax_o = axes[row]
            log_frequency_axis(ax_f, float(self.freqs[0]), float(self.freqs[-1]))
            if self.csf is not None:  # its key entry: the same place in both rows
                _draw_csf(ax_f, self.csf, self.freqs)
                style = {"color": CSF_COLOR, "lw": 2.0, "ls": "--", "marker": ""}
                _, used = _key(ax_o, [(f"{self.csf[2]},\nnormalised to peak 1", style)])
                self._key_top = used + _KEY_GAP * _KEY_SIZE * fig.dpi / 72.0
            ax_f.set_ylabel(f"{label}\nresponse / max |response|")
            ax_f.set_title(f"frequency tuning ({fc_name})")
            ax_o.set_title("orientation tuning (at best frequency)")
            ax_o.set_xlim(-5, 185)
            ax_o.set_xticks([0, 45, 90, 135, 180])
        axes[1][0].set_xlabel("spatial frequency (cycles/degree)")
        axes[1][1].set_xlabel("orientation θ (degrees; 0 = vertical bars)")
        self._fig, self._axes = fig, [list(r) for r in axes]

    def _restore(self, ylims: tuple[float, float]) -> None:
        """Put the shared background for these y ranges on the canvas (drawn if new)."""
        if self._fig is None:
            self._build()
        fig = self._fig
        assert fig is not None
        if ylims != self._ylims:
            for row, ymin in zip(self._axes, ylims, strict=True):
                for ax in row:
                    ax.set_ylim(ymin, 1.08)
            spines = [s for row in self._axes for ax in row for s in ax.spines.values()]
            shown = [s for s in spines if s.get_visible()]
            for spine in shown:  # drawn over each layer's curves instead, as a full draw does
                spine.set_visible(False)
            fig.canvas.draw()
            for spine in shown:
                spine.set_visible(True)
            self._background = fig.canvas.copy_from_bbox(fig.bbox)  # type: ignore[attr-defined]
            self._ylims = ylims
        else:
            fig.canvas.restore_region(self._background)  # type: ignore[attr-defined]

    def _row_artists(
        self, ax_f: Axes, ax_o: Axes, rows: list[tuple[str, np.ndarray, np.ndarray]]
    ) -> list[Artist]:
        """Curves of one row (and their key, or the no-channel note), not yet drawn."""
        made: list[Artist] = []
        for k, (lab, f_curve, o_curve) in enumerate(rows):
            color = TOP_COLORS[k % len(TOP_COLORS)]
            style = {"color": color, "ms": 3.5, "lw": 1.5, "label": lab}
            made += ax_f.plot(self.freqs, f_curve, "o-", **style)
            y = o_curve[self.o_order]
            made += ax_o.plot(self.o_x, np.concatenate([y, y[:1]]), "o-", **style)
        if not rows:
            made += [no_live_channels(ax) for ax in (ax_f, ax_o)]
        if rows:
            entries = [
                (
                    lab,
                    {
                        "color": TOP_COLORS[k % len(TOP_COLORS)],
                        "lw": 1.5,
                        "ms": 3.5,
                        "marker": "o",
                    },
                )
                for k, (lab, _, _) in enumerate(rows)
            ]
            made += _key(ax_o, entries, self._key_top)[0]
        return made

    def draw(
        self,
        layer: str,
        responses: np.ndarray,
        layer_scores: Mapping[str, np.ndarray],
        path: str | Path,
    ) -> Path:
        """Write the tuning-curve figure of one layer to ``path`` (PNG, atomic)."""
        fc, oc = tuning_curve_data(
            responses, frequency_curve=self.frequency_curve, contrast_index=self.contrast_index
        )
        pe, channels, rel, top, bottom = _ranked_groups(layer_scores, self.n)
        groups: list[list[tuple[str, np.ndarray, np.ndarray]]] = []
        for group in (top, bottom):
            rows = []
            for i in group:
                lab = f"ch {int(channels[i])}  PE {pe[i]:.2f}"
                if math.isfinite(rel[i]):
                    lab += f"  peak {rel[i]:.3g}× median"
                rows.append((lab, _normed(fc[i]), _normed(oc[i])))
            groups.append(rows)
        ylims = tuple(
            _y_floor([float(c.min()) for _, f, o in rows for c in (f, o)]) for rows in groups
        )
        self._restore((ylims[0], ylims[1]))
        fig = self._fig
        assert fig is not None
        made: list[Artist] = []
        for (ax_f, ax_o), rows in zip(self._axes, groups, strict=True):
            made += self._row_artists(ax_f, ax_o, rows)
        # a figure text, not a suptitle: removed with the rest (never left in a background)
        title = fig.text(
            0.5,
            0.985,
            f"{layer}: {self.n} highest- and {self.n} lowest-PE channels",
            fontsize=11,
            ha="center",
            va="top",
        )
        made.append(title)
        try:
            _draw_over(fig, self._axes, made)
            return save_canvas(fig, path)
        finally:
            for artist in made:
                artist.remove()


def _draw_over(fig: Figure, axes: list[list[Axes]], made: list[Artist]) -> None:
    """Draw a layer's artists over the background, in a full draw's z-order.

    Within an axes a full draw goes by zorder: curves (2), the axis lines (2.5, left out of
    the background), texts (3); figure-level artists (the keys, the title) come after.
    """
    lines = [a for a in made if isinstance(a, Line2D) and a.axes is not None]
    rest = [a for a in made if a not in lines]
    for artist in lines:
        fig.draw_artist(artist)
    for row in axes:
        for ax in row:
            for spine in ax.spines.values():
                if spine.get_visible():
                    fig.draw_artist(spine)
    for artist in sorted(rest, key=lambda a: (a.axes is None, a.get_zorder())):
        fig.draw_artist(artist)


def tuning_curves(
    layer: str,
    responses: np.ndarray,
    grid: StimulusGrid,
    layer_scores: Mapping[str, np.ndarray],
    path: str | Path,
    *,
    n: int = 4,
    csf: CSFCurve | None = None,
    frequency_curve: str = "preferred",
    contrast_index: int = -1,
) -> Path:
    """Frequency and orientation tuning of the ``n`` best and ``n`` worst channels by PE.

    Only selectable channels (live, not weak, not border dominated) are ranked when the
    scores have that column; each legend entry gives the channel's peak response relative to
    the layer's median peak, since every curve is scaled to its own maximum.

    Top row: the highest-PE channels; bottom row: the lowest. Left: response against
    frequency (log axis, cycles/degree) with the human CSF (normalised to peak 1) in grey;
    right: response against orientation at each channel's best frequency, one period
    (0–180°, the first point repeated at 180°). Every curve is divided by its largest
    absolute value. For several layers, one :class:`TuningFigure` draws them faster.
    """
    drawer = TuningFigure(
        grid, n=n, csf=csf, frequency_curve=frequency_curve, contrast_index=contrast_index
    )
    return drawer.draw(layer, responses, layer_scores, path)
