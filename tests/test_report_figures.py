"""The report's many-panel figures: the best-frequency heat map's numbers, and every figure
drawn for awkward inputs (one layer, a layer without live channels, one frequency, 50 layers)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hvsprobe.report import figures as figs
from hvsprobe.report.frequency_map import (
    _colour_scale,
    _draw_map,
    best_frequency_map,
    frequency_bin_edges,
    frequency_rows,
)
from hvsprobe.report.scatter import _scatter_title, mu1_mu2_scatter
from hvsprobe.scores import COLUMNS, FLAG_COLUMNS, ChannelScores
from hvsprobe.stimuli import StimulusGrid

FREQS = np.array([1.0, 2.0, 4.0, 8.0])


def _table(bf: list[float], **flags: list[bool]) -> dict[str, np.ndarray]:
    n = len(bf)
    t = {c: np.zeros(n, dtype=bool) for c in FLAG_COLUMNS}
    t["best_frequency_cpd"] = np.asarray(bf, dtype=np.float64)
    for k, v in flags.items():
        t[k] = np.asarray(v, dtype=bool)
    return t


def _scores(layers: dict[str, int], seed: int = 0, dead: tuple[str, ...] = ()) -> ChannelScores:
    """Random scores for layers of the given sizes; layers in ``dead`` have no live channel."""
    rng = np.random.default_rng(seed)
    n = sum(layers.values())
    cols: dict[str, np.ndarray] = {
        c: rng.random(n) < 0.2 if c in FLAG_COLUMNS else rng.random(n) for c in COLUMNS
    }
    cols["layer"] = np.array([k for k, m in layers.items() for _ in range(m)], dtype=object)
    cols["channel"] = np.concatenate([np.arange(m) for m in layers.values()])
    cols["best_frequency_cpd"] = np.exp(rng.uniform(np.log(0.3), np.log(40.0), n))
    cols["dead"] = np.isin(cols["layer"], dead)
    for c in ("mu1", "mu2", "pe", "best_frequency_cpd"):
        cols[c][cols["dead"]] = np.nan
    return ChannelScores(cols, config={})


def test_bin_edges_one_bin_per_sample() -> None:
    edges = frequency_bin_edges(FREQS)
    assert edges.tolist() == pytest.approx([2**-0.5, 2**0.5, 2**1.5, 2**2.5, 2**3.5])
    assert np.all((edges[:-1] < FREQS) & (FREQS < edges[1:]))
    assert frequency_bin_edges([3.0]).tolist() == pytest.approx([2.5, 3.6])
    for bad in ([], [2.0, 1.0], [0.0, 1.0]):
        with pytest.raises(ValueError, match="positive and increasing"):
            frequency_bin_edges(bad)


def test_rows_bin_shares_edges_flags_and_median() -> None:
    t = _table(
        # top sample, beyond the top, the bottom sample, below it, mid, NaN, a dead channel
        [8.0, 50.0, 1.0, 0.1, 3.0, np.nan, 2.0],
        dead=[False, False, False, False, False, False, True],
        weak=[False, True, False, False, False, False, True],
        border_dominated=[False, False, False, False, True, False, False],
        peak_at_top=[True, True, False, False, False, False, False],
        peak_at_bottom=[False, False, True, False, False, False, False],
    )
    r = frequency_rows(t, frequency_bin_edges(FREQS))
    assert r.n_live == 5  # the NaN and the dead channel are not counted
    assert r.selectable.tolist() == pytest.approx([0.4, 0.0, 0.0, 0.2])
    assert r.flagged.tolist() == pytest.approx([0.0, 0.0, 0.2, 0.2])  # 3 cpd: the 4-cpd bin
    assert r.selectable.sum() + r.flagged.sum() == pytest.approx(1.0)
    assert (r.n_flagged, r.n_edge) == (2, 3)
    assert r.median == pytest.approx(3.0)


def test_rows_sum_to_one_on_random_layers() -> None:
    scores = _scores({"a": 40, "b": 7, "c": 1}, seed=3)
    edges = frequency_bin_edges(FREQS)
    for name in scores.layers:
        t = scores.layer(name)
        r = frequency_rows(t, edges)
        assert r.selectable.sum() + r.flagged.sum() == pytest.approx(1.0)
        live = ~t["dead"] & np.isfinite(t["best_frequency_cpd"])
        top = live & (t["best_frequency_cpd"] >= edges[-2])
        assert r.selectable[-1] + r.flagged[-1] == pytest.approx(top.sum() / live.sum())


def test_layer_without_live_channels_is_an_empty_row() -> None:
    t = _table([np.nan, 2.0], dead=[True, True], weak=[True, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice" or division warnings
        r = frequency_rows(t, frequency_bin_edges(FREQS))
    assert r.selectable.tolist() == [0.0] * 4 and r.flagged.tolist() == [0.0] * 4
    assert (r.n_live, r.n_flagged, r.n_edge) == (0, 0, 0) and np.isnan(r.median)
    assert _colour_scale([r]).vmax == 1.0


def test_heat_map_draws_the_computed_shares() -> None:
    scores = _scores({"a": 30, "b": 5}, seed=1, dead=("b",))
    edges = frequency_bin_edges(FREQS)
    rows = [frequency_rows(scores.layer(n), edges) for n in scores.layers]
    shares = np.array([r.selectable for r in rows])
    fig = figs.new_figure(4, 3, constrained=False)
    ax = fig.add_subplot()
    mesh = _draw_map(ax, shares, rows, edges, _colour_scale(rows), csf_peak=3.0)
    drawn = np.ma.filled(mesh.get_array(), 0.0).reshape(shares.shape)
    assert np.array_equal(drawn, shares)
    assert np.ma.getmaskarray(mesh.get_array()).reshape(shares.shape)[1].all()  # empty row
    assert ax.get_ylim() == (1.5, -0.5)  # first layer on top
    assert {float(x) for x in ax.lines[0].get_xdata()} == {3.0}  # the CSF peak line


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


ALL = ("bf", "scatter", "log", "dist", "shares")


@pytest.mark.parametrize(
    ("layers", "freqs", "dead", "which"),
    [
        ({"only": 20}, FREQS, (), ALL),
        ({"a": 20, "no live": 4, "c": 9}, FREQS, ("no live",), ALL),
        ({"a": 20, "b": 9}, np.array([4.0]), (), ("bf",)),  # only this figure shows frequency
        ({"all dead": 3}, FREQS, ("all dead",), ("bf", "scatter", "dist", "shares")),
    ],
)
def test_score_figures_draw_awkward_inputs(
    tmp_path: Path,
    layers: dict[str, int],
    freqs: np.ndarray,
    dead: tuple[str, ...],
    which: tuple[str, ...],
) -> None:
    scores = _scores(layers, dead=dead)
    grid = StimulusGrid.default(size=16, n_frequencies=len(freqs), n_orientations=2, n_phases=1)
    grid = dataclasses.replace(grid, frequencies=tuple(float(f) for f in freqs))
    sel = {scores.layers[0]: [0, 1, 2]}
    draw = {
        "bf": lambda p: best_frequency_map(scores, grid, p, csf_peak=4.0),
        "scatter": lambda p: mu1_mu2_scatter(scores, p, selected=sel),
        "log": lambda p: mu1_mu2_scatter(scores, p, log_mu1=True),
        "dist": lambda p: figs.score_distributions(scores, p),
        "shares": lambda p: figs.layer_shares(scores, p),
    }
    with warnings.catch_warnings(), figs.report_style():
        warnings.simplefilter("error")
        paths = [draw[k](tmp_path / f"{k}.png") for k in which]
    for p in paths:
        w, h = _png_size(p)
        assert w >= 300 and h >= 150, (p, w, h)


def test_heat_map_height_grows_with_layers_and_bytes_repeat(tmp_path: Path) -> None:
    grid = StimulusGrid.default(size=16, n_frequencies=6, n_orientations=2, n_phases=1)
    few = _scores({f"l{i}": 8 for i in range(3)})
    many = _scores({f"layer_{i:02d}": 8 for i in range(50)})
    with figs.report_style():
        a = best_frequency_map(few, grid, tmp_path / "few.png")
        b = best_frequency_map(many, grid, tmp_path / "many.png")
        c = best_frequency_map(few, grid, tmp_path / "again.png")
    assert _png_size(b)[1] - _png_size(a)[1] == pytest.approx(47 * 26, abs=2)  # 26 px a row
    assert a.read_bytes() == c.read_bytes()


def test_scatter_titles_fit_their_panel() -> None:
    short = _scatter_title("conv1", 64, 20, 16, width_in=3.0)
    assert short == "conv1: 64 live, 20 flagged, 16 selected"
    long = _scatter_title("features.denseblock4.denselayer16", 64, 20, None, width_in=3.0)
    assert long == "features.denseblock4.denselayer16\n64 live, 20 flagged"
