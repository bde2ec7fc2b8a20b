"""Tests for hvsprobe.evaluate.stats and .logistic: logistic fit, correlations, group bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from hvsprobe.evaluate.logistic import LogisticFitError, fit_logistic5, logistic5
from hvsprobe.evaluate.stats import (
    bootstrap_ci,
    correlation_summary,
    krcc,
    plcc,
    rmse,
    srcc,
)


def test_logistic5_shape_and_no_overflow() -> None:
    x = np.array([-1e6, 0.0, 1e6])
    q = logistic5(x, 2.0, 1.0, 0.0, 0.0, 1.0)
    assert np.all(np.isfinite(q))
    np.testing.assert_allclose(q, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_fit_recovers_noise_free_parameters(sign: float) -> None:
    x = np.linspace(0.0, 10.0, 60)
    true = (sign * 40.0, 1.3, 4.0, sign * 0.5, 20.0)
    y = logistic5(x, *true)
    fit = fit_logistic5(x, y)
    assert fit.sse < 1e-8
    np.testing.assert_allclose(fit(x), y, atol=1e-5)
    assert fit.n == 60
    assert fit.monotonic


def test_fit_handles_skewed_metric_values() -> None:
    # MSE-like values: most near 0, a long tail; human scores a noisy saturating function
    rng = np.random.default_rng(3)
    x = rng.exponential(0.003, size=80)
    y = 90 * (1 - np.exp(-x / 0.004)) + rng.normal(0, 4, size=80)
    fit = fit_logistic5(x, y)
    linear = np.polyfit(x, y, 1)
    assert fit.sse < np.sum((np.polyval(linear, x) - y) ** 2)
    assert plcc(x, y, fit=fit) > plcc(x, y, logistic=False)


def test_fit_failures_are_reported() -> None:
    with pytest.raises(LogisticFitError, match="distinct"):
        fit_logistic5([1, 2, 3, 4, 5], [1, 2, 3, 4, 5])
    with pytest.raises(LogisticFitError, match="distinct"):
        fit_logistic5([1, 1, 1, 2, 2, 2, 3, 3], np.arange(8.0))
    with pytest.raises(LogisticFitError, match="constant"):
        fit_logistic5(np.arange(10.0), np.ones(10))
    with pytest.raises(LogisticFitError, match="finite"):
        fit_logistic5([1, 2, np.nan, 4, 5, 6, 7], np.arange(7.0))


def test_rank_correlations_match_scipy() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=30), rng.normal(size=30)
    y[:5] = y[5]  # ties
    assert srcc(x, y) == pytest.approx(sps.spearmanr(x, y).statistic)
    assert krcc(x, y) == pytest.approx(sps.kendalltau(x, y).statistic)
    assert math.isnan(srcc(x, np.ones(30)))
    with pytest.raises(ValueError, match="same length"):
        srcc([1, 2, 3], [1, 2])


def test_plcc_and_rmse_after_logistic() -> None:
    x = np.linspace(0, 1, 40)
    y = np.tanh(6 * (x - 0.5)) * 10
    assert plcc(x, y) > 0.999
    assert rmse(x, y) < 0.3
    assert plcc(x, -y) > 0.999  # the logistic can decrease: PLCC is |r| of the mapped values


def test_bootstrap_resamples_whole_groups() -> None:
    sizes = {0: 1, 1: 2, 2: 3, 3: 4}
    groups = np.concatenate([[g] * n for g, n in sizes.items()])
    x = groups.astype(float)
    y = np.arange(groups.size, dtype=float)
    seen: list[np.ndarray] = []

    def statistic(xb: np.ndarray, yb: np.ndarray) -> dict[str, float]:
        seen.append(xb.copy())
        return {"n": float(xb.size)}

    ci = bootstrap_ci(x, y, groups, statistic, n_boot=300, seed=1)
    assert seen, "statistic never called"
    for xb in seen:
        assert xb.size > 0
        for g, n in sizes.items():
            assert np.sum(xb == g) % n == 0  # a group is drawn with all of its rows
    assert ci["n"].n_groups == 4
    assert ci["n"].n_boot == 300
    assert ci["n"].n_failed == 0
    assert 4 <= ci["n"].low <= ci["n"].high <= 16


def test_bootstrap_is_seeded_and_reports_failures() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(8), 5)
    x = rng.normal(size=40)
    y = x + rng.normal(scale=0.5, size=40)

    def stat(xb: np.ndarray, yb: np.ndarray) -> dict[str, float]:
        return {"srcc": srcc(xb, yb)}

    a = bootstrap_ci(x, y, groups, stat, n_boot=200, seed=7)["srcc"]
    b = bootstrap_ci(x, y, groups, stat, n_boot=200, seed=7)["srcc"]
    assert (a.low, a.high) == (b.low, b.high)
    assert a.low < srcc(x, y) < a.high

    def failing(xb: np.ndarray, yb: np.ndarray) -> dict[str, float]:
        raise LogisticFitError("no")

    def half(xb: np.ndarray, yb: np.ndarray) -> dict[str, float]:
        return {"s": math.nan if xb[0] > 0 else 1.0}

    out = bootstrap_ci(x, y, groups, half, n_boot=100, seed=0)["s"]
    assert 0 < out.n_failed < 100
    assert bootstrap_ci(x, y, groups, failing, n_boot=10) == {}
    one = bootstrap_ci(x, y, np.zeros(40), stat, n_boot=10)["srcc"]
    assert math.isnan(one.low) and one.n_groups == 1


def test_correlation_summary() -> None:
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(10), 6)
    x = rng.uniform(size=60)
    y = 3 * x + rng.normal(scale=0.2, size=60)
    s = correlation_summary(x, y, groups, n_boot=100, seed=0)
    assert s.n == 60 and s.n_groups == 10
    assert s.srcc > 0.9 and s.plcc > 0.9 and s.krcc > 0.7
    for name in ("srcc", "krcc", "plcc", "rmse"):
        assert s.ci[name].low <= s.ci[name].high
    d = s.to_dict()
    assert d["logistic"]["n"] == 60 and d["fit_error"] is None
    none = correlation_summary(x, y, groups, n_boot=0)
    assert none.ci == {}
    # too few points for the logistic: rank statistics survive, the failure is recorded
    small = correlation_summary(x[:4], y[:4], groups[:4], n_boot=0)
    assert math.isnan(small.plcc) and "logistic" in (small.fit_error or "")
    assert not math.isnan(small.srcc)


def test_fit_falls_back_to_bounds_when_the_optimum_is_at_infinity() -> None:
    # concave relation (score ~ sqrt(-x)): the unconstrained least-squares logistic runs off
    # to an exponential tail; the bounded trust-region fit converges and says so
    level = np.tile(np.arange(7.0), 3)
    x = -((2 + 4 * level) ** 2)
    y = -(level + 0.1 * np.repeat(np.arange(3.0), 7)) * 10
    fit = fit_logistic5(x, y)
    assert fit.at_bound and fit.to_dict()["at_bound"]
    assert plcc(x, y, fit=fit) > 0.99
    assert fit.monotonic


def test_runaway_parameters_are_rejected_without_overflow() -> None:
    # Levenberg-Marquardt may stop on finite but huge parameters when the optimum lies at
    # infinity; evaluating the curve there would overflow. Such starts count as failed.
    import warnings

    from hvsprobe.evaluate.logistic import _runaway

    y = np.linspace(0.0, 1.0, 10)
    assert _runaway(np.array([1e200, 1e200, 0.0, 0.0, 0.0]), y)
    assert _runaway(np.array([1.0, np.inf, 0.0, 0.0, 0.0]), y)
    assert not _runaway(np.array([2.0, 3.0, 0.1, 0.5, 0.2]), y)
    x = np.linspace(-2.0, 2.0, 30)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit = fit_logistic5(x, np.exp(6.0 * x))  # exponential tail: optimum at infinity
        assert np.all(np.isfinite(fit(x)))
        assert np.all(np.abs(np.asarray(fit.params)) < 1e12)


def test_bootstrap_ci_is_the_group_bootstrap_by_hand() -> None:
    # one engine (evaluate.resampling) serves both bootstrap_ci and paired differences: the
    # interval equals the textbook procedure written out here (G groups drawn with
    # replacement per replicate from default_rng(seed), percentiles of the finite values)
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(6), 5)
    x = rng.random(g.size)
    y = x + 0.5 * rng.random(g.size)
    draw = np.random.default_rng(4)
    reps = []
    for _ in range(150):
        pick = draw.integers(0, 6, size=6)
        rows = np.concatenate([np.flatnonzero(g == k) for k in pick])
        reps.append(sps.spearmanr(x[rows], y[rows]).statistic)
    lo, hi = np.percentile(reps, [5.0, 95.0])
    ci = bootstrap_ci(x, y, g, lambda a, b: {"srcc": srcc(a, b)}, n_boot=150, seed=4, level=0.9)
    assert (ci["srcc"].low, ci["srcc"].high) == pytest.approx((lo, hi), rel=1e-12, abs=1e-12)
    assert ci["srcc"].n_groups == 6 and ci["srcc"].n_failed == 0
