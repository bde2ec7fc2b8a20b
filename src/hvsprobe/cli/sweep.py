"""``hvsprobe sweep MODELS.toml --out DIR``: many models, one results folder each, a leaderboard."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_sweep(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe sweep``."""
    p.add_argument(
        "models", type=Path, help="sweep file (TOML: [analysis], [[model]]; docs/models.md)"
    )
    p.add_argument(
        "--out", type=Path, required=True, help="folder of the results folders and leaderboard.html"
    )
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run one model per Ray task on the cluster at ADDRESS ('auto', 'ray://host:10001'; "
        "needs hvsprobe[ray]; default: in this process, one after another)",
    )


def run_sweep(args: argparse.Namespace) -> int:
    """Run ``hvsprobe sweep``; exit status 2 when a model failed (the others finished)."""
    from ..sweep import run_sweep as sweep

    if not args.models.is_file():
        raise FileNotFoundError(f"sweep file {args.models} does not exist")
    results = sweep(
        args.models, args.out, ray_address=args.ray, log=lambda m: print(m, file=sys.stderr)
    )
    for r in results:
        print(f"{r['name']:32s} {r['status']:8s} {r['error']}".rstrip())
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        names = ", ".join(r["name"] for r in failed)
        print(
            f"hvsprobe sweep: {len(failed)} of {len(results)} models failed: {names}",
            file=sys.stderr,
        )
        return 2
    return 0
