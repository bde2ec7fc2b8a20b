"""Tests for hvsprobe.evaluate.agreement: score-weight Spearman with permutation p-values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hvsprobe.evaluate.agreement import lpips_agreement, score_weight_agreement


def test_perfect_agreement_has_tiny_p_value() -> None:
    s = np.arange(20.0)
    w = s**2 + 1
    a = score_weight_agreement(s, w, layer="relu1", score="mu1", n_perm=999, seed=0)
    assert a.rho == pytest.approx(1.0)
    assert a.p_value == pytest.approx(1 / 1000)  # no permutation reaches rho = 1
    assert (a.layer, a.score, a.n_channels, a.n_used, a.n_dead) == ("relu1", "mu1", 20, 20, 0)
    neg = score_weight_agreement(s, -w, n_perm=999)
    assert neg.rho == pytest.approx(-1.0) and neg.p_value == pytest.approx(1 / 1000)
    assert score_weight_agreement(s, -w, n_perm=999, alternative="greater").p_value == 1.0


def test_dead_channels_are_ignored_and_counted() -> None:
    rng = np.random.default_rng(0)
    s = rng.normal(size=30)
    w = s + rng.normal(scale=0.3, size=30)
    s_dead = s.copy()
    s_dead[[0, 5, 7]] = np.nan
    a = score_weight_agreement(s_dead, w, n_perm=200, seed=1)
    assert a.n_dead == 3 and a.n_used == 27 and a.n_channels == 30
    keep = np.isfinite(s_dead)
    assert a.rho == pytest.approx(stats.spearmanr(s[keep], w[keep]).statistic)
    assert a.to_dict()["n_dead"] == 3


def test_permutation_p_value_is_calibrated_and_seeded() -> None:
    rng = np.random.default_rng(4)
    s, w = rng.normal(size=25), rng.normal(size=25)
    a = score_weight_agreement(s, w, n_perm=4000, seed=3)
    b = score_weight_agreement(s, w, n_perm=4000, seed=3)
    assert a.p_value == b.p_value
    # close to the exact-null reference of scipy's permutation-free approximation
    ref = stats.spearmanr(s, w).pvalue
    assert abs(a.p_value - ref) < 0.05
    assert 0 < a.p_value <= 1


def test_degenerate_layers_give_nan() -> None:
    a = score_weight_agreement([1.0, np.nan, 2.0], [0.1, 0.2, 0.3], n_perm=10)
    assert math.isnan(a.rho) and math.isnan(a.p_value) and a.n_used == 2
    b = score_weight_agreement([1.0, 1.0, 1.0, 1.0], [0.1, 0.2, 0.3, 0.4], n_perm=10)
    assert math.isnan(b.rho)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="same channels"):
        score_weight_agreement([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="weights contain"):
        score_weight_agreement([1.0, 2.0, 3.0], [1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="n_perm"):
        score_weight_agreement([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], n_perm=0)
    with pytest.raises(ValueError, match="alternative"):
        score_weight_agreement([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], alternative="both")


def test_lpips_agreement_over_layers() -> None:
    rng = np.random.default_rng(9)
    scores = {
        "relu1": {"mu1": rng.normal(size=16), "mu2": rng.normal(size=16), "pe": np.arange(16.0)},
        "relu2": {"mu1": rng.normal(size=8), "mu2": rng.normal(size=8), "pe": np.arange(8.0)},
    }
    weights = {"relu1": np.arange(16.0) * 0.1, "relu2": np.arange(8.0)[::-1].copy()}
    out = lpips_agreement(scores, weights, n_perm=200, seed=0)
    assert [(a.layer, a.score) for a in out] == [
        ("relu1", "mu1"),
        ("relu1", "mu2"),
        ("relu1", "pe"),
        ("relu2", "mu1"),
        ("relu2", "mu2"),
        ("relu2", "pe"),
    ]
    assert out[2].rho == pytest.approx(1.0) and out[5].rho == pytest.approx(-1.0)
    only = lpips_agreement(scores, weights, score_names=["pe"], n_perm=50)
    assert len(only) == 2
    with pytest.raises(KeyError, match="no LPIPS weights"):
        lpips_agreement({"relu3": scores["relu1"]}, weights)
    with pytest.raises(KeyError, match="no score"):
        lpips_agreement(scores, weights, score_names=["osi"])
