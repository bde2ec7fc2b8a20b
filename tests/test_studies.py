"""The border and viewing-condition study generators on a small network and tiny grids."""

from __future__ import annotations

import json

import numpy as np
import torch
from torch import nn

from hvsprobe import wrap
from hvsprobe.analyze import analyze
from hvsprobe.experiments import border_study, ppd_study
from hvsprobe.experiments.border_routes import agreement, route_flops
from hvsprobe.flops import forward_flops
from hvsprobe.stimuli import StimulusGrid


def net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
    )


def grid(ppd: float = 16.0) -> StimulusGrid:
    return StimulusGrid.default(ppd=ppd, size=32, n_frequencies=4, n_orientations=4, n_phases=2)


def test_route_agreement_and_flops_on_a_small_network():
    bb = wrap(net(), ["1", "4"], input_norm="none")
    ag = agreement(bb, ["1", "4"], periods=(4, 8), ppd=16.0, size=32)
    assert ag["unit_px"] == 2 and ag["no_interior"] == []
    for row in ag["layers"].values():
        assert row["interior"] < 1e-5 and row["whole"] > 1e-4
    # a torus's FLOPs are proportional to its pixels
    assert forward_flops(bb, ["4"], (16, 16), torus=True) * 4 == forward_flops(
        bb, ["4"], (32, 32), torus=True
    )
    fl = route_flops(bb, ["4"], grid())
    assert fl["interior"] > fl["whole_map"] > 0 and fl["torus"] > 0


def test_folder_comparison_and_ppd_comparison(tmp_path):
    bb = wrap(net(), ["1", "4"], input_norm="none", name="small")
    whole = analyze(bb, grid=grid(), out=tmp_path / "whole", response="whole_map", progress=False)
    free = analyze(bb, grid=grid(), out=tmp_path / "free", progress=False)
    rows = border_study.folder_comparison(whole.out, free.out)
    assert [r["layer"] for r in rows] == ["1", "4"]
    for r in rows:
        assert r["new_selected_border"] == r["new_selected_weak"] == 0
        assert 0 <= r["top25_overlap"] <= 1
    other = analyze(bb, grid=grid(ppd=12.0), out=tmp_path / "ppd12", progress=False)
    res = ppd_study.ppd_comparison([other.out, free.out])
    assert res["ppd"] == [12.0, 16.0]
    assert {p["layer"] for p in res["pairs"]} == {"1", "4"}
    assert all(np.isfinite(p["spearman_pe"]) or p["n_channels"] < 3 for p in res["pairs"])
    page = tmp_path / "ppd.md"
    assert ppd_study.main([str(other.out), str(free.out), "--out", str(page)]) == 0
    assert "Viewing-condition study" in page.read_text()
    assert json.loads(page.with_suffix(".json").read_text())["kind"] == "ppd_study"
    assert ppd_study.main([str(tmp_path / "nope"), "--out", str(page)]) == 2
