"""Claim 2's configuration: budgets, the list of fine-tuning runs, their training settings.

See :mod:`hvsprobe.experiments.claim2` for the design of the experiment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..selection import Selection
from ..sr.data import DEFAULT_TRAIN_SETS
from ..sr.train import TrainConfig

__all__ = [
    "BUDGETS",
    "LPIPS_LAYERS_VGG16",
    "Claim2Config",
    "Claim2Result",
    "RunSpec",
    "lambda_for",
    "restrict_selection",
    "run_specs",
    "train_config",
]

LPIPS_LAYERS_VGG16 = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
MAIN_LOSSES = ("vgg", "selected", "random")
DEFAULT_SELECTION = "hvsprobe-results/vgg16-imagenet/selection.json"

#: Budget presets (fields of :class:`Claim2Config`).
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {
        "preset": "small",
        "pretrain_steps": 10,
        "finetune_steps": 5,
        "batch_size": 4,
        "patch": 48,
        "finetune_batch_size": 4,
        "finetune_patch": 48,
        "rhos": [0.5, 2.0],
        "seeds": [0, 1],
        "reference_losses": ["lpips-vgg"],
        "sets": ["Set5"],
        "lpips_vgg_sets": ["Set5"],
        "n_crops": 1,
        "probe_grid": "coarse",
    },
    "cpu-small": {
        "preset": "small",
        "pretrain_steps": 5000,
        "finetune_steps": 300,
        "batch_size": 8,
        "patch": 64,
        "finetune_batch_size": 4,
        "finetune_patch": 48,
        "rhos": [0.25, 1.0, 4.0],
        "seeds": [0, 1],
        "reference_losses": [],
        "sets": ["Set5", "Set14", "BSD100"],
        "lpips_vgg_sets": ["Set5"],
        "n_crops": 3,
        "probe_grid": "default",
    },
    "gpu": {
        "preset": "standard",
        "pretrain_steps": 3000,
        "finetune_steps": 200,
        "batch_size": 16,
        "patch": 128,
        "finetune_batch_size": 16,
        "finetune_patch": 128,
        "rhos": [0.25, 1.0, 4.0],
        "seeds": [0, 1, 2],
        "reference_losses": ["lpips-vgg"],
        "sets": ["Set5", "Set14", "BSD100"],
        "lpips_vgg_sets": ["Set5", "Set14"],
        "n_crops": 3,
        "probe_grid": "default",
    },
}


@dataclass
class Claim2Config:
    """Configuration of :func:`run_claim2` (a budget preset fills the defaults).

    Attributes
    ----------
    budget : {'smoke', 'cpu-small', 'gpu'}
    out : str
        Report folder (``claim2.md``, ``claim2.csv``, ``claim2_tradeoff.png``); required,
        so that no default location (such as ``docs/results``) is overwritten by accident.
    work : str, optional
        Checkpoints, logs and caches (default ``hvsprobe-results/claim2-<budget>``).
    selection : str, optional
        Selection JSON; default ``hvsprobe-results/vgg16-imagenet/selection.json``, computed
        with :func:`hvsprobe.analyze.analyze` on the five LPIPS layers when missing. Only its
        channels in those layers are used.
    data_root, device, precision
        As in :class:`hvsprobe.sr.train.TrainConfig`.
    preset, pretrain_steps, finetune_steps, batch_size, patch
        Network and training size (from the budget unless given).
    finetune_batch_size, finetune_patch : int, optional
        Batch and HR patch of the fine-tuning runs (the perceptual terms dominate their cost).
    pretrain_lr, finetune_lr : float
        Adam learning rates (cosine decay to 1 %).
    rhos : list of float
        Relative perceptual weights (lambda = rho x L1 / D at the pretrained checkpoint).
    seeds : list of int
        Fine-tuning data orders (and random subsets).
    losses : list of str
        Perceptual losses compared over all seeds.
    reference_losses : list of str
        Extra losses run with the first seed only (``lpips-vgg``).
    sets : list of str
        Test sets.
    lpips_vgg_sets : list of str
        Sets on which LPIPS-VGG is computed (LPIPS-Alex is computed on all); on CPUs VGG-16
        on full test images dominates the evaluation time.
    n_crops : int
        Side-by-side crops per test set.
    probe_grid : {'default', 'coarse'}
        Stimulus grid if the selection has to be computed (``coarse`` only for smoke runs).
    threads : int, optional
        ``torch.set_num_threads`` for the whole experiment.
    num_workers : int, optional
        DataLoader workers per run (default: 4 on CUDA, where preparing batches in the main
        process would leave the GPU waiting; 0 on CPU). Results do not depend on it.
    """

    budget: str = "cpu-small"
    out: str | None = None
    work: str | None = None
    selection: str | None = None
    data_root: str | None = None
    device: str | None = None
    precision: str = "fp32"
    preset: str | None = None
    pretrain_steps: int | None = None
    finetune_steps: int | None = None
    batch_size: int | None = None
    patch: int | None = None
    finetune_batch_size: int | None = None
    finetune_patch: int | None = None
    pretrain_lr: float = 5e-4
    finetune_lr: float = 1e-4
    rhos: list[float] | None = None
    seeds: list[int] | None = None
    losses: list[str] = field(default_factory=lambda: list(MAIN_LOSSES))
    reference_losses: list[str] | None = None
    sets: list[str] | None = None
    lpips_vgg_sets: list[str] | None = None
    n_crops: int | None = None
    probe_grid: str | None = None
    train_sets: list[str] = field(default_factory=lambda: list(DEFAULT_TRAIN_SETS))
    threads: int | None = None
    num_workers: int | None = None

    def __post_init__(self) -> None:
        if self.out is None:
            raise ValueError(
                "Claim2Config needs out=: the report folder (e.g. 'docs/results' to update the page)"
            )
        if self.budget not in BUDGETS:
            raise ValueError(f"unknown budget {self.budget!r}; choose one of {sorted(BUDGETS)}")
        for k, v in BUDGETS[self.budget].items():
            if getattr(self, k) is None:
                setattr(self, k, v)
        if self.work is None:
            self.work = f"hvsprobe-results/claim2-{self.budget}"
        bad = [x for x in [*self.losses, *(self.reference_losses or [])] if x in ("none",)]
        if bad:
            raise ValueError("'none' (the L1 control) is always run; do not list it in losses")

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dataclasses.asdict(self)


@dataclass
class RunSpec:
    """One fine-tuning run."""

    name: str
    loss: str
    rho: float
    seed: int


@dataclass
class Claim2Result:
    """Paths and numbers of a finished experiment."""

    rows: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    report: Path
    csv: Path
    plot: Path
    estimate: dict[str, Any]


# --------------------------------------------------------------------------------------
# selection


def restrict_selection(selection: Selection, layers: Sequence[str]) -> Selection:
    """Keep only ``layers`` of ``selection`` (the others are dropped)."""
    missing = [n for n in layers if n not in selection.layers]
    if missing:
        raise ValueError(f"the selection has no layers {missing} (has {list(selection.layers)})")
    return Selection(
        backbone=selection.backbone,
        weights_sha256=selection.weights_sha256,
        layers={n: selection.layers[n] for n in layers},
        score=selection.score,
        strategy=dict(selection.strategy),
        provenance={**selection.provenance, "restricted_to": list(layers)},
    )


def train_config(cfg: Claim2Config, out: Path, *, finetune: bool, **kw: Any) -> TrainConfig:
    """The training configuration of one run (pretraining or fine-tuning) writing to ``out``."""
    batch = (cfg.finetune_batch_size if finetune else None) or cfg.batch_size or 16
    patch = (cfg.finetune_patch if finetune else None) or cfg.patch or 96
    return TrainConfig(
        out=str(out),
        preset=str(cfg.preset),
        batch_size=int(batch),
        patch=int(patch),
        precision=cfg.precision,
        device=cfg.device,
        data_root=cfg.data_root,
        train_sets=list(cfg.train_sets),
        ckpt_every=250,
        log_every=10,
        num_workers=_workers(cfg),
        progress=True,
        **kw,
    )


def _workers(cfg: Claim2Config) -> int:
    if cfg.num_workers is not None:
        return int(cfg.num_workers)
    cuda = (cfg.device or "").startswith("cuda") or (
        cfg.device is None and torch.cuda.is_available()
    )
    return 4 if cuda else 0


def run_specs(cfg: Claim2Config) -> list[RunSpec]:
    """Every fine-tuning run: the L1 control per seed, each loss x rho x seed, the references."""
    seeds = list(cfg.seeds or [0])
    runs = [RunSpec(f"ft-none-s{s}", "none", 0.0, s) for s in seeds]
    for loss in cfg.losses:
        for rho in cfg.rhos or []:
            runs += [RunSpec(f"ft-{loss}-r{rho:g}-s{s}", loss, float(rho), s) for s in seeds]
    for loss in cfg.reference_losses or []:
        for rho in cfg.rhos or []:
            runs.append(RunSpec(f"ft-{loss}-r{rho:g}-s{seeds[0]}", loss, float(rho), seeds[0]))
    return runs


def lambda_for(cal: dict[str, Any], loss: str, rho: float) -> float:
    """lambda = rho x L1 / D from the calibration (0 for the L1 control)."""
    if loss == "none" or rho == 0:
        return 0.0
    return float(rho * cal["l1"] / cal["distance"][loss])
