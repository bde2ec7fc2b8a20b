"""Claim 2: the matched-PSNR comparison as a paired difference over seeds and images."""

from __future__ import annotations

import numpy as np
import pytest

from hvsprobe.evaluate.paired import VERDICTS
from hvsprobe.experiments.claim2_report import _verdict_sentence
from hvsprobe.experiments.claim2_stats import compute_verdicts, paired_matched_gap


def _runs(shift: dict[str, float], n_images: int = 12, seeds=(0, 1, 2), noise: float = 0.002):
    """Per-run rows and per-image rows: LPIPS falls with rho, offset per loss."""
    rng = np.random.default_rng(0)
    base_psnr = rng.normal(28.0, 1.0, n_images)
    base_lp = rng.uniform(0.2, 0.4, n_images)
    rows, images = [], []
    for seed in seeds:
        specs = [("none", 0.0)] + [(loss, rho) for loss in shift for rho in (0.5, 1.0, 2.0)]
        for loss, rho in specs:
            run = f"ft-{loss}-r{rho:g}-s{seed}"
            psnr = base_psnr - 0.3 * rho + rng.normal(0, 0.01, n_images)
            lp = base_lp - 0.03 * rho + (shift.get(loss, 0.0) if rho > 0 else 0.0)
            lp = lp + rng.normal(0, noise, n_images)
            rows.append({"run": run, "loss": loss, "rho": rho, "seed": seed, "set": "S",
                         "psnr_y": float(psnr.mean()), "lpips_alex": float(lp.mean())})  # fmt: skip
            images += [
                {"model": run, "set": "S", "image": f"im{i}", "psnr_y": p, "lpips_alex": q}
                for i, (p, q) in enumerate(zip(psnr, lp, strict=True))
            ]
    return rows, images


def test_paired_gap_finds_a_real_advantage_and_matches_the_point_gap() -> None:
    rows, images = _runs({"selected": 0.0, "vgg": 0.02, "random": 0.0})
    v = {x["other"]: x for x in compute_verdicts(rows, [0, 1, 2], ["S"], image_rows=images)}
    pv = v["vgg"]["paired"]
    assert pv["verdict"] == "supported" and pv["low"] > 0
    assert pv["n_seeds"] == 3 and pv["n_images"] == 12
    # the point estimate is the set-level matched-PSNR gap, averaged over seeds
    assert pv["diff"] == pytest.approx(v["vgg"]["lpips_gap"], abs=1e-9)
    assert v["random"]["paired"]["verdict"] == "not resolved by these data"
    text = _verdict_sentence(v["vgg"])
    assert "supported" in text and f"{pv['diff']:+.4f}" in text


def test_paired_gap_contradiction_and_missing_data() -> None:
    rows, images = _runs({"selected": 0.02, "vgg": 0.0})
    res = paired_matched_gap(rows, images, "selected", "vgg", [0, 1, 2], "S", n_boot=300)
    assert res is not None and res["verdict"] == "contradicted"
    assert res["verdict"] in VERDICTS
    assert paired_matched_gap(rows, images, "selected", "vgg", [0], "other set") is None
    old = compute_verdicts(rows, [0, 1, 2], ["S"])  # without image rows: no paired entry
    assert all(v["paired"] is None for v in old)
