"""Claim 2: does a perceptual loss on the selected channels improve x4 super-resolution?

Design (:func:`run_claim2`):

1. one network is pretrained with L1 only; every variant starts from that checkpoint;
2. fine-tuning, all with the same number of steps, learning rate and, for a given seed, the
   same data order:

   * ``none``: L1 only (the control for simply training longer),
   * ``vgg``: L1 + lambda x all channels of VGG-16 relu1_2 ... relu5_3 (weight 1),
   * ``selected``: L1 + lambda x the selected channels (top 25 % by PE per layer),
   * ``random``: L1 + lambda x a random subset of the same size per layer (a new subset for
     every seed),
   * ``lpips-vgg``: L1 + lambda x LPIPS-VGG (a learned reference; first seed only);

3. lambda is swept. Because the terms differ in scale (a 25 % subset gives about a quarter of
   the all-channel term), lambda is set per loss from a relative weight ``rho``:
   ``lambda = rho x L1 / D``, with L1 and D measured once on a fixed batch at the pretrained
   checkpoint, so ``rho = 1`` makes the two terms equal at the start of fine-tuning;
4. evaluation on the test sets (PSNR/SSIM on Y, LPIPS-Alex and LPIPS-VGG, bicubic floor);
5. the report: ``claim2.csv``, ``claim2_tradeoff.png`` (PSNR vs LPIPS-Alex, one point per
   lambda, error bars = SD over seeds) and ``claim2.md`` whose verdict is computed from the
   numbers: at matched PSNR (interpolating each loss's rho curve, which starts at the
   seed's L1-only run), how much lower is LPIPS-Alex with ``selected`` than with ``vgg``
   and ``random``, compared with twice the seed-to-seed SD (pooled over all points).

LPIPS-VGG shares the VGG-16 trunk with the ``vgg``/``selected``/``random`` losses and is the
training loss of ``lpips-vgg``; LPIPS-Alex (a different network) is the main figure.

Every run keeps its own folder under ``WORK/runs``; finished runs and evaluations are
reused and an unfinished run resumes from its checkpoint, so an interrupted experiment
continues where it stopped.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import read_json, write_json_atomic, write_text_atomic
from ..selection import Selection
from .data import DEFAULT_TRAIN_SETS, ImageBank, PatchDataset
from .losses import SRLoss, build_perceptual
from .train import TrainConfig, load_model, read_summary, train

__all__ = [
    "BUDGETS",
    "LPIPS_LAYERS_VGG16",
    "Claim2Config",
    "Claim2Result",
    "estimate_claim2",
    "restrict_selection",
    "run_claim2",
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
        Report folder (``claim2.md``, ``claim2.csv``, ``claim2_tradeoff.png``).
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
    out: str = "docs/results"
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


def _resolve_selection(cfg: Claim2Config, say: Callable[[str], None]) -> Path:
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


# --------------------------------------------------------------------------------------
# runs


def _train_config(cfg: Claim2Config, out: Path, *, finetune: bool, **kw: Any) -> TrainConfig:
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


def _runs(cfg: Claim2Config) -> list[RunSpec]:
    seeds = list(cfg.seeds or [0])
    runs = [RunSpec(f"ft-none-s{s}", "none", 0.0, s) for s in seeds]
    for loss in cfg.losses:
        for rho in cfg.rhos or []:
            runs += [RunSpec(f"ft-{loss}-r{rho:g}-s{s}", loss, float(rho), s) for s in seeds]
    for loss in cfg.reference_losses or []:
        for rho in cfg.rhos or []:
            runs.append(RunSpec(f"ft-{loss}-r{rho:g}-s{seeds[0]}", loss, float(rho), seeds[0]))
    return runs


def _calibrate(
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


def _lambda(cal: dict[str, Any], loss: str, rho: float) -> float:
    if loss == "none" or rho == 0:
        return 0.0
    return float(rho * cal["l1"] / cal["distance"][loss])


# --------------------------------------------------------------------------------------
# estimate


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

    from .data import _set_dir, list_images

    files = list_images(_set_dir(name, "test", data_root))
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
    from .data import load_test_set
    from .eval import evaluate
    from .model import build_model

    work = Path(str(cfg.work))
    step_s: dict[str, float] = {}
    pre_tc = _train_config(cfg, work / "timing", finetune=False, loss="none", lam=0.0)
    step_s["pretrain"] = _time_steps(pre_tc, bank)
    for loss in ["none", *cfg.losses, *(cfg.reference_losses or [])]:
        tc = _train_config(
            cfg,
            work / "timing",
            finetune=True,
            loss=loss,
            lam=0.0 if loss == "none" else 0.1,
            selection=str(selection),
        )
        step_s[loss] = _time_steps(tc, bank)
    runs = _runs(cfg)
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
# analysis


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


def _curve(rows: list[dict[str, Any]], loss: str, seed: int, set_name: str) -> np.ndarray:
    """(PSNR, LPIPS-Alex) of ``loss``'s rho points for one seed and set, sorted by PSNR.

    The seed's L1-only run (``none``, rho = 0) is included as the common start of every
    curve, so curves of two losses always share a PSNR range next to it.
    """
    pts = [
        (r["psnr_y"], r["lpips_alex"])
        for r in rows
        if r["seed"] == seed
        and r["set"] == set_name
        and ((r["loss"] == loss and r["rho"] > 0) or r["loss"] == "none")
    ]
    return np.asarray(sorted(pts), dtype=np.float64).reshape(-1, 2)


def matched_psnr_gap(a: np.ndarray, b: np.ndarray, n: int = 21) -> float | None:
    """Mean LPIPS(b) - LPIPS(a) over the PSNR range both curves cover (None: no overlap).

    Each curve is ``k x 2`` (PSNR, LPIPS) sorted by PSNR, linearly interpolated. Positive
    means ``a`` has the lower (better) LPIPS at the same PSNR.
    """
    if len(a) < 1 or len(b) < 1:
        return None
    lo = max(a[:, 0].min(), b[:, 0].min())
    hi = min(a[:, 0].max(), b[:, 0].max())
    if hi - lo < 1e-9:
        return None
    grid = np.linspace(lo, hi, n)
    la = np.interp(grid, a[:, 0], a[:, 1])
    lb = np.interp(grid, b[:, 0], b[:, 1])
    return float(np.mean(lb - la))


def paired_matched_gap(
    rows: list[dict[str, Any]],
    image_rows: list[dict[str, Any]],
    target: str,
    other: str,
    seeds: Sequence[int],
    set_name: str,
    *,
    n_boot: int = 2000,
    boot_seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any] | None:
    """Matched-PSNR LPIPS-Alex gap ``other - target`` with a bootstrap over seeds and images.

    Per seed the curves of both losses (rho points and the L1-only start) are rebuilt from
    per-image PSNR-Y and LPIPS-Alex averaged over the *same* images, and
    :func:`matched_psnr_gap` compares them; the gap is the mean over seeds.  A replicate
    draws the seeds and the test images with replacement (the same images for every run:
    paired), so the interval carries both sources of noise.  Positive favours ``target``;
    the verdict is :func:`hvsprobe.evaluate.paired.verdict` of the interval.

    Parameters
    ----------
    rows : list of dict
        Per-run summary rows (``run``, ``loss``, ``rho``, ``seed``, ``set``).
    image_rows : list of dict
        Per-image evaluation rows (``model`` = run name, ``set``, ``image``, ``psnr_y``,
        ``lpips_alex``).
    target, other : str
        Losses compared.
    seeds : sequence of int
        Seeds.
    set_name : str
        Test set.
    n_boot, boot_seed, level : int, int, float
        Bootstrap settings.

    Returns
    -------
    dict or None
        ``diff, low, high, level, n_boot, n_seeds, n_images, verdict``; ``None`` when the
        curves never overlap.

    Examples
    --------
    >>> paired_matched_gap([], [], "selected", "vgg", [0], "Set5") is None
    True
    """
    from ..evaluate.paired import verdict

    runs = {
        (r["loss"], r["rho"], r["seed"]): r["run"]
        for r in rows
        if r["set"] == set_name and r["loss"] in (target, other, "none") and "run" in r
    }
    per_run: dict[str, dict[str, tuple[float, float]]] = {}
    for r in image_rows:
        if r.get("set") == set_name and r.get("model") in runs.values():
            per_run.setdefault(r["model"], {})[r["image"]] = (r["psnr_y"], r["lpips_alex"])
    images = sorted(set.intersection(*(set(v) for v in per_run.values()))) if per_run else []
    seeds = [s for s in seeds if any(k[2] == s for k in runs)]
    if not images or not seeds:
        return None
    arr = {run: np.array([per_run[run][i] for i in images]) for run in per_run}  # (I, 2)

    def curve(loss: str, seed: int, w: np.ndarray) -> np.ndarray:
        pts = [
            tuple(w @ arr[run])
            for (ls, rho, sd), run in runs.items()
            if sd == seed and run in arr and ((ls == loss and rho > 0) or ls == "none")
        ]
        return np.asarray(sorted(pts), dtype=np.float64).reshape(-1, 2)

    def gap(seed_pick: Sequence[int], w: np.ndarray) -> float:
        gaps = [matched_psnr_gap(curve(target, s, w), curve(other, s, w)) for s in seed_pick]
        ok = [g for g in gaps if g is not None]
        return float(np.mean(ok)) if ok else math.nan

    n = len(images)
    point = gap(seeds, np.full(n, 1.0 / n))
    if not math.isfinite(point):
        return None
    rng = np.random.default_rng(boot_seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(seeds), len(seeds))
        w = np.bincount(rng.integers(0, n, n), minlength=n) / n
        reps[b] = gap([seeds[i] for i in pick], w)
    ok = reps[np.isfinite(reps)]
    alpha = (1.0 - level) / 2.0
    lo, hi = (float(v) for v in np.percentile(ok, [100 * alpha, 100 * (1 - alpha)]))
    return {
        "diff": point,
        "low": lo,
        "high": hi,
        "level": level,
        "n_boot": n_boot,
        "n_failed": int(reps.size - ok.size),
        "n_seeds": len(seeds),
        "n_images": n,
        "verdict": verdict(lo, hi, higher_is_better=True),
    }


def compute_verdicts(
    rows: list[dict[str, Any]],
    seeds: Sequence[int],
    sets: Sequence[str],
    target: str = "selected",
    image_rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Compare ``target`` with ``vgg`` and ``random`` per set (see module docstring).

    With ``image_rows`` (per-image evaluation rows) each verdict also carries ``paired``:
    the matched-PSNR gap with its bootstrap interval over seeds and images and one of the
    three words of :func:`hvsprobe.evaluate.paired.verdict` (:func:`paired_matched_gap`).
    """
    verdicts = []
    for set_name in sets:
        # seed-to-seed spread: pooled SD of LPIPS-Alex over all (loss, rho) points with >= 2 seeds
        groups: dict[tuple[str, float], list[float]] = {}
        for r in rows:
            if r["set"] == set_name and r["loss"] in MAIN_LOSSES + ("none",):
                groups.setdefault((r["loss"], r["rho"]), []).append(r["lpips_alex"])
        variances = [np.var(v, ddof=1) for v in groups.values() if len(v) > 1]
        seed_sd = float(np.sqrt(np.mean(variances))) if variances else float("nan")
        for other in ("vgg", "random"):
            if not any(r["loss"] == other for r in rows) or not any(
                r["loss"] == target for r in rows
            ):
                continue
            gaps, same_rho = [], []
            for s in seeds:
                g = matched_psnr_gap(
                    _curve(rows, target, s, set_name), _curve(rows, other, s, set_name)
                )
                if g is not None:
                    gaps.append(g)
                a = {
                    r["rho"]: r
                    for r in rows
                    if r["loss"] == target and r["seed"] == s and r["set"] == set_name
                }
                b = {
                    r["rho"]: r
                    for r in rows
                    if r["loss"] == other and r["seed"] == s and r["set"] == set_name
                }
                for rho in sorted(set(a) & set(b)):
                    same_rho.append(
                        (
                            b[rho]["lpips_alex"] - a[rho]["lpips_alex"],
                            a[rho]["psnr_y"] - b[rho]["psnr_y"],
                        )
                    )
            gap, gap_sd = _mean_sd(gaps)
            d_lp = float(np.mean([x[0] for x in same_rho])) if same_rho else float("nan")
            d_ps = float(np.mean([x[1] for x in same_rho])) if same_rho else float("nan")
            basis = "matched PSNR" if gaps else "same rho"
            effect = gap if gaps else d_lp
            if not math.isfinite(effect):
                outcome = "undetermined"
            elif not math.isfinite(seed_sd) or seed_sd == 0:
                outcome = "better" if effect > 0 else "worse"
                outcome += " (no seed spread available)"
            elif effect > 2 * seed_sd:
                outcome = "better"
            elif effect < -2 * seed_sd:
                outcome = "worse"
            else:
                outcome = "not resolved"
            verdicts.append(
                {
                    "set": set_name,
                    "target": target,
                    "other": other,
                    "basis": basis,
                    "lpips_gap": effect,
                    "lpips_gap_sd_over_seeds": gap_sd,
                    "n_seeds_with_overlap": len(gaps),
                    "same_rho_lpips_gain": d_lp,
                    "same_rho_psnr_gain": d_ps,
                    "seed_sd_lpips": seed_sd,
                    "ratio_to_seed_sd": effect / seed_sd
                    if seed_sd and math.isfinite(seed_sd)
                    else float("nan"),
                    "outcome": outcome,
                    "paired": None
                    if image_rows is None
                    else paired_matched_gap(rows, image_rows, target, other, seeds, set_name),
                }
            )
    return verdicts


