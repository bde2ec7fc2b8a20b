"""Claim 2: does a perceptual loss on the selected channels improve x4 super-resolution?

Run with ``hvsprobe experiment claim2 --out DIR`` or
``python -m hvsprobe.experiments.claim2 --out DIR`` (``--budget smoke`` for a quick check).
Modules: :mod:`.claim2_config` (budgets, runs), :mod:`.claim2_runs` (selection, calibration,
estimate, training, evaluation), :mod:`.claim2_stats` (matched-PSNR gaps, verdicts),
:mod:`.claim2_report` (CSV, plot, page).

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

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._io import read_json, write_json_atomic
from ..sr.data import DATA_ROOT_HELP, THREADS_HELP
from .claim2_config import BUDGETS, Claim2Config, Claim2Result, run_specs
from .claim2_report import write_outputs
from .claim2_runs import (
    calibrate,
    collect_rows,
    estimate_claim2,
    evaluate_runs,
    finetune_all,
    format_estimate,
    load_bank,
    pretrain,
    resolve_selection,
)
from .claim2_stats import compute_verdicts
from .entry import experiment_main

__all__ = ["add_arguments", "main", "run", "run_claim2"]


def run_claim2(
    config: Claim2Config,
    *,
    estimate_only: bool = False,
    log: Callable[[str], None] | None = None,
) -> Claim2Result | dict[str, Any]:
    """Run (or resume) the claim-2 experiment and write its report.

    Parameters
    ----------
    config : Claim2Config
        Budget and folders (``out`` is required).
    estimate_only : bool
        Measure step times, print the projected wall time and stop (returns the estimate).
    log : callable, optional
        Status lines (default: stderr).

    Returns
    -------
    Claim2Result or dict
    """
    cfg = config
    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    t0 = time.perf_counter()
    work, out = Path(str(cfg.work)), Path(str(cfg.out))
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(work / "claim2_config.json", cfg.to_dict())
    selection_path = resolve_selection(cfg, say)
    bank = load_bank(cfg, say)
    est = _estimate(cfg, bank, selection_path, estimate_only, say)
    if estimate_only:
        return est

    pre_ckpt = pretrain(cfg, bank, say)
    cal = calibrate(cfg, pre_ckpt, selection_path, bank, say)
    runs = run_specs(cfg)
    finetune_all(cfg, runs, cal, selection_path, pre_ckpt, bank, say)
    del bank

    ev = evaluate_runs(cfg, runs, pre_ckpt, say)
    rows, base_rows = collect_rows(cfg, runs, cal, ev.summary)
    # the L1 control is the rho = 0 point of every curve
    verdicts = compute_verdicts(
        rows, list(cfg.seeds or [0]), [Path(s).name for s in cfg.sets or []], image_rows=ev.rows
    )
    report, csv_path, plot = write_outputs(
        cfg, rows, base_rows, verdicts, cal, est, selection_path, t0, out
    )
    say(f"report: {report}")
    return Claim2Result(rows, verdicts, report, csv_path, plot, est)


def _estimate(
    cfg: Claim2Config,
    bank: Any,
    selection_path: Path,
    estimate_only: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """The estimate of an earlier start with the same configuration, else a new one."""
    est_path = Path(str(cfg.work)) / "estimate.json"
    est = read_json(est_path) if est_path.exists() and not estimate_only else None
    if est is not None and est.get("config") != cfg.to_dict():
        est = None  # measured for another configuration
    if est is None:
        est = estimate_claim2(cfg, bank=bank, selection=selection_path, say=say)
    else:
        say(format_estimate(cfg, est) + " (estimate from an earlier start)")
    return est


# --------------------------------------------------------------------------------------
# command line: `hvsprobe experiment claim2` and `python -m hvsprobe.experiments.claim2`

DESCRIPTION = "Claim 2: selected-channel perceptual loss in x4 super-resolution."


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add claim 2's options to ``p`` (``--out`` is required: the report folder)."""
    budget = "(default: the budget's)"
    p.add_argument(
        "--budget", choices=sorted(BUDGETS), default="cpu-small", help="steps, seeds and sets"
    )
    p.add_argument(
        "--preset", choices=("small", "standard"), default=None, help=f"network size {budget}"
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        help="report folder (claim2.md, claim2.csv, claim2_tradeoff.png; e.g. docs/results)",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="runs and caches (default: hvsprobe-results/claim2-BUDGET)",
    )
    p.add_argument(
        "--selection",
        type=Path,
        default=None,
        help="selection JSON (default: hvsprobe-results/vgg16-imagenet/selection.json, "
        "computed by `hvsprobe analyze` if missing)",
    )
    p.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    p.add_argument(
        "--device", default=None, help="cpu or cuda (default: cuda if available, else cpu)"
    )
    p.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32", help="compute precision"
    )
    p.add_argument("--sets", nargs="+", default=None, help=f"test image sets {budget}")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help=f"training seeds {budget}")
    p.add_argument("--rhos", nargs="+", type=float, default=None, help=f"relative lambdas {budget}")
    p.add_argument(
        "--pretrain-steps", type=int, default=None, help=f"L1 pre-training steps {budget}"
    )
    p.add_argument("--finetune-steps", type=int, default=None, help=f"fine-tuning steps {budget}")
    p.add_argument("--batch-size", type=int, default=None, help=f"batch size {budget}")
    p.add_argument("--patch", type=int, default=None, help=f"HR patch size {budget}")
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument(
        "--num-workers",
        type=int,
        default=None,
        help="loader workers (default: 4 on CUDA, 0 on CPU)",
    )
    p.add_argument(
        "--estimate-only", action="store_true", help="time the steps, print the estimate, stop"
    )
    return p


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    """Run claim 2 from parsed arguments; print the verdict part of the page."""
    cfg = Claim2Config(
        budget=args.budget,
        out=str(args.out),
        work=str(args.work) if args.work else None,
        selection=str(args.selection) if args.selection else None,
        data_root=str(args.data_root) if args.data_root else None,
        device=args.device,
        precision=args.precision,
        preset=args.preset,
        sets=args.sets,
        seeds=args.seeds,
        rhos=args.rhos,
        pretrain_steps=args.pretrain_steps,
        finetune_steps=args.finetune_steps,
        batch_size=args.batch_size,
        patch=args.patch,
        threads=args.threads,
        num_workers=args.num_workers,
    )
    res = run_claim2(cfg, estimate_only=args.estimate_only)
    if isinstance(res, dict):  # --estimate-only: run_claim2 has printed the estimate
        return 0
    print(res.report.read_text(encoding="utf-8").split("## Results")[0])
    print(f"report {res.report}, table {res.csv}, plot {res.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m hvsprobe.experiments.claim2 --out DIR [--budget smoke] ...``."""
    return experiment_main("claim2", DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
