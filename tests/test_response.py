"""Border-free responses (torus, interior), the trust flags and the paper-v1 preset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from conftest import fan_ins, gabor_kernel, rounding_atol
from hvsprobe import wrap
from hvsprobe.probe import probe
from hvsprobe.response import (
    ResponseConfig,
    TorusError,
    check_torus,
    circular_padding,
    interior_masks,
    plan_torus,
    torus_unit,
)
from hvsprobe.scores import ScoreConfig, compute_scores
from hvsprobe.selection import select_channels
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning


def small_net(seed: int = 0) -> nn.Sequential:
    """Padded convs, a stride-2 pool and ReLUs: every kind of border the rewrite handles."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(6, 5, 3, padding=1),
        nn.ReLU(),
    )


def test_circular_padding_is_equivariant_and_restores_the_modules():
    net = small_net()
    x = torch.rand(1, 3, 16, 24)
    with torch.no_grad(), circular_padding(net):
        y = net(x)
        rolled = net(torch.roll(x, shifts=(2, 4), dims=(2, 3)))
    assert y.shape == (1, 5, 8, 12)
    torch.testing.assert_close(rolled, torch.roll(y, shifts=(1, 2), dims=(2, 3)))
    assert net[0].padding == (2, 2) and net[2].padding == 1
    assert not net[0]._forward_pre_hooks and not net[2]._forward_pre_hooks


def test_torus_unit_and_check():
    bb = wrap(small_net(), ["4"], input_norm="none")
    assert torus_unit(bb, ["4"]) == 2
    check_torus(bb, ["4"], 2)


