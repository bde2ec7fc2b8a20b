#!/usr/bin/env python
"""Measure the probe, the selected-channel metric and loss, and the memory of ``analyze``.

Usage::

    python benchmarks/run.py            # the full benchmark (about an hour on 2 busy cores)
    python benchmarks/run.py --quick    # reduced grid and sizes, for development (minutes)

Writes ``results.json`` and ``results.md`` (``results-quick.*`` with ``--quick``) next to this
script, or into ``--out-dir``. Every comparison is a ratio of figures measured side by side
in the same run, interleaved (A B, B A, ...) so that a change of the machine's load hits
both sides alike; the load average is recorded before each section and sampled during the
``analyze`` subprocess.

Sections (``--sections`` runs a subset):

``peak``    this machine's measured peak: large fp32/bf16 matmul and conv.
``levers``  memory format, batch size, threads, early stop, bf16, stimulus rendering, each
            on a fixed sample of 224-px stimuli with the real VGG-16 weights.
``probe``   ``hvsprobe analyze vgg16`` (default grid, all 13 layers) as a subprocess under
            ``/usr/bin/time -v``: wall time, probe time, FLOPs, GFLOP/s, share of peak,
            peak RSS. Its scores feed the metric and loss selections.
``paper``   the original protocol (one stimulus per pass, one layer per run, full trunk)
            timed on a deterministic sample and extrapolated to the whole grid.
``metric``  image pairs per second of the selected-channel distance vs LPIPS-VGG.
``loss``    one training step of a tiny SR model with the selected vs the all-channel loss.

The FLOP counter (``hvsprobe.flops``, ``torch.utils.flop_counter``) counts convolutions (2 x MACs:
``2 Cin Cout k k Hout Wout / groups`` per image), the usual convention; ReLU, pooling and the
spatial means add < 0.1 %.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sections.common import (
    HERE,
    SCHEMA_VERSION,
    SECTIONS,
    TARGETS,
    load_average,
    log,
    machine_info,
    with_estimate,
)
from sections.levers import section_levers
from sections.loss import section_loss
from sections.metric import build_selections, section_metric
from sections.paper import section_paper
from sections.peak import section_peak
from sections.probe import efficiency_side_by_side, section_probe
from sections.report import render_markdown
from sections.targets import evaluate_targets


def _parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced grid and sizes")
    parser.add_argument("--out-dir", type=Path, default=HERE)
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--reps",
        type=int,
        default=None,
        help="interleaved rounds of the metric and loss sections (default 3 and 5; quick 1, 2)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="only re-evaluate the targets of a saved results JSON and rewrite its .md",
    )
    return parser


def _render_saved(path: Path) -> int:
    """Re-evaluate the targets of a saved results JSON and rewrite it and its .md."""
    saved = json.loads(path.read_text())
    saved["targets"] = evaluate_targets(saved)
    path.write_text(json.dumps(saved, indent=2) + "\n")
    md = render_markdown(saved)
    path.with_suffix(".md").write_text(md + "\n")
    print(md)
    return 0


def _new_results(args: argparse.Namespace) -> dict[str, Any]:
    """The results document before any section: kind, configuration, machine."""
    return {
        "kind": "hvsprobe_benchmark",
        "schema_version": SCHEMA_VERSION,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "config": {
            "quick": args.quick,
            "sections": args.sections,
            "weights": "imagenet",
            "command": "python benchmarks/run.py"
            + (" --quick" if args.quick else "")
            + (
                f" --sections {' '.join(args.sections)}"
                if list(args.sections) != list(SECTIONS)
                else ""
            )
            + (f" --reps {args.reps}" if args.reps else ""),
            "reps": args.reps,
            "targets": TARGETS,
        },
        "machine": with_estimate(machine_info()),
    }


def _run_probe(bb: Any, args: argparse.Namespace, results: dict[str, Any], work: Path) -> Path:
    """The ``probe`` section and its side-by-side share of peak; returns its results folder."""
    peak = results.get("peak", {}).get("peak_gflops")
    results["probe"] = section_probe(bb, args.quick, work, peak)
    log("probe: share of peak, side by side")
    results["probe"]["efficiency_side_by_side"] = efficiency_side_by_side(bb, args.quick)
    log(
        f"probe: {results['probe']['wall_s']} s wall, {results['probe']['gflops_achieved']} GFLOP/s"
    )
    return Path(results["probe"]["results_dir"])


def _run_sections(bb: Any, args: argparse.Namespace, results: dict[str, Any]) -> None:
    """Every requested section, in the fixed order, into ``results``."""
    with tempfile.TemporaryDirectory(prefix="hvsprobe-bench-") as tmp:
        work = Path(tmp)
        scores_dir: Path | None = None
        if "peak" in args.sections:
            log("peak")
            results["peak"] = section_peak(args.quick)
            log(f"peak: {results['peak']['gflops']}")
        if "probe" in args.sections:
            scores_dir = _run_probe(bb, args, results, work)
        if "levers" in args.sections:
            results["levers"] = section_levers(bb, args.quick)
        if "paper" in args.sections:
            results["paper"] = section_paper(bb, args.quick, results.get("probe"))
            log(f"paper: {results['paper']['extrapolated_whole_grid_s']} s extrapolated")
        if "metric" in args.sections or "loss" in args.sections:
            selections = build_selections(bb, scores_dir)
            if "metric" in args.sections:
                results["metric"] = section_metric(bb, args.quick, selections, args.reps)
            if "loss" in args.sections:
                results["loss"] = section_loss(bb, args.quick, selections, args.reps)
        if "peak" in args.sections:
            log("peak (again, at the end)")
            results["peak_end"] = section_peak(args.quick)
            log(f"peak: {results['peak_end']['gflops']}")
        if "probe" in results:
            results["probe"]["results_dir"] = "(temporary, removed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    args = _parser().parse_args(argv)
    if args.render is not None:
        return _render_saved(args.render)

    from hvsprobe.backbones import get_backbone

    torch.manual_seed(0)
    stem = "results-quick" if args.quick else "results"
    results = _new_results(args)
    log(f"machine: {json.dumps(results['machine'])}")
    bb = get_backbone("vgg16", "imagenet")
    results["config"]["weights_sha256"] = bb.weights_sha256
    _run_sections(bb, args, results)
    results["targets"] = evaluate_targets(results)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    results["load_average_end"] = load_average()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    md = render_markdown(results)
    (args.out_dir / f"{stem}.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
