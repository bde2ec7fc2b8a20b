"""Section ``paper``: the original protocol, timed on a sample and extrapolated."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np

from hvsprobe.flops import forward_flops

from .common import load_average, log, sample_grid


def section_paper(bb: Any, quick: bool, batched: dict[str, Any] | None) -> dict[str, Any]:
    """The paper's protocol on a deterministic sample, extrapolated to the whole grid.

    Side by side: each round times the paper protocol on one sample stimulus (13 full-trunk
    passes) and the default batched probe on 16 stimuli, in alternating order; the speed-up
    per stimulus is the median of the per-round ratios.
    """
    from hvsprobe.probe import probe, probe_paper_protocol
    from hvsprobe.stimuli import StimulusGrid
    from hvsprobe.tuning import Tuning

    grid = StimulusGrid.default(
        **({"n_frequencies": 4, "n_orientations": 4, "n_phases": 2} if quick else {})
    )
    layers = bb.default_layers
    k = 2 if quick else 8
    sample = np.linspace(0, len(grid) - 1, k).round().astype(np.int64)
    log(f"paper protocol: {k} stimuli x {len(layers)} layers = {k * len(layers)} full passes")
    out: dict[str, Any] = {"load_average": load_average(), "sample_indices": sample.tolist()}
    batch_grid = sample_grid(16)
    resp: dict[str, list[np.ndarray]] = {n: [] for n in layers}
    paper_t, batch_t = [], []

    def paper_one(i: int) -> None:
        t0 = time.perf_counter()
        got = probe_paper_protocol(bb, grid, layers, indices=[int(i)])
        paper_t.append(time.perf_counter() - t0)
        for n in layers:
            resp[n].append(got[n][:, 0])

    def batched_16() -> None:
        t0 = time.perf_counter()
        probe(bb, batch_grid, layers, progress=False)
        batch_t.append((time.perf_counter() - t0) / len(batch_grid))

    for r, i in enumerate(sample):
        if r % 2 == 0:
            paper_one(int(i))
            batched_16()
        else:
            batched_16()
            paper_one(int(i))
    t = float(sum(paper_t))
    passes = k * len(layers)
    per_pass = t / passes
    extrap = per_pass * len(grid) * len(layers)
    full_flops = forward_flops(bb, layers, grid.size, full_trunk=True)
    ratios = [p / b for p, b in zip(paper_t, batch_t, strict=True)]
    out.update(
        {
            "n_passes": passes,
            "measured_s": round(t, 2),
            "s_per_pass": round(per_pass, 3),
            "gflops_achieved": round(full_flops / per_pass / 1e9, 2),
            "flops_executed_whole_grid": full_flops * len(grid) * len(layers),
            "extrapolated_whole_grid_s": round(extrap, 1),
            "extrapolated_whole_grid_h": round(extrap / 3600, 2),
            "extrapolation": (
                f"measured {passes} passes (batch 1, whole trunk), scaled by "
                f"{len(grid)} stimuli x {len(layers)} layers / {passes}"
            ),
            "batched_s_per_stimulus": [round(x, 4) for x in batch_t],
            "paper_s_per_stimulus": [round(x, 3) for x in paper_t],
            "speedup_side_by_side": round(float(np.median(ratios)), 1),
            "speedup_side_by_side_range": [round(min(ratios), 1), round(max(ratios), 1)],
        }
    )
    if batched is not None:
        out["speedup_vs_analyze_probe"] = round(extrap / batched["timings_s"]["probe_s"], 1)
        out["speedup_vs_analyze_wall"] = round(extrap / batched["wall_s"], 1)
        with contextlib.suppress(OSError, ValueError, KeyError):
            tun = Tuning.load(batched["results_dir"])
            if tun.grid == grid:
                worst = 0.0
                for name in layers:
                    ref = tun.responses[name].reshape(tun.channels(name), -1)[:, sample]
                    got = np.stack(resp[name], axis=1)
                    scale = max(float(np.abs(ref).max()), 1e-30)
                    worst = max(worst, float(np.abs(got - ref).max()) / scale)
                out["max_abs_difference_vs_analyze_over_layer_scale"] = worst
    return out
