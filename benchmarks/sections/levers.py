"""Section ``levers``: memory format, batch size, threads, early stop, bf16, rendering."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from hvsprobe.flops import forward_flops

from .common import (
    BLOCKS_1_3,
    interleaved,
    load_average,
    log,
    num_threads,
    paired_range,
    paired_ratio,
    sample_grid,
)


def _runner(bb: Any, grid: Any, names: Sequence[str], **kw: Any) -> Callable[[], object]:
    """A call of the default probe on ``grid`` and ``names`` with the options ``kw``."""
    from hvsprobe.probe import probe

    return lambda: probe(bb, grid, list(names), progress=False, **kw)


def _add_rates(
    res: dict[str, dict[str, Any]],
    n_img: int,
    per_image: int,
    flops: dict[str, int] | None = None,
) -> None:
    """Add stimuli, GFLOP/s and seconds per stimulus to each variant's timings."""
    for k, v in res.items():
        f = per_image if flops is None else flops[k]
        v["n_stimuli"] = n_img
        v["gflops_median"] = round(n_img * f / v["median_s"] / 1e9, 2)
        v["s_per_stimulus_median"] = round(v["median_s"] / n_img, 4)


def _memory_format(bb: Any, g: Any, n: int, quick: bool, per_image: int) -> dict[str, Any]:
    """Lever 1: contiguous vs channels_last tensors, batch 16."""
    layers = bb.default_layers
    log(f"levers: memory format ({n} stimuli, batch 16)")
    res = interleaved(
        {
            "contiguous": _runner(bb, g, layers, batch_size=16, channels_last=False),
            "channels_last": _runner(bb, g, layers, batch_size=16, channels_last=True),
        },
        reps=1 if quick else 3,
    )
    _add_rates(res, n, per_image)
    return {
        "n_stimuli": n,
        "batch_size": 16,
        "results": res,
        "speedup_channels_last": round(paired_ratio(res, "contiguous", "channels_last"), 3),
        "speedup_range": paired_range(res, "contiguous", "channels_last"),
    }


def _batch_size(bb: Any, g: Any, n: int, quick: bool, per_image: int) -> dict[str, Any]:
    """Lever 2: batch sizes from 1 up, channels_last."""
    sizes = [1, 4, 8] if quick else [1, 4, 8, 16, 32]
    log(f"levers: batch size {sizes} ({n} stimuli, channels_last)")
    res = interleaved(
        {f"batch_{b}": _runner(bb, g, bb.default_layers, batch_size=b) for b in sizes},
        reps=1 if quick else 2,
    )
    _add_rates(res, n, per_image)
    best = min(res, key=lambda k: res[k]["median_s"])
    return {
        "n_stimuli": n,
        "results": res,
        "best": best,
        "speedup_vs_batch_1": {
            k: round(paired_ratio(res, "batch_1", k), 3) for k in res if k != "batch_1"
        },
    }


def _threads(bb: Any, gs: Any, n_small: int, quick: bool, per_image: int) -> dict[str, Any]:
    """Lever 3: one thread vs torch's default number."""
    from hvsprobe.probe import probe

    layers = bb.default_layers
    default_threads = torch.get_num_threads()
    log(f"levers: threads 1 vs {default_threads} ({n_small} stimuli)")

    def with_threads(k: int) -> Callable[[], object]:
        def go() -> object:
            with num_threads(k):
                return probe(bb, gs, layers, batch_size=16, progress=False)

        return go

    res = interleaved(
        {"threads_1": with_threads(1), f"threads_{default_threads}": with_threads(default_threads)},
        reps=1 if quick else 2,
    )
    _add_rates(res, n_small, per_image)
    return {
        "n_stimuli": n_small,
        "default": default_threads,
        "results": res,
        "speedup_default_vs_1": round(
            paired_ratio(res, "threads_1", f"threads_{default_threads}"), 3
        ),
        "speedup_range": paired_range(res, "threads_1", f"threads_{default_threads}"),
    }