def _verdict_sentence(v: dict[str, Any]) -> str:
    pv = v.get("paired")
    if pv:
        return (
            f"- **{v['set']}**, {v['target']} vs {v['other']}: matched-PSNR LPIPS-Alex gap "
            f"({v['other']} minus {v['target']}; positive favours {v['target']}) "
            f"{pv['diff']:+.4f} [{pv['low']:+.4f}, {pv['high']:+.4f}] "
            f"({100 * pv['level']:g} % bootstrap over {pv['n_seeds']} seeds and "
            f"{pv['n_images']} images): **{pv['verdict']}**; seed-to-seed SD "
            f"{v['seed_sd_lpips']:.4f}."
        )
    gap = v["lpips_gap"]
    if v["outcome"] == "undetermined":
        return (
            f"- **{v['set']}**, {v['target']} vs {v['other']}: undetermined (no comparable points)."
        )
    direction = "lower" if gap > 0 else "higher"
    ratio = v["ratio_to_seed_sd"]
    ratio_txt = (
        f"{abs(ratio):.1f} x the seed-to-seed SD ({v['seed_sd_lpips']:.4f})"
        if math.isfinite(ratio)
        else "no seed SD available"
    )
    word = {
        "better": "beats",
        "worse": "is beaten by",
        "not resolved": "does not separate from",
    }.get(v["outcome"].split(" (")[0], v["outcome"])
    text = (
        f"- **{v['set']}**: {v['target']} {word} {v['other']}: at {v['basis']} its LPIPS-Alex is "
        f"{abs(gap):.4f} {direction} ({ratio_txt})"
    )
    if v["basis"] != "same rho":
        text += (
            f"; at equal rho it changes LPIPS-Alex by {-v['same_rho_lpips_gain']:+.4f} and "
            f"PSNR-Y by {v['same_rho_psnr_gain']:+.3f} dB"
        )
    else:
        text += f" and its PSNR-Y {v['same_rho_psnr_gain']:+.3f} dB"
    return text + "."


