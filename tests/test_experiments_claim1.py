"""Claim 1: paired comparisons, the generated page, history, content-keyed caches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_toy_backbone
from hvsprobe.evaluate.iqa import IQADataset, IQAPair
from hvsprobe.evaluate.paired import VERDICTS
from hvsprobe.experiments.claim1 import Claim1Config, machine_info
from hvsprobe.experiments.claim1_report import render_markdown, with_history
from hvsprobe.experiments.claim1_stats import compare_variants, criterion_grid_predictions


def _design(rng: np.random.Generator, n_groups: int = 12, per: int = 5):
    """Predictions of a good top-k, a bad bottom-k, 'all', LPIPS and 8 random subsets."""
    n = n_groups * per
    q = np.repeat(rng.normal(size=n_groups), per) + rng.normal(size=n)
    human = q + rng.normal(0, 0.2, n)
    noise = {"top 10% pe": 0.1, "bottom 10% pe": 2.0, "all channels": 0.8}
    noise["LPIPS (learned weights)"] = 0.8
    noise.update({f"random 10% #{i}": 0.8 for i in range(8)})
    values = {v: q + rng.normal(0, s, n) for v, s in noise.items()}
    fam = {"top 10% pe": "top_pe", "bottom 10% pe": "bottom_pe", "all channels": "all"}
    fam["LPIPS (learned weights)"] = "lpips"
    variants = {v: (fam.get(v, "random"), 0.1 if "10%" in v else 1.0, None) for v in values}
    rows = []
    for v, x in values.items():
        srcc = float(np.corrcoef(np.argsort(np.argsort(x)), np.argsort(np.argsort(human)))[0, 1])
        rows.append(
            {
                "backbone": "vgg16",
                "variant": v,
                "family": variants[v][0],
                "k": variants[v][1],
                "n_channels": 3,
                "live_srcc": srcc,
            }
        )
    groups = np.repeat(np.arange(n_groups), per)
    return variants, rows, values, human, groups


def test_compare_variants_finds_a_known_advantage() -> None:
    variants, rows, values, human, groups = _design(np.random.default_rng(0))
    data = {
        "LIVE SRCC": {
            "column": "live_srcc",
            "higher": True,
            "kind": "srcc",
            "values": values,
            "human": human,
            "groups": groups,
        }
    }
    comps = compare_variants("vgg16", variants, rows, data, [0.1], n_boot=300, seed=0)
    by = {c["other"]: c for c in comps}
    assert set(by) == {
        "random subsets",
        "bottom-k % by PE",
        "all channels",
        "LPIPS learned weights",
    }
    for c in comps:
        assert c["verdict"] in VERDICTS and c["low"] <= c["diff"] <= c["high"]
        assert c["n_rows"] == 60 and c["n_groups"] == 12
    assert by["random subsets"]["verdict"] == "supported"
    assert by["random subsets"]["percentile"] == 100.0
    assert by["bottom-k % by PE"]["verdict"] == "supported"
    top = next(r for r in rows if r["variant"] == "top 10% pe")["live_srcc"]
    assert by["all channels"]["a"] == pytest.approx(top)
    assert by["all channels"]["p_value"] is not None


def test_rmse_comparisons_use_refitted_criteria() -> None:
    from hvsprobe.evaluate.psychophysics import fit_single_criterion

    rng = np.random.default_rng(1)
    c = np.geomspace(1e-3, 1.0, 16)
    human = rng.normal(2.0, 0.4, 30)
    gain = 10 ** (2 * human)  # D = gain * c^2 reaches k at c = sqrt(k / gain)
    good = np.outer(gain * np.exp(rng.normal(0, 0.05, 30)), c**2)
    grid = criterion_grid_predictions(c, good, n_grid=256)
    best = float(np.sqrt(np.min(np.mean((grid - human[:, None]) ** 2, axis=0))))
    fit = fit_single_criterion(c, good, human).rmse
    assert best == pytest.approx(fit, abs=0.01)


def _page(comparisons=(), live_only=True, extra=None):
    cfg = Claim1Config(backbones=("vgg16",), fractions=(0.1,), n_random=3, live_only=live_only)
    rows = [
        {
            "backbone": "vgg16",
            "variant": f"random 10% #{i}",
            "family": "random",
            "k": 0.1,
            "n_channels": 1,
            "live_srcc": s,
        }
        for i, s in enumerate([0.85, 0.95, 0.75])
    ]
    rows.append(
        {
            "backbone": "vgg16",
            "variant": "top 10% pe",
            "family": "top_pe",
            "k": 0.1,
            "n_channels": 1,
            "live_srcc": 0.9,
        }
    )
    data = {
        "datasets": [
            {
                "name": "live",
                "title": "LIVE",
                "rows": 133,
                "units": 7,
                "unit": "reference images",
                "root": "/x/LIVE",
            }
        ],
        "absent": [{"name": "kadid10k", "how": "`hvsprobe data fetch kadid10k`"}],
    }
    return render_markdown(rows, [], cfg, extra, comparisons, data)


def test_page_states_counts_absent_sets_and_three_word_verdicts() -> None:
    comp = {
        "backbone": "vgg16",
        "dataset": "LIVE SRCC",
        "k": 0.1,
        "other": "random subsets",
        "diff": 0.05,
        "low": -0.01,
        "high": 0.09,
        "verdict": "not resolved by these data",
        "percentile": 66.7,
        "percentile_low": 33.3,
        "percentile_high": 100.0,
        "higher_is_better": True,
        "n_rows": 133,
        "n_groups": 7,
        "p_value": None,
    }
    text = _page([comp])
    assert "LIVE 133 rows, 7 reference images" in text
    assert "kadid10k — `hvsprobe data fetch kadid10k`" in text  # absent, with its command
    assert "CPU cores" not in text and "claim1_run.json" in text  # run facts kept off the page
    assert "+0.050 [-0.010, +0.090] **not resolved by these data**" in text
    assert "beats 67 % of random subsets [33, 100]" in text
    assert "median 0.850; 0.850 ± 0.100 [0.750, 0.950]" in text  # the median the verdict quotes
    assert "Human data: LIVE (`--live-only`)" in text
    assert "ModelFest (stimuli —)" not in text and "no threshold data sets" in text


def test_history_keeps_the_old_verdict() -> None:
    old = "# Claim 1\n\n## Verdict\n\nbeat the bottom-k % in **16 of 18**\n\n## vgg16\n\nx\n"
    new = _page()
    once = with_history(new, old, "2026-12-01")
    assert "## History" in once and "16 of 18" in once and "replaced on 2026-12-01" in once
    again = with_history(new, once, "2026-12-02")  # same verdict again: no new entry
    assert again.count("16 of 18") == 1 and "2026-12-02" not in again
    assert with_history(new, None, "2026-12-01") == new


def test_claim1_writes_no_page_unless_asked() -> None:
    assert Claim1Config().doc is None
    info = machine_info()
    assert info["cpu_count"] and info["torch_threads"] >= 1


def _pairs(folder: Path) -> IQADataset:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    ref = rng.integers(0, 255, (40, 40, 3)).astype(np.uint8)
    Image.fromarray(ref).save(folder / "ref.png")
    pairs = []
    for i in range(3):
        noisy = np.clip(ref + rng.normal(0, 10 * (i + 1), ref.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(folder / f"d{i}.png")
        pairs.append(IQAPair(folder / "ref.png", folder / f"d{i}.png", float(i), "wn", "ref"))
    pairs.append(pairs[0]._replace(score=0.5))  # a byte-identical duplicate row
    return IQADataset("toy", pairs, False, "DMOS", folder)


def test_fast_live_distances_equal_the_decomposition(tmp_path: Path) -> None:
    from hvsprobe.experiments.claim1 import live_channel_distances
    from hvsprobe.metrics.decompose import channel_distances

    bb = make_toy_backbone()
    ds = _pairs(tmp_path)
    layers = ["conv1", "relu1"]  # two stages: the first must not be altered for the second
    fast = live_channel_distances(bb, layers, ds, progress=False, batch_size=2)
    from hvsprobe.image_io import load_image

    for i, p in enumerate(ds.pairs):
        ref, dist = load_image(p.ref_path), load_image(p.dist_path)
        want = channel_distances(bb, ref, dist, layers)
        for n in layers:
            np.testing.assert_allclose(fast[n][i], want[n][0], rtol=1e-5, atol=1e-9)
