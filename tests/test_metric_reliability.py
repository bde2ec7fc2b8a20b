"""Metrics never change on a call; dtypes, input ranges, double backward, PSNR's gradient.

Most tests run on tiny hand-built trunks (a few 3 x 3 convolutions) so the file takes seconds;
the calibration check after bf16 / fp16 / float64 calls needs the real AlexNet and LPIPS
weights (``weights`` marker) and the shared calibration data.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from torch import nn

from conftest import data_root, rounding_atol
from hvsprobe.backbones import Backbone, state_dict_sha256
from hvsprobe.metrics import (
    LPIPS,
    PerceptualDistance,
    channel_distances,
    load_image,
    lpips,
    psnr,
    ssim,
)
from hvsprobe.metrics.perceptual import perceptual_distance

CALIB = data_root() / "calibration"
PAIRS = ("I03", "I04", "I06", "I08", "I19")


def tiny_backbone(seed: int = 0, scale: float = 1.0) -> Backbone:
    """conv(3 -> 6) relu conv(6 -> 8) relu: two layers, seeded weights times ``scale``."""
    torch.manual_seed(seed)
    feats = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(), nn.Conv2d(6, 8, 3), nn.ReLU())
    with torch.no_grad():
        for p in feats.parameters():
            p.mul_(scale)
    digest = state_dict_sha256({f"features.{k}": v for k, v in feats.state_dict().items()})
    return Backbone(
        "tiny", feats, ["conv1", "relu1", "conv2", "relu2"], weights="t", weights_sha256=digest
    )


#: relu1 with every channel (no index), relu2 with some channels (the gather path).
WEIGHTS = {"relu1": np.ones(6), "relu2": np.array([1.0, 0, 0.5, 2.0, 0, 0, 1.0, 0])}


def _pair(n: int = 2, size: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g), torch.rand(n, 3, size, size, generator=g)


def _state(module: nn.Module) -> list[tuple[str, torch.dtype, torch.device, str]]:
    return [
        (k, v.dtype, v.device, state_dict_sha256({k: v}))
        for k, v in [*module.named_parameters(), *module.named_buffers()]
    ]


# ------------------------------------------------------------------------------ no side effects


def test_no_call_changes_the_module_or_a_shared_backbone():
    bb = tiny_backbone()
    a = PerceptualDistance(bb, WEIGHTS)
    b = PerceptualDistance(bb, None)  # a second metric sharing the backbone
    x, y = _pair()
    before_a, before_b = _state(a), _state(b)
    with torch.no_grad():
        ref_a, ref_b = a(x, y), b(x, y)
        for dtype in (torch.bfloat16, torch.float16, torch.float64):
            da, db = a(x.to(dtype), y.to(dtype)), b(x.to(dtype), y.to(dtype))
            want = torch.float64 if dtype == torch.float64 else torch.float32
            assert da.dtype == db.dtype == want
            assert _state(a) == before_a and _state(b) == before_b, dtype
        with torch.autocast("cpu", dtype=torch.bfloat16):
            dc = a(x, y)
        assert dc.dtype == torch.float32 and _state(a) == before_a
        assert torch.equal(a(x, y), ref_a) and torch.equal(b(x, y), ref_b)


def test_functional_forms_share_an_unchanged_backbone():
    bb = tiny_backbone()
    x, y = _pair()
    ref = perceptual_distance(x, y, backbone=bb)
    d64 = perceptual_distance(x.double(), y.double(), backbone=bb, selection=WEIGHTS)
    dbf = perceptual_distance(x.bfloat16(), y.bfloat16(), backbone=bb)
    assert d64.dtype == torch.float64 and dbf.dtype == torch.float32
    assert next(bb.parameters()).dtype == torch.float32
    assert torch.equal(perceptual_distance(x, y, backbone=bb), ref)


def test_channel_decomposition_in_other_dtypes():
    bb = tiny_backbone()
    x, y = _pair(seed=9)
    ref = channel_distances(bb, x, y, ["relu1", "relu2"])
    d64 = channel_distances(bb, x.double(), y.double(), ["relu2", "relu1"])
    dbf = channel_distances(bb, x.bfloat16(), y.bfloat16(), ["relu1", "relu2"])
    for layer in ("relu1", "relu2"):
        # float32 vs float64 through conv fan-ins 27 and 54: the rounding bound at each scale
        atol = rounding_atol(float(np.abs(d64[layer]).max()), [27, 54])
        np.testing.assert_allclose(d64[layer], ref[layer], rtol=0, atol=atol)
        assert dbf[layer].shape == ref[layer].shape and np.isfinite(dbf[layer]).all()
    assert next(bb.parameters()).dtype == torch.float32


def test_float64_matches_float32_and_half_inputs_are_upcast():
    bb = tiny_backbone()
    m = PerceptualDistance(bb, WEIGHTS)
    x, y = _pair(seed=3)
    d32 = m(x, y)
    d64 = m(x.double(), y.double())
    torch.testing.assert_close(d64.float(), d32, rtol=rounding_atol(1.0, [27, 54]), atol=0)
    # float16 inputs: the images are rounded to float16, the rest runs in float32
    dh = m(x.half(), y.half())
    torch.testing.assert_close(dh, m(x.half().float(), y.half().float()), rtol=0, atol=0)


def test_half_module_keeps_float32_norms():
    """A module converted to float16 on purpose: features above 256 would overflow x^2."""
    bb = tiny_backbone(scale=150.0)
    m32 = PerceptualDistance(bb, WEIGHTS)
    x, y = _pair(seed=4)
    with torch.no_grad():
        ref = m32(x, y)
        feats = bb.extract(x, ["relu1"])["relu1"]
        assert float(feats.pow(2).sum(1).sqrt().max()) > 256  # the fp16 square overflows
        m16 = PerceptualDistance(tiny_backbone(scale=150.0), WEIGHTS).half()
        d16 = m16(x.half(), y.half())
    assert d16.dtype == torch.float32
    # float16 weights and activations (eps 9.8e-4) through fan-ins 27 and 54: rounding errors of
    # random sign grow like sqrt(n) eps per sum, sqrt(27) + sqrt(54) ~ 12.5 eps ~ 1.2e-2; 2e-2
    # leaves room for the float16 inputs (the worst case, 81 eps, would accept 8 %)
    torch.testing.assert_close(d16, ref, rtol=2e-2, atol=0)


# ------------------------------------------------------------------------------ gradients


@pytest.mark.parametrize("channels_last", [True, False])
def test_double_backward_on_every_path(channels_last):
    bb = tiny_backbone()
    m = PerceptualDistance(bb, WEIGHTS, channels_last=channels_last)
    x, y = _pair(1, 6, seed=5)
    x, y = x.double().requires_grad_(True), y.double()
    assert torch.autograd.gradcheck(lambda a: m(a, y), (x,), fast_mode=True)
    assert torch.autograd.gradgradcheck(lambda a: m(a, y), (x,), fast_mode=True)
    # both images needing gradients: the joint trunk pass
    y2 = y.clone().requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda a, b: m(a, b), (x, y2), fast_mode=True)


def _double_backward(bb: Backbone, x: torch.Tensor, y: torch.Tensor, cl: bool) -> torch.Tensor:
    a = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(PerceptualDistance(bb, WEIGHTS, channels_last=cl)(a, y).sum(),
                               a, create_graph=True)  # fmt: skip
    (gg,) = torch.autograd.grad(g.pow(2).sum(), a)
    assert torch.isfinite(gg).all() and gg.abs().sum() > 0
    return gg


def test_double_backward_paths_agree_in_float32():
    bb = tiny_backbone()
    x, y = _pair(1, 10, seed=6)
    ref = _double_backward(bb, x.double(), y.double(), cl=False)  # runs in float64
    # Each float32 path against the float64 computation, element-wise to a bound on the whole
    # tensor's scale: a sum of n products rounds to within n * eps * sum|terms| (Higham, ch. 3),
    # and the double backward runs both convolutions (fan-in 27 and 54) three times (forward,
    # backward, backward of backward), so 3 * (27 + 54) * eps * max|ref|. A relative bound per
    # element would not hold where the entries cancel to near zero: which elements land there
    # depends on the CPU's kernels (AVX-512/AMX vs AVX2 blocking), not on the code under test.
    atol = 3 * (27 + 54) * torch.finfo(torch.float32).eps * float(ref.abs().max())
    for cl in (True, False):
        got = _double_backward(bb, x, y, cl)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), ref, rtol=0, atol=atol, msg=f"channels_last={cl}")


def test_psnr_gradient_is_finite_for_identical_images():
    x = torch.rand(2, 3, 8, 8)
    a = x.clone().requires_grad_(True)
    value = psnr(a, torch.cat([x[:1], x[1:] * 0.5]))
    assert torch.isinf(value[0]) and torch.isfinite(value[1])
    value[1].backward()
    assert torch.isfinite(a.grad).all()
    a.grad = None
    psnr(a, x).sum().backward()
    assert torch.equal(a.grad, torch.zeros_like(x))
    b = torch.rand(1, 3, 16, 16)
    c = b.clone().requires_grad_(True)
    ssim(c, b).sum().backward()
    assert torch.isfinite(c.grad).all()


# ------------------------------------------------------------------------------ input range


def test_input_range_minus_one_one_matches_unit_inputs():
    bb = tiny_backbone()
    x, y = _pair(seed=7)
    ref = PerceptualDistance(bb, WEIGHTS)(x, y)
    m = PerceptualDistance(bb, WEIGHTS, input_range=(-1, 1))
    torch.testing.assert_close(m(x * 2 - 1, y * 2 - 1), ref)
    assert m.input_range == (-1.0, 1.0)
    # a bright [-1, 1] crop with no negative pixel is NOT recognised without the option
    bright_x, bright_y = x * 0.5 + 0.5, y * 0.5 + 0.5
    wrong = PerceptualDistance(bb, WEIGHTS)(bright_x, bright_y)
    right = m(bright_x, bright_y)
    assert not torch.allclose(wrong, right, rtol=1e-2)
    torch.testing.assert_close(
        right, PerceptualDistance(bb, WEIGHTS)((bright_x + 1) / 2, (bright_y + 1) / 2)
    )
    torch.testing.assert_close(
        perceptual_distance(x * 2 - 1, y * 2 - 1, backbone=bb, input_range=(-1, 1)),
        perceptual_distance(x, y, backbone=bb),
    )
    for fn in (psnr, ssim):
        a, b = _pair(1, 16, seed=8)
        torch.testing.assert_close(fn(a * 2 - 1, b * 2 - 1, input_range=(-1, 1)), fn(a, b))


@pytest.mark.parametrize(
    ("lo", "hi", "value_range", "fragment"),
    [
        (-0.01, 0.9, (0, 1), r"clamp with x.clamp\(0, 1\).*input_range=\(-1, 1\)"),
        (0.0, 1.02, (0, 1), r"clamp with x.clamp\(0, 1\)\.$"),
        (-0.8, 0.95, (0, 1), r"looks like \[-1, 1\] input: pass input_range=\(-1, 1\)"),
        (0.0, 230.0, (0, 1), r"\[0, 255\] input: divide by 255\.$"),
        (0.0, 60000.0, (0, 1), "divide by 65535"),
        (-1.03, 0.5, (-1, 1), r"clamp with x.clamp\(-1, 1\)"),
        (0.0, 200.0, (-1, 1), r"divide by 255 and pass input_range=\(0, 1\)"),
        (-5.0, 5.0, (0, 1), r"got range \[-5, 5\]\.$"),
    ],
)
def test_range_hints(lo, hi, value_range, fragment):
    bb = tiny_backbone()
    m = PerceptualDistance(bb, WEIGHTS, input_range=value_range)
    x = torch.linspace(lo, hi, 3 * 8 * 8).view(1, 3, 8, 8)
    with pytest.raises(ValueError, match=fragment):
        m(x, x)


# ------------------------------------------------------------------------------ real weights


@pytest.mark.weights
@pytest.mark.skipif(
    not (CALIB / "official_values.csv").is_file(), reason=f"no calibration data under {CALIB}"
)
def test_lpips_alex_calibration_survives_bf16_fp16_float64_calls():
    with open(CALIB / "official_values.csv", newline="") as fh:
        official = {r["metric"]: [float(r[p]) for p in PAIRS] for r in csv.DictReader(fh)}
    x = torch.cat([load_image(CALIB / "ref" / f"{p}.png") for p in PAIRS])
    y = torch.cat([load_image(CALIB / "dist" / f"{p}.png") for p in PAIRS])
    metric = LPIPS("alex")
    crop_x, crop_y = x[:2, :, :64, :64], y[:2, :, :64, :64]
    with torch.no_grad():
        for dtype in (torch.bfloat16, torch.float16, torch.float64):
            metric(crop_x.to(dtype), crop_y.to(dtype))
            lpips(crop_x.to(dtype), crop_y.to(dtype), net="alex")  # the cached functional one
        for d in (metric(x, y), lpips(x, y, net="alex")):
            assert d.dtype == torch.float32
            for value, ref in zip(d.tolist(), official["lpips_alex_v0.1"], strict=True):
                assert round(value, 3) == round(ref, 3), (value, ref)