def _plot(
    rows: list[dict[str, Any]], base_rows: list[dict[str, Any]], sets: Sequence[str], path: Path
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import atomic_path

    colors = {
        "none": "0.3",
        "vgg": "tab:blue",
        "selected": "tab:red",
        "random": "tab:green",
        "lpips-vgg": "tab:purple",
    }
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4.2), squeeze=False)
    for ax, set_name in zip(axes[0], sets, strict=True):
        rs = [r for r in rows if r["set"] == set_name]
        for loss in dict.fromkeys(r["loss"] for r in rs):
            pts = []
            for rho in sorted({r["rho"] for r in rs if r["loss"] == loss}):
                sel = [r for r in rs if r["loss"] == loss and r["rho"] == rho]
                px, sx = _mean_sd([r["psnr_y"] for r in sel])
                py, sy = _mean_sd([r["lpips_alex"] for r in sel])
                pts.append((px, py, sx, sy, rho))
            if not pts:
                continue
            arr = np.asarray(pts, dtype=np.float64)
            c = colors.get(loss, None)
            ax.errorbar(
                arr[:, 0],
                arr[:, 1],
                xerr=np.nan_to_num(arr[:, 2]),
                yerr=np.nan_to_num(arr[:, 3]),
                fmt="o-" if loss != "none" else "s",
                color=c,
                label=loss,
                capsize=3,
                ms=5,
            )
            if loss != "none":
                for px, py, _, _, rho in pts:
                    ax.annotate(
                        f"{rho:g}",
                        (px, py),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                        color=c,
                    )
        for r in base_rows:
            if r["set"] == set_name:
                ax.plot(
                    r["psnr_y"],
                    r["lpips_alex"],
                    "k^" if r["model"] == "pretrained" else "kx",
                    label=r["model"],
                )
        ax.set_title(set_name)
        ax.set_xlabel("PSNR-Y (dB, higher is better)")
        ax.set_ylabel("LPIPS-Alex (lower is better)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        "x4 SR: fine-tuning losses, one point per rho (error bars: SD over seeds)", fontsize=10
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def _fmt(x: float, nd: int) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{nd}f}"


