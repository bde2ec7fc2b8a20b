"""CPU seconds of each figure job of a report build, for two builders side by side.

    python benchmarks/report_jobs.py RESULTS [--before-ref db652a7] [--rounds 3]

Each round builds the report of ``RESULTS`` into an empty folder with the builder of git ref
``--before-ref`` (its ``src/`` extracted with ``git archive``) and with this checkout's, each
in a fresh process, order alternating between rounds. The build runs serially
(``workers=1``) with the figure jobs timed one by one (CPU seconds of the process); a job is
named by the figure files it wrote (the per-layer tuning figures are one job in the newer
builder). Also printed: the import time (the figure code included, which the newer builder
imports only in the processes that draw), and the rest of the build (reading the folder,
channel pages, page). Medians over rounds; the load average before and after.
Default ``--before-ref``: the main branch before this round's report speed-ups.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from report_build import extract_src, parse_arguments  # noqa: E402  (beside this script)

REPO = Path(__file__).resolve().parents[1]
BEFORE = "db652a7"

#: Run in the child: time the imports, every figure job, and the whole build.
CHILD = r"""
import json, sys, time
c0 = time.process_time()
import hvsprobe.report.cache as cache
from hvsprobe.report import build_report
import importlib
for name in ("figures", "tuning_figures", "frequency_map", "scatter"):  # drawing code, if any
    try:
        importlib.import_module("hvsprobe.report." + name)
    except ImportError:
        pass
imports = time.process_time() - c0
out, jobs = sys.argv[2], []

def serial(batch, workers):
    results = []
    for job in batch:
        figs = __import__("pathlib").Path(out) / "figures"
        before = {p.name: p.stat().st_mtime_ns for p in figs.glob("*.png")}
        c = time.process_time()
        results.append(job())
        cpu = time.process_time() - c
        made = sorted(p.name for p in figs.glob("*.png") if before.get(p.name) != p.stat().st_mtime_ns)
        jobs.append((made, cpu))
    return lambda: results

cache.run_jobs = serial
c1 = time.process_time()
build_report(sys.argv[1], out, workers=1)
total = time.process_time() - c1
print(json.dumps({"imports": imports, "build": total, "jobs": jobs}))
"""


def _run(src: Path, results: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(results), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if run.returncode != 0:
        raise SystemExit(f"build with {src} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _label(names: list[str]) -> str:
    tuning = [n for n in names if n.startswith("tuning_")]
    rest = [n for n in names if not n.startswith("tuning_")]
    return " + ".join([*rest, *([f"{len(tuning)} tuning figures"] if tuning else [])]) or "?"


def main() -> int:
    args = parse_arguments(__doc__ or "", BEFORE, 3)
    if args is None:
        return 2
    load0 = os.getloadavg()[0]
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        srcs = {"before": extract_src(args.before_ref, Path(tmp) / "b"), "after": REPO / "src"}
        for k in range(args.rounds):
            for kind in ("before", "after") if k % 2 == 0 else ("after", "before"):
                runs[kind].append(_run(srcs[kind], args.results, Path(tmp) / f"{kind}{k}"))
    print(f"{args.results}: CPU seconds, medians of {args.rounds} rounds, serial builds")
    print(f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    for kind, label in (("before", f"before ({args.before_ref})"), ("after", "this checkout")):
        rs = runs[kind]
        jobs: dict[str, list[float]] = {}
        for r in rs:  # per round, the jobs of one kind summed (before: one job per layer)
            per_round: dict[str, float] = {}
            for names, cpu in r["jobs"]:
                key = _label(names)
                if key.endswith(" tuning figures"):
                    key = "tuning figures"
                per_round[key] = per_round.get(key, 0.0) + cpu
            for key, cpu in per_round.items():
                jobs.setdefault(key, []).append(cpu)
        figures = statistics.median(sum(c for _, c in r["jobs"]) for r in rs)
        imports = statistics.median(r["imports"] for r in rs)
        build = statistics.median(r["build"] for r in rs)
        print(f"\n{label}")
        print(f"  {'imports':44s} {imports:6.2f}")
        for name, cpus in jobs.items():
            print(f"  {name[:44]:44s} {statistics.median(cpus):6.2f}")
        print(f"  {'all figure jobs':44s} {figures:6.2f}")
        print(f"  {'rest of the build (read, pages, page)':44s} {build - figures:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
