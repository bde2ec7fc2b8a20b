"""``hvsprobe report`` (report.html / compare.html) and ``hvsprobe invert``."""

from __future__ import annotations

import argparse
from pathlib import Path


def build_report(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe report``."""
    p.add_argument(
        "results", type=Path, nargs="+", help="results folder(s) written by `hvsprobe analyze`"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file or folder (default: RESULTS/report.html; several folders: "
        "./hvsprobe-comparison/compare.html)",
    )
    p.add_argument(
        "--inversion",
        type=Path,
        default=None,
        help="folder from `hvsprobe invert`: show it (one results folder only; default: none)",
    )


def run_report(args: argparse.Namespace) -> int:
    """Run ``hvsprobe report``; returns the exit status."""
    from ..report import build_report as write_report
    from ..results_folder import check_results_folder

    for folder in args.results:
        check_results_folder(folder)
    if len(args.results) > 1:
        from ..report.compare import build_comparison

        if args.inversion is not None:
            raise ValueError("--inversion applies to a single results folder, not a comparison")
        out = args.out if args.out is not None else Path("hvsprobe-comparison")
        print(f"comparison: {build_comparison(args.results, out)}")
        return 0
    path = write_report(args.results[0], args.out, inversion=args.inversion)
    print(f"report: {path}")
    return 0


def build_invert(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe invert``."""
    from ..invert import DEFAULT_LAYERS, InversionConfig

    d = InversionConfig()
    p.add_argument("image", type=Path, help="target image (centre-cropped and resized to --size)")
    p.add_argument(
        "--selection",
        type=Path,
        action="append",
        default=None,
        help="selection JSON (repeatable; this or --results is required)",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results folder: use its scores for top / bottom / random subsets "
        "(this or --selection is required)",
    )
    p.add_argument("--fraction", type=float, default=0.25, help="share per layer (with --results)")
    p.add_argument(
        "--layers", nargs="+", default=list(DEFAULT_LAYERS), help="layers (with --results)"
    )
    p.add_argument("--size", type=int, default=256, help="square size in pixels; 0 keeps the image")
    p.add_argument("--steps", type=int, default=d.steps, help="optimiser steps")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (pixel units)")
    p.add_argument(
        "--tv-weight", type=float, default=d.tv_weight, help="total-variation prior; 0 turns it off"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="starting noise and random subset")
    p.add_argument("--out", type=Path, default=None, help="folder (default: inversion-IMAGESTEM)")
    p.add_argument("--device", default=None, help="torch device (default: cpu)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run_invert(args: argparse.Namespace) -> int:
    """Run ``hvsprobe invert``; returns the exit status."""
    from ..invert import InversionConfig, default_selections, invert, load_target, save_inversion
    from ..results_folder import load_scores

    if (args.selection is None) == (args.results is None):
        raise ValueError("give either --selection FILE (repeatable) or --results DIR, not both")
    if not 0.0 < args.fraction <= 1.0:  # named here: the library's message says `fraction`
        raise ValueError(
            f"--fraction: must be > 0 and <= 1 (the share of each layer's channels used for "
            f"the top, bottom and random subsets), got {args.fraction:g}"
        )
    cfg = InversionConfig(steps=args.steps, lr=args.lr, tv_weight=args.tv_weight, seed=args.seed)
    if args.results is not None:
        scores = load_scores(args.results)  # refuses incomplete, mixed or changed folders
        sels = default_selections(
            scores, fraction=args.fraction, layers=args.layers, seed=args.seed
        )
    else:
        sels = list(args.selection)
    target = load_target(args.image, args.size or None)
    res = invert(target, sels, config=cfg, device=args.device, progress=not args.no_progress)
    out = args.out or Path(f"inversion-{args.image.stem}")
    save_inversion(res, out, image_sources=[args.image], names=[args.image.stem])
    for k, r in res.reconstructions.items():
        m = " ".join(f"{n}={v:.4g}" for n, v in r.measures[0].items())
        print(f"{k:10s} distance {r.initial_distance[0]:.4g} -> {r.final_distance[0]:.4g}  {m}")
    print(f"{len(res.reconstructions)} reconstructions in {res.seconds:.1f} s -> {out}")
    return 0
