"""Tuning-curve figures of the report, and the curves as the scores define them.

Drawn like every report figure (:mod:`hvsprobe.report.figures`: Agg canvas, no metadata).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes

from ..stimuli import StimulusGrid
from .figures import (
    _CSF_COLOR,
    _TOP_COLORS,
    CSFCurve,
    _figure,
    _log_frequency_axis,
    _no_live_channels,
    save_figure,
)

__all__ = ["tuning_curve_data", "tuning_curves"]


# ----------------------------------------------------------------------------------------
# tuning curves


def tuning_curve_data(
    responses: np.ndarray,
    *,
    frequency_curve: str = "preferred",
    contrast_index: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and orientation curves of every channel, as the scores define them.

    Parameters
    ----------
    responses : ndarray, shape (C, F, O, P, K)
        One layer's recorded responses.
    frequency_curve : {'preferred', 'mean', 'max'}
        ``r(f, theta*)``, the orientation mean or the orientation max.
    contrast_index : int
        Contrast to use.

    Returns
    -------
    freq_curves : ndarray, shape (C, F)
    orient_curves : ndarray, shape (C, O)
        ``r(f*, theta)`` at each channel's best frequency.
    """
    r = np.asarray(responses, dtype=np.float64).mean(axis=3)[..., contrast_index]
    c, f, o = r.shape
    kf, ko = np.unravel_index(r.reshape(c, -1).argmax(axis=1), (f, o))
    rows = np.arange(c)
    if frequency_curve == "mean":
        fc = r.mean(axis=2)
    elif frequency_curve == "max":
        fc = r.max(axis=2)
    else:
        fc = r[rows, :, ko]
    return fc, r[rows, kf, :]


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
    norm, _peak, csf_label = csf
    ax.fill_between(f_dense, 0, norm(f_dense), color=_CSF_COLOR, alpha=0.12, lw=0)
    ax.plot(
        f_dense,
        norm(f_dense),
        color=_CSF_COLOR,
        lw=2.0,
        ls="--",
        label=f"{csf_label},\nnormalised to peak 1",
    )


def _finish_row(ax_f: Axes, ax_o: Axes, lows: list[float], empty: bool) -> None:
    """Limits, the no-channel note and the legend (right of the orientation panel) of a row."""
    if empty:
        for ax in (ax_f, ax_o):
            _no_live_channels(ax)
    ymin = min(-0.05, min(lows + [0.0]) - 0.05)
    for ax in (ax_f, ax_o):
        ax.set_ylim(ymin, 1.08)
    handles, labels = ax_f.get_legend_handles_labels()
    if handles:
        ax_o.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(1.02, 0.5),
            fontsize=8,
            frameon=False,
        )


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
    absolute value.
    """
    freqs = np.asarray(grid.frequencies, dtype=np.float64)
    orients = np.asarray(grid.orientations, dtype=np.float64)
    fc, oc = tuning_curve_data(
        responses, frequency_curve=frequency_curve, contrast_index=contrast_index
    )
    pe, channels, rel, top, bottom = _ranked_groups(layer_scores, n)
    fig = _figure(12.5, 6.6, constrained=False)  # fixed geometry: half the drawing time
    axes = fig.subplots(2, 2, gridspec_kw={"width_ratios": [1.3, 1.0]})
    fig.subplots_adjust(left=0.075, right=0.805, bottom=0.085, top=0.895, wspace=0.16, hspace=0.34)
    o_order = np.argsort(np.mod(orients, 180.0))
    o_sorted = np.mod(orients, 180.0)[o_order]
    o_x = np.concatenate([o_sorted, [o_sorted[0] + 180.0]])
    fc_name = _FC_NAMES.get(frequency_curve, frequency_curve)
    for row, (group, label) in enumerate(((top, "highest PE"), (bottom, "lowest PE"))):
        ax_f, ax_o = axes[row]
        _log_frequency_axis(ax_f, float(freqs[0]), float(freqs[-1]))
        if csf is not None:
            _draw_csf(ax_f, csf, freqs)
        for k, i in enumerate(group):
            color = _TOP_COLORS[k % len(_TOP_COLORS)]
            lab = f"ch {int(channels[i])}  PE {pe[i]:.2f}"
            if math.isfinite(rel[i]):
                lab += f"\npeak {rel[i]:.3g}× layer median"
            ax_f.plot(freqs, _normed(fc[i]), "o-", color=color, ms=3.5, lw=1.5, label=lab)
            y = _normed(oc[i])[o_order]
            ax_o.plot(o_x, np.concatenate([y, y[:1]]), "o-", color=color, ms=3.5, lw=1.5, label=lab)
        ax_f.set_ylabel(f"{label}\nresponse / max |response|")
        ax_f.set_title(f"frequency tuning ({fc_name})")
        ax_o.set_title("orientation tuning (at best frequency)")
        ax_o.set_xlim(-5, 185)
        ax_o.set_xticks([0, 45, 90, 135, 180])
        lows = [float(_normed(fc[i]).min()) for i in group] + [
            float(_normed(oc[i]).min()) for i in group
        ]
        _finish_row(ax_f, ax_o, lows, len(group) == 0)
    axes[1][0].set_xlabel("spatial frequency (cycles/degree)")
    axes[1][1].set_xlabel("orientation θ (degrees; 0 = vertical bars)")
    fig.suptitle(f"{layer}: {n} highest- and {n} lowest-PE channels", fontsize=11, y=0.985)
    return save_figure(fig, path)
