"""The probe recovers the known tuning of a hand-built Gabor network; caching and resume."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TOY_PPD, TOY_TUNING, make_toy_backbone
from hvsprobe.backbones import Backbone, get_backbone
from hvsprobe.probe import cached_probe, probe
from hvsprobe.scores import ScoreConfig, compute_scores
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning


def toy_grid(n_phases: int = 4) -> StimulusGrid:
    return StimulusGrid.default(
        ppd=TOY_PPD,
        size=96,
        n_frequencies=16,
        n_orientations=12,
        n_phases=n_phases,
        f_min=1.0,
        f_max=14.0,
    )


@pytest.fixture(scope="module")
def toy_tuning() -> Tuning:
    return probe(make_toy_backbone(), toy_grid(), ["relu1"], batch_size=64, progress=False)


def test_tuning_array_shape_and_config(toy_tuning):
    arr = toy_tuning.responses["relu1"]
    assert arr.shape == (len(TOY_TUNING) + 2, 16, 12, 4, 1)
    assert toy_tuning.config["backbone"] == "toy"
    assert toy_tuning.config["grid"]["kind"] == "stimulus_grid"
    assert np.isfinite(arr).all()


def test_probe_recovers_gabor_frequency_and_orientation(toy_tuning):
    scores = compute_scores(toy_tuning, ScoreConfig(csf="mannos_sakrison"))
    t = scores.layer("relu1")
    freqs = np.asarray(toy_tuning.grid.frequencies)
    step = np.log(freqs[1] / freqs[0])
    for c, (f0, o0) in enumerate(TOY_TUNING):
        best = t["best_frequency_cpd"][c]
        assert abs(np.log(best / f0)) <= 1.0 * step, (c, best, f0)
        d = abs((t["preferred_orientation_deg"][c] - o0 + 90) % 180 - 90)
        assert d <= 7.5, (c, t["preferred_orientation_deg"][c], o0)
        assert t["orientation_selective"][c]
        assert t["mu2"][c] > 0.5


def test_isotropic_channel_is_not_orientation_selective(toy_tuning):
    t = compute_scores(toy_tuning).layer("relu1")
    iso = len(TOY_TUNING)
    assert not t["orientation_selective"][iso]
    assert t["mu2"][iso] < 0.1
    assert t["mu2"][iso] < t["mu2"][:iso].min() / 5


def test_dead_channel_is_reported_not_scored(toy_tuning):
    t = compute_scores(toy_tuning).layer("relu1")
    dead = len(TOY_TUNING) + 1
    assert t["dead"][dead] and t["dead"].sum() == 1
    for col in ("mu1", "mu2", "pe", "best_frequency_cpd"):
        assert np.isnan(t[col][dead])
    assert not t["orientation_selective"][dead]


def test_save_load_round_trip(toy_tuning, tmp_path):
    toy_tuning.save(tmp_path)
    back = Tuning.load(tmp_path)
    np.testing.assert_array_equal(back.responses["relu1"], toy_tuning.responses["relu1"])
    assert back.grid == toy_tuning.grid
    assert back.config == toy_tuning.config


def test_load_detects_corruption(toy_tuning, tmp_path):
    toy_tuning.save(tmp_path)
    with open(tmp_path / "tuning.npz", "ab") as fh:
        fh.write(b"junk")
    with pytest.raises(ValueError, match="checksum"):
        Tuning.load(tmp_path)


def test_cached_probe_reuses_same_config_and_reruns_on_change(tmp_path):
    bb = make_toy_backbone()
    grid = StimulusGrid.default(
        ppd=TOY_PPD, size=48, n_frequencies=4, n_orientations=4, n_phases=1, f_min=2, f_max=8
    )
    t1, cached1 = cached_probe(bb, grid, tmp_path, ["relu1"], progress=False)
    t2, cached2 = cached_probe(bb, grid, tmp_path, ["relu1"], progress=False)
    assert (cached1, cached2) == (False, True)
    np.testing.assert_array_equal(t1.responses["relu1"], t2.responses["relu1"])
    grid2 = StimulusGrid.default(
        ppd=TOY_PPD, size=48, n_frequencies=5, n_orientations=4, n_phases=1, f_min=2, f_max=8
    )
    t3, cached3 = cached_probe(bb, grid2, tmp_path, ["relu1"], progress=False)
    assert not cached3 and t3.responses["relu1"].shape[1] == 5


def test_interrupted_probe_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    bb = make_toy_backbone()
    grid = StimulusGrid.default(
        ppd=TOY_PPD, size=48, n_frequencies=6, n_orientations=4, n_phases=2, f_min=2, f_max=8
    )
    full = probe(bb, grid, ["relu1"], batch_size=8, response="whole_map", progress=False)
    calls = {"n": 0}
    original = StimulusGrid.batches

    def flaky(self, *a, **k):
        for item in original(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(StimulusGrid, "batches", flaky)
    with pytest.raises(KeyboardInterrupt):
        probe(
            bb,
            grid,
            ["relu1"],
            batch_size=8,
            response="whole_map",
            checkpoint=tmp_path,
            checkpoint_every=0.0,
            progress=False,
        )
    assert (tmp_path / "probe.partial.npz").exists()
    monkeypatch.setattr(StimulusGrid, "batches", original)
    seen = []

    def counting(self, *a, **k):
        for idx, images in original(self, *a, **k):
            seen.append(idx.copy())
            yield idx, images

    monkeypatch.setattr(StimulusGrid, "batches", counting)
    resumed = probe(
        bb, grid, ["relu1"], batch_size=8, checkpoint=tmp_path, response="whole_map", progress=False
    )
    np.testing.assert_array_equal(resumed.responses["relu1"], full.responses["relu1"])
    assert not (tmp_path / "probe.partial.npz").exists()


def test_probe_stops_at_the_deepest_requested_layer():
    bb = get_backbone("vgg16", "random:0")
    ran = []
    for i, m in enumerate(bb.features):
        m.register_forward_hook(lambda mod, inp, out, i=i: ran.append((i, inp[0].shape[0])))
    # 3 phases: every stimulus pass is a batch of 3; the torus set-up's dry runs are batches
    # of 1 and may run the whole trunk (the torus unit of the default layers)
    grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=2, n_phases=3)
    for response in ("whole_map", "torus"):
        ran.clear()
        tuning = probe(bb, grid, ["relu2_1"], response=response, batch_size=3, progress=False)
        stimulus_passes = [i for i, n in ran if n == 3]
        assert max(stimulus_passes) == bb.layer_names.index("relu2_1"), response
        assert tuning.layers == ["relu2_1"]


def test_probe_refuses_bad_arguments(toy_backbone):
    grid = StimulusGrid.default(
        ppd=TOY_PPD, size=48, n_frequencies=3, n_orientations=2, n_phases=1, f_min=2, f_max=8
    )
    with pytest.raises(ValueError, match="no layer"):
        probe(toy_backbone, grid, ["relu9"], progress=False)
    with pytest.raises(ValueError, match="precision"):
        probe(toy_backbone, grid, ["relu1"], precision="fp8", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        probe(toy_backbone, grid, ["relu1"], batch_size=0, progress=False)
    small = StimulusGrid.default(
        ppd=TOY_PPD, size=16, n_frequencies=3, n_orientations=2, n_phases=1, f_min=2, f_max=8
    )
    with pytest.raises(ValueError, match="needs images"):
        probe(toy_backbone, small, ["relu1"], progress=False)


def test_bf16_probe_ranks_like_fp32():
    bb = get_backbone("vgg16", "random:0")
    grid = StimulusGrid.default(size=48, n_frequencies=8, n_orientations=6, n_phases=1)
    a = probe(bb, grid, ["relu2_2"], precision="fp32", progress=False)
    b = probe(bb, grid, ["relu2_2"], precision="bf16", progress=False)
    x, y = a.responses["relu2_2"].ravel(), b.responses["relu2_2"].ravel()
    assert np.corrcoef(x, y)[0, 1] > 0.99
    assert not np.array_equal(x, y)  # bf16 really ran


def test_another_input_normalisation_is_probed_again(tmp_path):
    """Same weights, other input_norm: other responses, so the cache must not hand back the old."""
    feats = make_toy_backbone().model.features
    toy = Backbone("toy", feats, ["conv1", "relu1"], weights="toy")
    other = Backbone(
        "toy", feats, ["conv1", "relu1"], weights="toy",
        input_norm=((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    )  # fmt: skip
    grid = StimulusGrid.default(
        ppd=TOY_PPD, size=48, n_frequencies=3, n_orientations=2, n_phases=1, f_min=2, f_max=8
    )
    t1, _ = cached_probe(toy, grid, tmp_path, ["relu1"], progress=False)
    t2, cached = cached_probe(other, grid, tmp_path, ["relu1"], progress=False)
    assert not cached
    fresh = probe(other, grid, ["relu1"], progress=False)
    np.testing.assert_array_equal(t2.responses["relu1"], fresh.responses["relu1"])
    assert not np.allclose(t1.responses["relu1"], t2.responses["relu1"])
