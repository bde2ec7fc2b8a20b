"""Tests for hvsprobe.evaluate.paired: paired bootstrap differences, verdicts, random control."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from hvsprobe.evaluate.paired import (
    CONTRADICTED,
    NOT_RESOLVED,
    SUPPORTED,
    bootstrap_srcc,
    group_bootstrap,
    paired_difference,
    random_control,
    rank_correlations,
    swap_permutation_pvalue,
    verdict,
)


def _data(rng: np.random.Generator, n_groups: int, per: int, noise_a: float, noise_b: float):
    # a latent quality with a per-reference offset (rows of one reference are correlated)
    offset = np.repeat(rng.normal(0, 1.0, n_groups), per)
    q = offset + rng.normal(0, 1.0, n_groups * per)
    y = q + rng.normal(0, 0.3, q.size)
    a = q + rng.normal(0, noise_a, q.size)
    b = q + rng.normal(0, noise_b, q.size)
    return a, b, y, np.repeat(np.arange(n_groups), per)


def test_verdict_words_and_direction() -> None:
    assert verdict(0.01, 0.2) == SUPPORTED
    assert verdict(-0.2, -0.01) == CONTRADICTED
    assert verdict(-0.01, 0.2) == NOT_RESOLVED
    assert verdict(math.nan, 0.1) == NOT_RESOLVED
    # RMSE: lower is better, so a negative difference supports "A is better"
    assert verdict(-0.2, -0.01, higher_is_better=False) == SUPPORTED
    assert verdict(0.01, 0.2, higher_is_better=False) == CONTRADICTED


def test_rank_correlations_match_scipy() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(4, 30)).astype(float)  # many ties
    y = rng.normal(size=30)
    got = rank_correlations(x, y)
    want = [sps.spearmanr(r, y).statistic for r in x]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert math.isnan(rank_correlations(np.ones((1, 30)), y)[0])


def test_group_bootstrap_takes_whole_groups() -> None:
    groups = np.repeat(np.arange(5), 3)
    seen = []

    def stat(rows: np.ndarray) -> np.ndarray:
        seen.append(rows)
        return np.array([rows.size])

    reps = group_bootstrap(stat, groups, n_boot=50, seed=1)
    assert reps.shape == (50, 1)
    assert np.all(reps == 15)
    for rows in seen:  # every drawn group comes with all its rows
        counts = np.bincount(groups[rows], minlength=5)
        assert np.all(counts % 3 == 0)


def test_vectorised_srcc_bootstrap_equals_the_loop() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 23))
    y = rng.normal(size=23)
    g = rng.integers(0, 6, size=23)  # unequal group sizes
    fast = bootstrap_srcc(x, y, g, n_boot=40, seed=4)
    slow = group_bootstrap(lambda r: rank_correlations(x[:, r], y[r]), g, n_boot=40, seed=4)
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_known_difference_is_found() -> None:
    rng = np.random.default_rng(7)
    a, b, y, g = _data(rng, 25, 4, noise_a=0.2, noise_b=1.5)
    res = paired_difference(a, b, y, g, n_boot=400, seed=0, n_perm=400)
    assert res.diff == pytest.approx(sps.spearmanr(a, y).statistic - sps.spearmanr(b, y).statistic)
    assert res.low > 0 and res.verdict == SUPPORTED
    assert res.p_value is not None and res.p_value < 0.01
    assert res.n_rows == 100 and res.n_groups == 25
    flipped = paired_difference(b, a, y, g, n_boot=400, seed=0)
    assert flipped.verdict == CONTRADICTED
    assert flipped.diff == pytest.approx(-res.diff)
    assert "supported" in res.text()


def test_null_difference_coverage_is_about_95_percent() -> None:
    # two metrics of equal quality: the true difference is 0; the 95 % interval must contain
    # it in about 95 % of seeded simulations (binomial sd with 200 runs: 1.5 points)
    n_sim, hits = 200, 0
    for s in range(n_sim):
        rng = np.random.default_rng(1000 + s)
        a, b, y, g = _data(rng, 30, 4, noise_a=0.8, noise_b=0.8)
        res = paired_difference(a, b, y, g, n_boot=300, seed=s, n_perm=0)
        hits += res.low <= 0.0 <= res.high
    coverage = hits / n_sim
    tol = 3.0 * math.sqrt(0.95 * 0.05 / n_sim)
    print(f"coverage of the null interval: {coverage:.3f}")
    assert 0.95 - tol <= coverage <= 1.0, coverage


def test_plcc_and_custom_statistic() -> None:
    rng = np.random.default_rng(3)
    a, b, y, g = _data(rng, 12, 5, noise_a=0.1, noise_b=2.0)
    res = paired_difference(a, b, y, g, statistic="plcc", n_boot=20)
    assert res.p_value is None and res.diff > 0

    def neg_rmse(x: np.ndarray, yy: np.ndarray) -> float:
        return float(np.sqrt(np.mean((x - yy) ** 2)))

    r2 = paired_difference(a, b, y, g, statistic=neg_rmse, higher_is_better=False, n_boot=100)
    assert r2.diff < 0 and r2.verdict == SUPPORTED and r2.statistic == "neg_rmse"


def test_swap_permutation_exact_with_few_groups() -> None:
    rng = np.random.default_rng(5)
    a, b, y, g = _data(rng, 4, 10, noise_a=0.1, noise_b=3.0)
    p = swap_permutation_pvalue(a, b, y, g)
    # 4 groups: 16 swap patterns; the identity and the full swap are always as extreme
    assert p >= 2 / 16
    assert p * 16 == pytest.approx(round(p * 16))


def test_random_control_percentile_and_verdict() -> None:
    rng = np.random.default_rng(11)
    q = rng.normal(size=80)
    y = q + rng.normal(0, 0.3, 80)
    g = np.repeat(np.arange(20), 4)
    randoms = q + rng.normal(0, 1.0, size=(20, 80))
    good = random_control(q + rng.normal(0, 0.1, 80), randoms, y, g, n_boot=300)
    assert good.percentile == 100.0 and good.verdict == SUPPORTED
    assert good.percentile_low > 80
    typical = random_control(randoms[0], randoms[1:], y, g, n_boot=300)
    assert 0 <= typical.percentile_low <= typical.percentile <= typical.percentile_high <= 100
    assert typical.n_random == 19
    assert set(typical.to_dict()) >= {"percentile", "difference", "random_median"}


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        paired_difference([1.0, 2.0], [1.0], [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, math.nan], [1.0, 2.0], [1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="statistic"):
        paired_difference([1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [0, 1], statistic="nope")
    with pytest.raises(ValueError, match="n_boot"):
        group_bootstrap(lambda r: np.array([1.0]), [0, 1], n_boot=0)
