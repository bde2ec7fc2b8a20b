"""Build time of `hvsprobe report` on one results folder: an earlier builder against this one.

    python benchmarks/report_build.py RESULTS [--before-ref 71076aa] [--rounds 3]

Each round builds, on the same folder and each in a fresh Python process (imports included,
as a user running the command pays them): the report builder of git ref ``--before-ref``
(extracted with ``git archive`` into a temporary folder; default: the builder as it was when
issue 14 was filed, the parent of its first report commit), this checkout's builder on an
empty output folder (cold: every figure drawn) and this checkout's builder again on that
folder (warm: unchanged figures reused, the pages rewritten). Rounds alternate the order
(before first, then after first), so a change of machine load during the run falls on both
sides. Prints, per kind, the median wall seconds and the median CPU seconds (user + system of
the build's processes, workers included), the before / cold and before / warm ratios of
both side by side, and each round's own wall ratio (the spread). Output goes to a temporary
folder; the results folder is only read.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The parent of 37ea000, the first issue-14 report commit: the builder issue 14 measured.
BEFORE_ISSUE_14 = "71076aa"
BUILD = (
    "import sys; from hvsprobe.report import build_report; build_report(sys.argv[1], sys.argv[2])"
)


def extract_src(ref: str, into: Path) -> Path:
    """The ``src/`` tree of git ``ref`` under ``into``."""
    data = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "src"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _build(src: Path, results: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one build in a fresh process with ``src`` on the import path."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    t0, c0 = time.perf_counter(), _cpu()
    run = subprocess.run(
        [sys.executable, "-c", BUILD, str(results), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    if run.returncode != 0:
        raise SystemExit(f"build with {src} failed:\n{run.stderr[-2000:]}")
    return wall, cpu


def _round(k: int, before: Path, after: Path, results: Path, tmp: Path) -> dict[str, tuple]:
    """One round: before, cold, warm (or cold, warm, before on odd rounds)."""
    out: dict[str, tuple[float, float]] = {}
    order = ["before", "cold", "warm"] if k % 2 == 0 else ["cold", "warm", "before"]
    for kind in order:
        src = before if kind == "before" else after
        folder = tmp / (f"b{k}" if kind == "before" else f"a{k}")
        out[kind] = _build(src, results, folder)
    return out


def _median(v: list[float]) -> float:
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def parse_arguments(doc: str, before: str, rounds: int) -> argparse.Namespace | None:
    """RESULTS, --before-ref and --rounds of a report benchmark; None (said why) if unusable."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("results", type=Path, help="a results folder written by `hvsprobe analyze`")
    p.add_argument("--before-ref", default=before, help="git ref of the earlier builder")
    p.add_argument("--rounds", type=int, default=rounds, help="repetitions (medians are printed)")
    args = p.parse_args()
    if not (args.results / "scores.csv").is_file():
        print(f"{args.results} is not a results folder (no scores.csv)", file=sys.stderr)
        return None
    if args.rounds < 1:
        print(f"--rounds must be >= 1, got {args.rounds}", file=sys.stderr)
        return None
    return args


def main() -> int:
    args = parse_arguments(__doc__ or "", BEFORE_ISSUE_14, 1)
    if args is None:
        return 2
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        before_src = extract_src(args.before_ref, tmp_path / "before")
        for k in range(args.rounds):
            rounds.append(_round(k, before_src, REPO / "src", args.results, tmp_path))
    wall = {k: _median([r[k][0] for r in rounds]) for k in ("before", "cold", "warm")}
    cpu = {k: _median([r[k][1] for r in rounds]) for k in ("before", "cold", "warm")}
    print(
        f"results folder: {args.results}  (rounds: {args.rounds}, medians; load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'build':40s} {'wall s':>8s} {'CPU s':>8s}")
    labels = {
        "before": f"before ({args.before_ref})",
        "cold": "after, cold (all figures drawn)",
        "warm": "after, warm (unchanged figures reused)",
    }
    for k, label in labels.items():
        print(f"{label:40s} {wall[k]:8.2f} {cpu[k]:8.2f}")
    for k in ("cold", "warm"):
        print(
            f"{'ratio before / ' + k:40s} {wall['before'] / wall[k]:7.2f}x "
            f"{cpu['before'] / cpu[k]:7.2f}x"
        )
    for k in ("cold", "warm"):  # the spread: each round's own ratio (before and after side by side)
        per = sorted(r["before"][0] / r[k][0] for r in rounds)
        print(f"{'  rounds, wall ratio ' + k:40s} " + " ".join(f"{x:.2f}x" for x in per))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
