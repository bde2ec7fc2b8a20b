"""Running claim 2: the selection, the calibration of lambda, the time estimate, training and evaluation."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import read_json, write_json_atomic
from ..selection import Selection
from ..sr.checkpoints import load_model
from ..sr.data import ImageBank, PatchDataset
from ..sr.losses import SRLoss, build_perceptual
from ..sr.train import TrainConfig, read_summary, train
from .claim2_config import (
    DEFAULT_SELECTION,
    LPIPS_LAYERS_VGG16,
    Claim2Config,
    RunSpec,
    lambda_for,
    restrict_selection,
    run_specs,
    train_config,
)

__all__ = [
    "calibrate",
    "collect_rows",
    "estimate_claim2",
    "evaluate_runs",
    "finetune_all",
    "format_estimate",
    "load_bank",
    "pretrain",
    "resolve_selection",
]


def resolve_selection(cfg: Claim2Config, say: Callable[[str], None]) -> Path:
    """The selection JSON restricted to the LPIPS layers, written into the work folder."""
    work = Path(str(cfg.work))
    src = Path(cfg.selection) if cfg.selection else None
    if src is None:
        if cfg.probe_grid == "coarse":
            src = work / "probe-coarse" / "selection.json"
        else:
            src = Path(DEFAULT_SELECTION)
    if not src.exists():
        from ..analyze import analyze
        from ..stimuli import StimulusGrid

        if cfg.probe_grid == "coarse":
            grid = StimulusGrid.default(
                size=64, ppd=16.0, n_frequencies=6, n_orientations=4, n_phases=2
            )
            out = src.parent
            say(f"no selection at {src}: probing VGG-16 on a COARSE grid (smoke only) -> {out}")
        else:
            grid = None
            out = src.parent
            say(
                f"no selection at {src}: running hvsprobe analyze vgg16 on the LPIPS layers -> {out}"
            )
        res = analyze(
            "vgg16",
            layers=list(LPIPS_LAYERS_VGG16),
            grid=grid,
            out=out,
            device=cfg.device,
            progress=True,
            log=say,
        )
        src = res.out / "selection.json"
    sel = restrict_selection(Selection.load(src), LPIPS_LAYERS_VGG16)
    dest = work / "selection-lpips-layers.json"
    sel.provenance["source_file"] = str(src)
    sel.save(dest)
    return dest


def calibrate(
    cfg: Claim2Config, pre_ckpt: Path, selection: Path, bank: ImageBank, say: Callable[[str], None]
) -> dict[str, Any]:
    """L1 and each perceptual distance on one fixed batch at the pretrained checkpoint."""
    path = Path(str(cfg.work)) / "calibration.json"
    patch = int(cfg.finetune_patch or cfg.patch or 96)
    key = {"checkpoint": str(pre_ckpt), "selection": str(selection), "patch": patch}
    if path.exists():
        old = read_json(path)
        if old.get("key") == key:
            return old
    device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = load_model(pre_ckpt, device)
    ds = PatchDataset(bank, patch, seed=987654)
    pairs = [ds[i] for i in range(16)]
    lr = torch.stack([p[0] for p in pairs]).to(device)
    hr = torch.stack([p[1] for p in pairs]).to(device)
    with torch.no_grad():
        sr = model(lr)
        l1 = float((sr - hr).abs().mean())
        dist: dict[str, float] = {}
        for loss in [*cfg.losses, *(cfg.reference_losses or [])]:
            values = []
            seeds_for = (cfg.seeds or [0]) if loss == "random" else [0]
            for s in seeds_for:
                mod = build_perceptual(loss, selection=selection, seed=s)
                assert mod is not None
                values.append(float(SRLoss(mod, 0.0)(sr, hr)[1]["perceptual"]))
            dist[loss] = float(np.mean(values))
    cal = {"kind": "claim2_calibration", "key": key, "l1": l1, "distance": dist}
    write_json_atomic(path, cal)
    say(
        f"calibration at the pretrained model: L1 {l1:.4f}, "
        + ", ".join(f"{k} {v:.4f}" for k, v in dist.items())
    )
    return cal


def _time_steps(tcfg: TrainConfig, bank: ImageBank, n: int = 3) -> float:
    """Median seconds per step of ``n`` steps after one warm-up step (no files kept)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hvsprobe-sr-timing-") as tmp:
        c = dataclasses.replace(
            tcfg, out=tmp, steps=n + 1, progress=False, ckpt_every=10**9, init=None
        )
        res = train(c, bank=bank, log=lambda _m: None)
    return res.step_time_s if math.isfinite(res.step_time_s) else res.wall_s / (n + 1)


def _set_megapixels(name: str, data_root: str | None) -> tuple[int, float]:
    """Number of images and total HR megapixels of a test set (from the file headers)."""
    from PIL import Image

    from ..sr.data import list_images, set_dir

    files = list_images(set_dir(name, "test", data_root))
    total = 0
    for f in files:
        with Image.open(f) as im:
            total += im.size[0] * im.size[1]
    return len(files), total / 1e6


