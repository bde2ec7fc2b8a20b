"""Selection strategies on a small score table with known ranks."""

from __future__ import annotations

import numpy as np
import pytest

from hvsprobe.scores import COLUMNS, ChannelScores
from hvsprobe.selection import Selection, select_channels


def table() -> ChannelScores:
    pe_a = [0.9, 0.1, np.nan, 0.5, 0.7, 0.3]  # channel 2 dead
    pe_b = [0.2, 0.8, 0.6, 0.4]
    n = 10
    cols = {c: np.zeros(n) for c in COLUMNS}
    cols["layer"] = np.array(["a"] * 6 + ["b"] * 4, dtype=object)
    cols["channel"] = np.array(list(range(6)) + list(range(4)))
    cols["pe"] = np.array(pe_a + pe_b)
    cols["mu1"] = cols["pe"][::-1].copy()
    cols["mu2"] = cols["pe"].copy()
    cols["dead"] = np.isnan(cols["pe"])
    cols["mu1"][2] = np.nan
    for c in ("orientation_selective", "bandwidth_censored"):
        cols[c] = np.zeros(n, dtype=bool)
    return ChannelScores(cols, {"backbone": "toy", "weights_sha256": "abc"})


def test_top_fraction_per_layer():
    sel = select_channels(table(), strategy="top_fraction", value=0.4)
    assert sel.layers["a"]["channels"] == [0, 4]  # ceil(0.4 * 5 live) = 2
    assert sel.layers["b"]["channels"] == [1, 2]
    assert sel.layers["a"]["n_channels"] == 6
    assert sel.backbone == "toy" and sel.weights_sha256 == "abc"


def test_bottom_and_count_and_threshold():
    t = table()
    assert select_channels(t, strategy="top_fraction", value=0.4, bottom=True).layers["a"][
        "channels"
    ] == [1, 5]
    assert select_channels(t, strategy="top_count", value=1).layers["b"]["channels"] == [1]
    sel = select_channels(t, strategy="threshold", value=0.6)
    assert sel.layers["a"]["channels"] == [0, 4] and sel.layers["b"]["channels"] == [1, 2]


def test_global_scope_ranks_across_layers():
    sel = select_channels(table(), strategy="top_count", value=3, scope="global")
    assert sel.layers["a"]["channels"] == [0, 4] and sel.layers["b"]["channels"] == [1]
    assert sel.n_selected == 3


def test_soft_weights_and_weight_vector():
    sel = select_channels(table(), strategy="soft", value=1.0)
    w = sel.weight_vector("a")
    assert w[0] == pytest.approx(1.0) and w[1] == pytest.approx(0.1 / 0.9) and w[2] == 0.0


def test_dead_channels_never_selected():
    for strategy, value in [
        ("top_fraction", 1.0),
        ("random_fraction", 1.0),
        ("soft", 1.0),
    ]:
        sel = select_channels(table(), strategy=strategy, value=value)
        assert 2 not in sel.layers["a"]["channels"], strategy


def test_all_contains_every_channel_including_nan_scores():
    # an all-channel baseline holds every channel: dead / NaN-score channels respond to images
    for scope in ("layer", "global"):
        sel = select_channels(table(), strategy="all", value=1.0, scope=scope)
        assert sel.layers["a"]["channels"] == [0, 1, 2, 3, 4, 5], scope
        assert sel.layers["b"]["channels"] == [0, 1, 2, 3]
        assert sel.n_selected == 10
        assert np.all(sel.weight_vector("a") == 1.0)


def test_random_fraction_is_seeded():
    a = select_channels(table(), strategy="random_fraction", value=0.5, seed=3)
    b = select_channels(table(), strategy="random_fraction", value=0.5, seed=3)
    assert a.layers == b.layers
    assert len(a.layers["a"]["channels"]) == 3


def test_json_round_trip_and_validation(tmp_path):
    sel = select_channels(table(), score="mu1", strategy="top_fraction", value=0.5)
    path = sel.save(tmp_path / "sel.json")
    back = Selection.load(path)
    assert back.layers == sel.layers and back.score == "mu1"
    assert back.strategy["name"] == "top_fraction"
    bad = sel.to_dict()
    bad["layers"]["a"]["channels"] = [99]
    bad["layers"]["a"]["weights"] = [1.0]
    with pytest.raises(ValueError, match="outside"):
        Selection.from_dict(bad)
    with pytest.raises(ValueError, match="selection"):
        Selection.from_dict({"kind": "tuning", "schema_version": 1})


def test_bad_arguments():
    t = table()
    with pytest.raises(ValueError, match="strategy"):
        select_channels(t, strategy="best")
    with pytest.raises(ValueError, match="0 < value"):
        select_channels(t, strategy="top_fraction", value=0.0)
    with pytest.raises(ValueError, match="integer"):
        select_channels(t, strategy="top_count", value=2.5)
    with pytest.raises(ValueError, match="not in the scores"):
        select_channels(t, layers=["zz"])
