"""Section ``probe``: ``hvsprobe analyze vgg16`` as a subprocess, and its share of peak."""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hvsprobe.flops import flops_per_layer, forward_flops

from .common import TARGETS, LoadSampler, best_rate, load_average, log, sample_grid


def _parse_time_v(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    if m := re.search(r"Maximum resident set size \(kbytes\):\s*(\d+)", text):
        found["max_rss_kb"] = float(m.group(1))
    if m := re.search(r"Elapsed \(wall clock\) time[^:]*:\s*([\d:.]+)", text):
        parts = [float(p) for p in m.group(1).split(":")]
        secs = 0.0
        for p in parts:
            secs = secs * 60 + p
        found["elapsed_s"] = secs
    return found


def quick_grid_args() -> list[str]:
    """CLI options of the reduced ``--quick`` grid (32 stimuli at 224 px)."""
    return ["--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "2"]


def section_probe(
    bb: Any, quick: bool, work: Path, peak: dict[str, float] | None
) -> dict[str, Any]:
    """``hvsprobe analyze vgg16`` in a subprocess: wall, probe time, FLOP rate, peak RSS."""
    from hvsprobe.stimuli import StimulusGrid

    out_dir = work / "analyze-vgg16"
    cmd = [sys.executable, "-m", "hvsprobe.cli", "analyze", "vgg16", "--out", str(out_dir)]
    cmd += ["--no-progress"] + (quick_grid_args() if quick else [])
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    full_cmd = [timer, "-v", *cmd] if timer else cmd
    log("probe: " + " ".join(cmd))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with LoadSampler() as sampler:
        t0 = time.perf_counter()
        proc = subprocess.run(full_cmd, capture_output=True, text=True, cwd=work, check=False)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"analyze failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    parsed = _parse_time_v(proc.stderr) if timer else {}
    rss_kb = parsed.get("max_rss_kb")
    rss_source = "/usr/bin/time -v"
    if rss_kb is None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rss_kb, rss_source = float(after), "getrusage(RUSAGE_CHILDREN) (max over children)"
        if after == before:
            rss_source += "; may be an earlier child's"
    summary = json.loads((out_dir / "summary.json").read_text())
    timings = summary["timings"]
    grid = StimulusGrid.from_dict(summary["probe_config"]["grid"])
    per_layer = flops_per_layer(bb, summary["layers"], grid.size)
    per_image = sum(per_layer.values())
    flops = per_image * len(grid)
    rate = flops / timings["probe_s"] / 1e9
    res: dict[str, Any] = {
        "command": " ".join(["hvsprobe", *cmd[3:]]).replace(str(out_dir), "TMP"),
        "n_stimuli": len(grid),
        "layers": summary["layers"],
        "probe_config": {
            k: summary["probe_config"].get(k) for k in ("precision", "batch_size", "memory_format")
        },
        "wall_s": round(wall, 2),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
        "flops_per_image": per_image,
        "flops_per_image_per_layer": per_layer,
        "flops_total": flops,
        "gflops_achieved": round(rate, 2),
        "peak_rss_gb": round(rss_kb * 1024 / 1e9, 3),
        "peak_rss_source": rss_source,
        "load_average_during": sampler.summary(),
        "load_average_after": load_average(),
        "required_gflops_for_30s": round(flops / TARGETS["analyze_wall_s"] / 1e9, 1),
        "results_dir": str(out_dir),
    }
    if peak:
        res["share_of_peak"] = round(rate / peak["fp32"], 3)
        res["required_over_peak"] = round(res["required_gflops_for_30s"] / peak["fp32"], 2)
    return res


def efficiency_side_by_side(bb: Any, quick: bool) -> dict[str, Any]:
    """The probe's share of peak, each round timing the peak kernels and the probe back to back.

    Per round: best of two calls of the large channels_last conv and of the 2048² matmul
    (the round's peak), then the default probe on 16 stimuli; share = probe rate / peak.
    """
    from hvsprobe.probe import probe

    layers = bb.default_layers
    per_image = forward_flops(bb, layers, (224, 224))
    grid = sample_grid(16)
    conv = nn.Conv2d(256, 256, 3, padding=1).requires_grad_(False)
    conv.to(memory_format=torch.channels_last)
    x = torch.rand(8, 256, 56, 56).contiguous(memory_format=torch.channels_last)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    conv_flops, mm_flops = 8 * 2 * 256 * 256 * 9 * 56 * 56, 2 * 2048**3
    rounds = []
    with torch.inference_mode():
        for _ in range(1 if quick else 3):
            peak = max(
                best_rate(lambda: conv(x), conv_flops, 2), best_rate(lambda: a @ b, mm_flops, 2)
            )
            t0 = time.perf_counter()
            probe(bb, grid, layers, progress=False)
            rate = len(grid) * per_image / (time.perf_counter() - t0) / 1e9
            rounds.append({"peak_gflops": round(peak, 1), "probe_gflops": round(rate, 1)})
    shares = [r["probe_gflops"] / r["peak_gflops"] for r in rounds]
    return {
        "rounds": rounds,
        "share_of_peak": round(float(np.median(shares)), 3),
        "share_range": [round(min(shares), 3), round(max(shares), 3)],
        "load_average": load_average(),
    }
