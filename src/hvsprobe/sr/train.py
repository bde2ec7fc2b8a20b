"""Training loop: single process or DistributedDataParallel (``torchrun``), resumable bit for bit.

Output folder::

    OUT/
      config.json         the full configuration
      checkpoint.pt       model, optimiser, scheduler, RNG states, step (atomic; the truth)
      log.csv             step, loss, l1, perceptual, lr, images/s, elapsed (appended)
      summary.json        written when the run reaches ``steps``

A run is fully determined by its configuration: the initial weights by ``model_seed`` (or
``init``), the data by ``seed`` (see :mod:`hvsprobe.sr.data`), and nothing else draws random
numbers. ``resume=True`` restores the latest checkpoint and continues with identical
results, because every batch is a pure function of its step number.

Under ``torchrun`` (``WORLD_SIZE > 1``) the function joins the process group itself (``nccl``
on CUDA, ``gloo`` on CPU), each rank takes its contiguous share of the same global batch,
and rank 0 alone writes files. :func:`hvsprobe.sr.launch.launch_local` starts the
processes without torchrun; checkpoints are :mod:`hvsprobe.sr.checkpoints`.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .._io import atomic_path, read_json, sha256_file, write_json_atomic
from .._precision import autocast
from .checkpoints import (
    CHECKPOINT_KIND,
    CHECKPOINT_SCHEMA,
    load_checkpoint,
    params_digest,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .data import DEFAULT_TRAIN_SETS, ImageBank, PatchDataset, make_loader
from .distributed import Dist, resolve_device, setup_distributed
from .losses import PERCEPTUAL_KINDS, SRLoss, build_perceptual
from .model import EDSR, build_model

__all__ = [
    "PRECISIONS",
    "TrainConfig",
    "TrainResult",
    "read_summary",
    "train",
]

PRECISIONS = ("fp32", "bf16")
SCHEDULES = ("cosine", "constant")
LOG_COLUMNS = ("step", "loss", "l1", "perceptual", "lr", "images_per_s", "elapsed_s")

#: Fields that may change between a run and its resumption (they do not affect the result).
_RUNTIME_FIELDS = frozenset(
    {
        "out",
        "device",
        "progress",
        "ckpt_every",
        "log_every",
        "num_workers",
        "data_root",
        "resume",
    }
)


@dataclass
class TrainConfig:
    """Everything that defines a training run.

    Attributes
    ----------
    out : str
        Output folder.
    steps : int
        Total optimiser steps of the run (the learning-rate schedule spans them).
    preset : {'small', 'standard'}
        Network size (see :data:`hvsprobe.sr.model.PRESETS`); ``n_blocks``/``n_feats``
        override it.
    loss : str
        Perceptual term, one of :data:`hvsprobe.sr.losses.PERCEPTUAL_KINDS`.
    lam : float
        Its weight (total = L1 + lam x perceptual).
    selection : str, optional
        Selection JSON for ``selected``/``random``.
    selection_seed : int, optional
        Seed of the ``random`` subset (default: ``seed``).
    seed : int
        Data order (images, crops, augmentations).
    model_seed : int
        Initial weights (ignored with ``init``).
    init : str, optional
        Checkpoint whose model weights start the run (fine-tuning); optimiser starts fresh.
    batch_size : int
        Global batch (all processes together).
    patch : int
        HR patch size in pixels (LR patch = patch / 4).
    lr : float
        Adam learning rate (betas 0.9, 0.999), decayed by ``schedule``.
    schedule : {'cosine', 'constant'}
        ``cosine``: half cosine from ``lr`` to ``lr * lr_min_ratio`` over ``steps``.
    lr_min_ratio : float
    precision : {'fp32', 'bf16'}
        ``bf16``: autocast the forward pass and losses to bfloat16 (weights stay fp32).
    device : str, optional
        ``cpu``, ``cuda`` (default: CUDA when available).
    data_root : str, optional
        Data folder (``$HVSPROBE_DATA``).
    train_sets : list of str
        Training sets under ``sr/train`` (or folders).
    max_images : int, optional
        Use only the first images of each set (tests).
    backbone_weights : str
        Weights of the loss network (``imagenet``; ``random:SEED`` in tests).
    ckpt_every, log_every : int
        Checkpoint and log intervals in steps (a checkpoint is also written at the end).
    num_workers : int
        DataLoader workers (results do not depend on it).
    progress : bool
        Show a tqdm bar (rank 0).
    """

    out: str
    steps: int = 1000
    preset: str = "small"
    n_blocks: int | None = None
    n_feats: int | None = None
    loss: str = "none"
    lam: float = 0.0
    selection: str | None = None
    selection_seed: int | None = None
    seed: int = 0
    model_seed: int = 0
    init: str | None = None
    batch_size: int = 16
    patch: int = 96
    lr: float = 2e-4
    schedule: str = "cosine"
    lr_min_ratio: float = 0.01
    precision: str = "fp32"
    device: str | None = None
    data_root: str | None = None
    train_sets: list[str] = field(default_factory=lambda: list(DEFAULT_TRAIN_SETS))
    max_images: int | None = None
    backbone_weights: str = "imagenet"
    ckpt_every: int = 500
    log_every: int = 10
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        self.out = str(self.out)
        for name in ("selection", "init", "data_root"):
            v = getattr(self, name)
            if v is not None:
                setattr(self, name, str(v))
        self.train_sets = [str(s) for s in self.train_sets]
        if self.loss not in PERCEPTUAL_KINDS:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {PERCEPTUAL_KINDS}")
        if self.loss in ("selected", "random") and not self.selection:
            raise ValueError(f"--loss {self.loss} needs --selection FILE")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be >= 1")
        if self.patch % 4 or self.patch < 4:
            raise ValueError(f"patch must be a positive multiple of 4, got {self.patch}")
        if self.lam < 0:
            raise ValueError(f"lambda must be >= 0, got {self.lam}")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys are refused)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown training configuration keys {sorted(unknown)}")
        return cls(**data)

    def identity(self) -> dict[str, Any]:
        """The fields that determine the result (everything but runtime options)."""
        return {k: v for k, v in self.to_dict().items() if k not in _RUNTIME_FIELDS}


@dataclass
class TrainResult:
    """What :func:`train` returns (rank 0's view)."""

    out: Path
    step: int
    finished: bool
    last_loss: float
    images_per_s: float
    step_time_s: float
    wall_s: float
    summary: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# the loop


def _lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    def fn(step: int) -> float:
        if cfg.schedule == "constant":
            return 1.0
        t = min(step, cfg.steps) / cfg.steps
        return cfg.lr_min_ratio + (1.0 - cfg.lr_min_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))

    return fn


