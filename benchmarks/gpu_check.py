#!/usr/bin/env python
"""Check and time the probe paths on a CUDA device (random VGG-16 weights, same FLOPs).

Usage::

    PYTHONPATH=src python benchmarks/gpu_check.py [--out gpu.json] [--device cuda] [--quick]

Correctness (TF32 off, so fp32 means fp32): the probe on the device with contiguous and
``channels_last`` tensors against the CPU's straightforward path (batch 1, NCHW) with the
tolerance of ``tests/test_performance_paths.py``, the paper protocol against the batched
path, and bf16's PE ranking. Timing: the default grid (1152 stimuli, 224 px, 13 layers) with
each memory format, batch size and precision, TF32 on (PyTorch's default for convolutions),
and the paper protocol on a sample of 8 stimuli x 13 layers, extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from hvsprobe.backbones import get_backbone
from hvsprobe.probe import probe, probe_paper_protocol
from hvsprobe.scores import compute_scores
from hvsprobe.stimuli import StimulusGrid

BLOCKS_1_3 = ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _worst(got: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> float:
    """Largest ``|got - ref|`` over the layer's largest ``|ref|``, over all layers."""
    worst = 0.0
    for name, b in ref.items():
        a = np.asarray(got[name]).reshape(b.shape)
        worst = max(worst, float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)))
    return worst


def correctness(device: torch.device) -> dict[str, Any]:
    """Device paths vs the CPU reference on a 32-px grid; TF32 disabled."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    grid = StimulusGrid.default(ppd=16.0, size=32, n_frequencies=3, n_orientations=3, n_phases=2)
    cpu = get_backbone("vgg16", "random:0")
    ref = probe(cpu, grid, batch_size=1, channels_last=False, progress=False).responses
    bb = get_backbone("vgg16", "random:0", device=device)
    out: dict[str, Any] = {}
    for cl in (False, True):
        got = probe(bb, grid, batch_size=18, channels_last=cl, progress=False).responses
        out[f"max_rel_diff_vs_cpu_channels_last_{cl}"] = _worst(got, ref)
    sample = np.array([0, 9, 17])
    paper = probe_paper_protocol(bb, grid, ["relu2_2", "relu5_3"], indices=sample)
    batched = {n: ref[n].reshape(ref[n].shape[0], -1)[:, sample] for n in paper}
    out["max_rel_diff_paper_vs_cpu"] = _worst(paper, batched)
    g2 = StimulusGrid.default(ppd=16.0, size=32, n_frequencies=6, n_orientations=4, n_phases=2)
    s32 = compute_scores(probe(bb, g2, BLOCKS_1_3, batch_size=48, progress=False))
    s16 = compute_scores(probe(bb, g2, BLOCKS_1_3, batch_size=48, precision="bf16", progress=False))
    rho = {}
    for name in BLOCKS_1_3:
        a, b = s32.layer(name)["pe"], s16.layer(name)["pe"]
        live = np.isfinite(a) & np.isfinite(b)
        rho[name] = round(float(spearmanr(a[live], b[live]).statistic), 4)
    out["bf16_pe_spearman"] = rho
    out["tolerance_passes"] = bool(
        max(v for k, v in out.items() if k.startswith("max_rel")) <= 2e-5
    )
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    return out


def timing(device: torch.device, quick: bool) -> dict[str, Any]:
    """Default grid on the device: memory format x batch x precision; paper protocol sample."""
    bb = get_backbone("vgg16", "random:0", device=device)
    grid = (
        StimulusGrid.default(n_frequencies=4, n_orientations=4, n_phases=2)
        if quick
        else StimulusGrid.default()
    )
    flops = 30.69e9 * len(grid)
    probe(bb, StimulusGrid.default(n_frequencies=1, n_orientations=2, n_phases=2), progress=False)
    runs: dict[str, Any] = {}
    for precision in ("fp32", "bf16"):
        for cl in (False, True):
            for batch in (16, 64):
                key = f"{precision}_{'channels_last' if cl else 'contiguous'}_batch{batch}"
                _sync(device)
                t0 = time.perf_counter()
                probe(
                    bb,
                    grid,
                    batch_size=batch,
                    precision=precision,
                    channels_last=cl,
                    progress=False,
                )
                _sync(device)
                dt = time.perf_counter() - t0
                runs[key] = {"s": round(dt, 3), "tflops": round(flops / dt / 1e12, 2)}
                print(key, runs[key], flush=True)
    sample = np.linspace(0, len(grid) - 1, 8).round().astype(np.int64)
    _sync(device)
    t0 = time.perf_counter()
    probe_paper_protocol(bb, grid, indices=sample)
    _sync(device)
    dt = time.perf_counter() - t0
    passes = 8 * len(bb.default_layers)
    extrap = dt / passes * len(grid) * len(bb.default_layers)
    best = min(v["s"] for k, v in runs.items() if k.startswith("fp32"))
    return {
        "n_stimuli": len(grid),
        "runs": runs,
        "paper_protocol": {
            "measured_passes": passes,
            "measured_s": round(dt, 3),
            "extrapolated_whole_grid_s": round(extrap, 1),
            "speedup_best_fp32_probe": round(extrap / best, 1),
        },
    }


def main() -> int:
    """Run the checks and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "cpu_count": os.cpu_count(),
    }
    info["correctness"] = correctness(device)
    print(json.dumps(info["correctness"]), flush=True)
    info["timing"] = timing(device, args.quick)
    args.out.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
