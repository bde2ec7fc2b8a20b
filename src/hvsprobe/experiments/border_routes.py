"""The three response routes side by side on one network: agreement, FLOPs and time.

Used by ``python -m hvsprobe.experiments.border_study`` (the generated page) and by
``benchmarks/border_routes.py`` (the timing alone). Three measurements per network:

* **agreement**: axis-aligned gratings whose period ``T`` is a multiple of the network's
  torus unit, shown at ``T`` phases (one per pixel). For these, the phase-averaged mean over
  any border-free window equals the torus mean exactly (every output position then sees
  every phase), so ``torus`` and ``interior`` must agree to float precision: a check of
  both implementations on the real network. The ``whole_map`` route's deviation from them
  is the border's share of the paper's measure;
* **FLOPs**: convolution multiply-adds (x2) of each route over the default grid, counted
  by ``torch.utils.flop_counter`` (:func:`hvsprobe.flops.forward_flops`; a torus's FLOPs are exactly proportional to its pixels, since every map is an
  exact fraction of it);
* **time**: each route on the same sample of the default grid, run in alternation in one
  process, so that the ratios are fair on a shared machine.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ..backbones import Backbone
from ..flops import forward_flops
from ..probe import probe
from ..response import (
    ResponseConfig,
    TorusError,
    interior_masks,
    plan_torus,
    torus_unit,
)
from ..stimuli import StimulusGrid

__all__ = ["agreement", "route_flops", "route_times"]


def _period_grid(period: int, ppd: float, size: int) -> StimulusGrid:
    return StimulusGrid(
        frequencies=(ppd / period,),
        orientations=(0.0, 90.0),
        phases=tuple(360.0 * k / period for k in range(period)),
        ppd=ppd,
        size=(size, size),
    )


def agreement(
    backbone: Backbone,
    layers: Sequence[str],
    *,
    periods: Sequence[int] | None = None,
    ppd: float = 60.0,
    size: int = 224,
    interior_scale: float = 2.0,
) -> dict[str, Any]:
    """Per layer: max |torus - interior| and |whole_map - torus|, relative to the layer max.

    Layers without a border-free interior at ``interior_scale`` are compared torus vs
    whole map only and listed under ``no_interior``.
    """
    unit = torus_unit(backbone, layers)
    periods = list(periods) if periods is not None else [unit, 2 * unit]
    big = (int(size * interior_scale),) * 2
    have_interior = []
    for layer in layers:
        try:
            interior_masks(backbone, [layer], big)
            have_interior.append(layer)
        except ValueError:
            pass
    rows: dict[str, dict[str, float]] = {n: {"interior": 0.0, "whole": 0.0} for n in layers}
    cfg = ResponseConfig("interior", interior_scale=interior_scale)
    for period in periods:
        grid = _period_grid(period, ppd, size)
        free = probe(backbone, grid, layers, progress=False)
        whole = probe(backbone, grid, layers, response="whole_map", progress=False)
        inner = (
            probe(backbone, grid, have_interior, response=cfg, progress=False)
            if have_interior
            else None
        )
        for layer in layers:
            a = free.phase_mean(layer)
            scale = float(np.abs(a).max()) or 1.0
            d_whole = np.abs(whole.phase_mean(layer) - a).max() / scale
            rows[layer]["whole"] = max(rows[layer]["whole"], float(d_whole))
            if inner is not None and layer in have_interior:
                d_in = np.abs(inner.phase_mean(layer) - a).max() / scale
                rows[layer]["interior"] = max(rows[layer]["interior"], float(d_in))
    for layer in layers:
        if layer not in have_interior:
            rows[layer]["interior"] = float("nan")
    return {
        "unit_px": unit,
        "periods_px": periods,
        "interior_scale": interior_scale,
        "no_interior": [n for n in layers if n not in have_interior],
        "layers": rows,
    }


def route_flops(
    backbone: Backbone, layers: Sequence[str], grid: StimulusGrid, interior_scale: float = 2.0
) -> dict[str, float | None]:
    """FLOPs of each route over the whole ``grid`` (``None`` where a route does not apply)."""
    n_pk = len(grid.phases) * len(grid.contrasts)
    h, w = grid.size
    out: dict[str, float | None] = {}
    out["whole_map"] = float(forward_flops(backbone, layers, (h, w)) * len(grid))
    big = (int(h * interior_scale), int(w * interior_scale))
    try:
        interior_masks(backbone, layers, big)
        out["interior"] = float(forward_flops(backbone, layers, big) * len(grid))
    except ValueError:
        out["interior"] = None
    try:
        unit = torus_unit(backbone, layers)
        plan = plan_torus(grid.frequencies, grid.orientations, grid.ppd, unit)
        side = 8 * unit
        per_px = forward_flops(backbone, layers, (side, side), torus=True) / side**2
        out["torus"] = float(per_px * plan.pixels() * n_pk)
    except TorusError:
        out["torus"] = None
    return out


def _sample(
    grid: StimulusGrid, frequencies: Sequence[int], orientations: Sequence[int]
) -> StimulusGrid:
    import dataclasses

    return dataclasses.replace(
        grid,
        frequencies=tuple(grid.frequencies[i] for i in frequencies),
        orientations=tuple(grid.orientations[j] for j in orientations),
    )


def route_times(
    backbone: Backbone,
    layers: Sequence[str],
    grid: StimulusGrid,
    *,
    frequencies: Sequence[int] = (0, 12, 23),
    orientations: Sequence[int] = (0, 3, 6, 9),
    rounds: int = 1,
    interior_scale: float = 2.0,
) -> dict[str, Any]:
    """Seconds per stimulus of each route on the same sample of ``grid``, alternated.

    Returns the per-round times, their medians and the ratios to ``whole_map``, with the
    1-minute load average before and after (the machine may be shared). The border-free
    routes' times exclude their border pass (each channel's whole-map response to its best
    stimulus), which is reported for the torus as ``border_pass``.
    """
    sample = _sample(grid, frequencies, orientations)
    routes: dict[str, Any] = {"whole_map": "whole_map", "torus": "torus"}
    try:
        interior_masks(backbone, layers, (int(grid.size[0] * interior_scale),) * 2)
        routes["interior"] = ResponseConfig("interior", interior_scale=interior_scale)
    except ValueError:
        pass
    times: dict[str, list[float]] = {k: [] for k in routes}
    times["border_pass"] = []
    load = [_load()]
    for _ in range(rounds):
        for name, resp in routes.items():
            t = time.perf_counter()
            tuning = probe(backbone, sample, layers, response=resp, progress=False)
            total = time.perf_counter() - t
            extra = float(tuning.run.border_pass_s) if tuning.run is not None else 0.0
            times[name].append((total - extra) / len(sample))
            if name == "torus":
                times["border_pass"].append(extra / len(sample))
    load.append(_load())
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {
        "n_stimuli": len(sample),
        "frequencies_cpd": list(sample.frequencies),
        "orientations_deg": list(sample.orientations),
        "seconds_per_stimulus": med,
        "rounds": times,
        "ratio_to_whole_map": {k: v / med["whole_map"] for k, v in med.items()},
        "load_average_1min": load,
        "torch_threads": torch.get_num_threads(),
    }


def _load() -> float:
    try:
        import os

        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")
