"""Score formulas on curves with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from hvsprobe.human import get_csf
from hvsprobe.scores import (
    ChannelScores,
    ScoreConfig,
    bandwidth_octaves,
    circular_selectivity,
    matlab_gradient,
    mu1_csf_logslope,
    mu1_vfss_v1,
    peak_selectivity,
    score_layer,
)


def test_matlab_gradient_matches_matlab_definition():
    y = np.array([1.0, 4.0, 9.0, 16.0, 25.0])
    # MATLAB gradient: [y2-y1, (y3-y1)/2, (y4-y2)/2, (y5-y3)/2, y5-y4]
    np.testing.assert_allclose(matlab_gradient(y), [3, 4, 6, 8, 9])


def test_vfss_v1_is_the_authors_sum():
    f = np.array([1.0, 2.0, 4.0, 8.0])
    a = np.array([[0.0, 1.0, 3.0, 2.0]])
    csf = get_csf("mannos_sakrison_v1")(f)
    grad = np.array([1.0, 1.5, 0.5, -1.0])
    assert mu1_vfss_v1(a, csf)[0] == pytest.approx(np.sum(csf * np.abs(grad)))


def test_mu1_flat_curve_is_zero_and_gain_invariant():
    f = np.geomspace(0.5, 28, 24)
    csf = get_csf("castle_fit")(f)
    flat = np.ones((1, 24))
    assert mu1_csf_logslope(flat, f, csf)[0] == pytest.approx(0.0, abs=1e-12)
    curve = np.exp(-((np.log(f / 4.0)) ** 2))[None, :]
    assert mu1_csf_logslope(curve, f, csf)[0] == pytest.approx(
        mu1_csf_logslope(37.0 * curve, f, csf)[0]
    )


def test_mu1_is_independent_of_frequency_sampling_density():
    csf_model = get_csf("castle_fit")

    def value(n):
        f = np.geomspace(0.5, 28, n)
        curve = np.exp(-((np.log(f / 3.0)) ** 2) / 0.8)[None, :]
        return mu1_csf_logslope(curve, f, csf_model(f))[0]

    coarse, fine = value(24), value(96)
    assert coarse == pytest.approx(fine, rel=0.03)


def test_vfss_v1_approximates_weighted_total_variation_and_scales_with_gain():
    """sum_i CSF(f_i) |gradient(a)(i)| tends to the CSF-weighted total variation of a(f), so
    it barely depends on the sampling density, but it grows with the channel's gain."""
    v1 = get_csf("mannos_sakrison_v1")

    def value(n, gain=1.0):
        f = np.geomspace(0.5, 28, n)
        curve = gain * np.exp(-((np.log(f / 3.0)) ** 2) / 0.8)[None, :]
        return mu1_vfss_v1(curve, v1(f))[0]

    assert value(24) == pytest.approx(value(96), rel=0.05)
    assert value(24, gain=37.0) == pytest.approx(37.0 * value(24))


def test_mu1_prefers_change_where_the_csf_is_high():
    f = np.geomspace(0.5, 28, 48)
    csf = get_csf("castle_fit")(f)  # peaks near 3 cpd
    step_low = (f > 3.0).astype(float)[None, :]  # changes where humans are sensitive
    step_high = (f > 25.0).astype(float)[None, :]  # changes where they are not
    assert mu1_csf_logslope(step_low, f, csf)[0] > 5 * mu1_csf_logslope(step_high, f, csf)[0]


def test_circular_selectivity_known_values():
    th = np.arange(0, 180, 15.0)
    flat = np.ones((1, th.size))
    spike = (th == 60).astype(float)[None, :]
    cos2 = (1 + 0.5 * np.cos(np.deg2rad(2 * (th - 30))))[None, :]
    sel, pref = circular_selectivity(np.vstack([flat, spike, cos2]), th)
    assert sel[0] == pytest.approx(0.0, abs=1e-12)
    assert sel[1] == pytest.approx(1.0) and pref[1] == pytest.approx(60.0)
    assert sel[2] == pytest.approx(0.25) and pref[2] == pytest.approx(30.0)


