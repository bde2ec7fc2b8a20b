"""What the report's own infrastructure buys: its forked workers and its figure cache.

    python benchmarks/report_infra.py RESULTS [--rounds 3]

Builds the report of ``RESULTS`` in fresh Python processes (imports included), rounds
interleaved so that machine load falls on every variant alike:

* ``workers`` -- the builder as it is (cold: empty output folder);
* ``1 process`` -- ``workers=1``: every figure drawn in the building process;
* ``warm rebuild`` -- the builder again on the first variant's output (the figure cache
  reuses every figure; only the pages are rewritten).

Prints the median wall seconds of each and the ratios to the first. (Its first version also
built with the report's own PNG writer against Pillow's; Pillow was as fast within the noise,
so the own writer was removed: docs/performance.md.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD = "from hvsprobe.report import build_report; build_report({src!r}, {out!r}, workers={w})"


def run(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    src = str(Path(args.results).resolve())
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            outs = {k: f"{tmp}/{r}-{i}/report.html" for i, k in enumerate("ab")}
            variants = {
                "workers": BUILD.format(src=src, out=outs["a"], w=None),
                "1 process": BUILD.format(src=src, out=outs["b"], w=1),
            }
            order = list(variants) if r % 2 == 0 else list(variants)[::-1]
            for name in order:
                times.setdefault(name, []).append(run(variants[name]))
            times.setdefault("warm rebuild", []).append(
                run(BUILD.format(src=src, out=outs["a"], w=None))
            )
    base = statistics.median(times["workers"])
    print("| build | median wall s | ratio to the builder as it is | rounds (s) |")
    print("|---|---:|---:|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"| {name} | {med:.2f} | {med / base:.2f} | {', '.join(f'{t:.2f}' for t in ts)} |")


if __name__ == "__main__":
    main()
