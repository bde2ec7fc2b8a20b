"""Build time of `hvsprobe report` on one results folder: the previous code against this one.

    python benchmarks/report_build.py RESULTS [--before-ref main] [--rounds 1]

Runs, on the same folder and each in a fresh Python process (imports included, as a user
running the command pays them): the report builder of git ref ``--before-ref`` (extracted
with ``git archive`` into a temporary folder), this checkout's builder on an empty output
folder (cold: every figure drawn), and this checkout's builder again on that folder (warm:
unchanged figures reused, the page and the channel pages rewritten). Prints the seconds of
each and the ratios before / cold and before / warm. Output goes to a temporary folder; the
results folder is only read.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = (
    "import sys, time; t = time.perf_counter(); "
    "from hvsprobe.report import build_report; build_report(sys.argv[1], sys.argv[2]); "
    "print(time.perf_counter() - t)"
)


def _extract(ref: str, into: Path) -> Path:
    """The ``src/`` tree of git ``ref`` under ``into``."""
    data = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _build(src: Path, results: Path, out: Path) -> float:
    """Seconds of one build in a fresh process with ``src`` first on the import path."""
    import os

    env = {**os.environ, "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", BUILD, str(results), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        raise SystemExit(f"build with {src} failed:\n{run.stderr[-2000:]}")
    return wall


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", type=Path, help="a results folder written by `hvsprobe analyze`")
    p.add_argument("--before-ref", default="main", help="git ref of the previous builder")
    p.add_argument("--rounds", type=int, default=1, help="repetitions (the median is printed)")
    args = p.parse_args()
    if not (args.results / "scores.csv").is_file():
        print(f"{args.results} is not a results folder (no scores.csv)", file=sys.stderr)
        return 2
    times: dict[str, list[float]] = {"before": [], "cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        before_src = _extract(args.before_ref, tmp_path / "before")
        after_src = REPO / "src"
        for k in range(args.rounds):
            times["before"].append(_build(before_src, args.results, tmp_path / f"b{k}"))
            times["cold"].append(_build(after_src, args.results, tmp_path / f"a{k}"))
            times["warm"].append(_build(after_src, args.results, tmp_path / f"a{k}"))
    med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print(f"results folder: {args.results}  (rounds: {args.rounds}, median wall seconds)")
    print(f"before ({args.before_ref}): {med['before']:.2f} s")
    print(f"after, cold (all figures drawn): {med['cold']:.2f} s")
    print(f"after, warm (unchanged figures reused): {med['warm']:.2f} s")
    print(f"ratio before / cold: {med['before'] / med['cold']:.2f}")
    print(f"ratio before / warm: {med['before'] / med['warm']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
