"""The phase study (hvsprobe.experiments.phase_study) and the studies' provenance record."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hvsprobe import wrap
from hvsprobe.analyze import analyze
from hvsprobe.experiments import phase_study
from hvsprobe.experiments.provenance import command_line, run_meta
from hvsprobe.probe import Tuning
from hvsprobe.scores import ScoreConfig, compute_scores
from hvsprobe.stimuli import StimulusGrid


def _folder(tmp_path: Path, n_phases: int) -> Path:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.ReLU())
    bb = wrap(net, ["1"], input_norm="none", name="tiny")
    grid = StimulusGrid.default(size=32, n_frequencies=4, n_orientations=4, n_phases=n_phases)
    return analyze(bb, grid=grid, out=tmp_path / f"p{n_phases}", progress=False).out


def test_phase_study_page_and_subsets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _folder(tmp_path, 4)
    tuning = Tuning.load(results)
    # all four phases in their order: the same scores as the full tuning
    full = compute_scores(tuning, ScoreConfig()).layer("1")
    same = compute_scores(phase_study.phase_subset(tuning, [0, 1, 2, 3]), ScoreConfig()).layer("1")
    np.testing.assert_array_equal(full["pe"], same["pe"])
    rows = phase_study.phase_rows(tuning)
    assert [r[0] for r in rows] == list(phase_study.PHASE_SUBSETS)
    assert all(-1.0 <= r[2] <= 1.0 for r in rows if np.isfinite(r[2]))

    page = tmp_path / "phase.md"
    assert phase_study.main([str(results), "--out", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert f"python -m hvsprobe.experiments.phase_study {results} --out {page}" in text
    assert text.count("| 1 phase (0°) | 1 |") == 1
    assert capsys.readouterr().out == text


def test_phase_study_refuses_other_grids_and_needs_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _folder(tmp_path, 2)
    page = tmp_path / "phase.md"
    assert phase_study.main([str(results), "--out", str(page)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and err[0].startswith("hvsprobe experiment phase_study: error:")
        and "2 phases" in err[0]
    )
    assert not page.exists()
    with pytest.raises(SystemExit) as exc:  # no default page that could overwrite docs/results
        phase_study.main([str(results)])
    assert exc.value.code == 2


def test_run_meta_record() -> None:
    t0 = time.perf_counter()
    meta = run_meta("border_study", ["--out", "a b.md"], t0, {"folders_command": "x"})
    assert list(meta) == ["date", "command", "folders_command", "wall_s", "machine", "cpus"]
    assert meta["command"] == "python -m hvsprobe.experiments.border_study --out 'a b.md'"
    assert meta["date"].endswith(" UTC") and 0 <= meta["wall_s"] < 60
    assert command_line("ppd_study", ["x"]) == "python -m hvsprobe.experiments.ppd_study x"


def test_phase_rows_known_answer() -> None:
    # A tuning built so that every answer is known: phases 90° and 270° and the pair
    # (0°, 180°) average to the same curves T as all four phases (rho = 1), while phase 0°
    # alone shows T with its channels in reverse order. The channels are sorted by T's PE,
    # so the single phase's PE ranking is exactly reversed (rho = -1); mu1 and mu2 follow
    # the reversal of their own values.
    grid = StimulusGrid.default(size=32, n_frequencies=5, n_orientations=4, n_phases=4)
    rng = np.random.default_rng(5)
    t = rng.random((7, 5, 4)) + 0.05
    base = Tuning({"l": np.repeat(t[..., None, None], 4, axis=3)}, grid, {"backbone": "hand"})
    pe = compute_scores(base, ScoreConfig()).layer("l")["pe"]
    t = t[np.argsort(pe)]
    one = t[::-1]
    r = np.stack([one, t, 2 * t - one, t], axis=3)[..., None]  # C F O P K, phases 0/90/180/270
    rows = phase_study.phase_rows(Tuning({"l": r}, grid, {"backbone": "hand"}))
    s = compute_scores(
        Tuning({"l": np.repeat(t[..., None, None], 4, axis=3)}, grid, {}), ScoreConfig()
    )
    mu1, mu2 = s.layer("l")["mu1"], s.layer("l")["mu2"]
    from scipy.stats import spearmanr

    want = {
        "1 phase (0°)": (-1.0, spearmanr(mu1[::-1], mu1)[0], spearmanr(mu2[::-1], mu2)[0]),
        "2 phases (0°, 180°)": (1.0, 1.0, 1.0),
        "2 phases (90°, 270°)": (1.0, 1.0, 1.0),
    }
    assert len(rows) == 3
    for label, layer, *rho in rows:
        assert layer == "l"
        np.testing.assert_allclose(rho, want[label], atol=1e-12)
