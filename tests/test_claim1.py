"""Pieces of the claim-1 experiment on small synthetic inputs (the full run is a command)."""

from __future__ import annotations

import numpy as np

from conftest import make_toy_backbone
from hvsprobe.experiments.claim1 import curve_channel_distances, weight_variants
from hvsprobe.scores import COLUMNS, ChannelScores


def fake_scores() -> ChannelScores:
    rng = np.random.default_rng(0)
    n = 40
    cols = {c: np.zeros(n) for c in COLUMNS}
    cols["layer"] = np.array(["l1"] * 20 + ["l2"] * 20, dtype=object)
    cols["channel"] = np.r_[np.arange(20), np.arange(20)]
    for c in ("mu1", "mu2", "pe"):
        cols[c] = rng.random(n)
    cols["dead"] = np.zeros(n, dtype=bool)
    cols["orientation_selective"] = np.zeros(n, dtype=bool)
    cols["bandwidth_censored"] = np.zeros(n, dtype=bool)
    return ChannelScores(cols, {"backbone": "toy", "weights_sha256": "x"})


def test_weight_variants_cover_the_design():
    v = weight_variants(fake_scores(), ["l1", "l2"], (0.1, 0.5), n_random=5, seed=0)
    assert "all channels" in v and "top 10% pe" in v and "bottom 50% pe" in v
    assert sum(1 for f, _, _ in v.values() if f == "random") == 10
    top, bottom = v["top 50% pe"][2], v["bottom 50% pe"][2]
    assert all(np.count_nonzero(top[n]) == 10 for n in ("l1", "l2"))
    assert all(np.count_nonzero(top[n] * bottom[n]) == 0 for n in ("l1", "l2"))  # disjoint halves
    r0, r1 = v["random 10% #0"][2]["l1"], v["random 10% #1"][2]["l1"]
    assert np.count_nonzero(r0) == 2 and not np.array_equal(r0, r1)


def test_curve_channel_distances_grow_with_contrast():
    bb = make_toy_backbone()
    yy, xx = np.mgrid[0:64, 0:64]
    wave = np.cos(2 * np.pi * xx / 8.0)
    d = curve_channel_distances(
        bb, ["relu1"], [wave], 0.5, np.array([0.01, 0.1, 0.5]), progress=False
    )
    assert d["relu1"].shape == (1, 3, 7)
    total = d["relu1"][0].sum(axis=1)
    assert total[0] < total[1] < total[2]


def test_feature_cache_reuses_by_key_and_records_compute_time(tmp_path):
    from hvsprobe.experiments.claim1 import _cached

    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3.0)}

    path = tmp_path / "c.npz"
    first = _cached(path, "k1", compute)
    timings: dict[str, float] = {}
    again = _cached(path, "k1", compute, timings)
    assert len(calls) == 1 and np.array_equal(first["a"], again["a"])
    assert "cached_s" in timings and timings["cached_s"] >= 0.0
    _cached(path, "k2", compute)
    assert len(calls) == 2