def estimate_claim2(
    cfg: Claim2Config,
    *,
    bank: ImageBank,
    selection: Path,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Time a few steps of each loss and the evaluation of one image; project the wall time.

    Steps: median of 3 after a warm-up, per loss, at the fine-tuning batch (``none`` also at
    the pretraining batch). Evaluation: seconds per megapixel of one Set14 image (model,
    PSNR/SSIM, LPIPS-Alex; LPIPS-VGG separately), scaled by each set's pixel count and the
    number of models.
    """
    from ..sr.data import load_test_set
    from ..sr.eval import evaluate
    from ..sr.model import build_model

    work = Path(str(cfg.work))
    step_s: dict[str, float] = {}
    pre_tc = train_config(cfg, work / "timing", finetune=False, loss="none", lam=0.0)
    step_s["pretrain"] = _time_steps(pre_tc, bank)
    for loss in ["none", *cfg.losses, *(cfg.reference_losses or [])]:
        tc = train_config(
            cfg,
            work / "timing",
            finetune=True,
            loss=loss,
            lam=0.0 if loss == "none" else 0.1,
            selection=str(selection),
        )
        step_s[loss] = _time_steps(tc, bank)
    runs = run_specs(cfg)
    pre = float(cfg.pretrain_steps or 0) * step_s["pretrain"]
    ft = sum(float(cfg.finetune_steps or 0) * step_s[r.loss] for r in runs)
    test = load_test_set("Set14", cfg.data_root)
    one = {"Set14": ImageBank(test.hr[:1], test.lr[:1], test.names[:1])}
    mp = test.hr[0].shape[-1] * test.hr[0].shape[-2] / 1e6
    model = {"m": build_model(str(cfg.preset))}
    per_mp: dict[str, float] = {}
    for label, nets in (("alex", ("alex",)), ("alex+vgg", ("alex", "vgg"))):
        for warm in (True, False):  # the first call builds the LPIPS modules
            t0 = time.perf_counter()
            evaluate(
                model,
                ["Set14"],
                banks=one,
                device=cfg.device,
                bicubic=False,
                progress=False,
                lpips_nets=nets,
            )
            if not warm:
                per_mp[label] = (time.perf_counter() - t0) / mp
    n_models = len(runs) + 2  # + pretrained + bicubic
    vgg_sets = set(cfg.lpips_vgg_sets if cfg.lpips_vgg_sets is not None else cfg.sets or [])
    ev = 0.0
    for s in cfg.sets or []:
        _, mps = _set_megapixels(s, cfg.data_root)
        ev += mps * per_mp["alex+vgg" if Path(s).name in vgg_sets else "alex"] * n_models
    est = {
        "step_time_s": step_s,
        "n_finetune_runs": len(runs),
        "pretrain_s": pre,
        "finetune_s": ft,
        "eval_s": ev,
        "eval_s_per_megapixel": per_mp,
        "total_s": pre + ft + ev,
        "threads": torch.get_num_threads(),
        "device": cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"),
        "config": cfg.to_dict(),
    }
    write_json_atomic(work / "estimate.json", est)
    say(format_estimate(cfg, est))
    return est


def format_estimate(cfg: Claim2Config, est: dict[str, Any]) -> str:
    """Human-readable estimate."""
    lines = [
        f"claim2 budget {cfg.budget}: preset {cfg.preset}; {cfg.pretrain_steps} pretrain steps "
        f"(batch {cfg.batch_size} x {cfg.patch} px) + {est['n_finetune_runs']} runs x "
        f"{cfg.finetune_steps} fine-tune steps (batch {cfg.finetune_batch_size or cfg.batch_size} x "
        f"{cfg.finetune_patch or cfg.patch} px); {est['threads']} threads on {est['device']}",
        "measured seconds per step: "
        + ", ".join(f"{k} {v:.3f}" for k, v in est["step_time_s"].items()),
        f"estimated wall time: pretrain {est['pretrain_s'] / 60:.1f} min + fine-tune "
        f"{est['finetune_s'] / 60:.1f} min + eval {est['eval_s'] / 60:.1f} min = "
        f"{est['total_s'] / 3600:.2f} h",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# the steps of run_claim2


def load_bank(cfg: Claim2Config, say: Callable[[str], None]) -> ImageBank:
    """Decode the training images once for all runs."""
    say(f"decoding training images ({', '.join(cfg.train_sets)}) once for all runs …")
    bank = ImageBank.from_folders(
        cfg.train_sets,
        data_root=cfg.data_root,
        min_size=max(int(cfg.patch or 96), int(cfg.finetune_patch or 0)),
    )
    say(f"{len(bank)} training images")
    return bank


def pretrain(cfg: Claim2Config, bank: ImageBank, say: Callable[[str], None]) -> Path:
    """The L1-only pretraining every variant starts from (reused when finished)."""
    pre_dir = Path(str(cfg.work)) / "runs" / "pretrain-l1"
    pre_cfg = train_config(
        cfg,
        pre_dir,
        finetune=False,
        steps=int(cfg.pretrain_steps or 1),
        loss="none",
        lam=0.0,
        seed=0,
        model_seed=0,
        lr=cfg.pretrain_lr,
    )
    if read_summary(pre_dir) is None:
        say(f"pretraining with L1 for {cfg.pretrain_steps} steps -> {pre_dir}")
        train(pre_cfg, resume=True, bank=bank, log=say)
    return pre_dir / "checkpoint.pt"


def finetune_all(
    cfg: Claim2Config,
    runs: list[RunSpec],
    cal: dict[str, Any],
    selection_path: Path,
    pre_ckpt: Path,
    bank: ImageBank,
    say: Callable[[str], None],
) -> None:
    """Fine-tune every run that has not finished (an unfinished one resumes)."""
    work = Path(str(cfg.work))
    for i, run in enumerate(runs, 1):
        rdir = work / "runs" / run.name
        if read_summary(rdir) is not None:
            continue
        lam = lambda_for(cal, run.loss, run.rho)
        say(f"[{i}/{len(runs)}] {run.name}: loss {run.loss}, rho {run.rho:g}, lambda {lam:.4g}")
        tc = train_config(
            cfg,
            rdir,
            finetune=True,
            steps=int(cfg.finetune_steps or 1),
            loss=run.loss,
            lam=lam,
            selection=str(selection_path) if run.loss in ("selected", "random") else None,
            selection_seed=run.seed,
            seed=1000 + run.seed,
            init=str(pre_ckpt),
            lr=cfg.finetune_lr,
        )
        train(tc, resume=True, bank=bank, log=say)


def evaluate_runs(
    cfg: Claim2Config, runs: list[RunSpec], pre_ckpt: Path, say: Callable[[str], None]
) -> Any:
    """Evaluate every model and bicubic; write side-by-side crops of the middle rho."""
    from ..sr.eval import evaluate

    work, out = Path(str(cfg.work)), Path(str(cfg.out))
    models = {
        "pretrained": pre_ckpt,
        **{r.name: work / "runs" / r.name / "checkpoint.pt" for r in runs},
    }
    say(f"evaluating {len(models)} models + bicubic on {', '.join(cfg.sets or [])} …")
    sets = list(cfg.sets or [])
    nets_by_set = {
        Path(s).name: ("alex", "vgg")
        if cfg.lpips_vgg_sets is None or Path(s).name in cfg.lpips_vgg_sets
        else ("alex",)
        for s in sets
    }
    ev = evaluate(
        models,
        sets,
        data_root=cfg.data_root,
        out=work / "eval",
        device=cfg.device,
        n_crops=0,
        progress=True,
        lpips_nets_by_set=nets_by_set,
    )
    crop_models = {"pretrained": pre_ckpt}
    mid = sorted(cfg.rhos or [1.0], key=lambda x: abs(math.log(x)))[0]
    seed0 = (cfg.seeds or [0])[0]
    crop_models["ft-none"] = work / "runs" / f"ft-none-s{seed0}" / "checkpoint.pt"
    for loss in [*cfg.losses, *(cfg.reference_losses or [])]:
        crop_models[f"{loss} r{mid:g}"] = (
            work / "runs" / f"ft-{loss}-r{mid:g}-s{seed0}" / "checkpoint.pt"
        )
    evaluate(
        crop_models,
        list(cfg.sets or []),
        data_root=cfg.data_root,
        out=out / "claim2_crops",
        cache_dir=work / "eval" / "cache",
        device=cfg.device,
        n_crops=int(cfg.n_crops or 0),
        progress=False,
        lpips_nets_by_set=nets_by_set,
    )
    return ev


def collect_rows(
    cfg: Claim2Config, runs: list[RunSpec], cal: dict[str, Any], summary: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-(run, set) rows of the fine-tuning runs, and the rows of the other models."""
    work = Path(str(cfg.work))
    by_run = {r.name: r for r in runs}
    rows: list[dict[str, Any]] = []
    base_rows: list[dict[str, Any]] = []
    for s in summary:
        if s["model"] in by_run:
            run = by_run[s["model"]]
            summ = read_summary(work / "runs" / run.name) or {}
            rows.append(
                {
                    "run": run.name,
                    "loss": run.loss,
                    "rho": run.rho,
                    "lambda": lambda_for(cal, run.loss, run.rho),
                    "seed": run.seed,
                    "set": s["set"],
                    "n_images": s["n_images"],
                    "psnr_y": s["psnr_y"],
                    "ssim_y": s["ssim_y"],
                    "lpips_alex": s["lpips_alex"],
                    "lpips_vgg": s["lpips_vgg"],
                    "steps": cfg.finetune_steps,
                    "step_time_s": summ.get("step_time_s_median"),
                }
            )
        else:
            base_rows.append(dict(s))
    return rows, base_rows
