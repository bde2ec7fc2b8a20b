"""Drawing time of the report's many-panel score figures: an earlier design against this one.

    python benchmarks/report_figures.py RESULTS [--before-ref db652a7] [--rounds 7] [--png DIR]

The earlier ``src/hvsprobe/report/figures.py`` (``git show`` of ``--before-ref``; default: the
main branch before the best-frequency heat map) is loaded beside this checkout's figures, in
the same process, and each round draws the best-frequency figure, the μ1-μ2 scatter, the score
distributions and the layer shares with both, the order alternating between rounds. Each call
is timed in CPU seconds of this process (``time.process_time``) after an untimed
``gc.collect()``; one untimed warm-up call per figure comes first. Prints the medians, their
ratio, and the load average before and after. ``--png DIR`` keeps the last PNG of each as
``DIR/{old,new}_<figure>.png``; otherwise they go to a temporary folder.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from hvsprobe.report import figures as new
from hvsprobe.report.frequency_map import best_frequency_map
from hvsprobe.report.inputs import csf_for
from hvsprobe.report.scatter import mu1_mu2_scatter
from hvsprobe.scores import ChannelScores
from hvsprobe.tuning import Tuning

REPO = Path(__file__).resolve().parents[1]
BEFORE = "db652a7"


def _before_module(ref: str, tmp: Path) -> ModuleType:
    """``report/figures.py`` of git ``ref`` as a module of this checkout's package."""
    src = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{ref}:src/hvsprobe/report/figures.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = tmp / "before_figures.py"
    path.write_text(src, encoding="utf-8")
    name = "hvsprobe.report._before_figures"  # its relative imports resolve in this package
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _calls(results: Path, old: ModuleType) -> dict[str, dict[str, Callable[[Path], Any]]]:
    scores = ChannelScores.load(results)
    grid = Tuning.load(results).grid
    csf = csf_for(scores.config.get("score", {}), [])
    peak = csf[1] if csf is not None else None
    sel_file = results / "selection.json"
    sel = None
    if sel_file.is_file():
        layers = json.loads(sel_file.read_text(encoding="utf-8"))["layers"]
        sel = {k: v["channels"] for k, v in layers.items()}
    return {
        "best_frequency": {
            "old": lambda p: old.best_frequency_histograms(scores, grid, p, csf_peak=peak),
            "new": lambda p: best_frequency_map(scores, grid, p, csf_peak=peak),
        },
        "scatter": {
            "old": partial(old.mu1_mu2_scatter, scores, selected=sel),
            "new": partial(mu1_mu2_scatter, scores, selected=sel),
        },
        **{
            name: {
                side: partial(getattr(mod, fn), scores)
                for side, mod in (("old", old), ("new", new))
            }
            for name, fn in (
                ("distributions", "score_distributions"),
                ("shares", "layer_shares"),
            )
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="a results folder (hvsprobe analyze --out)")
    p.add_argument("--before-ref", default=BEFORE, help="git ref of the earlier figures.py")
    p.add_argument("--rounds", type=int, default=7, help="timed calls per figure and side")
    p.add_argument("--png", type=Path, default=None, help="folder for the last PNGs")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.png or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        calls = _calls(args.results, _before_module(args.before_ref, Path(tmp)))
        times: dict[tuple[str, str], list[float]] = {}
        load_before = os.getloadavg()
        with new.report_style():
            for name, sides in calls.items():
                for side, draw in sides.items():
                    draw(out / f"{side}_{name}.png")  # warm-up: fonts, caches
            for r in range(args.rounds):
                for name, sides in calls.items():
                    for side in ("old", "new") if r % 2 == 0 else ("new", "old"):
                        gc.collect()
                        t0 = time.process_time()
                        sides[side](out / f"{side}_{name}.png")
                        times.setdefault((name, side), []).append(time.process_time() - t0)
        load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print(
        f"{'figure':16s} {'before s':>9s} {'this s':>8s} {'ratio':>7s}  CPU s, median of {args.rounds}"
    )
    for name in calls:
        o = statistics.median(times[(name, "old")])
        n = statistics.median(times[(name, "new")])
        print(f"{name:16s} {o:9.3f} {n:8.3f} {o / n:6.2f}x")


if __name__ == "__main__":
    main()
