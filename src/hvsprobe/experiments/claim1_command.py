"""The command line of claim 1: ``hvsprobe experiment claim1`` and ``python -m
hvsprobe.experiments.claim1_command``.

The CLI imports this module (never the reverse): the options live beside the experiment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["add_claim1_command", "main", "run_from_args"]


#: ``--workers`` default: one process per usable CPU (each chunk runs on one thread), at most
#: 8 so that the per-worker copies of the network (about 0.5-2 GB each) fit in memory.
DEFAULT_WORKERS = max(
    1,
    min(
        8,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    ),
)


def add_claim1_command(experiment_subparsers: Any) -> argparse.ArgumentParser:
    """Add ``claim1`` to the sub-parser group of an ``experiment`` command."""
    e1: argparse.ArgumentParser = experiment_subparsers.add_parser(
        "claim1",
        help="do higher-scoring channels predict human judgments better?",
        description="Claim 1: do higher-scoring channels predict human judgments better? "
        "Needs the results folders of `hvsprobe analyze` for each backbone.",
    )
    e1.add_argument(
        "--backbones",
        nargs="+",
        default=["vgg16", "alexnet"],
        help="backbones whose results folders are compared",
    )
    e1.add_argument(
        "--fractions",
        nargs="+",
        type=float,
        default=[0.10, 0.25, 0.50],
        help="shares of channels per layer to select",
    )
    e1.add_argument("--n-random", type=int, default=20, help="random subsets per fraction")
    e1.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates")
    e1.add_argument("--seed", type=int, default=0, help="seed of random subsets and bootstrap")
    e1.add_argument(
        "--data-root",
        default=None,
        help="folder with iqa/, bapps/ and psychophysics/ (default: $HVSPROBE_DATA, else the "
        "folder `hvsprobe data` registered)",
    )
    e1.add_argument(
        "--results-root",
        default="hvsprobe-results",
        help="where BACKBONE-imagenet results folders live",
    )
    e1.add_argument(
        "--out", default="hvsprobe-results/claim1", help="output folder (CSV, JSON, claim1.md)"
    )
    e1.add_argument(
        "--doc",
        default=None,
        help="also write the page here, keeping its old verdict in a History section "
        "(e.g. docs/results/claim1.md; default: no page outside --out)",
    )
    e1.add_argument(
        "--cache-dir", default=None, help="per-channel distance caches (default: --out)"
    )
    e1.add_argument("--level", type=float, default=0.95, help="interval level")
    e1.add_argument(
        "--live-only", action="store_true", help="LIVE only (the same as --datasets live; quick)"
    )
    e1.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        metavar="NAME",
        help="human data sets: live, tid2013, kadid10k, csiq, csv, bapps-2afc, bapps-jnd, "
        "modelfest, castlecsf (default: live modelfest castlecsf)",
    )
    e1.add_argument(
        "--csv", default=None, help="the CSV file of the 'csv' data set (default: none)"
    )
    e1.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="local processes computing distance chunks, each on one thread (default: the "
        f"usable CPUs, at most 8: {DEFAULT_WORKERS} here)",
    )
    e1.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run the distance chunks as Ray tasks on this cluster ('local' starts one; "
        "needs pip install 'hvsprobe[ray]'; default: no Ray, --workers local processes)",
    )
    e1.add_argument("--chunk-rows", type=int, default=64, help="image pairs per cached chunk")
    e1.add_argument(
        "--weights",
        default="imagenet",
        help="backbone weights: imagenet or random:SEED (scores from BACKBONE-random-SEED)",
    )
    e1.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return e1


def run_from_args(args: argparse.Namespace) -> int:
    """Run claim 1 from parsed arguments; returns the exit status."""
    from .claim1 import Claim1Config, run_claim1
    from .claim1_datasets import DEFAULT_DATASETS

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.chunk_rows < 1:
        raise ValueError(f"--chunk-rows must be >= 1, got {args.chunk_rows}")
    datasets = tuple(args.datasets) if args.datasets else DEFAULT_DATASETS
    if args.csv and "csv" not in datasets:
        datasets = (*datasets, "csv")
    cfg = Claim1Config(
        datasets=datasets,
        csv=args.csv,
        weights=args.weights,
        chunk_rows=args.chunk_rows,
        backbones=tuple(args.backbones),
        fractions=tuple(args.fractions),
        n_random=args.n_random,
        n_boot=args.n_boot,
        seed=args.seed,
        data_root=args.data_root,
        results_root=args.results_root,
        out=args.out,
        doc=args.doc or None,
        live_only=args.live_only,
        cache_dir=args.cache_dir,
        level=args.level,
    )
    cfg.dataset_names()  # an unknown name fails before any work
    res = run_claim1(
        cfg,
        progress=not args.no_progress,
        log=lambda m: print(m, file=sys.stderr),
        workers=args.workers,
        ray_address=args.ray,
    )
    print(
        f"claim1: {len(res.rows)} metric variants in {res.timings['total_s'] / 60:.1f} min -> {cfg.out}"
    )
    if cfg.doc:
        print(f"markdown: {cfg.doc}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m hvsprobe.experiments.claim1_command [--datasets ...] ...``."""
    from ..errors import run_guarded

    p = argparse.ArgumentParser(prog="python -m hvsprobe.experiments.claim1_command")
    sub = p.add_subparsers(dest="experiment", required=True)
    add_claim1_command(sub)
    args = p.parse_args(["claim1", *(sys.argv[1:] if argv is None else argv)])
    return run_guarded("experiment claim1", lambda: run_from_args(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
