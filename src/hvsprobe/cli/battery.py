"""``hvsprobe battery``: the low-level human-vision battery on a network, subset or metric."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

#: hvsprobe.battery.TESTS, spelled out so that building the parser imports no torch
#: (tests/test_battery.py checks that they agree).
TEST_NAMES = (
    "detection_achromatic",
    "detection_red_green",
    "detection_yellow_violet",
    "masking",
    "constancy",
)


def build_battery(p: argparse.ArgumentParser) -> None:
    """Options of ``hvsprobe battery`` (docs/battery.md)."""
    p.add_argument(
        "subject",
        help="a backbone (vgg16, alexnet, ...: its layers), a metric (hvsprobe metrics) or "
        "'pixels' (the raw-pixel baseline)",
    )
    p.add_argument(
        "--weights", default="imagenet", help="backbone weights, or random:SEED (default: imagenet)"
    )
    p.add_argument("--layers", nargs="+", default=None, help="layers (default: LPIPS's five)")
    p.add_argument(
        "--subset",
        nargs="+",
        default=[],
        choices=["selection", "random", "bottom", "all"],
        help="channel subsets chosen from --scores (default: whole layers)",
    )
    p.add_argument(
        "--scores",
        type=Path,
        default=None,
        help="`hvsprobe analyze` results folder for --subset (default: none)",
    )
    p.add_argument("--fraction", type=float, default=0.25, help="subset size (default: 0.25)")
    p.add_argument("--n-random", type=int, default=20, help="random subsets (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random subsets (default: 0)")
    p.add_argument(
        "--selection",
        type=Path,
        default=None,
        help="selection.json for the metric 'selected' (default: none)",
    )
    p.add_argument(
        "--tests",
        nargs="+",
        default=list(TEST_NAMES),
        choices=list(TEST_NAMES),
        help="tests to run (default: all five)",
    )
    p.add_argument("--peak", type=float, default=400.0, help="display peak cd/m2 (default: 400)")
    p.add_argument(
        "--encoding",
        default="srgb",
        choices=["srgb", "linear"],
        help="pixel encoding of linear RGB (default: srgb)",
    )
    p.add_argument("--ppd", type=float, default=60.0, help="pixels per degree (default: 60)")
    p.add_argument("--size", type=int, default=224, help="image side in pixels (default: 224)")
    p.add_argument("--data-root", type=Path, default=None, help="default: $HVSPROBE_DATA")
    p.add_argument("--device", default=None, help="torch device (default: CPU)")
    p.add_argument("--batch-size", type=int, default=16, help="images per call (default: 16)")
    p.add_argument("--out", type=Path, required=True, help="results folder to write")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run_battery_command(args: argparse.Namespace) -> int:
    """Run the battery and print one line per (variant, test)."""
    from ..battery import make_subject, run_battery
    from ..stimuli.physical import Display

    display = Display(peak=args.peak, encoding=args.encoding, ppd=args.ppd, size=args.size)
    kwargs = {"selection": str(args.selection)} if args.selection is not None else None
    subject = make_subject(
        args.subject,
        weights=args.weights,
        layers=args.layers,
        scores=args.scores,
        subsets=args.subset,
        fraction=args.fraction,
        n_random=args.n_random,
        seed=args.seed,
        device=args.device,
        metric_kwargs=kwargs,
    )
    res = run_battery(
        subject,
        args.tests,
        display=display,
        data_root=args.data_root,
        out=args.out,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    for row in res.summary():
        sp = row["pooled_spearman"]
        extra = "" if math.isnan(sp) else f", pooled Spearman {sp:.3f}"
        print(
            f"{row['variant']:<24} {row['test']:<24} {row['statistic']} {row['value']:.3f} "
            f"(log10 contrast){extra}, {row['censored']} censored"
        )
    print(f"battery {res.timings['total_s']:.1f} s; results in {args.out}")
    return 0