def _early_stop(bb: Any, gs: Any, n_small: int, quick: bool, per_image: int) -> dict[str, Any]:
    """Lever 4: stopping at relu3_3 vs running the whole trunk."""
    layers = bb.default_layers
    last = bb.layer_names[-1]
    b13_flops = forward_flops(bb, BLOCKS_1_3, (224, 224))
    full_flops = forward_flops(bb, layers, (224, 224), full_trunk=True)
    log(f"levers: early stop (blocks 1-3 layers, stop at relu3_3 vs run to {last})")
    res = interleaved(
        {
            "stop_at_relu3_3": _runner(bb, gs, BLOCKS_1_3, batch_size=16),
            f"full_trunk_to_{last}": _runner(bb, gs, [*BLOCKS_1_3, last], batch_size=16),
        },
        reps=1 if quick else 2,
    )
    _add_rates(
        res, n_small, per_image, {"stop_at_relu3_3": b13_flops, f"full_trunk_to_{last}": full_flops}
    )
    return {
        "n_stimuli": n_small,
        "layers": BLOCKS_1_3,
        "results": res,
        "speedup": round(paired_ratio(res, f"full_trunk_to_{last}", "stop_at_relu3_3"), 3),
        "speedup_range": paired_range(res, f"full_trunk_to_{last}", "stop_at_relu3_3"),
        "flops_per_image_stop": b13_flops,
        "flops_per_image_full": full_flops,
        "flop_ratio": round(full_flops / b13_flops, 3),
        "default_layers_flops_saved": full_flops - per_image,
        "note": (
            "with the 13 default layers the deepest is relu5_3, so early stop skips only "
            f"pool5 ({full_flops - per_image} conv FLOPs saved)"
        ),
    }


def _bf16(bb: Any, quick: bool, per_image: int) -> dict[str, Any]:
    """Lever 5: bf16 autocast (slow on AVX2: small sample), and its deviation from fp32."""
    layers = bb.default_layers
    n_bf = 1 if quick else 4
    gb = sample_grid(n_bf)
    log(f"levers: bf16 autocast ({n_bf} stimuli)")
    variants = {
        "fp32_channels_last": _runner(bb, gb, layers, batch_size=n_bf, precision="fp32"),
        "bf16_channels_last": _runner(bb, gb, layers, batch_size=n_bf, precision="bf16"),
    }
    got: dict[str, Any] = {}
    res = interleaved(variants, reps=1, outputs=got)
    _add_rates(res, n_bf, per_image)
    # bf16 on NCHW tensors is slower still (~0.3 GFLOP/s): one stimulus, per-stimulus time
    g1 = sample_grid(1)
    nchw = interleaved(
        {
            "fp32_contiguous_1": _runner(bb, g1, layers, batch_size=1, channels_last=False),
            "bf16_contiguous_1": _runner(
                bb, g1, layers, batch_size=1, precision="bf16", channels_last=False
            ),
        },
        reps=1,
    )
    _add_rates(nchw, 1, per_image)
    res.update(nchw)
    t32, t16 = got["fp32_channels_last"], got["bf16_channels_last"]
    dev = {
        name: float(
            np.abs(t16.responses[name] - t32.responses[name]).max()
            / max(float(np.abs(t32.responses[name]).max()), 1e-30)
        )
        for name in layers
    }
    return {
        "n_stimuli": n_bf,
        "results": res,
        "slowdown_bf16_vs_fp32": round(
            paired_ratio(res, "bf16_channels_last", "fp32_channels_last"), 2
        ),
        "slowdown_bf16_vs_fp32_contiguous": round(
            paired_ratio(res, "bf16_contiguous_1", "fp32_contiguous_1"), 2
        ),
        "max_abs_deviation_over_layer_scale": {k: round(v, 5) for k, v in dev.items()},
    }


def _render_share(quick: bool, t_probe: float) -> dict[str, Any]:
    """Lever 6: seconds to render a stimulus, and their share of the probe's time per stimulus."""
    from hvsprobe.stimuli import StimulusGrid

    full_grid = StimulusGrid.default()
    n_render = 64 if quick else 256
    t0 = time.perf_counter()
    for idx, _img in full_grid.batches(16):
        if idx[-1] + 1 >= n_render:
            break
    t_render = (time.perf_counter() - t0) / n_render
    return {
        "s_per_stimulus": round(t_render, 5),
        "share_of_probe_time": round(t_render / t_probe, 4),
    }


def section_levers(bb: Any, quick: bool) -> dict[str, Any]:
    """Each optimisation lever, measured side by side on a fixed stimulus sample."""
    from hvsprobe.probe import probe

    out: dict[str, Any] = {"load_average": load_average()}
    layers = bb.default_layers
    per_image = forward_flops(bb, layers, (224, 224))
    # warm-up: oneDNN builds its kernels for each shape on first use
    probe(bb, sample_grid(1), layers, progress=False)
    n = 8 if quick else 32
    g = sample_grid(n)
    out["memory_format"] = _memory_format(bb, g, n, quick, per_image)
    out["batch_size"] = _batch_size(bb, g, n, quick, per_image)
    n_small = 4 if quick else 16
    gs = sample_grid(n_small)
    out["threads"] = _threads(bb, gs, n_small, quick, per_image)
    out["early_stop"] = _early_stop(bb, gs, n_small, quick, per_image)
    out["bf16"] = _bf16(bb, quick, per_image)
    t_probe = out["memory_format"]["results"]["channels_last"]["median_s"] / n
    out["render"] = _render_share(quick, t_probe)
    out["flops_per_image"] = per_image
    return out