class PadsInside(nn.Module):
    """Pads inside forward(): invisible to the rewrite, caught by the equivariance check."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(nn.functional.pad(x, (1, 1, 1, 1))))


def test_check_torus_refuses_padding_inside_forward():
    bb = wrap(PadsInside(), ["conv"], input_norm="none")
    with pytest.raises(TorusError, match="pads or crops inside its forward"):
        check_torus(bb, ["conv"], 1)


def test_unsupported_module_is_refused():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(4), nn.ReLU())
    bb = wrap(net, ["2"], input_norm="none")
    grid = StimulusGrid.default(ppd=8, size=16, n_frequencies=3, n_orientations=2, n_phases=1)
    with pytest.raises(TorusError, match="AdaptiveAvgPool2d"):
        probe(bb, grid, ["2"], progress=False)
    probe(bb, grid, ["2"], response="whole_map", progress=False)  # the paper's route still works


def test_plan_torus_respects_the_tolerances():
    grid = StimulusGrid.default()
    cfg = ResponseConfig(frequency_tolerance=0.01, orientation_tolerance_deg=1.0)
    plan = plan_torus(grid.frequencies, grid.orientations, grid.ppd, 16, cfg)
    assert np.abs(plan.frequency_error).max() <= 0.01
    assert np.abs(plan.orientation_error_deg).max() <= 1.0
    assert (plan.height % 16 == 0).all() and (plan.width % 16 == 0).all()
    # axis-aligned gratings need only one unit across their bars
    assert (plan.height[:, 0] == 16).all() and (plan.width[:, 6] == 16).all()
    # no more pixels than the grid-sized stimuli
    assert plan.pixels() <= len(grid.frequencies) * len(grid.orientations) * 224 * 224


def test_torus_and_interior_agree_exactly_on_whole_period_gratings():
    """Axis-aligned gratings of period T px with T phases: the two routes are the same mean."""
    bb = wrap(small_net(), ["1", "4"], input_norm="none")
    period = 8
    grid = StimulusGrid(
        frequencies=(32.0 / period,),  # ppd 32 -> 4 cpd = 1/8 cycle per pixel
        orientations=(0.0, 90.0),
        phases=tuple(360.0 * k / period for k in range(period)),
        ppd=32.0,
        size=(32, 32),
    )
    torus = probe(bb, grid, ["1", "4"], progress=False)
    assert torus.config["response"]["torus"]["max_relative_frequency_error"] == 0.0
    interior = probe(bb, grid, ["1", "4"], response="interior", progress=False)
    whole = probe(bb, grid, ["1", "4"], response="whole_map", progress=False)
    for layer in ("1", "4"):
        a, b = torus.phase_mean(layer), interior.phase_mean(layer)
        scale = np.abs(a).max()
        # same sums on maps of other sizes (the CPU may pick other kernels): float32 rounding
        assert np.abs(a - b).max() <= 2 * rounding_atol(scale, fan_ins(bb))
        assert np.abs(whole.phase_mean(layer) - a).max() > 1e-3 * scale  # the border matters


def test_interior_masks_shrink_with_depth():
    bb = wrap(small_net(), ["1", "4"], input_norm="none")
    m = interior_masks(bb, ["1", "4"], (32, 32))
    assert m["1"].shape == (32, 32) and int(m["1"].sum()) == 28 * 28  # 5x5 conv, padding 2
    assert not m["4"][0].any() and bool(m["4"][8, 8])


class BorderChannelNet(nn.Module):
    """Channel 0 answers mostly to the zero-padded border; channels 1-4 to the grating.

    ``ones`` is a constant map; a 3x3 sum of it is 9 inside and at most 6 on the map's
    outer ring, so ``inside`` is 1 there and 0 on the ring. Channel 0 is
    ``relu(10 G - 1000 inside) + 0.2 G``: on the ring it is ``10.2 G``, inside ``0.2 G``.
    Channel 5 is ``0.001 G``: a weak channel.
    """

    def __init__(self) -> None:
        super().__init__()
        self.tuned = nn.Conv2d(3, 1, 15, padding=7, bias=False)
        k = gabor_kernel(4.0, 0.0, size=15)
        with torch.no_grad():
            self.tuned.weight.copy_(k.expand(1, 3, 15, 15) / 3)
        self.ones = nn.Conv2d(3, 1, 1)
        with torch.no_grad():
            self.ones.weight.zero_()
            self.ones.bias.fill_(1.0)
        self.count = nn.Conv2d(1, 1, 3, padding=1)
        with torch.no_grad():
            self.count.weight.fill_(2.0)
            self.count.bias.fill_(-17.0)  # 2 * (sum - 8.5): 1 inside, <= -5 on the ring
        self.out = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.relu(self.tuned(x))
        inside = torch.relu(self.count(self.ones(x))).clamp(max=1.0)
        border = torch.relu(10 * g - 1000 * inside) + 0.2 * g
        normal = [g * s for s in (1.0, 0.8, 1.2, 0.9)]
        return self.out(torch.cat([border, *normal, 0.001 * g], dim=1))


def border_grid() -> StimulusGrid:
    return StimulusGrid.default(
        ppd=32.0, size=32, n_frequencies=6, n_orientations=4, n_phases=4, f_min=1.0, f_max=12.0
    )


def test_border_channel_is_flagged_and_never_selected():
    bb = wrap(BorderChannelNet(), ["out"], input_norm="none")
    tuning = probe(bb, border_grid(), ["out"], progress=False)
    scores = compute_scores(tuning)
    t = scores.layer("out")
    assert t["border_share"][0] > 0.5 and t["border_dominated"][0]
    assert not t["border_dominated"][1:].any() and (t["border_share"][1:5] < 0.2).all()
    assert t["weak"].tolist() == [False, False, False, False, False, True]
    assert t["selectable"].tolist() == [False, True, True, True, True, False]
    for kwargs in (
        {"strategy": "top_fraction", "value": 1.0},
        {"strategy": "top_fraction", "value": 0.25, "bottom": True},
        {"strategy": "random_fraction", "value": 1.0},
        {"strategy": "threshold", "value": 0.0},
    ):
        chosen = select_channels(scores, **kwargs).layers["out"]["channels"]
        assert 0 not in chosen and 5 not in chosen, kwargs
    # the whole-map route has no border-free reference: the share is unknown, not 0
    whole = compute_scores(probe(bb, border_grid(), ["out"], response="whole_map", progress=False))
    assert np.isnan(whole.layer("out")["border_share"]).all()


def test_channel_tuned_beyond_the_grid_is_flagged_peak_at_top(toy_backbone):
    # toy channel 2 prefers 8 cpd at 90 deg; the grid stops at 6 cpd
    grid = StimulusGrid.default(
        ppd=32.0, size=64, n_frequencies=6, n_orientations=4, n_phases=2, f_min=1.0, f_max=6.0
    )
    scores = compute_scores(probe(toy_backbone, grid, ["relu1"], progress=False))
    t = scores.layer("relu1")
    assert t["peak_at_top"][2] and not t["peak_at_top"][0]
    assert t["peak_at_bottom"][0] or t["best_frequency_cpd"][0] < 2.5  # 2-cpd channel: low end
    summary = scores.summary()[0]
    assert summary["peak_at_top"] == int(t["peak_at_top"].sum()) >= 1


def _vfss_v1_by_hand(a: np.ndarray, f: np.ndarray) -> float:
    """The v1 formula written out: central differences inside, one-sided at the ends."""
    grad = np.empty_like(a)
    grad[0], grad[-1] = a[1] - a[0], a[-1] - a[-2]
    grad[1:-1] = (a[2:] - a[:-2]) / 2.0
    csf = 2.6 * (0.0192 + 0.114 * f) * np.exp(-0.114 * f) ** 1.1
    return float((csf * np.abs(grad)).sum())


def test_paper_v1_preset_reproduces_the_v1_vfss_of_a_known_curve():
    grid = StimulusGrid.paper_v1()
    f = np.asarray(grid.frequencies)
    assert f.size == 60 and np.allclose(np.diff(f), 0.5) and grid.kind == "concentric"
    curves = np.stack([np.exp(-((np.log(f / 4.0)) ** 2)), 0.3 + 0.01 * f, np.zeros_like(f)])
    resp = curves[:, :, None, None, None].astype(np.float32)
    tuning = Tuning({"relu3_2": resp}, grid, {"backbone": "x", "weights_sha256": "y"})
    scores = compute_scores(tuning, ScoreConfig(mu1="vfss_v1"))
    t = scores.layer("relu3_2")
    for c in range(2):
        assert t["mu1"][c] == pytest.approx(_vfss_v1_by_hand(curves[c].astype(np.float32), f))
    assert t["dead"][2] and np.isnan(t["mu2"]).all()  # concentric: no orientation score
    assert scores.config["score"]["csf"] == "mannos_sakrison_v1"


def test_csf_with_vfss_v1_is_refused_not_recorded():
    with pytest.raises(ValueError, match="does not apply to mu1='vfss_v1'"):
        ScoreConfig(mu1="vfss_v1", csf="castle_fit")
    with pytest.raises(ValueError, match="csf"):
        ScoreConfig(csf="bogus")
