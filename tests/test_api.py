"""The flat API (``hvsprobe.analyze``, top-level names) against independent computations.

The scores of the in-memory result are recomputed here from its tuning with the formulas
of docs/method.md (sections 3-7), written out with numpy alone; the hand-built Gabor
network of conftest.py has a known preferred frequency and orientation per channel.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hvsprobe
from conftest import TOY_PPD, TOY_TUNING, make_toy_backbone
from hvsprobe.human import get_csf


@pytest.fixture(scope="module")
def toy_result() -> hvsprobe.api.Result:
    grid = hvsprobe.StimulusGrid.default(
        size=64, ppd=TOY_PPD, n_frequencies=8, n_orientations=8, n_phases=2, f_min=1.0, f_max=12.0
    )
    return hvsprobe.analyze(make_toy_backbone(), layers=["relu1"], grid=grid)


def method_md_scores(result: hvsprobe.api.Result, layer: str = "relu1") -> dict[str, np.ndarray]:
    """mu1 (csf_logslope, barten), mu2 (circular) and PE (product_layer_max) by docs/method.md."""
    grid = result.tuning.grid
    resp = np.asarray(result.tuning.responses[layer], dtype=np.float64)  # C F O P K
    r = resp[..., -1].mean(axis=3)  # phase average at the highest contrast: C F O
    f = np.asarray(grid.frequencies, dtype=np.float64)  # the nominal grid
    theta = np.deg2rad(np.asarray(grid.orientations, dtype=np.float64))
    side = grid.size[0] / grid.ppd
    s = get_csf("barten", luminance=100.0, field_size_deg=side)(f)
    lnf = np.log(f)
    w = np.zeros_like(lnf)  # trapezoid weights in ln f
    w[:-1] += np.diff(lnf) / 2
    w[1:] += np.diff(lnf) / 2
    n = r.shape[0]
    mu1, mu2 = np.full(n, np.nan), np.full(n, np.nan)
    for m in range(n):
        fi, oi = np.unravel_index(np.argmax(r[m]), r[m].shape)
        a = r[m, :, oi]  # the frequency curve at the preferred orientation
        if np.max(np.abs(r[m])) <= 1e-12:
            continue  # dead
        slope = np.abs(np.gradient(a / np.max(np.abs(a)), lnf))
        mu1[m] = np.sum(w * s * slope) / np.sum(w * s)
        o = np.maximum(r[m, fi, :], 0.0)
        mu2[m] = np.abs(np.sum(o * np.exp(2j * theta))) / np.sum(o)
    ok = np.asarray(result.scores.layer(layer)["selectable"], dtype=bool)
    pe = mu1 / np.max(mu1[ok]) * mu2 / np.max(mu2[ok])
    return {"mu1": mu1, "mu2": mu2, "pe": pe, "selectable": ok}


def test_analyze_in_memory_matches_the_formulas(toy_result, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = toy_result
    assert res.out is None and list(tmp_path.iterdir()) == []  # nothing written
    want = method_md_scores(res)
    for col in ("mu1", "mu2", "pe"):
        got = np.asarray(res.scores.layer("relu1")[col], dtype=np.float64)
        # float32 responses, float64 arithmetic on both sides: equal to rounding
        np.testing.assert_allclose(got, want[col], rtol=1e-9, atol=1e-12, equal_nan=True)
    # the dead channel (bias -100) has no scores and is never selected
    assert np.isnan(want["pe"][-1]) and bool(res.scores.layer("relu1")["dead"][-1])
    # the default selection: the top ceil(0.25 n) selectable channels by PE
    ok = want["selectable"]
    k = math.ceil(0.25 * int(ok.sum()))
    order = [int(i) for i in np.argsort(-np.where(ok, want["pe"], -np.inf), kind="stable")]
    assert sorted(res.selection.layers["relu1"]["channels"]) == sorted(order[:k])


def test_analyze_finds_the_known_tuning(toy_result) -> None:
    best_f = np.asarray(toy_result.scores.layer("relu1")["best_frequency_cpd"])
    orient = np.asarray(toy_result.scores.layer("relu1")["preferred_orientation_deg"])
    for c, (f, o) in enumerate(TOY_TUNING):
        assert abs(math.log2(best_f[c] / f)) < 0.5, (c, best_f[c], f)  # within half an octave
        d = abs((orient[c] - o + 90.0) % 180.0 - 90.0)
        assert d < 12.0, (c, orient[c], o)


def test_selected_metric_on_a_wrapped_model(toy_result) -> None:
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    y = x.flip(0)
    metric = hvsprobe.get_metric(
        "selected", selection=toy_result.selection, backbone=toy_result.backbone
    )
    d = metric(x, y)
    assert d.shape == (2,) and bool((d > 0).all())
    assert float(metric(x, x).abs().max()) == 0.0
    with pytest.raises(ValueError, match="not a registered backbone: pass backbone="):
        hvsprobe.get_metric("selected", selection=toy_result.selection)


def test_analyze_with_out_writes_the_folder(toy_result, tmp_path) -> None:
    res = hvsprobe.analyze(
        make_toy_backbone(), layers=["relu1"], grid=toy_result.tuning.grid, out=tmp_path / "r"
    )
    assert res.out == tmp_path / "r" and (res.out / "scores.csv").is_file()
    np.testing.assert_array_equal(
        res.scores.layer("relu1")["pe"], toy_result.scores.layer("relu1")["pe"]
    )
    assert res.selection.layers == toy_result.selection.layers


def test_top_level_names_are_lazy() -> None:
    code = (
        "import sys, hvsprobe; assert 'torch' not in sys.modules; "
        "names = ['analyze', 'probe', 'StimulusGrid', 'PerceptualDistance', 'LPIPS', "
        "'get_metric', 'wrap']; "
        "assert all(callable(getattr(hvsprobe, n)) for n in names); "
        "import hvsprobe.analyze as an, hvsprobe.probe as pr; "
        "assert callable(an) and callable(an.analyze) and pr.probe.__module__ == 'hvsprobe.probe'"
    )
    src = str(Path(hvsprobe.__file__).resolve().parents[1])
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
