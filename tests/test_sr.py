"""Super-resolution: model, degradation, protocol, training, resume, DDP, CLI, experiment logic."""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import rounding_atol
from hvsprobe.backbones import get_backbone
from hvsprobe.experiments.claim2_config import restrict_selection
from hvsprobe.experiments.claim2_stats import compute_verdicts, matched_psnr_gap
from hvsprobe.selection import Selection
from hvsprobe.sr.checkpoints import load_checkpoint
from hvsprobe.sr.data import (
    ImageBank,
    PatchDataset,
    batch_indices,
    bicubic_downscale,
    bicubic_upscale,
    make_loader,
    matlab_imresize,
    mod_crop,
)
from hvsprobe.sr.eval import psnr_y, rgb_to_y, shave, ssim_wang, ssim_y
from hvsprobe.sr.launch import launch_local
from hvsprobe.sr.losses import random_like
from hvsprobe.sr.model import PRESETS, build_model
from hvsprobe.sr.train import TrainConfig, train


def _data_root() -> Path:
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def _synthetic_images(n: int = 4, size: int = 64, seed: int = 0) -> list[torch.Tensor]:
    """Smooth colour gradients, a sinusoid and a sharp edge: something an SR net can learn."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size) / size, torch.arange(size) / size, indexing="ij")
    out = []
    for _ in range(n):
        f, th, c = torch.rand(3, generator=g)
        wave = 0.5 + 0.25 * torch.sin(
            2 * math.pi * (2 + 6 * f) * (xx * torch.cos(th * 3) + yy * torch.sin(th * 3))
        )
        edge = (xx + 0.3 * yy > 0.4 + 0.3 * c).float()
        rgb = torch.stack([wave, 0.6 * wave + 0.3 * edge, 0.2 + 0.5 * edge * yy])
        out.append(rgb.clamp(0, 1))
    return out


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> object:
    """One intra-op thread: on a small shared machine two threads are several times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_bank() -> ImageBank:
    return ImageBank.from_tensors(_synthetic_images())


