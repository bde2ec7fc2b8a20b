"""Selection strategies on a small score table with known ranks."""

from __future__ import annotations

import numpy as np
import pytest

from hvsprobe.scores import COLUMNS, FLAG_COLUMNS, ChannelScores
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
    for c in FLAG_COLUMNS:
        if c != "dead":
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


def test_weak_and_border_dominated_channels_are_excluded_and_counted():
    t = table()
    t.columns["weak"][0] = True  # layer a's best channel (PE 0.9)
    t.columns["border_dominated"][7] = True  # layer b's best channel (PE 0.8)
    sel = select_channels(t, strategy="top_count", value=1)
    assert sel.layers["a"]["channels"] == [4] and sel.layers["b"]["channels"] == [2]
    assert sel.provenance["excluded"]["a"]["weak"] == 1
    assert sel.provenance["excluded"]["b"]["border_dominated"] == 1
    keep = select_channels(t, strategy="top_count", value=1, exclude=())
    assert keep.layers["a"]["channels"] == [0] and keep.layers["b"]["channels"] == [1]
    with pytest.raises(ValueError, match="cannot exclude"):
        select_channels(t, exclude=("bogus",))


def test_validation_accepts_numpy_numbers_and_names_the_source():
    entry = {"channels": [np.int64(0), np.int32(2)], "weights": [np.float32(1.0), 0.5]}
    sel = Selection("toy", "abc", {"a": {**entry, "n_channels": np.int64(6)}})
    assert sel.weight_vector("a").tolist() == [1.0, 0, 0.5, 0, 0, 0]
    doc = select_channels(table(), strategy="top_count", value=2).to_dict()
    doc["layers"]["b"]["channels"] = [1, 1]
    with pytest.raises(ValueError, match=r"^runs/x\.json: layers\.b\.channels lists channels"):
        Selection.from_dict(doc, "runs/x.json")
    del doc["layers"]
    with pytest.raises(ValueError, match="missing key 'layers'"):
        Selection.from_dict(doc, "runs/x.json")
