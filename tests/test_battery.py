"""The battery: stimuli against their formulas, statistics on hand-made subjects whose answer
is known, and the command on a network, a channel subset and a metric."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hvsprobe.battery import PixelSubject, load_battery, run_battery
from hvsprobe.battery.human import detection_rows, georgeson_sullivan
from hvsprobe.battery.stats import MULTIPLIERS, pooled_spearman, threshold_errors
from hvsprobe.stimuli.physical import (
    LMS_FROM_RGB,
    Display,
    bandlimited_noise,
    gabor_wave_deg,
    grating_wave_deg,
    physical_images,
    srgb_decode,
    srgb_encode,
)

DATA = Path(os.environ.get("HVSPROBE_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
needs_data = pytest.mark.skipif(
    not (DATA / "psychophysics/suprathreshold").is_dir(), reason="no psychophysics data"
)
# pixels are float32: relative error of a decoded luminance <= ~1e-6 after the sRGB curve
F32 = 1e-5


def test_srgb_matches_iec_formula() -> None:
    v = np.array([0.0, 0.002, 0.0031308, 0.05, 0.18, 0.5, 1.0])
    ref = np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)
    assert np.allclose(srgb_encode(v), ref, atol=1e-15)
    assert np.allclose(srgb_decode(srgb_encode(v)), v, atol=1e-12)
    # the white of linear sRGB has luminance Y = 1: the display's peak
    assert math.isclose(float((np.linalg.inv(LMS_FROM_RGB) @ (LMS_FROM_RGB @ np.ones(3))).sum()), 3)


def test_achromatic_grating_luminance_contrast_and_frequency() -> None:
    d = Display(size=64, ppd=32.0)
    # 8 px per cycle, 8 whole cycles; the phase puts a peak on the pixel left of the centre
    wave = grating_wave_deg(d, 4.0, phase=22.5)
    x, ok = physical_images(d, 50.0, 0.3 * wave)
    lum = d.decode(x[0, 1].double().numpy())
    assert ok.all() and torch.equal(x[0, 0], x[0, 2])
    assert abs(lum.mean() / 50.0 - 1) < F32  # mean luminance in cd/m^2 (inverse sRGB)
    michelson = (lum.max() - lum.min()) / (lum.max() + lum.min())
    assert abs(michelson - 0.3) < F32
    spec = np.abs(np.fft.rfft(lum[0] - lum[0].mean()))
    assert int(np.argmax(spec)) == 8  # 4 cpd * 64 px / 32 ppd cycles across the image


def test_gabor_envelope_and_colour_direction() -> None:
    d = Display(size=65, ppd=60.0)
    g = gabor_wave_deg(d, 3.0, 0.1)
    x = (np.arange(65) - 32) / 60.0
    ref = np.exp(-0.5 * (x[None, :] ** 2 + x[:, None] ** 2) / 0.1**2) * np.cos(
        2 * np.pi * 3.0 * x[None, :]
    )
    assert np.abs(g - ref).max() < 1e-12
    direction = np.array([1.0, -1.0, 0.0])
    img, ok = physical_images(d, 20.0, 0.05 * g, direction)
    lin = d.decode(img[0].double().numpy()) / d.peak  # 3 x H x W linear RGB
    lms = np.einsum("ij,jhw->ihw", LMS_FROM_RGB, lin)
    cone_contrast = lms[:, 32, 32] / lms[:, 0, 0] - 1
    expected = 0.05 * direction / math.sqrt(np.mean(direction**2))  # unit RMS direction
    assert ok.all() and np.abs(cone_contrast - expected).max() < 1e-4


def test_bandlimited_noise_is_in_band_and_seeded() -> None:
    d = Display(size=64, ppd=32.0)
    n = bandlimited_noise(d, 4.0, 1.0, seed=3)
    assert math.isclose(n.std(), 1.0, rel_tol=1e-12) and abs(n.mean()) < 1e-12
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(64), np.fft.fftfreq(64))) * 32.0
    power = np.abs(np.fft.fft2(n)) ** 2
    out = (f < 4 / math.sqrt(2) - 1e-9) | (f > 4 * math.sqrt(2) + 1e-9)
    assert power[out].sum() < 1e-20 * power.sum()
    assert np.array_equal(n, bandlimited_noise(d, 4.0, 1.0, seed=3))
    assert not np.array_equal(n, bandlimited_noise(d, 4.0, 1.0, seed=4))


def test_threshold_statistics_on_known_answers() -> None:
    # thresholds twice the human ones everywhere: consistent, error 0 about the mean
    resp = np.stack([MULTIPLIERS / 2, MULTIPLIERS / 2, MULTIPLIERS / 2])
    e, cens, _ = threshold_errors(resp)
    assert np.allclose(e, 0.0) and not cens.any()
    # one condition with a threshold 2x the others': e differs by log10 2 there
    resp = np.stack([MULTIPLIERS, MULTIPLIERS, MULTIPLIERS, MULTIPLIERS / 2])
    e, _, _ = threshold_errors(resp)
    assert np.allclose(e, [0, 0, 0, math.log10(2)])
    assert pooled_spearman(np.stack([MULTIPLIERS] * 3)) == pytest.approx(1.0)


class _CSFSubject:
    """Responds like the human CSF: measured peak contrast / the human threshold of the
    condition, identified by background luminance and template matching of the target."""

    name = "csf"
    variants = ["csf"]

    def __init__(self, display: Display, rows: dict[str, np.ndarray]) -> None:
        self.d, self.rows = display, rows
        self.templates = [
            gabor_wave_deg(display, f, s)
            for f, s in zip(rows["frequency"], rows["sigma"], strict=True)
        ]

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        lb = self.d.decode(reference[0, 1].double().numpy())
        diff = self.d.decode(test[:, 1].double().numpy()) - lb
        c = self.d.size // 2
        bg = float(lb[c, c])
        cands = [i for i, lum in enumerate(self.rows["luminance"]) if abs(lum / bg - 1) < 1e-3]
        score = [abs((diff[0] * self.templates[i]).sum()) / np.linalg.norm(self.templates[i])
                 for i in cands]  # fmt: skip
        row = cands[int(np.argmax(score))]
        return (diff[:, c, c] / bg / self.rows["threshold"][row])[:, None]


@needs_data
def test_csf_subject_scores_perfectly_on_detection() -> None:
    d = Display(size=61, ppd=60.0)  # odd: the Gabor's peak is a pixel
    rows = detection_rows(9, max_luminance=200.0, max_frequency=30.0, data_root=DATA)
    res = run_battery(
        _CSFSubject(d, rows), ["detection_achromatic"], display=d, data_root=DATA, progress=False
    )
    s = res.tests["detection_achromatic"]["stats"]["csf"]
    assert s["threshold_rmse"] < 1e-4
    e = s["log10_threshold_ratio"]
    # every condition shown at its threshold has the human threshold; the 2 rows whose human
    # threshold exceeds 100 % contrast cannot be shown and are left out
    assert np.nanmax(np.abs(e)) < 1e-4 and int(np.isnan(e).sum()) == 2
    assert s["pooled_spearman"] > 0.99


class _ConstancySubject:
    """Obeys contrast constancy: log10 of the measured contrast, whatever the frequency."""

    name = "constancy"
    variants = ["constancy"]

    def __init__(self, display: Display) -> None:
        self.d = display

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        lb = self.d.decode(reference[0, 1].double().numpy())
        c = self.d.size // 2
        peak = self.d.decode(test[:, 1, c, c].double().numpy())
        return np.log10(peak / lb[c, c] - 1)[:, None]


@needs_data
def test_constancy_subject_matches_reference_contrast() -> None:
    d = Display(size=61, ppd=60.0)
    res = run_battery(
        _ConstancySubject(d), ["constancy"], display=d, data_root=DATA, progress=False
    )
    s = res.tests["constancy"]["stats"]["constancy"]
    g = georgeson_sullivan(DATA)
    expected = float(np.sqrt(np.mean((np.log10(g["reference"]) - np.log10(g["match"])) ** 2)))
    assert abs(s["matching_rmse"] - expected) < 1e-4
    assert np.abs(s["log10_match"] - np.log10(g["reference"])).max() < 1e-4


@needs_data
def test_results_folder_round_trip(tmp_path: Path) -> None:
    d = Display(size=32, ppd=16.0)
    res = run_battery(PixelSubject(), ["masking"], display=d, data_root=DATA, progress=False)
    out = res.save(tmp_path / "px")
    back = load_battery(out)
    assert json.loads((out / "battery.json").read_text())["schema_version"] == 1
    assert back.summary() == res.summary()


def test_cli_test_names_are_the_battery_tests() -> None:
    from hvsprobe.battery import TESTS
    from hvsprobe.cli.battery import TEST_NAMES

    assert TEST_NAMES == TESTS


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HVSPROBE_DATA=str(DATA), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "hvsprobe.cli", *args], capture_output=True, text=True, env=env
    )


@needs_data
def test_cli_network_subset_and_metric(tmp_path: Path) -> None:
    small = ["--tests", "masking", "--size", "32", "--ppd", "16", "--no-progress"]
    r = _cli("battery", "alexnet", "--weights", "random:0", *small, "--out", str(tmp_path / "n"))
    assert r.returncode == 0, r.stderr
    assert "masking" in r.stdout and (tmp_path / "n" / "battery.json").is_file()
    scores = tmp_path / "scores"
    a = _cli("analyze", "alexnet", "--weights", "random:0", "--layers", "relu1", "relu2",
             "--n-frequencies", "3", "--n-orientations", "2", "--n-phases", "1", "--size", "32",
             "--out", str(scores), "--no-progress")  # fmt: skip
    assert a.returncode == 0, a.stderr
    r = _cli("battery", "alexnet", "--weights", "random:0", "--layers", "relu1", "relu2",
             "--subset", "selection", "random", "--n-random", "2", "--scores", str(scores),
             *small, "--out", str(tmp_path / "s"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert load_battery(tmp_path / "s").variants == ["top 25% pe", "random 25% #0", "random 25% #1"]
    r = _cli("battery", "ssim", *small, "--out", str(tmp_path / "m"))
    assert r.returncode == 0 and "ssim" in r.stdout, r.stderr
    bad = _cli("battery", "nonsense", "--out", str(tmp_path / "x"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def _fabricated(top_good: bool) -> object:
    """A BatteryResult whose top subset has known masking and constancy answers."""
    from hvsprobe.battery.run import CONSTANCY_CONTRASTS, BatteryResult

    rng = np.random.default_rng(0)
    names = ["top 25% pe", *[f"random 25% #{i}" for i in range(5)], "bottom 25% pe"]
    names.append("all channels")
    c = 10
    good = np.tile(MULTIPLIERS, (c, 1))  # thresholds proportional to the human ones
    resp = np.stack([good * 10 ** rng.normal(0, 0.3, (c, 1)) for _ in names], axis=2)
    resp[:, :, 0 if top_good else 1] = good
    freqs, refs = np.array([1.0, 5.0, 10.0]), np.array([0.1, 0.5])
    fr, rf = np.meshgrid(freqs, refs, indexing="xy")
    cond = {"frequency": fr.ravel(), "reference": rf.ravel(), "match": rf.ravel().copy()}
    lc = np.log10(CONSTANCY_CONTRASTS)
    ladders = np.stack(
        [np.stack([lc + (0.0 if (v == 0) == top_good else 0.5 + 0.1 * v) for _ in freqs])
         for v in range(len(names))], axis=2,
    )  # fmt: skip
    ref_resp = np.tile(np.log10(refs)[:, None], (1, len(names)))
    tests = {
        "masking": {"responses": resp},
        "constancy": {
            "conditions": cond,
            "frequencies": freqs,
            "reference_contrasts": refs,
            "ladders": ladders,
            "reference_responses": ref_resp,
        },
    }
    return BatteryResult("fabricated", names, {}, tests)


def test_claim1_verdicts_on_a_subset_with_known_answer() -> None:
    from hvsprobe.battery.page import claim1

    rows = {r["test"]: r for r in claim1(_fabricated(True), n_boot=200, seed=0)}
    for test in ("masking", "constancy"):
        assert rows[test]["random"].verdict == "supported"
        assert rows[test]["random"].value == pytest.approx(0.0, abs=1e-9)  # exact answers
        assert rows[test]["bottom 25% pe"].verdict == "supported"
    rows = {r["test"]: r for r in claim1(_fabricated(False), n_boot=200, seed=0)}
    assert rows["constancy"]["random"].verdict == "contradicted"
