"""Tests for hvsprobe.experiments.csf_study: PE rank changes between CSFs, the generated page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hvsprobe.experiments import csf_study
from hvsprobe.human import heldout
from hvsprobe.scores import ScoreConfig, compute_scores
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning

CSFS = ("castle_fit", "barten", "mannos_sakrison")


def _tiny_tuning() -> Tuning:
    """Two layers with known structure.

    ``same_shape``: 8 channels with one frequency curve and orientation tuning of rising
    sharpness, so mu1 is equal and PE ranks by mu2 alone, whatever the CSF.
    ``bumps``: 9 channels, each a log-Gaussian frequency bump at its own centre (0.7-20 cpd),
    equal orientation tuning, so PE ranks by mu1 and depends on where the CSF peaks; plus a
    dead (all-zero) channel.
    """
    grid = StimulusGrid.default(size=32, n_frequencies=16, n_orientations=6, n_phases=1)
    f = np.asarray(grid.frequencies)
    th = np.deg2rad(np.asarray(grid.orientations))
    k = np.linspace(0.5, 8.0, 8)
    orient = np.exp(k[:, None] * (np.cos(2 * th)[None, :] - 1))  # 8 x O
    curve = np.exp(-0.5 * (np.log(f / 3.0) / 0.6) ** 2)
    same = curve[None, :, None] * orient[:, None, :]
    centres = np.geomspace(0.7, 20.0, 9)
    bumps = np.exp(-0.5 * (np.log(f[None, :] / centres[:, None]) / 0.5) ** 2)
    bumps = bumps[:, :, None] * np.exp(3.0 * (np.cos(2 * th) - 1))[None, None, :]
    bumps = np.concatenate([bumps, np.zeros((1, *bumps.shape[1:]))])
    responses = {
        "same_shape": same[..., None, None].astype(np.float32),
        "bumps": bumps[..., None, None].astype(np.float32),
    }
    config = {"backbone": "toy", "weights_sha256": "ab" * 32, "grid": grid.to_dict()}
    return Tuning(responses=responses, grid=grid, config=config)


@pytest.fixture(scope="module")
def study() -> dict:
    return csf_study.csf_rank_study(_tiny_tuning(), CSFS)


def _row(study: dict, layer: str, a: str, b: str) -> dict:
    (row,) = [
        r for r in study["rows"] if r["layer"] == layer and {r["csf_a"], r["csf_b"]} == {a, b}
    ]
    return row


def test_rank_study_rows(study: dict) -> None:
    assert study["kind"] == "csf_study" and study["csfs"] == list(CSFS)
    assert len(study["rows"]) == 2 * 3  # two layers x three pairs
    json.dumps(study)
    for r in study["rows"]:
        if r["layer"] == "bumps":
            assert r["n_channels"] == 10 and r["n_ranked"] == 9  # the dead channel is out
            assert r["n_top_a"] == r["n_top_b"] == 3  # ceil(0.25 * 9)
        else:
            assert r["n_ranked"] == 8 and r["n_top_a"] == 2


def test_rank_study_same_frequency_shape_is_csf_independent(study: dict) -> None:
    for a, b in (("castle_fit", "barten"), ("castle_fit", "mannos_sakrison")):
        r = _row(study, "same_shape", a, b)
        assert r["spearman_pe"] == pytest.approx(1.0)
        assert r["top_overlap"] == 1.0


def test_rank_study_matches_direct_rescoring(study: dict) -> None:
    from scipy.stats import spearmanr

    tuning = _tiny_tuning()
    pe = {
        n: compute_scores(tuning, ScoreConfig(csf=n)).layer("bumps")["pe"][:9]
        for n in ("castle_fit", "mannos_sakrison")
    }
    expected = spearmanr(pe["castle_fit"], pe["mannos_sakrison"])[0]
    r = _row(study, "bumps", "castle_fit", "mannos_sakrison")
    assert r["spearman_pe"] == pytest.approx(expected)
    # the CSFs peak at 2.9 and 7.9 cpd: channels tuned at different frequencies swap ranks
    assert r["spearman_pe"] < 0.9
    top = {n: set(np.argsort(-v)[:3].tolist()) for n, v in pe.items()}
    assert r["top_overlap"] == pytest.approx(len(top["castle_fit"] & top["mannos_sakrison"]) / 3)
    assert r["top_overlap"] < 1.0
    # the best channel under each CSF is tuned lower for castle_fit than for Mannos-Sakrison
    assert np.argmax(pe["castle_fit"]) < np.argmax(pe["mannos_sakrison"])


def test_rank_study_input_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="two different CSFs"):
        csf_study.csf_rank_study(_tiny_tuning(), ["barten", "barten"])
    with pytest.raises(ValueError, match="fraction"):
        csf_study.csf_rank_study(_tiny_tuning(), CSFS, fraction=0.0)
    with pytest.raises(ValueError, match="unknown|CSF"):
        csf_study.csf_rank_study(_tiny_tuning(), ["barten", "no_such_csf"])
    with pytest.raises(FileNotFoundError, match="tuning.json"):
        csf_study.csf_rank_study(tmp_path, CSFS)


def test_rank_study_uses_the_folders_score_settings(tmp_path: Path) -> None:
    tuning = _tiny_tuning()
    tuning.save(tmp_path)
    compute_scores(tuning, ScoreConfig(mu2="peak", csf="barten")).save(tmp_path)
    study = csf_study.csf_rank_study(tmp_path, ("castle_fit", "barten"))
    assert study["score_config"]["mu2"] == "peak"
    compute_scores(tuning, ScoreConfig(mu1="vfss_v1")).save(tmp_path)
    with pytest.raises(ValueError, match="vfss_v1"):
        csf_study.csf_rank_study(tmp_path, ("castle_fit", "barten"))


_REAL_TABLE = heldout.csf_heldout_table


def _fake_heldout(data_root=None):
    rng = np.random.default_rng(1)
    f = np.geomspace(0.5, 20, 30)
    rows = {
        "frequency": f,
        "luminance": np.full(30, 100.0),
        "area": np.full(30, 10.0),
        "field_size_deg": np.full(30, np.sqrt(10.0)),
        "dataset": np.repeat(["x", "y", "z"], 10),
        "sensitivity": 100 * 10 ** rng.normal(0, 0.1, 30),
    }
    models = [m for m in heldout.default_models() if m.name != "castle_fit"]
    return _REAL_TABLE(rows=rows, models=models)


def test_main_writes_page_and_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    _tiny_tuning().save(results)
    monkeypatch.setattr(heldout, "csf_heldout_table", _fake_heldout)
    out = tmp_path / "page" / "csf_study.md"
    assert csf_study.main([str(results), "--out", str(out)]) == 0
    text = out.read_text()
    assert "python -m hvsprobe.experiments.csf_study" in text and str(results) in text
    assert "| bumps |" in text and "Lowest pooled LODO error" in text
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["kind"] == "csf_study" and doc["schema_version"] == 1
    assert len(doc["heldout_csf_error"]) == 3 and len(doc["rows"]) == 6


def test_main_missing_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = csf_study.main([str(tmp_path / "nothing"), "--data-root", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hvsprobe experiment csf_study: error:")
