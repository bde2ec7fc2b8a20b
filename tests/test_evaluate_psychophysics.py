"""Tests for hvsprobe.evaluate.psychophysics: stimuli, thresholds, criterion fit, predictions."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from hvsprobe.evaluate.psychophysics import (
    SUPPORTED_MODELFEST_IDS,
    ThresholdError,
    castle_stimulus,
    castle_stimulus_size,
    fit_single_criterion,
    load_modelfest,
    modelfest_stimulus,
    modelfest_waveform,
    predict_castle_csf,
    predict_modelfest,
    threshold_contrast,
    thresholds_from_curves,
)


def _data_root() -> Path:
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


ROOT = _data_root()
needs_modelfest = pytest.mark.skipif(
    not (ROOT / "psychophysics" / "modelfest" / "stimuli.csv").is_file(),
    reason=f"ModelFest data not found under {ROOT}",
)
needs_castle = pytest.mark.skipif(
    not (ROOT / "psychophysics" / "castleCSF" / "data_aggregated.csv").is_file(),
    reason=f"castleCSF data not found under {ROOT}",
)


class MSE:
    name = "mse"
    higher_is_better = False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((x.double() - y.double()) ** 2).flatten(1).mean(1)


class PSNR:
    name = "psnr"
    higher_is_better = True

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -10 * torch.log10(((x.double() - y.double()) ** 2).flatten(1).mean(1))


class PeakSquared:
    """k * (peak contrast)^2, a metric with a known analytic threshold sqrt(criterion / k)."""

    name = "peak_sq"

    def __init__(self, k: float, higher_is_better: bool = False) -> None:
        self.k = k
        self.higher_is_better = higher_is_better

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c = (y.double() - x.double()).abs().flatten(1).amax(1) / 0.5
        d = self.k * c**2
        return -d if self.higher_is_better else d


def flash(c: float) -> torch.Tensor:
    """A uniform field of luminance 0.5 (1 + c)."""
    return torch.full((1, 3, 8, 8), 0.5 * (1 + c), dtype=torch.float64)


# ---------------------------------------------------------------------------- ModelFest


@needs_modelfest
def test_modelfest_stimulus_basics() -> None:
    x = modelfest_stimulus(12, 0.5, data_root=ROOT)
    assert x.shape == (1, 3, 256, 256) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 0], x[:, 2])
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x.mean()) == pytest.approx(0.5, abs=1e-3)
    assert float(x[0, 0, 0, 0]) == pytest.approx(0.5, abs=1e-6)  # background far from the patch
    assert float(x.max()) == pytest.approx(0.75, abs=0.01)  # peak contrast 0.5 near the centre
    blank = modelfest_stimulus(12, 0.0, data_root=ROOT)
    assert torch.all(blank == 0.5)
    batch = modelfest_stimulus(3, [0.1, 0.2, 1.0], data_root=ROOT)
    assert batch.shape == (3, 3, 256, 256)
    with pytest.raises(ValueError, match="contrast"):
        modelfest_stimulus(3, 1.5, data_root=ROOT)


@needs_modelfest
def test_supported_and_refused_ids() -> None:
    data = load_modelfest(ROOT)
    kinds = {data.stimuli[i].kind for i in SUPPORTED_MODELFEST_IDS}
    assert kinds == {"gabor", "compound_gabor", "gaussian_blob", "plaid"}
    for sid in SUPPORTED_MODELFEST_IDS:
        assert modelfest_waveform(sid, data_root=ROOT).shape == (256, 256)
    for sid in (30, 33, 35, 40, 43):
        with pytest.raises(NotImplementedError, match="1-29, 36-39"):
            modelfest_stimulus(sid, 0.1, data_root=ROOT)
    with pytest.raises(ValueError, match="no ModelFest stimulus 44"):
        modelfest_stimulus(44, 0.1, data_root=ROOT)
    with pytest.raises(TypeError):
        modelfest_stimulus(True, 0.1, data_root=ROOT)  # type: ignore[arg-type]


def _peak_frequency_cpd(profile: np.ndarray, ppd: float = 120.0, pad: int = 1 << 14) -> float:
    spec = np.abs(np.fft.rfft(profile - profile.mean(), n=pad))
    return float(np.argmax(spec)) / pad * ppd


@needs_modelfest
@pytest.mark.parametrize("sid", [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])
def test_dominant_frequency(sid: int) -> None:
    data = load_modelfest(ROOT)
    w = modelfest_waveform(sid, data_root=ROOT)
    f = data.stimuli[sid].frequencies[0]
    # vertical bars: the luminance varies along x (a row); the spectrum peaks on the x axis
    spec = np.abs(np.fft.fftshift(np.fft.fft2(w)))
    spec[128, 128] = 0
    r, _ = np.unravel_index(np.argmax(spec), spec.shape)
    assert r == 128
    assert _peak_frequency_cpd(w[128]) == pytest.approx(f, rel=0.03)


@needs_modelfest
def test_orientations_and_plaids() -> None:
    def peak(sid: int) -> tuple[int, int]:
        spec = np.abs(np.fft.fftshift(np.fft.fft2(modelfest_waveform(sid, data_root=ROOT))))
        spec[128, 128] = 0
        r, c = np.unravel_index(np.argmax(spec), spec.shape)
        return int(r) - 128, int(c) - 128

    assert peak(12)[0] == 0 and abs(peak(12)[1]) == 9  # vertical bars, 4 cpd = 8.5 cycles
    assert peak(37)[1] == 0 and abs(peak(37)[0]) == 9  # bar orientation 0: horizontal bars
    r, c = peak(36)  # bars at 45 deg (rising to the right): wave vector along the array diagonal
    assert abs(r) == abs(c) == 6 and r * c > 0
    # plaid 38 = vertical + horizontal Gabors: equal energy on both axes
    spec = np.abs(np.fft.fftshift(np.fft.fft2(modelfest_waveform(38, data_root=ROOT))))
    assert spec[128, 128 + 9] == pytest.approx(spec[128 + 9, 128], rel=1e-6)
    # compound and plaid components have amplitude 1/2 each and add to ~1 at the centre
    for sid in (22, 38, 39):
        assert modelfest_waveform(sid, data_root=ROOT)[127:129, 127:129].max() > 0.98


@needs_modelfest
@pytest.mark.parametrize(
    ("sid", "axis"), [(27, "x"), (27, "y"), (28, "x"), (29, "y"), (18, "y"), (20, "y")]
)
def test_gaussian_envelope_sigma(sid: int, axis: str) -> None:
    data = load_modelfest(ROOT)
    s = data.stimuli[sid]
    w = modelfest_waveform(sid, data_root=ROOT)
    # the centre pixel pair straddles the centre: average the two middle rows/columns
    profile = w[:, 127:129].mean(1) if axis == "y" else w[127:129, :].mean(0)
    pos = np.arange(256) - 127.5
    sigma_px = math.sqrt(float(np.sum(pos**2 * profile) / np.sum(profile)))
    expected = (s.sigma_y_deg if axis == "y" else s.sigma_x_deg) * 120
    assert sigma_px == pytest.approx(expected, rel=0.02)


@needs_modelfest
def test_modelfest_human_means() -> None:
    data = load_modelfest(ROOT)
    assert data.ids.tolist() == list(range(1, 44))
    with open(ROOT / "psychophysics" / "modelfest" / "thresholds.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["stimulus"] == "7"]
    expected = np.mean([float(r["log10_sensitivity"]) for r in rows])
    assert data.human([7])[0] == pytest.approx(expected)
    assert data.n_observers[6] == 16
    assert np.all(data.sem_log10_sensitivity > 0)


# --------------------------------------------------------------------- threshold search


@pytest.mark.parametrize("k", [0.5, 3.0, 100.0])
@pytest.mark.parametrize("criterion", [1e-4, 0.01, 0.3])
def test_bisection_matches_analytic_threshold(k: float, criterion: float) -> None:
    c = threshold_contrast(PeakSquared(k), flash, criterion, tol_log10=1e-4)
    assert c == pytest.approx(math.sqrt(criterion / k), rel=5e-4)


def test_bisection_with_similarity_metric() -> None:
    c = threshold_contrast(PeakSquared(2.0, higher_is_better=True), flash, 0.02)
    assert c == pytest.approx(0.1, rel=3e-3)


def test_threshold_failures_are_reported() -> None:
    with pytest.raises(ThresholdError, match="already reached") as err:
        threshold_contrast(PeakSquared(1.0), flash, 1e-12)
    assert err.value.reason == "below_range"
    with pytest.raises(ThresholdError, match="not reached") as err:
        threshold_contrast(PeakSquared(1.0), flash, 5.0)
    assert err.value.reason == "above_range"

    class Bump(PeakSquared):
        def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            c = (y.double() - x.double()).abs().flatten(1).amax(1) / 0.5
            return torch.sin(8 * torch.log10(c) + 40)  # oscillates with contrast

    with pytest.raises(ThresholdError, match="not non-decreasing") as err:
        threshold_contrast(Bump(1.0), flash, 0.0)
    assert err.value.reason == "non_monotone"

    class Flat(PeakSquared):
        def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.ones(x.shape[0], dtype=torch.float64)

    with pytest.raises(ThresholdError) as err:
        threshold_contrast(Flat(1.0), flash, 0.5)
    assert err.value.reason == "flat"
    with pytest.raises(ValueError, match="c_min"):
        threshold_contrast(PeakSquared(1.0), flash, 0.1, c_min=0.5, c_max=0.1)


def test_thresholds_from_curves_power_law_and_censoring() -> None:
    c = np.geomspace(1e-3, 1.0, 13)
    a = np.array([[1.0], [10.0], [0.5], [1e-7], [1e4]])
    p = np.array([[2.0], [1.5], [3.0], [2.0], [2.0]])
    d = a * c[None, :] ** p
    thr, cens = thresholds_from_curves(c, d, 1e-3)
    exact = (1e-3 / a[:, 0]) ** (1 / p[:, 0])
    np.testing.assert_allclose(thr[:3], exact[:3], rtol=1e-10)  # log-log interpolation is exact
    assert cens.tolist() == [0, 0, 0, 1, -1]
    assert thr[3] == 1.0 and thr[4] == 1e-3


def test_single_criterion_fit_recovers_known_criterion() -> None:
    rng = np.random.default_rng(0)
    c = np.geomspace(1e-4, 1.0, 33)
    a = 10 ** rng.uniform(-1, 3, size=12)
    p = rng.uniform(1.2, 3.0, size=12)  # different exponents: not a pure shift
    d = a[:, None] * c[None, :] ** p[:, None]
    k0 = 0.02
    human = -np.log10((k0 / a) ** (1 / p))
    fit = fit_single_criterion(c, d, human)
    assert fit.criterion == pytest.approx(k0, rel=1e-3)
    assert fit.rmse < 1e-4
    np.testing.assert_allclose(fit.predicted_log10, human, atol=1e-3)
    assert np.all(fit.censored == 0)
    with pytest.raises(ValueError, match="must be"):
        fit_single_criterion(c, d, human[:-1])


def test_single_criterion_fit_with_negative_distances() -> None:
    # e.g. -PSNR: distances below zero; the criterion is searched on a linear scale
    c = np.geomspace(1e-3, 1.0, 25)
    gains = np.array([1.0, 4.0, 0.3, 2.0])
    d = 10 * np.log10(gains[:, None] * c[None, :] ** 2)
    k0 = -30.0
    human = -np.log10(np.sqrt(10 ** (k0 / 10) / gains))
    fit = fit_single_criterion(c, d, human)
    assert fit.criterion == pytest.approx(k0, abs=1e-3)


# ------------------------------------------------------------------------ predictions


@needs_modelfest
def test_predict_modelfest_mse_matches_closed_form() -> None:
    ids = [1, 8, 15, 22, 28, 38]
    res = predict_modelfest(MSE(), stimulus_ids=ids, data_root=ROOT, progress=False)
    data = load_modelfest(ROOT)
    human = data.human(ids)
    # MSE(c) = (0.5 c)^2 mean(w^2): log10 sensitivity = 0.5 log10 mean(w^2) - 0.5 log10(4 k),
    # a pure shift with the criterion, so the RMSE-optimal k has a closed form
    g = np.array(
        [0.5 * math.log10(np.mean(modelfest_waveform(i, data_root=ROOT) ** 2)) for i in ids]
    )
    k_closed = 10 ** (-2 * np.mean(human - g)) / 4
    assert res.criterion == pytest.approx(k_closed, rel=0.01)
    assert res.shift_invariant
    np.testing.assert_allclose(res.table["loglog_slope"], 2.0, atol=1e-3)
    np.testing.assert_allclose(
        res.table["predicted_log10"], g - 0.5 * math.log10(4 * res.criterion), atol=2e-3
    )
    assert res.n == len(ids) and res.n_censored == 0
    assert res.table["stimulus_id"].tolist() == ids
    np.testing.assert_allclose(res.table["human_log10"], human)
    assert -1 <= res.pearson_r <= 1 and res.rmse_log10 > 0
    # PSNR is a monotone function of MSE: the same predictions
    res2 = predict_modelfest(PSNR(), stimulus_ids=ids, data_root=ROOT, progress=False, refine=False)
    np.testing.assert_allclose(
        res2.table["predicted_log10"], res.table["predicted_log10"], atol=2e-3
    )
    assert res2.pearson_r == pytest.approx(res.pearson_r, abs=1e-3)


@needs_modelfest
def test_predict_modelfest_writers_and_refusals(tmp_path: Path) -> None:
    res = predict_modelfest(
        MSE(), stimulus_ids=[2, 5, 27], data_root=ROOT, progress=False, refine=False
    )
    doc = json.loads(res.write_json(tmp_path / "mf.json").read_text())
    assert doc["protocol"] == "modelfest" and len(doc["table"]["stimulus_id"]) == 3
    rows = list(csv.DictReader(open(res.write_csv(tmp_path / "mf.csv"))))
    assert [r["stimulus_id"] for r in rows] == ["2", "5", "27"]
    with pytest.raises(NotImplementedError):
        predict_modelfest(MSE(), stimulus_ids=[1, 41], data_root=ROOT, progress=False)

    class Decreasing(MSE):
        def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return -super().__call__(x, y)

    with pytest.raises(ThresholdError, match="strict=False"):
        predict_modelfest(Decreasing(), stimulus_ids=[2, 5], data_root=ROOT, progress=False)


@needs_castle
def test_castle_stimulus_geometry() -> None:
    area = math.pi * 0.25**2  # sigma 0.25 deg
    assert castle_stimulus_size(4.0, area, "gabor", ppd=60) == 90  # 6 sigma = 1.5 deg
    x = castle_stimulus(4.0, area, 1.0, kind="gabor", ppd=60)
    assert x.shape == (1, 3, 90, 90)
    w = (x[0, 0].double().numpy() / 0.5) - 1
    profile = w[:, 44:46].mean(1)
    pos = np.arange(90) - 44.5
    sigma = math.sqrt(float(np.sum(pos**2 * profile) / np.sum(profile)))
    assert sigma == pytest.approx(15.0, rel=0.03)
    g = castle_stimulus(2.0, 1.0, 0.5, kind="grating", ppd=60)  # 1 deg^2: 60 px square
    assert g.shape[-1] == 90
    col = (g[0, 0, :, 44].double().numpy() / 0.5) - 1
    assert float(np.sum(np.abs(col) > 1e-9)) == pytest.approx(60, abs=2)
    with pytest.raises(ValueError, match="Nyquist"):
        castle_stimulus(30.0, 1.0, 0.5, ppd=60)


@needs_castle
def test_predict_castle_csf_small() -> None:
    res = predict_castle_csf(
        MSE(),
        data_root=ROOT,
        progress=False,
        max_size=96,
        n_contrasts=17,
        luminance_range=(20.0, 200.0),
    )
    assert res.protocol == "castle_csf" and res.n >= 5
    assert np.all(res.table["size_px"] <= 96)
    assert np.all((res.table["luminance"] >= 20) & (res.table["luminance"] <= 200))
    assert np.all(res.table["frequency"] <= 0.8 * 30)
    reasons = " ".join(e["reason"] for e in res.excluded)
    assert "luminance" in reasons and "max_size" in reasons
    assert res.n + len(res.excluded) == res.settings["n_rows_total"]
    assert res.settings["n_distinct_stimuli"] <= res.n
    assert math.isfinite(res.pearson_r) and res.rmse_log10 > 0


class Energy:
    """Summed squared difference: a metric whose threshold is known in closed form."""

    name = "energy"
    higher_is_better = False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((x.double() - y.double()) ** 2).flatten(1).sum(1)


@needs_castle
def test_predict_castle_csf_known_answer() -> None:
    # With D = sum (x - y)^2 = 3 mean^2 c^2 E (E: the wave's energy in pixels) the threshold
    # at criterion tau is c = sqrt(tau / (3 E)) / mean, so every predicted log10 sensitivity
    # is 0.5 log10 E plus one constant. E of a Gabor (envelope exp(-r^2 / 2 sigma^2)) is
    # ppd^2 (pi sigma^2 / 2) (1 + exp(-4 pi^2 f^2 sigma^2)) in closed form, independent of
    # the renderer; sampled at >= 4 px per sigma the pixel sum agrees to ~1e-6.
    res = predict_castle_csf(
        Energy(), data_root=ROOT, progress=False, max_size=128, n_contrasts=17,
        luminance_range=(20.0, 200.0),
    )  # fmt: skip
    t = res.table
    ppd = res.settings["ppd"]
    sigma = np.sqrt(np.asarray(t["area"], dtype=np.float64) / math.pi)
    f = np.asarray(t["frequency"], dtype=np.float64)
    energy = ppd**2 * (math.pi * sigma**2 / 2) * (1 + np.exp(-4 * math.pi**2 * f**2 * sigma**2))
    use = (np.asarray(t["stimulus"]) == "gabor") & ~np.asarray(t["censored"], dtype=bool)
    use &= sigma * ppd >= 4
    assert use.sum() >= 5
    offset = np.asarray(t["predicted_log10"], dtype=np.float64)[use] - 0.5 * np.log10(energy[use])
    assert np.ptp(offset) < 1e-3, offset
    # the one criterion minimises the RMSE; for curves that differ only by a shift in log
    # sensitivity that is the mean residual 0 (to the bounded minimiser's tolerance)
    if res.n_censored == 0:
        resid = np.asarray(t["predicted_log10"]) - np.asarray(t["human_log10"])
        assert abs(float(np.mean(resid))) < 1e-4