def _rewrite_log(path: Path, upto_step: int) -> None:
    """Keep header and rows with step <= ``upto_step`` (rows after the checkpoint are redone)."""
    if not path.exists():
        return
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= upto_step]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=LOG_COLUMNS)
        w.writeheader()
        w.writerows(rows)


def _load_init(model: EDSR, init: str) -> str:
    ckpt = load_checkpoint(init)
    if ckpt["model_config"] != model.config.to_dict():
        raise ValueError(
            f"--init {init} holds a {ckpt['model_config']} network, this run builds "
            f"{model.config.to_dict()}"
        )
    model.load_state_dict(ckpt["model"])
    return sha256_file(init)


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    bank: ImageBank | None = None,
    stop_at: int | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train (or fine-tune) an SR network; see the module docstring.

    Parameters
    ----------
    config : TrainConfig
    resume : bool
        Continue from ``OUT/checkpoint.pt`` (refused if its configuration differs in anything
        but runtime options). Without it, an existing checkpoint in ``OUT`` is an error.
    bank : ImageBank, optional
        Preloaded training images (default: decode ``config.train_sets``); lets a caller
        running many trainings decode once.
    stop_at : int, optional
        Stop (with a checkpoint) after this step although the run has ``config.steps``:
        simulates an interruption; the schedule still spans ``config.steps``.
    log : callable, optional
        One-line status messages (rank 0).

    Returns
    -------
    TrainResult
    """
    t_start = time.perf_counter()
    dd = setup_distributed(
        "cuda"
        if (config.device or "").startswith("cuda")
        or (config.device is None and torch.cuda.is_available())
        else "cpu"
    )
    say = (log or (lambda m: print(m, file=sys.stderr))) if dd.rank == 0 else (lambda _m: None)
    try:
        return _train(config, dd, resume, bank, stop_at, say, t_start)
    finally:
        if dd.owns_group and dist.is_initialized():
            dist.destroy_process_group()


@dataclass
class _Run:
    """The objects one training run updates (built by :func:`_build_run`)."""

    model: EDSR
    ddp_model: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    criterion: SRLoss
    start: int
    elapsed_before: float
    init_sha: str | None


def _train(
    cfg: TrainConfig,
    dd: Dist,
    resume: bool,
    bank: ImageBank | None,
    stop_at: int | None,
    say: Callable[[str], None],
    t_start: float,
) -> TrainResult:
    device = resolve_device(cfg.device, dd)
    if device.type == "cuda":
        # fixed patch shapes: let cuDNN pick the fastest kernels (results then match a rerun
        # to cuDNN's nondeterminism, not bit for bit; bit-exact resume is a CPU guarantee)
        torch.backends.cudnn.benchmark = True
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    log_path = out / "log.csv"
    if cfg.batch_size % dd.world:
        raise ValueError(f"batch size {cfg.batch_size} is not divisible by {dd.world} processes")
    ckpt = _checkpoint_to_resume(cfg, ckpt_path, resume)
    run = _build_run(cfg, dd, device, ckpt, say)
    end = cfg.steps if stop_at is None else min(cfg.steps, int(stop_at))
    if dd.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out / "config.json", {"kind": "sr_train_config", **cfg.to_dict()})
        if ckpt is not None:
            _rewrite_log(log_path, run.start)
    if run.start < end and bank is None:
        say(f"decoding training images from {', '.join(cfg.train_sets)} …")
        bank = ImageBank.from_folders(
            cfg.train_sets,
            data_root=cfg.data_root,
            max_images=cfg.max_images,
            min_size=cfg.patch,
        )
        say(f"{len(bank)} training images")

    step = run.start
    last: dict[str, float] = {"loss": float("nan"), "l1": float("nan"), "perceptual": float("nan")}
    step_times: list[float] = []
    t_loop = time.perf_counter()
    if run.start < end:
        assert bank is not None
        step, last = _loop(cfg, dd, device, run, bank, end, out, t_loop, step_times, say)
    return _finish(cfg, dd, device, run.model, out, step, last, step_times, t_start)


def _checkpoint_to_resume(cfg: TrainConfig, ckpt_path: Path, resume: bool) -> dict[str, Any] | None:
    """The checkpoint in ``OUT`` (refused without ``resume`` or for another configuration)."""
    if not ckpt_path.exists():
        return None
    if not resume:
        raise ValueError(
            f"{ckpt_path} exists: pass --resume to continue it or choose another --out"
        )
    ckpt = load_checkpoint(ckpt_path)
    old = TrainConfig.from_dict(ckpt["config"]).identity()
    new = cfg.identity()
    diff = {k: (old.get(k), new.get(k)) for k in set(old) | set(new) if old.get(k) != new.get(k)}
    if diff:
        raise ValueError(f"cannot resume {ckpt_path}: configuration differs in {diff}")
    return ckpt


def _build_run(
    cfg: TrainConfig,
    dd: Dist,
    device: torch.device,
    ckpt: dict[str, Any] | None,
    say: Callable[[str], None],
) -> _Run:
    """Network, loss, optimiser and schedule: fresh, from ``init``, or restored from ``ckpt``."""
    model = build_model(cfg.preset, n_blocks=cfg.n_blocks, n_feats=cfg.n_feats, seed=cfg.model_seed)
    init_sha = None
    if cfg.init and ckpt is None:
        init_sha = _load_init(model, cfg.init)
    model.to(device)
    perceptual = build_perceptual(
        cfg.loss,
        selection=cfg.selection,
        seed=cfg.seed if cfg.selection_seed is None else cfg.selection_seed,
        backbone_weights=cfg.backbone_weights,
    )
    if perceptual is not None:
        perceptual.to(device)
    criterion = SRLoss(perceptual, cfg.lam)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    start = 0
    elapsed_before = 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        start = int(ckpt["step"])
        elapsed_before = float(ckpt.get("elapsed_s", 0.0))
        init_sha = ckpt.get("init_sha256")
        say(f"resuming {Path(cfg.out)} at step {start} of {cfg.steps}")
    ddp_model: nn.Module = model
    if dd.active:
        ddp_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return _Run(model, ddp_model, opt, sched, criterion, start, elapsed_before, init_sha)


def _write_checkpoint(
    cfg: TrainConfig, dd: Dist, run: _Run, path: Path, step: int, elapsed: float
) -> None:
    """Everything needed to continue at ``step`` (rank 0 writes)."""
    if dd.rank != 0:
        return
    save_checkpoint(
        path,
        {
            "kind": CHECKPOINT_KIND,
            "schema_version": CHECKPOINT_SCHEMA,
            "step": step,
            "config": cfg.to_dict(),
            "model_config": run.model.config.to_dict(),
            "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
            "optimizer": run.opt.state_dict(),
            "scheduler": run.sched.state_dict(),
            "rng": rng_state(),
            "data": {"next_step": step, "samples_consumed": step * cfg.batch_size},
            "init_sha256": run.init_sha,
            "elapsed_s": elapsed,
            "world_size": dd.world,
        },
    )


def _loop(
    cfg: TrainConfig,
    dd: Dist,
    device: torch.device,
    run: _Run,
    bank: ImageBank,
    end: int,
    out: Path,
    t_loop: float,
    step_times: list[float],
    say: Callable[[str], None],
) -> tuple[int, dict[str, float]]:
    """Steps ``run.start`` to ``end``: log rows, periodic and final checkpoints."""
    ckpt_path, log_path = out / "checkpoint.pt", out / "log.csv"
    loader = make_loader(
        PatchDataset(bank, cfg.patch, cfg.seed),
        cfg.batch_size,
        run.start,
        end,
        rank=dd.rank,
        world_size=dd.world,
        num_workers=cfg.num_workers,
        pin_memory=device.type == "cuda",
    )
    bar = _progress(cfg, dd, run.start, end)
    log_fh = _open_log(log_path) if dd.rank == 0 else None
    step = run.start
    last: dict[str, float] = {"loss": float("nan"), "l1": float("nan"), "perceptual": float("nan")}
    run.model.train()
    try:
        t_prev = time.perf_counter()
        for lr_b, hr_b in _iterate(loader):
            loss, parts = _optimiser_step(cfg, device, run, lr_b, hr_b)
            step += 1
            now = time.perf_counter()
            step_times.append(now - t_prev)
            t_prev = now
            last = {"loss": float(loss.detach()), **parts}
            if step % cfg.log_every == 0 or step == end:
                elapsed = run.elapsed_before + now - t_loop
                last = _log_step(cfg, dd, run, step, last, step_times, elapsed, log_fh, bar)
            if bar is not None:
                bar.update(1)
            if step % cfg.ckpt_every == 0 and step < end:
                elapsed = run.elapsed_before + time.perf_counter() - t_loop
                _write_checkpoint(cfg, dd, run, ckpt_path, step, elapsed)
    except KeyboardInterrupt:
        elapsed = run.elapsed_before + time.perf_counter() - t_loop
        _write_checkpoint(cfg, dd, run, ckpt_path, step, elapsed)
        say(f"interrupted: checkpoint at step {step} in {ckpt_path}; rerun with --resume")
        raise
    finally:
        if bar is not None:
            bar.close()
        if log_fh is not None:
            log_fh.close()
    _write_checkpoint(
        cfg, dd, run, ckpt_path, step, run.elapsed_before + time.perf_counter() - t_loop
    )
    return step, last


def _open_log(path: Path) -> Any:
    """``log.csv`` opened for appending (with its header when new)."""
    new_file = not path.exists()
    fh = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115
    if new_file:
        csv.writer(fh).writerow(LOG_COLUMNS)
    return fh


def _optimiser_step(
    cfg: TrainConfig, device: torch.device, run: _Run, lr_b: torch.Tensor, hr_b: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """One forward/backward/update; returns the loss tensor and its parts."""
    lr_b = lr_b.to(device, non_blocking=True)
    hr_b = hr_b.to(device, non_blocking=True)
    with autocast(cfg.precision, device):
        sr = run.ddp_model(lr_b)
        loss, parts = run.criterion(sr, hr_b)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    run.opt.step()
    run.sched.step()
    return loss, parts


def _log_step(
    cfg: TrainConfig,
    dd: Dist,
    run: _Run,
    step: int,
    last: dict[str, float],
    step_times: list[float],
    elapsed: float,
    log_fh: Any,
    bar: Any,
) -> dict[str, float]:
    """Average the loss parts over ranks, append a ``log.csv`` row, update the bar."""
    vals = torch.tensor([last["loss"], last["l1"], last["perceptual"]])
    if dd.active:
        dist.all_reduce(vals)
        vals /= dd.world
    last = dict(zip(("loss", "l1", "perceptual"), vals.tolist(), strict=True))
    recent = step_times[-cfg.log_every :]
    ips = cfg.batch_size * len(recent) / max(sum(recent), 1e-9)
    if log_fh is not None:
        csv.writer(log_fh).writerow(
            [
                step,
                f"{last['loss']:.6g}",
                f"{last['l1']:.6g}",
                f"{last['perceptual']:.6g}",
                f"{run.sched.get_last_lr()[0]:.6g}",
                f"{ips:.4g}",
                f"{elapsed:.2f}",
            ]
        )
        log_fh.flush()
    if bar is not None:
        bar.set_postfix(loss=f"{last['loss']:.4f}", img_s=f"{ips:.1f}")
    return last


def _finish(
    cfg: TrainConfig,
    dd: Dist,
    device: torch.device,
    model: EDSR,
    out: Path,
    step: int,
    last: dict[str, float],
    step_times: list[float],
    t_start: float,
) -> TrainResult:
    """Check the ranks agree, write ``summary.json`` when finished, build the result."""
    digest = params_digest(model)
    in_sync = True
    if dd.active:
        gathered: list[str | None] = [None] * dd.world
        dist.all_gather_object(gathered, digest)
        in_sync = all(g == digest for g in gathered)
        if not in_sync:
            raise RuntimeError(f"ranks diverged: parameter digests {gathered}")
    steady = step_times[2:] if len(step_times) > 4 else step_times
    step_time = float(np.median(steady)) if steady else float("nan")
    finished = step >= cfg.steps
    wall = time.perf_counter() - t_start
    summary = {
        "kind": "sr_train_summary",
        "step": step,
        "steps": cfg.steps,
        "finished": finished,
        "last": last,
        "step_time_s_median": step_time,
        "images_per_s": cfg.batch_size / step_time if step_times else float("nan"),
        "wall_s_this_process": wall,
        "world_size": dd.world,
        "device": str(device),
        "precision": cfg.precision,
        "params_sha256": digest,
        "ranks_in_sync": in_sync,
        "n_parameters": model.n_parameters(),
        "torch_threads": torch.get_num_threads(),
    }
    if dd.rank == 0 and finished:
        write_json_atomic(out / "summary.json", summary)
    return TrainResult(
        out=out,
        step=step,
        finished=finished,
        last_loss=last["loss"],
        images_per_s=summary["images_per_s"],
        step_time_s=step_time,
        wall_s=wall,
        summary=summary,
    )


def _iterate(loader: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    yield from loader


def _progress(cfg: TrainConfig, dd: Dist, start: int, end: int) -> Any:
    if not cfg.progress or dd.rank != 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=end, initial=start, desc=f"sr {cfg.loss}", unit="step", dynamic_ncols=True)


def read_summary(out: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``OUT/summary.json`` of a finished run, or ``None``."""
    p = Path(out) / "summary.json"
    return read_json(p) if p.exists() else None