def _report(
    cfg: Claim2Config,
    rows: list[dict[str, Any]],
    base_rows: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    cal: dict[str, Any],
    selection: Selection,
    est: dict[str, Any],
    timings: dict[str, float],
    plot: Path,
    out: Path,
) -> Path:
    seeds = list(cfg.seeds or [0])
    lines = [
        "# Claim 2: perceptual loss from selected channels in x4 super-resolution",
        "",
        "_Generated by `hvsprobe experiment claim2`; every number below is computed from the runs._",
        "",
        "## Setup",
        "",
        f"- budget `{cfg.budget}`: EDSR preset `{cfg.preset}`, batch {cfg.batch_size} HR patches of "
        f"{cfg.patch} px, precision {cfg.precision}",
        f"- L1 pretraining: {cfg.pretrain_steps} steps (lr {cfg.pretrain_lr:g}, cosine); "
        f"fine-tuning: {cfg.finetune_steps} steps per run (lr {cfg.finetune_lr:g}, cosine) from that checkpoint, "
        f"seeds {seeds} (data order; the random subset also changes with the seed)",
        f"- training images: {', '.join(cfg.train_sets)}; test sets: {', '.join(cfg.sets or [])}",
        f"- selection: {selection.n_selected} channels of VGG-16 "
        + ", ".join(
            f"{n} {len(e['channels'])}/{e['n_channels']}" for n, e in selection.layers.items()
        )
        + f" (strategy {selection.strategy.get('name')} {selection.strategy.get('value')} by {selection.score})",
        f"- lambda = rho x L1 / D with L1 = {cal['l1']:.4f} and D at the pretrained model: "
        + ", ".join(f"{k} {v:.4f}" for k, v in cal["distance"].items()),
        "- measured step time (s): "
        + ", ".join(f"{k} {v:.3f}" for k, v in est.get("step_time_s", {}).items())
        + f"; wall time {timings.get('total_s', float('nan')) / 60:.1f} min",
        "",
        "## Verdict",
        "",
        "Compared at matched PSNR-Y (each loss's rho curve, starting at the L1-only run of the same "
        "seed, linearly interpolated; gap averaged over the shared PSNR range, then over seeds). "
        "Each line gives the gap with a paired bootstrap interval that redraws seeds and test "
        "images (the same images for every run) and rebuilds the curves: **supported** when the "
        "whole interval favours selected, **contradicted** when it favours the other loss, "
        f"**not resolved by these data** when it contains 0 ({len(seeds)} seeds).",
        "",
    ]
    lines += [_verdict_sentence(v) for v in verdicts]
    supported = [
        s
        for s in (cfg.sets or [])
        if sum(
            1
            for v in verdicts
            if v["set"] == s
            and (
                (v.get("paired") or {}).get("verdict") == "supported"
                if v.get("paired")
                else v["outcome"] == "better"
            )
        )
        == 2
    ]
    lines += [
        "",
        (
            f"Claim 2 is supported on {', '.join(supported)} (selected beats both vgg and random)."
            if supported
            else "Claim 2 is not supported at this budget: on no test set is selected better than "
            "both vgg and random (see the verdict words above)."
        ),
        "",
        f"![trade-off]({plot.name})",
        "",
        "## Results (mean ± SD over seeds)",
        "",
    ]
    for set_name in cfg.sets or []:
        lines += [
            f"### {set_name}",
            "",
            "| model | rho | lambda | seeds | PSNR-Y (dB) | SSIM-Y | LPIPS-Alex | LPIPS-VGG |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in base_rows:
            if r["set"] == set_name:
                lines.append(
                    f"| {r['model']} | — | — | — | {_fmt(r['psnr_y'], 2)} | {_fmt(r['ssim_y'], 4)} | "
                    f"{_fmt(r['lpips_alex'], 4)} | {_fmt(r['lpips_vgg'], 4)} |"
                )
        keys = dict.fromkeys((r["loss"], r["rho"]) for r in rows if r["set"] == set_name)
        for loss, rho in keys:
            sel = [
                r for r in rows if r["set"] == set_name and r["loss"] == loss and r["rho"] == rho
            ]
            cells = []
            for k, nd in (("psnr_y", 2), ("ssim_y", 4), ("lpips_alex", 4), ("lpips_vgg", 4)):
                m, sd = _mean_sd([r[k] for r in sel])
                cells.append(_fmt(m, nd) + (f" ± {_fmt(sd, nd)}" if math.isfinite(sd) else ""))
            lines.append(
                f"| {loss} | {rho:g} | {sel[0]['lambda']:.4g} | {len(sel)} | "
                + " | ".join(cells)
                + " |"
            )
        lines.append("")
    lines += [
        "LPIPS-VGG uses the same VGG-16 trunk as the vgg/selected/random losses and is the training "
        "loss of lpips-vgg, so LPIPS-Alex is the independent perceptual figure. Side-by-side crops: "
        "[`claim2_crops/crops/`](claim2_crops/crops/).",
        "",
    ]
    path = out / "claim2.md"
    write_text_atomic(path, "\n".join(lines))
    return path


# --------------------------------------------------------------------------------------
# the experiment


def run_claim2(
    config: Claim2Config | None = None,
    *,
    estimate_only: bool = False,
    log: Callable[[str], None] | None = None,
) -> Claim2Result | dict[str, Any]:
    """Run (or resume) the claim-2 experiment and write its report.

    Parameters
    ----------
    config : Claim2Config, optional
        Default: the ``cpu-small`` budget.
    estimate_only : bool
        Measure step times, print the projected wall time and stop (returns the estimate).
    log : callable, optional
        Status lines (default: stderr).

    Returns
    -------
    Claim2Result or dict
    """
    cfg = config or Claim2Config()
    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    t0 = time.perf_counter()
    work, out = Path(str(cfg.work)), Path(cfg.out)
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(work / "claim2_config.json", cfg.to_dict())
    selection_path = _resolve_selection(cfg, say)
    say(f"decoding training images ({', '.join(cfg.train_sets)}) once for all runs …")
    bank = ImageBank.from_folders(
        cfg.train_sets,
        data_root=cfg.data_root,
        min_size=max(int(cfg.patch or 96), int(cfg.finetune_patch or 0)),
    )
    say(f"{len(bank)} training images")
    est_path = work / "estimate.json"
    est = read_json(est_path) if est_path.exists() and not estimate_only else None
    if est is not None and est.get("config") != cfg.to_dict():
        est = None  # measured for another configuration
    if est is None:
        est = estimate_claim2(cfg, bank=bank, selection=selection_path, say=say)
    else:
        say(format_estimate(cfg, est) + " (estimate from an earlier start)")
    if estimate_only:
        return est

    pre_dir = work / "runs" / "pretrain-l1"
    pre_cfg = _train_config(
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
    pre_ckpt = pre_dir / "checkpoint.pt"
    cal = _calibrate(cfg, pre_ckpt, selection_path, bank, say)

    runs = _runs(cfg)
    for i, run in enumerate(runs, 1):
        rdir = work / "runs" / run.name
        if read_summary(rdir) is not None:
            continue
        lam = _lambda(cal, run.loss, run.rho)
        say(f"[{i}/{len(runs)}] {run.name}: loss {run.loss}, rho {run.rho:g}, lambda {lam:.4g}")
        tc = _train_config(
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
    del bank

    from .eval import evaluate

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

    by_run = {r.name: r for r in runs}
    rows: list[dict[str, Any]] = []
    base_rows: list[dict[str, Any]] = []
    for s in ev.summary:
        if s["model"] in by_run:
            run = by_run[s["model"]]
            summ = read_summary(work / "runs" / run.name) or {}
            rows.append(
                {
                    "run": run.name,
                    "loss": run.loss,
                    "rho": run.rho,
                    "lambda": _lambda(cal, run.loss, run.rho),
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
    # the L1 control is the rho = 0 point of every curve
    verdicts = compute_verdicts(
        rows, list(cfg.seeds or [0]), [Path(s).name for s in cfg.sets or []], image_rows=ev.rows
    )
    out.mkdir(parents=True, exist_ok=True)
    import csv

    from .._io import atomic_path

    csv_path = out / "claim2.csv"
    cols = list(rows[0]) if rows else []
    with atomic_path(csv_path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    plot = _plot(
        rows, base_rows, [Path(s).name for s in cfg.sets or []], out / "claim2_tradeoff.png"
    )
    timings = {"total_s": time.perf_counter() - t0}
    sel = Selection.load(selection_path)
    report = _report(cfg, rows, base_rows, verdicts, cal, sel, est, timings, plot, out)
    write_json_atomic(
        out / "claim2_verdicts.json", {"kind": "claim2_verdicts", "verdicts": verdicts}
    )
    say(f"report: {report}")
    return Claim2Result(rows, verdicts, report, csv_path, plot, est)
