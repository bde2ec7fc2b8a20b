"""``hvsprobe metrics``, ``hvsprobe distance`` and ``hvsprobe evaluate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

#: What a ``--data-root`` left out means, for help texts.
DATA_ROOT_DEFAULT = "default: $HVSPROBE_DATA, else the folder `hvsprobe data` registered"


def build_metrics(_p: argparse.ArgumentParser) -> None:
    """``hvsprobe metrics`` takes no options."""


def run_metrics(_args: argparse.Namespace) -> int:
    """Run ``hvsprobe metrics``; returns the exit status."""
    from ..metrics import list_metrics, metric_info

    for name in list_metrics():
        info = metric_info(name)
        better = "higher is better" if info.higher_is_better else "lower is better"
        print(f"{name:14s} {info.description} ({better})")
    return 0


def build_distance(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe distance``."""
    p.add_argument("ref", type=Path, help="reference image or folder")
    p.add_argument("dist", type=Path, help="distorted image or folder")
    p.add_argument(
        "--metric",
        nargs="+",
        default=["lpips-alex"],
        help="metric names (see `hvsprobe metrics`)",
    )
    p.add_argument(
        "--selection",
        type=Path,
        default=None,
        help="selection JSON for the 'selected' metric (default: none; 'selected' needs it)",
    )
    p.add_argument("--out", type=Path, default=None, help="CSV to write (default: print only)")
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.add_argument(
        "--max-memory",
        type=float,
        default=None,
        metavar="GB",
        help="memory a perceptual metric may use per pair; larger pairs are refused before "
        "they run (default: the memory available)",
    )


def run_distance(args: argparse.Namespace) -> int:
    """Run ``hvsprobe distance``; returns the exit status."""
    from .._preflight import check_output_file
    from ..metrics import distance_command

    if args.out is not None:
        check_output_file(args.out)
    rows = distance_command(
        args.ref,
        args.dist,
        args.metric,
        args.out,
        selection=args.selection,
        device=args.device,
        max_memory=args.max_memory,
    )
    names = list(args.metric)
    print("pair," + ",".join(names))
    for row in rows:
        print(row["pair"] + "," + ",".join(f"{row[n]:.6g}" for n in names))
    if args.out is not None:
        print(f"{len(rows)} pairs -> {args.out}", file=sys.stderr)
    return 0


def build_evaluate(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe evaluate``."""
    from ..evaluate.run import DATASET_CHOICES

    p.add_argument("metrics", nargs="+", metavar="METRIC", help="metric names (`hvsprobe metrics`)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--dataset",
        choices=DATASET_CHOICES,
        help="a data set in its standard layout (this or --csv is required)",
    )
    src.add_argument(
        "--csv",
        type=Path,
        help="generic CSV: ref, dist, score, higher_is_better[, ...] (this or --dataset is "
        "required)",
    )
    p.add_argument(
        "--data-root", type=Path, default=None, help=f"folder holding iqa/ ({DATA_ROOT_DEFAULT})"
    )
    p.add_argument(
        "--selection",
        type=Path,
        default=None,
        help="selection JSON for the 'selected' metric (default: none; 'selected' needs it)",
    )
    p.add_argument("--split", default="val", help="BAPPS 2AFC split")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (0: none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--batch-size", type=int, default=8, help="image pairs per forward pass")
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="value cache file (default: $HVSPROBE_CACHE/metric_values.json, else "
        "~/.cache/hvsprobe/metric_values.json)",
    )
    p.add_argument("--no-cache", action="store_true", help="compute every value afresh")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for evaluate.json/.csv (default: print only)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run_evaluate(args: argparse.Namespace) -> int:
    """Run ``hvsprobe evaluate``; returns the exit status."""
    from ..evaluate.run import default_cache_path, evaluate_metrics

    if args.n_boot < 0 or args.batch_size < 1:
        raise ValueError("--n-boot must be >= 0 and --batch-size >= 1")
    ev = evaluate_metrics(
        args.metrics,
        args.dataset,
        data_root=args.data_root,
        csv_path=args.csv,
        selection=args.selection,
        split=args.split,
        n_boot=args.n_boot,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        cache=None if args.no_cache else (args.cache or default_cache_path()),
        progress=not args.no_progress,
    )
    print(ev.format())
    if args.out is not None:
        paths = ev.write(args.out)
        print(f"results: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0