@pytest.fixture(scope="module")
def random_vgg_selection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hand-made selection on the seeded random VGG-16 (no probe, no real weights)."""
    bb = get_backbone("vgg16", "random:0")
    sel = Selection(
        backbone="vgg16",
        weights_sha256=bb.weights_sha256,
        layers={
            "relu1_2": {"channels": list(range(0, 64, 4)), "weights": [1.0] * 16, "n_channels": 64},
            "relu2_2": {
                "channels": list(range(0, 128, 4)),
                "weights": [1.0] * 32,
                "n_channels": 128,
            },
        },
        strategy={"name": "hand-made"},
    )
    return sel.save(tmp_path_factory.mktemp("sel") / "selection.json")


def _tiny_config(out: Path, **kw: object) -> TrainConfig:
    base: dict[str, object] = {
        "out": str(out),
        "steps": 20,
        "n_blocks": 1,
        "n_feats": 8,
        "batch_size": 4,
        "patch": 32,
        "lr": 2e-3,
        "schedule": "constant",
        "progress": False,
        "log_every": 1,
        "device": "cpu",
        "backbone_weights": "random:0",
    }
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def _log_losses(out: Path) -> list[float]:
    with open(out / "log.csv", newline="") as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


# --------------------------------------------------------------------------------------
# model


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_model_shape_and_range(preset: str) -> None:
    model = build_model(preset, seed=0).eval()
    lr = torch.rand(2, 3, 6, 7)
    with torch.no_grad():
        raw = model(lr)
    assert raw.shape == (2, 3, 24, 28)
    assert torch.isfinite(raw).all()
    sr = model.super_resolve(lr)
    assert sr.shape == (2, 3, 24, 28)
    assert float(sr.min()) >= 0.0 and float(sr.max()) <= 1.0
    assert torch.allclose(sr * 255, (sr * 255).round(), atol=1e-4)  # 8-bit levels
    cfg = PRESETS[preset]
    assert len(model.body) == cfg.n_blocks and model.head.out_channels == cfg.n_feats


def test_model_seed_is_reproducible() -> None:
    a, b = build_model("small", seed=3), build_model("small", seed=3)
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(va, vb), ka


# --------------------------------------------------------------------------------------
# degradation


def test_degradation_sizes_range_and_constant() -> None:
    img = torch.rand(3, 41, 50)
    hr = mod_crop(img, 4)
    assert hr.shape == (3, 40, 48)
    lr = bicubic_downscale(hr)
    assert lr.shape == (3, 10, 12)
    assert float(lr.min()) >= 0 and float(lr.max()) <= 1
    assert torch.allclose(lr * 255, (lr * 255).round(), atol=1e-4)
    const = torch.full((1, 3, 32, 24), 100 / 255)
    assert torch.allclose(bicubic_downscale(const), const[..., ::4, ::4], atol=1e-7)
    u8 = (torch.rand(3, 16, 16) * 255).to(torch.uint8)
    assert bicubic_downscale(u8).dtype == torch.uint8
    with pytest.raises(ValueError, match="multiple"):
        bicubic_downscale(img)


def test_degradation_matches_matlab_reference_inside() -> None:
    """Same kernel (a = -0.5) and antialiasing as MATLAB; only the border handling differs."""
    rng = np.random.default_rng(0)
    x = rng.random((48, 64)).astype(np.float64)
    ours = bicubic_downscale(torch.from_numpy(x)[None, None].float(), quantize=False)[0, 0].numpy()
    ref = np.clip(matlab_imresize(x, 0.25), 0, 1)
    assert ours.shape == ref.shape == (12, 16)
    inner = (slice(2, -2), slice(2, -2))  # kernel radius: 8 HR = 2 LR pixels
    # float32 vs float64, values in [0, 1]: two separable passes of 16 taps (4 x antialiased)
    np.testing.assert_allclose(ours[inner], ref[inner], atol=rounding_atol(1.0, [16, 16]))
    assert np.abs(ours - ref).max() > 1e-3  # the mirrored vs renormalised border
    up = bicubic_upscale(torch.from_numpy(ref)[None, None].float(), quantize=False)[0, 0].numpy()
    up_ref = matlab_imresize(ref, 4.0)
    up_atol = rounding_atol(1.0, [4, 4, 1])  # two passes of 4 taps, the input cast to float32
    np.testing.assert_allclose(up[8:-8, 8:-8], np.clip(up_ref, 0, 1)[8:-8, 8:-8], atol=up_atol)


def test_real_images_load(tmp_path: Path) -> None:
    root = _data_root() / "sr" / "train" / "BSDS200_train"
    if not root.is_dir():
        pytest.skip("SR training data not available")
    bank = ImageBank.from_folders(["BSDS200_train"], data_root=_data_root(), max_images=2)
    assert len(bank) == 2
    for hr, lr in zip(bank.hr, bank.lr, strict=True):
        assert hr.dtype == lr.dtype == torch.uint8
        assert hr.shape[-2] % 4 == 0 and hr.shape[-1] % 4 == 0
        assert lr.shape[-2:] == (hr.shape[-2] // 4, hr.shape[-1] // 4)


# --------------------------------------------------------------------------------------
# sampling


def test_patch_order_is_deterministic_and_sharded(tiny_bank: ImageBank) -> None:
    a, b = PatchDataset(tiny_bank, 32, seed=5), PatchDataset(tiny_bank, 32, seed=5)
    assert [a.spec(g) for g in range(20)] == [b.spec(g) for g in range(20)]
    assert [a.spec(g) for g in range(20)] != [
        PatchDataset(tiny_bank, 32, seed=6).spec(g) for g in range(20)
    ]
    # each epoch visits every image once
    assert sorted(a.spec(g)[0] for g in range(len(tiny_bank))) == list(range(len(tiny_bank)))
    lr, hr = a[7]
    assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32)
    # LR and HR patches are aligned: away from the patch edge (kernel radius 2 LR pixels)
    # downscaling the HR patch gives the LR patch back (up to one 8-bit level of rounding)
    inner = (slice(None), slice(2, -2), slice(2, -2))
    assert (bicubic_downscale(hr)[inner] - lr[inner]).abs().max() <= 1.01 / 255
    shards = batch_indices(3, 8, 0, 2) + batch_indices(3, 8, 1, 2)
    assert shards == batch_indices(3, 8)
    with pytest.raises(ValueError):
        batch_indices(0, 6, 0, 4)
    # same batches whatever the number of loader workers
    l0 = [x[1] for x in make_loader(a, 4, 2, 4, num_workers=0)]
    l1 = [x[1] for x in make_loader(a, 4, 2, 4, num_workers=1)]
    assert all(torch.equal(x, y) for x, y in zip(l0, l1, strict=True))


# --------------------------------------------------------------------------------------
# protocol


def test_psnr_y_hand_computed() -> None:
    hr = torch.full((1, 3, 16, 16), 0.4, dtype=torch.float64)
    delta = 10 / 255
    # every channel +delta: Y moves by (65.481 + 128.553 + 24.966) delta = 219 delta = 8.588
    sr = hr + delta
    expected = 20 * math.log10(255 / (219 * delta))  # 20 log10(255 / 8.588) = 29.4527 dB
    assert psnr_y(sr, hr)[0] == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(29.4527, abs=1e-4)
    # Y is the BT.601 row: white -> 235, black -> 16
    assert rgb_to_y(torch.ones(1, 3, 1, 1)).item() == pytest.approx(235.0)
    assert rgb_to_y(torch.zeros(1, 3, 1, 1)).item() == pytest.approx(16.0)
    # border crop: an error confined to the 4-pixel frame disappears ...
    frame = hr.clone()
    frame[..., :4, :] += 1 / 219
    assert math.isinf(psnr_y(frame, hr, border=4)[0])
    assert psnr_y(frame, hr, border=0)[0] == pytest.approx(10 * math.log10(255**2 / (64 / 256)))
    # ... and a central 4 x 4 error of 1 Y level is averaged over 8 x 8 instead of 16 x 16
    centre = hr.clone()
    centre[..., 6:10, 6:10] += 1 / 219
    assert psnr_y(centre, hr, border=4)[0] == pytest.approx(10 * math.log10(255**2 / (16 / 64)))
    assert psnr_y(centre, hr, border=0)[0] == pytest.approx(10 * math.log10(255**2 / (16 / 256)))
    assert shave(hr, 4).shape[-2:] == (8, 8)


def test_ssim_y_hand_computed_and_backends() -> None:
    a = torch.full((1, 3, 24, 24), 0.5, dtype=torch.float64)
    b = torch.full((1, 3, 24, 24), 0.6, dtype=torch.float64)
    ya, yb = 16 + 219 * 0.5, 16 + 219 * 0.6  # constant Y: no variance, SSIM = luminance term
    c1 = (0.01 * 255) ** 2
    expected = (2 * ya * yb + c1) / (ya**2 + yb**2 + c1)
    assert ssim_y(b, a)[0] == pytest.approx(expected, abs=1e-9)
    assert ssim_y(a, a)[0] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    x = rng.random((40, 40)) * 200
    y = np.clip(x + rng.normal(0, 10, x.shape), 0, 255)
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        pytest.skip("scikit-image not installed: fallback not cross-checked")
    ref = structural_similarity(
        x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
    )
    assert ssim_wang(x, y) == pytest.approx(ref, abs=1e-6)


# --------------------------------------------------------------------------------------
# training


@pytest.mark.parametrize(
    "loss",
    [
        "none",
        "selected",
        "random",
        pytest.param("vgg", marks=pytest.mark.weights),
        pytest.param("lpips-vgg", marks=pytest.mark.weights),
    ],
)
def test_training_lowers_loss(
    loss: str, tiny_bank: ImageBank, random_vgg_selection: Path, tmp_path: Path
) -> None:
    weights = "imagenet" if loss in ("vgg", "lpips-vgg") else "random:0"
    cfg = _tiny_config(
        tmp_path / loss,
        loss=loss,
        lam=0.0 if loss == "none" else 0.05,
        selection=str(random_vgg_selection) if loss in ("selected", "random") else None,
        backbone_weights=weights,
    )
    res = train(cfg, bank=tiny_bank)
    assert res.finished and res.step == 20
    losses = _log_losses(tmp_path / loss)
    assert len(losses) == 20 and all(math.isfinite(x) for x in losses)
    assert np.mean(losses[-5:]) < 0.85 * np.mean(losses[:5])
    if loss != "none":
        with open(tmp_path / loss / "log.csv", newline="") as fh:
            assert all(float(r["perceptual"]) > 0 for r in csv.DictReader(fh))


def test_random_like_matches_counts(random_vgg_selection: Path) -> None:
    sel = Selection.load(random_vgg_selection)
    r1, r2, r1b = random_like(sel, 1), random_like(sel, 2), random_like(sel, 1)
    for name, entry in sel.layers.items():
        assert len(r1.layers[name]["channels"]) == len(entry["channels"])
        assert r1.layers[name]["channels"] == r1b.layers[name]["channels"]
    assert r1.layers["relu2_2"]["channels"] != r2.layers["relu2_2"]["channels"]
    assert r1.weights_sha256 == sel.weights_sha256
    assert list(restrict_selection(sel, ["relu2_2"]).layers) == ["relu2_2"]


def test_resume_is_bit_exact(
    tiny_bank: ImageBank, random_vgg_selection: Path, tmp_path: Path
) -> None:
    kw = {"loss": "selected", "lam": 0.05, "selection": str(random_vgg_selection), "ckpt_every": 7}
    full = train(_tiny_config(tmp_path / "full", **kw), bank=tiny_bank)
    part = _tiny_config(tmp_path / "part", **kw)
    first = train(part, bank=tiny_bank, stop_at=10)
    assert first.step == 10 and not first.finished
    assert load_checkpoint(tmp_path / "part" / "checkpoint.pt")["step"] == 10
    with pytest.raises(ValueError, match="--resume"):
        train(part, bank=tiny_bank)
    with pytest.raises(ValueError, match="differs"):
        train(_tiny_config(tmp_path / "part", **{**kw, "lam": 0.1}), resume=True, bank=tiny_bank)
    second = train(part, resume=True, bank=tiny_bank)
    assert second.finished and second.step == 20
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "part" / "checkpoint.pt")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for sa, sb in zip(
        a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True
    ):
        assert torch.equal(sa["exp_avg_sq"], sb["exp_avg_sq"])
    assert full.summary["params_sha256"] == second.summary["params_sha256"]
    assert _log_losses(tmp_path / "full") == _log_losses(tmp_path / "part")


def test_two_process_gloo_matches_single_process(tiny_bank: ImageBank, tmp_path: Path) -> None:
    """3 DDP steps on 2 CPU processes: ranks identical, and equal to one process within 1e-6.

    Both runs see the same 4 samples per step (ranks take 2 each) and average the same
    per-sample gradients; only the order of floating-point sums differs (conv backward over
    2 vs 4 images, then the all-reduce), i.e. ~1e-7 relative in the gradients. Adam's update
    is lr * m / (sqrt(v) + eps); it can amplify such a difference only for gradients near eps
    = 1e-8, which none of these parameters has, so after 3 steps at lr 2e-3 the parameters
    agree to ~1e-7 (measured 9e-8); 1e-6 is 1/2000 of the ~2e-3 a parameter moves per step.
    """
    kw = {"steps": 3, "log_every": 1, "loss": "none", "backbone_weights": "imagenet"}
    ddp_cfg = _tiny_config(tmp_path / "ddp", **kw)
    # fork: the children need not re-import torch (slow on a busy machine); one thread each
    summary = launch_local(ddp_cfg, 2, bank=tiny_bank, threads_per_process=1, start_method="fork")
    assert summary is not None and summary["world_size"] == 2 and summary["ranks_in_sync"]
    single = train(_tiny_config(tmp_path / "single", **kw), bank=tiny_bank)
    a = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")["model"]
    b = load_checkpoint(tmp_path / "single" / "checkpoint.pt")["model"]
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst < 1e-6, worst
    moved = max(
        float(
            (a[k] - build_model("small", n_blocks=1, n_feats=8, seed=0).state_dict()[k]).abs().max()
        )
        for k in a
    )
    assert moved > 1e-4  # the runs did train
    assert single.summary["world_size"] == 1


# --------------------------------------------------------------------------------------
# CLI and evaluation


def _write_folder(folder: Path, images: list[torch.Tensor]) -> Path:
    folder.mkdir(parents=True)
    for i, im in enumerate(images):
        arr = (im.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        Image.fromarray(arr).save(folder / f"im{i}.png")
    return folder


def test_cli_train_and_eval(tmp_path: Path) -> None:
    from hvsprobe.sr.cli import main

    train_dir = _write_folder(tmp_path / "train", _synthetic_images(3, 48, seed=1))
    test_dir = _write_folder(tmp_path / "Tiny", _synthetic_images(2, 40, seed=2))
    run = tmp_path / "run"
    args = ["sr", "train", "--steps", "3", "--n-blocks", "1", "--n-feats", "8", "--patch", "32",
            "--batch-size", "2", "--out", str(run), "--train-sets", str(train_dir), "--no-progress",
            "--device", "cpu"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 2  # exists without --resume
    assert main([*args[:3], "4", *args[4:], "--resume"]) == 2  # other steps: refused
    ev = tmp_path / "ev"
    assert main(["sr", "eval", str(run), "--sets", str(test_dir), "--out", str(ev), "--lpips",
                 "--crops", "1", "--no-progress", "--device", "cpu"]) == 0  # fmt: skip
    with open(ev / "eval_summary.csv", newline="") as fh:
        rows = {r["model"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"bicubic", "run"} and float(rows["bicubic"]["psnr_y"]) > 15
    assert (ev / "crops" / "Tiny_im0.png").exists()


def test_verdict_logic() -> None:
    a = np.array([[27.0, 0.30], [28.0, 0.32], [29.0, 0.34]])
    b = a + np.array([0.0, 0.02])
    assert matched_psnr_gap(a, b) == pytest.approx(0.02)
    assert matched_psnr_gap(a, np.array([[30.0, 0.1]])) is None
    anchor = (30.0, 0.40)  # the L1-only run starts every curve
    rows = []
    for seed, jitter in ((0, 0.001), (1, -0.001)):
        rows.append({"loss": "none", "rho": 0.0, "seed": seed, "set": "S", "psnr_y": anchor[0],
                     "lpips_alex": anchor[1] + jitter})  # fmt: skip
        for loss, shift in (("vgg", 0.02), ("selected", 0.0), ("random", 0.0015)):
            for rho, (p, lp) in zip((0.5, 1.0, 2.0), a, strict=True):
                rows.append({"loss": loss, "rho": rho, "seed": seed, "set": "S", "psnr_y": p,
                             "lpips_alex": lp + shift + jitter})  # fmt: skip
    v = {x["other"]: x for x in compute_verdicts(rows, [0, 1], ["S"])}
    # over 27..30 dB the vgg curve is 0.02 higher up to 29 dB, then closes linearly to the anchor
    grid = np.linspace(27, 30, 21)
    expected = float(np.mean(np.where(grid <= 29, 0.02, 0.02 * (30 - grid))))
    assert v["vgg"]["basis"] == "matched PSNR"
    assert v["vgg"]["lpips_gap"] == pytest.approx(expected)
    assert v["vgg"]["outcome"] == "better"
    assert v["random"]["outcome"] == "not resolved"


def test_eval_cache_made_under_other_settings_is_recomputed(
    tiny_bank: ImageBank, tmp_path: Path
) -> None:
    """A cached result from another protocol (here: another border) is not silently empty."""
    from hvsprobe.sr.eval import evaluate

    def rows(border: int) -> list[dict]:
        res = evaluate(
            {},
            ["tiny"],
            banks={"tiny": tiny_bank},
            lpips_nets=(),
            border=border,
            n_crops=0,
            cache_dir=tmp_path / "cache",
            progress=False,
            device="cpu",
        )
        return [r for r in res.rows if r["model"] == "bicubic"]

    first = rows(4)
    assert len(first) == len(tiny_bank.hr)
    other = rows(2)  # the cache file exists, made with border 4
    assert len(other) == len(tiny_bank.hr)
    assert [r["psnr_y"] for r in other] != [r["psnr_y"] for r in first]
    assert rows(4) == first  # and the replaced cache now serves border 2's settings only