def test_peak_selectivity_known_values():
    th = np.arange(0, 180, 15.0)
    curve = (1 + 0.5 * np.cos(np.deg2rad(2 * (th - 30))))[None, :]
    # R_pref = 1.5 at 30 deg, R_orth = 0.5 at 120 deg -> (1.5-0.5)/(1.5+0.5)
    assert peak_selectivity(curve, th)[0] == pytest.approx(0.5)
    # orthogonal angle not on the grid is interpolated
    th8 = np.arange(0, 180, 22.5)
    c8 = (1 + 0.5 * np.cos(np.deg2rad(2 * (th8 - 45))))[None, :]
    assert peak_selectivity(c8, th8)[0] == pytest.approx(0.5)


def test_bandwidth_of_a_gaussian_in_log_frequency():
    f = np.geomspace(0.25, 64, 400)
    sigma_oct = 0.6
    curve = np.exp(-(np.log2(f / 4.0) ** 2) / (2 * sigma_oct**2))[None, :]
    width, cens = bandwidth_octaves(curve, f)
    assert width[0] == pytest.approx(2 * np.sqrt(2 * np.log(2)) * sigma_oct, rel=1e-3)
    assert not cens[0]
    lowpass = (1 / (1 + f / 4.0))[None, :]
    _, cens2 = bandwidth_octaves(lowpass, f)
    assert cens2[0]


def test_score_layer_marks_dead_and_normalises_pe():
    rng = np.random.default_rng(1)
    resp = rng.random((6, 8, 6, 2, 1))
    resp[2] = 0.0
    f = np.geomspace(0.5, 20, 8)
    th = np.arange(0, 180, 30.0)
    out = score_layer(resp, f, th, ScoreConfig(csf="mannos_sakrison"))
    assert out["dead"].tolist() == [False, False, True, False, False, False]
    live = ~out["dead"]
    assert np.nanmax(out["pe"]) <= 1.0 + 1e-12
    assert np.all(np.isfinite(out["pe"][live])) and np.isnan(out["pe"][2])
    ranks = score_layer(resp, f, th, ScoreConfig(csf="mannos_sakrison", pe="product_layer_rank"))[
        "pe"
    ]
    assert np.nanmax(ranks) <= 1.0


def test_score_config_rejects_unknown_variants():
    with pytest.raises(ValueError, match="mu1 variant"):
        ScoreConfig(mu1="nope")
    with pytest.raises(ValueError, match="PE variant"):
        ScoreConfig(pe="sum")
    with pytest.raises(ValueError, match="selective_osi"):
        ScoreConfig(selective_osi=1.5)


def test_scores_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    cols = {
        "layer": np.array(["a", "a", "b"], dtype=object),
        "channel": np.array([0, 1, 0]),
        "dead": np.array([False, True, False]),
        "mu1": np.array([0.1, np.nan, 0.3]),
        "mu2": np.array([0.5, np.nan, 0.2]),
        "pe": np.array([1.0, np.nan, 1.0]),
        "best_frequency_cpd": rng.random(3),
        "preferred_orientation_deg": rng.random(3),
        "osi_peak": rng.random(3),
        "orientation_selective": np.array([True, False, False]),
        "bandwidth_oct": rng.random(3),
        "orientation_selective_peak": np.array([True, False, True]),
        "bandwidth_censored": np.array([False, False, True]),
        "peak_response": rng.random(3),
        "peak_rel_median": rng.random(3),
        "weak": np.array([False, False, True]),
        "border_share": np.array([0.1, np.nan, 0.7]),
        "border_dominated": np.array([False, False, True]),
        "peak_at_top": np.array([True, False, False]),
        "peak_at_bottom": np.array([False, False, True]),
        "selectable": np.array([True, False, False]),
    }
    s = ChannelScores(cols, {"backbone": "x"})
    s.save(tmp_path)
    back = ChannelScores.load(tmp_path)
    for k, v in cols.items():
        if v.dtype.kind == "f":
            np.testing.assert_allclose(back.columns[k], v, rtol=1e-8, equal_nan=True)
        else:
            assert back.columns[k].tolist() == v.tolist()
    assert back.layers == ["a", "b"]
    assert back.summary()[0]["dead"] == 1
