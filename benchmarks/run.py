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

The FLOP counter (:func:`count_conv_flops`) counts convolutions only (2 x MACs:
``2 Cin Cout k k Hout Wout / groups`` per image), the usual convention; ReLU, pooling and the
spatial means add < 0.1 %.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

SCHEMA_VERSION = 1
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SCORES_DIR = REPO / "hvsprobe-results" / "vgg16-imagenet"
SECTIONS = ("peak", "levers", "probe", "paper", "metric", "loss")
BLOCKS_1_3 = ["relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3"]

#: Targets of the performance issue.
TARGETS = {
    "analyze_wall_s": 30.0,
    "probe_share_of_peak": 0.5,
    "speedup_vs_paper": 20.0,
    "metric_ratio_vs_lpips": 1.0,
    "metric_ratio_vs_lpips_before_conv5": 2.0,
    "loss_ratio_vs_all_channel": 1.0,
    "analyze_peak_rss_gb": 4.0,
}


# --------------------------------------------------------------------------------------------
# machine and timing helpers


def log(msg: str) -> None:
    """Print a progress line with the time and the 1-minute load average."""
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.2f}] {msg}", flush=True)


def load_average() -> list[float]:
    """``os.getloadavg()`` rounded: 1, 5 and 15 minute averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine_info() -> dict[str, Any]:
    """CPU model, SIMD flags, core count, torch build and thread settings."""
    model, flags, mhz = platform.processor() or "unknown", set(), None
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
        if m := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            model = m.group(1).strip()
        if m := re.search(r"^flags\s*:\s*(.+)$", text, re.M):
            flags = set(m.group(1).split())
        if m := re.search(r"^cpu MHz\s*:\s*([\d.]+)$", text, re.M):
            mhz = float(m.group(1))
    return {
        "cpu_model": model,
        "cpu_mhz": mhz,
        "logical_cpus": os.cpu_count(),
        "flags": {
            "avx2": "avx2" in flags,
            "fma": "fma" in flags,
            "avx512f": "avx512f" in flags,
            "avx512_bf16": "avx512_bf16" in flags,
            "amx_tile": "amx_tile" in flags,
            "amx_bf16": "amx_bf16" in flags,
        },
        "torch_version": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": load_average(),
    }


def _with_estimate(info: dict[str, Any]) -> dict[str, Any]:
    est = theoretical_fp32_peak(info)
    info["theoretical_fp32_gflops"] = round(est, 1) if est else None
    return info


def theoretical_fp32_peak(info: dict[str, Any]) -> float | None:
    """Upper-bound estimate in GFLOP/s: cores x clock x 32 FLOP/cycle (2 AVX2 FMA x 8 x 2).

    Only an estimate: the reported clock is the current one, SMT siblings share the FMA
    units, and the core count is that of logical CPUs.
    """
    if not info.get("cpu_mhz") or not info["flags"]["fma"]:
        return None
    per_cycle = 64 if info["flags"]["avx512f"] else 32
    return info["logical_cpus"] * info["cpu_mhz"] * 1e-3 * per_cycle


def interleaved(
    variants: dict[str, Callable[[], object]],
    reps: int,
    outputs: dict[str, object] | None = None,
) -> dict[str, dict[str, Any]]:
    """Time each variant ``reps`` times, alternating the order every round.

    Returns, per variant, the list of times and their minimum and median (seconds). The last
    return value of each variant is put into ``outputs`` when given.
    """
    names = list(variants)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(reps):
        for n in names if r % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            value = variants[n]()
            times[n].append(time.perf_counter() - t0)
            if outputs is not None:
                outputs[n] = value
    return {
        n: {"times_s": [round(t, 4) for t in v], "min_s": min(v), "median_s": float(np.median(v))}
        for n, v in times.items()
    }


def paired_ratio(res: dict[str, dict[str, Any]], num: str, den: str) -> float:
    """Median over rounds of ``time[num] / time[den]`` (rounds are measured back to back)."""
    a, b = res[num]["times_s"], res[den]["times_s"]
    return float(np.median([x / y for x, y in zip(a, b, strict=True)]))


def paired_range(res: dict[str, dict[str, Any]], num: str, den: str) -> list[float]:
    """Smallest and largest per-round ratio ``time[num] / time[den]``: the noise band."""
    a, b = res[num]["times_s"], res[den]["times_s"]
    r = [x / y for x, y in zip(a, b, strict=True)]
    return [round(min(r), 3), round(max(r), 3)]


def best_rate(fn: Callable[[], object], flops: float, reps: int) -> float:
    """Best GFLOP/s over ``reps`` calls after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return flops / best / 1e9


class LoadSampler:
    """Sample the 1-minute load average every ``every`` seconds in a background thread."""

    def __init__(self, every: float = 10.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        """Mean and max of the samples."""
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(float(np.mean(s)), 2), "max": round(float(np.max(s)), 2)}


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Temporarily ``torch.set_num_threads(n)``."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


# --------------------------------------------------------------------------------------------
# FLOP counter


def _conv_names(features: nn.Sequential, stage_names: Sequence[str]) -> dict[nn.Conv2d, str]:
    """Every Conv2d inside ``features`` -> ``stage`` or ``stage.sub.path`` name."""
    names: dict[nn.Conv2d, str] = {}
    for stage, label in zip(features, stage_names, strict=True):
        for path, m in stage.named_modules():
            if isinstance(m, nn.Conv2d):
                names[m] = f"{label}.{path}" if path else label
    return names


def count_conv_flops(
    backbone: Any, layers: Sequence[str], size: tuple[int, int], *, full_trunk: bool = False
) -> dict[str, Any]:
    """Convolution FLOPs per image of a probe pass, counted with forward hooks.

    Runs one mid-grey image through ``backbone.iter_layers`` (which stops after the deepest
    of ``layers``; with ``full_trunk`` through every stage) and adds, for every Conv2d that
    runs, ``2 * Cin * Cout * kh * kw * Hout * Wout / groups``.

    Parameters
    ----------
    backbone : hvsprobe.backbones.Backbone
    layers : sequence of str
        Requested layers.
    size : tuple of int
        Image ``(H, W)``.
    full_trunk : bool
        Count the whole trunk (the paper protocol) instead of stopping early.

    Returns
    -------
    dict
        ``total`` (int) and ``per_layer`` (conv name -> int), in execution order.
    """
    names = _conv_names(backbone.features, backbone.layer_names)
    per: dict[str, int] = {}

    def hook(module: nn.Conv2d, _inp: Any, out: torch.Tensor) -> None:
        kh, kw = module.kernel_size
        flops = 2 * module.in_channels * module.out_channels * kh * kw
        flops = flops * out.shape[-2] * out.shape[-1] // module.groups
        per[names[module]] = per.get(names[module], 0) + flops

    handles = [m.register_forward_hook(hook) for m in names]
    try:
        param = next(backbone.parameters())
        x = torch.full((1, 3, *size), 0.5, dtype=param.dtype, device=param.device)
        wanted = [backbone.layer_names[-1]] if full_trunk else list(layers)
        with torch.inference_mode():
            for _ in backbone.iter_layers(x, wanted, check=False):
                pass
    finally:
        for h in handles:
            h.remove()
    return {"total": int(sum(per.values())), "per_layer": per}


# --------------------------------------------------------------------------------------------
# sections


def section_peak(quick: bool) -> dict[str, Any]:
    """Measured peak: matmul and a VGG-sized 3x3 conv, fp32 and bf16, best of a few calls."""
    out: dict[str, Any] = {"load_average": load_average()}
    reps = 2 if quick else 3
    rates: dict[str, float] = {}
    n = 1024 if quick else 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    rates[f"matmul_fp32_{n}"] = best_rate(lambda: a @ b, 2 * n**3, reps)
    nb = 256 if quick else 512  # bf16 matmul runs at < 1 GFLOP/s on AVX2: keep it small
    ab, bb = torch.randn(nb, nb).bfloat16(), torch.randn(nb, nb).bfloat16()
    rates[f"matmul_bf16_{nb}"] = best_rate(lambda: ab @ bb, 2 * nb**3, 1)
    conv = nn.Conv2d(256, 256, 3, padding=1).requires_grad_(False)
    batch = 2 if quick else 8
    x = torch.rand(batch, 256, 56, 56)
    xcl = x.contiguous(memory_format=torch.channels_last)
    conv_cl = nn.Conv2d(256, 256, 3, padding=1).requires_grad_(False)
    conv_cl.to(memory_format=torch.channels_last)
    per_image = 2 * 256 * 256 * 9 * 56 * 56
    with torch.inference_mode():
        rates["conv3x3_256_56_fp32_nchw"] = best_rate(lambda: conv(x), batch * per_image, reps)
        rates["conv3x3_256_56_fp32_channels_last"] = best_rate(
            lambda: conv_cl(xcl), batch * per_image, reps
        )
        with torch.autocast("cpu", dtype=torch.bfloat16):
            rates["conv3x3_256_56_bf16_channels_last"] = best_rate(
                lambda: conv_cl(xcl[:1]), per_image, 1
            )
            rates["conv3x3_256_56_bf16_nchw"] = best_rate(lambda: conv(x[:1]), per_image, 1)
    out["gflops"] = {k: round(v, 2) for k, v in rates.items()}
    out["peak_gflops"] = {
        "fp32": round(max(v for k, v in rates.items() if "fp32" in k), 2),
        "bf16": round(max(v for k, v in rates.items() if "bf16" in k), 2),
    }
    return out


def sample_grid(n: int) -> Any:
    """A 224-px, 60-ppd grid of ``n`` in {1, 2, 4, 8, 16, 32} stimuli (timing only)."""
    from hvsprobe.stimuli import StimulusGrid

    shapes = {1: (1, 1, 1), 2: (1, 2, 1), 4: (1, 2, 2), 8: (1, 4, 2), 16: (1, 4, 4), 32: (2, 4, 4)}
    f, o, p = shapes[n]
    return StimulusGrid.default(n_frequencies=f, n_orientations=o, n_phases=p)


def section_levers(bb: Any, quick: bool) -> dict[str, Any]:
    """Each optimisation lever, measured side by side on a fixed stimulus sample."""
    from hvsprobe.probe import probe

    out: dict[str, Any] = {"load_average": load_average()}
    layers = bb.default_layers
    per_image = count_conv_flops(bb, layers, (224, 224))["total"]

    def run(grid: Any, names: Sequence[str] = layers, **kw: Any) -> Callable[[], object]:
        return lambda: probe(bb, grid, list(names), progress=False, **kw)

    def rates(
        res: dict[str, dict[str, Any]], n_img: int, flops: dict[str, int] | None = None
    ) -> None:
        for k, v in res.items():
            f = per_image if flops is None else flops[k]
            v["n_stimuli"] = n_img
            v["gflops_median"] = round(n_img * f / v["median_s"] / 1e9, 2)
            v["s_per_stimulus_median"] = round(v["median_s"] / n_img, 4)

    # warm-up: oneDNN builds its kernels for each shape on first use
    probe(bb, sample_grid(1), layers, progress=False)

    # 1. memory format
    n = 8 if quick else 32
    g = sample_grid(n)
    log(f"levers: memory format ({n} stimuli, batch 16)")
    res = interleaved(
        {
            "contiguous": run(g, batch_size=16, channels_last=False),
            "channels_last": run(g, batch_size=16, channels_last=True),
        },
        reps=1 if quick else 3,
    )
    rates(res, n)
    out["memory_format"] = {
        "n_stimuli": n,
        "batch_size": 16,
        "results": res,
        "speedup_channels_last": round(paired_ratio(res, "contiguous", "channels_last"), 3),
        "speedup_range": paired_range(res, "contiguous", "channels_last"),
    }

    # 2. batch size
    sizes = [1, 4, 8] if quick else [1, 4, 8, 16, 32]
    log(f"levers: batch size {sizes} ({n} stimuli, channels_last)")
    res = interleaved({f"batch_{b}": run(g, batch_size=b) for b in sizes}, reps=1 if quick else 2)
    rates(res, n)
    best = min(res, key=lambda k: res[k]["median_s"])
    out["batch_size"] = {
        "n_stimuli": n,
        "results": res,
        "best": best,
        "speedup_vs_batch_1": {
            k: round(paired_ratio(res, "batch_1", k), 3) for k in res if k != "batch_1"
        },
    }

    # 3. threads
    n_small = 4 if quick else 16
    gs = sample_grid(n_small)
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
    rates(res, n_small)
    out["threads"] = {
        "n_stimuli": n_small,
        "default": default_threads,
        "results": res,
        "speedup_default_vs_1": round(
            paired_ratio(res, "threads_1", f"threads_{default_threads}"), 3
        ),
        "speedup_range": paired_range(res, "threads_1", f"threads_{default_threads}"),
    }

    # 4. early stop
    last = bb.layer_names[-1]
    b13_flops = count_conv_flops(bb, BLOCKS_1_3, (224, 224))["total"]
    full_flops = count_conv_flops(bb, layers, (224, 224), full_trunk=True)["total"]
    log(f"levers: early stop (blocks 1-3 layers, stop at relu3_3 vs run to {last})")
    res = interleaved(
        {
            "stop_at_relu3_3": run(gs, BLOCKS_1_3, batch_size=16),
            f"full_trunk_to_{last}": run(gs, [*BLOCKS_1_3, last], batch_size=16),
        },
        reps=1 if quick else 2,
    )
    rates(res, n_small, {"stop_at_relu3_3": b13_flops, f"full_trunk_to_{last}": full_flops})
    out["early_stop"] = {
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

    # 5. bf16 autocast (slow on AVX2: small sample)
    n_bf = 1 if quick else 4
    gb = sample_grid(n_bf)
    log(f"levers: bf16 autocast ({n_bf} stimuli)")
    variants = {
        "fp32_channels_last": run(gb, batch_size=n_bf, precision="fp32"),
        "bf16_channels_last": run(gb, batch_size=n_bf, precision="bf16"),
    }
    got: dict[str, Any] = {}
    res = interleaved(variants, reps=1, outputs=got)
    rates(res, n_bf)
    # bf16 on NCHW tensors is slower still (~0.3 GFLOP/s): one stimulus, per-stimulus time
    g1 = sample_grid(1)
    nchw = interleaved(
        {
            "fp32_contiguous_1": run(g1, batch_size=1, channels_last=False),
            "bf16_contiguous_1": run(g1, batch_size=1, precision="bf16", channels_last=False),
        },
        reps=1,
    )
    rates(nchw, 1)
    res.update(nchw)
    t32, t16 = got["fp32_channels_last"], got["bf16_channels_last"]
    dev = {
        name: float(
            np.abs(t16.responses[name] - t32.responses[name]).max()
            / max(float(np.abs(t32.responses[name]).max()), 1e-30)
        )
        for name in layers
    }
    out["bf16"] = {
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

    # 6. rendering share
    from hvsprobe.stimuli import StimulusGrid

    full_grid = StimulusGrid.default()
    n_render = 64 if quick else 256
    t0 = time.perf_counter()
    for idx, _img in full_grid.batches(16):
        if idx[-1] + 1 >= n_render:
            break
    t_render = (time.perf_counter() - t0) / n_render
    t_probe = out["memory_format"]["results"]["channels_last"]["median_s"] / n
    out["render"] = {
        "s_per_stimulus": round(t_render, 5),
        "share_of_probe_time": round(t_render / t_probe, 4),
    }
    out["flops_per_image"] = per_image
    return out


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
    per_image = count_conv_flops(bb, summary["layers"], grid.size)
    flops = per_image["total"] * len(grid)
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
        "flops_per_image": per_image["total"],
        "flops_per_image_per_layer": per_image["per_layer"],
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


def section_paper(bb: Any, quick: bool, batched: dict[str, Any] | None) -> dict[str, Any]:
    """The paper's protocol on a deterministic sample, extrapolated to the whole grid.

    Side by side: each round times the paper protocol on one sample stimulus (13 full-trunk
    passes) and the default batched probe on 16 stimuli, in alternating order; the speed-up
    per stimulus is the median of the per-round ratios.
    """
    from hvsprobe.probe import Tuning, probe, probe_paper_protocol
    from hvsprobe.stimuli import StimulusGrid

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
    full_flops = count_conv_flops(bb, layers, grid.size, full_trunk=True)["total"]
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


def efficiency_side_by_side(bb: Any, quick: bool) -> dict[str, Any]:
    """The probe's share of peak, each round timing the peak kernels and the probe back to back.

    Per round: best of two calls of the large channels_last conv and of the 2048² matmul
    (the round's peak), then the default probe on 16 stimuli; share = probe rate / peak.
    """
    from hvsprobe.probe import probe

    layers = bb.default_layers
    per_image = count_conv_flops(bb, layers, (224, 224))["total"]
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


def build_selections(bb: Any, scores_dir: Path | None) -> tuple[Any, Any, str]:
    """Top 25 % by PE in every scored layer, and the same limited to blocks 1-3.

    The scores come from ``hvsprobe-results/vgg16-imagenet/scores.csv`` when it exists,
    else from this run's ``analyze`` (probe section), else from a quick probe.
    """
    from hvsprobe.analyze import analyze
    from hvsprobe.scores import ChannelScores
    from hvsprobe.selection import select_channels
    from hvsprobe.stimuli import StimulusGrid

    if (SCORES_DIR / "scores.csv").exists():
        scores = ChannelScores.load(SCORES_DIR)
        source = str((SCORES_DIR / "scores.csv").relative_to(REPO))
    elif scores_dir is not None and (scores_dir / "scores.csv").exists():
        scores, source = ChannelScores.load(scores_dir), "this run's analyze (probe section)"
    else:
        log("no scores file: a quick probe (32 stimuli) for the selection")
        tmp = Path(tempfile.mkdtemp(prefix="hvsprobe-bench-sel-"))
        grid = StimulusGrid.default(n_frequencies=4, n_orientations=4, n_phases=2)
        res = analyze(bb, grid=grid, out=tmp, progress=False)
        scores, source = res.scores, "quick probe (4 frequencies x 4 orientations x 2 phases)"
    sel_all = select_channels(scores)
    sel_b13 = select_channels(scores, layers=[n for n in BLOCKS_1_3 if n in scores.layers])
    return sel_all, sel_b13, source


class TrunkOnly:
    """The floor of any distance on these layers: the trunk pass the metrics make, no distance.

    Both images as one batch, ``channels_last`` on the CPU (as :class:`PerceptualDistance`
    runs them when no gradient is needed).
    """

    def __init__(self, backbone: Any, layers: Sequence[str]) -> None:
        self.backbone, self.layers = backbone, list(layers)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:  # noqa: D102
        from hvsprobe.backbones.base import default_channels_last

        xy = torch.cat([x, y])
        if default_channels_last(xy.device):
            xy = xy.contiguous(memory_format=torch.channels_last)
        for _ in self.backbone.iter_layers(xy, self.layers, check=False):
            pass


def distance_arithmetic(
    bb: Any, metrics: dict[str, Any], x: torch.Tensor, y: torch.Tensor, reps: int
) -> dict[str, Any]:
    """Seconds of each metric's distance arithmetic alone, on features computed beforehand.

    The trunk runs once (both images, channels_last, every VGG layer); then each metric's
    per-layer step (norms, gather, scaling, weighted sum: ``PerceptualDistance._layer_map``)
    is timed over its own layers, interleaved. This isolates the part in which the metrics
    differ, since their convolutions are the same.
    """
    n = x.shape[0]
    xy = torch.cat([x, y]).contiguous(memory_format=torch.channels_last)
    feats = {k: f.clone() for k, f in bb.iter_layers(xy, bb.default_layers, check=False)}

    def run(m: Any) -> Callable[[], object]:
        def go() -> object:
            for i, name in enumerate(m.layers):
                f = feats[name]
                m._layer_map(i, f[:n], f[n:], f)
            return None

        return go

    res = interleaved({k: run(m) for k, m in metrics.items()}, reps=reps)
    return {
        "seconds": {k: round(v["median_s"], 4) for k, v in res.items()},
        "rounds": {k: v["times_s"] for k, v in res.items()},
    }


def section_metric(
    bb: Any, quick: bool, selections: tuple[Any, Any, str], reps: int | None = None
) -> dict[str, Any]:
    """Image pairs per second: selected-channel distance vs LPIPS-VGG (``reps`` rounds)."""
    reps = reps or (1 if quick else 3)
    from hvsprobe.metrics import LPIPS, PerceptualDistance

    sel_all, sel_b13, source = selections
    top25 = PerceptualDistance(bb, sel_all)
    metrics: dict[str, Any] = {
        "selected_top25": top25,
        "selected_blocks1-3": PerceptualDistance(bb, sel_b13),
        "lpips_vgg": LPIPS("vgg", backbone=bb),
        "trunk_only_relu5_3": TrunkOnly(bb, ["relu5_3"]),
        "selected_top25_nchw": PerceptualDistance(bb, sel_all, channels_last=False),
        "lpips_vgg_nchw": LPIPS("vgg", backbone=bb, channels_last=False),
    }
    info = {
        k: {
            "layers": m.layers,
            "channels": sum(m.n_channels.values()) if hasattr(m, "n_channels") else None,
        }
        for k, m in metrics.items()
    }
    out: dict[str, Any] = {
        "load_average": load_average(),
        "selection_source": source,
        "metrics": info,
        "notes": {
            "trunk_only_relu5_3": "both trunk passes to relu5_3 and nothing else: the floor",
            "*_nchw": "the same metric with contiguous NCHW tensors (channels_last=False), "
            "the layout hvsprobe used before; the dim-1 reductions then read strided memory",
        },
        "configs": [],
    }
    configs = [(2, 128), (1, 256)] if quick else [(16, 256), (1, 512)]
    gen = torch.Generator().manual_seed(0)
    for batch, size in configs:
        x = torch.rand(batch, 3, size, size, generator=gen)
        y = (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        per_pair = {
            k: 2 * count_conv_flops(bb, m.layers, (size, size))["total"] for k, m in metrics.items()
        }
        log(f"metric: batch {batch} at {size} px")
        with torch.inference_mode():
            ref = top25(x[:1], y[:1])
            plain = metrics["selected_top25_nchw"](x[:1], y[:1])
            agree = float(((plain - ref).abs() / ref.abs()).max())
            for m in metrics.values():  # warm-up on a single pair of the same size
                m(x[:1], y[:1])
            res = interleaved(
                {k: (lambda m=m, x=x, y=y: m(x, y)) for k, m in metrics.items()},
                reps=reps,
            )
            arith = distance_arithmetic(
                bb,
                {k: metrics[k] for k in ("selected_top25", "selected_blocks1-3", "lpips_vgg")},
                x,
                y,
                reps=reps,
            )
        for k, v in res.items():
            v["pairs_per_s"] = round(batch / v["median_s"], 3)
            v["conv_gflop_per_pair"] = round(per_pair[k] / 1e9, 2)
            v["gflops"] = round(batch * per_pair[k] / v["median_s"] / 1e9, 2)
        trunk = res["trunk_only_relu5_3"]["median_s"]
        out["configs"].append(
            {
                "batch": batch,
                "size": size,
                "results": res,
                "speed_vs_lpips": {
                    k: round(paired_ratio(res, "lpips_vgg", k), 3) for k in res if k != "lpips_vgg"
                },
                "speed_vs_lpips_range": {
                    k: paired_range(res, "lpips_vgg", k) for k in res if k != "lpips_vgg"
                },
                "flop_bound_speed_vs_lpips": {
                    k: round(per_pair["lpips_vgg"] / per_pair[k], 3)
                    for k in res
                    if k != "lpips_vgg"
                },
                "share_outside_trunk": {
                    k: round(1 - trunk / res[k]["median_s"], 3)
                    for k in (
                        "selected_top25",
                        "lpips_vgg",
                        "selected_top25_nchw",
                        "lpips_vgg_nchw",
                    )
                    if k in res
                },
                "nchw_max_rel_difference": agree,
                "distance_arithmetic": arith,
            }
        )
    return out


class TinySR(nn.Module):
    """x2 bilinear upsampling plus a 2-conv residual: a stand-in for an SR network."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        up = self.up(x)
        return (up + self.body(up)).clamp(0.0, 1.0)


def section_loss(
    bb: Any, quick: bool, selections: tuple[Any, Any, str], reps: int | None = None
) -> dict[str, Any]:
    """One optimiser step (forward + backward + Adam) with each loss (``reps`` rounds)."""
    reps = reps or (2 if quick else 5)
    from hvsprobe.experiments.claim2_config import LPIPS_LAYERS_VGG16, restrict_selection
    from hvsprobe.metrics import LPIPS, PerceptualDistance

    sel_all, sel_b13, source = selections
    losses: dict[str, nn.Module | None] = {
        "l1_only": None,
        "selected_top25": PerceptualDistance(bb, sel_all, reduction="mean"),
        "selected_blocks1-3": PerceptualDistance(bb, sel_b13, reduction="mean"),
        "selected_top25_lpips_layers": PerceptualDistance(
            bb, restrict_selection(sel_all, LPIPS_LAYERS_VGG16), reduction="mean"
        ),
        "all_channel_vgg": PerceptualDistance(bb, None, reduction="mean"),
        "lpips_vgg": LPIPS("vgg", backbone=bb, reduction="mean"),
    }
    batch, size = (2, 64) if quick else (4, 128)
    lam = 1.0
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(batch, 3, size, size, generator=gen)
    hr = nn.functional.avg_pool2d(hr, 3, stride=1, padding=1)  # smoother, image-like
    lr = nn.functional.avg_pool2d(hr, 2)
    torch.manual_seed(0)
    models = {k: TinySR() for k in losses}
    opts = {k: torch.optim.Adam(models[k].parameters(), lr=1e-4) for k in losses}
    values: dict[str, float] = {}

    def step(k: str) -> Callable[[], object]:
        def go() -> object:
            opts[k].zero_grad(set_to_none=True)
            sr = models[k](lr)
            loss = nn.functional.l1_loss(sr, hr)
            crit = losses[k]
            if crit is not None:
                loss = loss + lam * crit(sr, hr)
            loss.backward()
            opts[k].step()
            values[k] = float(loss.detach())
            return loss

        return go

    log(f"loss: SR step, batch {batch} at {size} px")
    for k in losses:
        step(k)()  # warm-up
    res = interleaved({k: step(k) for k in losses}, reps=reps)
    for k, v in res.items():
        v["loss_value"] = round(values[k], 5)
    return {
        "load_average": load_average(),
        "selection_source": source,
        "batch": batch,
        "hr_size": size,
        "lambda": lam,
        "layers": {k: (m.layers if m is not None else []) for k, m in losses.items()},
        "results": res,
        "step_time_vs_all_channel": {
            k: round(paired_ratio(res, k, "all_channel_vgg"), 3)
            for k in res
            if k != "all_channel_vgg"
        },
        "step_time_vs_all_channel_range": {
            k: paired_range(res, k, "all_channel_vgg") for k in res if k != "all_channel_vgg"
        },
    }


# --------------------------------------------------------------------------------------------
# targets and report


def evaluate_targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each issue target with the measured value, met/missed and what limits it."""
    rows: list[dict[str, Any]] = []

    def add(name: str, goal: str, value: str, met: bool, why: str) -> None:
        rows.append(
            {"target": name, "goal": goal, "measured": value, "met": met, "limited_by": why}
        )

    probe = r.get("probe")
    peak = r.get("peak", {}).get("peak_gflops")
    quick = r["config"]["quick"]
    grid_note = " (quick grid: not the target's grid)" if quick else ""
    if probe:
        wall, need = probe["wall_s"], probe["required_gflops_for_30s"]
        why = f"compute: {probe['flops_total'] / 1e12:.1f} TFLOP of convolutions; 30 s needs {need:.0f} GFLOP/s"
        if peak:
            reach = need <= peak["fp32"]
            why += (
                f", {probe['required_over_peak']:.1f}x this machine's measured fp32 peak "
                f"({peak['fp32']:.0f} GFLOP/s under the same load)"
            )
            est = r["machine"].get("theoretical_fp32_gflops")
            if est:
                why += (
                    f" and {need / est:.1f}x its theoretical AVX2 rate at the reported clock "
                    f"(~{est:.0f} GFLOP/s)"
                )
            why += (
                "; reachable in principle"
                if reach
                else "; not reachable on this CPU with the default grid"
            )
        add(
            "analyze vgg16 wall time" + grid_note,
            "<= 30 s",
            f"{wall:.0f} s (probe {probe['timings_s']['probe_s']:.0f} s)",
            wall <= TARGETS["analyze_wall_s"],
            why,
        )
        eff = probe.get("efficiency_side_by_side")
        if eff or "share_of_peak" in probe:
            share = eff["share_of_peak"] if eff else probe["share_of_peak"]
            value = f"{100 * share:.0f} % side by side" if eff else f"{100 * share:.0f} %"
            if eff:
                value += f" (rounds {100 * eff['share_range'][0]:.0f}-{100 * eff['share_range'][1]:.0f} %)"
            if "share_of_peak" in probe:
                value += (
                    f"; analyze's {probe['gflops_achieved']:.0f} GFLOP/s is "
                    f"{100 * probe['share_of_peak']:.0f} % of the peak measured just before it"
                )
            add(
                "probe efficiency" + grid_note,
                ">= 50 % of measured peak",
                value,
                share >= TARGETS["probe_share_of_peak"],
                "the peak is a 256-channel conv on 56x56 maps (or a 2048² matmul); VGG's "
                "first layers (3 and 64 channels at 224x224) move more bytes per FLOP, and "
                "each layer adds ReLU and mean passes over its activations",
            )
    paper = r.get("paper")
    if paper and "speedup_side_by_side" in paper:
        sp = paper["speedup_side_by_side"]
        lo, hi = paper["speedup_side_by_side_range"]
        value = f"{sp:.1f}x per stimulus side by side (rounds {lo:.0f}-{hi:.0f}x)"
        if "speedup_vs_analyze_probe" in paper:
            value += f"; {paper['speedup_vs_analyze_probe']:.1f}x vs analyze's probe time"
        value += f" (paper extrapolated: {paper['extrapolated_whole_grid_h']:.1f} h)"
        why = (
            "13 layers from one pass give at most 13x; anything beyond needs the batched "
            "probe to run faster per FLOP than batch-1 NCHW passes"
        )
        lv = r.get("levers")
        if lv and "batch_16" in lv["batch_size"]["results"]:
            b = lv["batch_size"]["speedup_vs_batch_1"]["batch_16"]
            why += (
                f", and batch 16 ran at {b:.2f}x the speed of batch 1 in this run "
                f"(load {lv['load_average'][0]}; on this 2-core CPU batching pays only while "
                "other jobs compete for the cores)"
            )
        why += "; the FLOPs of each pass cannot shrink without changing the measurement"
        add(
            "speed-up vs paper protocol" + grid_note,
            ">= 20x",
            value,
            sp >= TARGETS["speedup_vs_paper"],
            why,
        )
    metric = r.get("metric")
    if metric:
        for c in metric["configs"]:
            tag = f"batch {c['batch']} at {c['size']} px"
            v = c["speed_vs_lpips"]["selected_top25"]
            out_sel = c["share_outside_trunk"]["selected_top25"]
            out_lp = c["share_outside_trunk"]["lpips_vgg"]
            add(
                f"metric top-25 % vs LPIPS-VGG ({tag})",
                ">= 1.0x (never slower)",
                f"{v:.2f}x",
                v >= TARGETS["metric_ratio_vs_lpips"],
                f"same convolutions (both stop at relu5_3), so the ratio can only come from the "
                f"distance arithmetic: {100 * out_sel:.0f} % of the selected metric's time is spent "
                f"outside the trunk (LPIPS: {100 * out_lp:.0f} %); it must read every channel of "
                "13 layers for their norms where LPIPS reads 5 layers, and saves by scaling and "
                "comparing only the selected quarter",
            )
            v = c["speed_vs_lpips"]["selected_blocks1-3"]
            bound = c["flop_bound_speed_vs_lpips"]["selected_blocks1-3"]
            add(
                f"metric blocks 1-3 vs LPIPS-VGG ({tag})",
                ">= 2x (selection stops before conv5)",
                f"{v:.2f}x",
                v >= TARGETS["metric_ratio_vs_lpips_before_conv5"],
                f"convolution FLOPs: stopping at relu3_3 skips {100 * (1 - 1 / bound):.0f} % of "
                f"LPIPS's convolutions, so the bound is {bound:.2f}x (stopping at relu4_3 would "
                "skip only 9 %); the last conv cannot be cut to the selected channels because "
                "the normalisation needs all of them",
            )
    loss = r.get("loss")
    if loss:
        v = loss["step_time_vs_all_channel"]["selected_top25"]
        v5 = loss["step_time_vs_all_channel"].get("selected_top25_lpips_layers")
        add(
            "loss step top-25 % vs all-channel VGG",
            "<= 1.0x step time",
            f"{v:.2f}x",
            v <= TARGETS["loss_ratio_vs_all_channel"],
            "same trunk forward and backward (both reach relu5_3); the selection's 13 layers "
            "add normalisation, channel gather and their backward where the baseline has 5 "
            f"layers; blocks 1-3: {loss['step_time_vs_all_channel']['selected_blocks1-3']:.2f}x",
        )
        if v5 is not None:
            add(
                "loss step, claim-2 loss (top 25 % of the 5 LPIPS layers) vs all-channel VGG",
                "<= 1.0x step time",
                f"{v5:.2f}x",
                v5 <= TARGETS["loss_ratio_vs_all_channel"],
                "the selected-channel loss the SR experiment trains with: the same 5 layers as "
                "the baseline, a quarter of their channels scaled and compared",
            )
    if probe:
        rss = probe["peak_rss_gb"]
        add(
            "analyze peak RSS" + grid_note,
            "<= 4 GB",
            f"{rss:.2f} GB",
            rss <= TARGETS["analyze_peak_rss_gb"],
            "torch + weights (~60 MB), one batch of 16 activation maps (relu1 at 16x64x224x224 "
            "float32 is 205 MB each) and the C x 1152 means",
        )
    return rows


def _rng(pair: Sequence[float] | None) -> str:
    """``lo-hi`` of a per-round ratio range, ``—`` when absent."""
    return "—" if not pair else f"{pair[0]:.2f}-{pair[1]:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _md_probe(p: dict[str, Any]) -> list[str]:
    rows = [
        ["command", f"`{p['command']}`"],
        ["stimuli x layers", f"{p['n_stimuli']} x {len(p['layers'])}"],
        ["probe settings", ", ".join(f"{k} {v}" for k, v in p["probe_config"].items())],
        ["wall time (whole command)", f"{p['wall_s']:.1f} s"],
        ["probe time", f"{p['timings_s']['probe_s']:.1f} s"],
        [
            "conv FLOPs executed",
            f"{p['flops_total'] / 1e12:.2f} TFLOP ({p['flops_per_image'] / 1e9:.2f} GFLOP per stimulus)",
        ],
        ["achieved", f"{p['gflops_achieved']:.1f} GFLOP/s"],
    ]
    if "share_of_peak" in p:
        rows.append(
            ["share of the fp32 peak measured just before", f"{100 * p['share_of_peak']:.0f} %"]
        )
    eff = p.get("efficiency_side_by_side")
    if eff:
        rounds = "; ".join(f"{x['probe_gflops']} of {x['peak_gflops']}" for x in eff["rounds"])
        rows.append(
            [
                "share of peak, side by side (16 stimuli, default settings)",
                f"{100 * eff['share_of_peak']:.0f} % (GFLOP/s per round: {rounds})",
            ]
        )
    need = f"{p['required_gflops_for_30s']:.0f} GFLOP/s"
    if "required_over_peak" in p:
        need += f" ({p['required_over_peak']:.1f}x the measured fp32 peak)"
    rows += [
        ["needed for 30 s", need],
        ["peak RSS", f"{p['peak_rss_gb']:.2f} GB ({p['peak_rss_source']})"],
        [
            "load average during (1 min)",
            f"mean {p['load_average_during']['mean']}, max {p['load_average_during']['max']}",
        ],
    ]
    return _table(["", ""], rows)


def _md_paper(p: dict[str, Any]) -> list[str]:
    rows = [
        [
            "measured",
            f"{p['n_passes']} passes in {p['measured_s']:.1f} s ({p['s_per_pass']:.3f} s/pass, "
            f"{p['gflops_achieved']:.1f} GFLOP/s)",
        ],
        [
            "extrapolated to the whole grid",
            f"{p['extrapolated_whole_grid_s']:.0f} s ({p['extrapolated_whole_grid_h']:.2f} h): "
            f"{p['extrapolation']}",
        ],
    ]
    if "speedup_vs_analyze_probe" in p:
        rows.append(
            [
                "speed-up of the batched probe",
                f"{p['speedup_vs_analyze_probe']:.1f}x (vs analyze's probe time), "
                f"{p['speedup_vs_analyze_wall']:.1f}x (vs its whole wall time)",
            ]
        )
    if "speedup_side_by_side" in p:
        lo, hi = p["speedup_side_by_side_range"]
        rows.append(
            [
                "speed-up per stimulus, side by side (default probe on 16 stimuli)",
                f"{p['speedup_side_by_side']:.1f}x (rounds {lo:.1f}-{hi:.1f}x)",
            ]
        )
    if "max_abs_difference_vs_analyze_over_layer_scale" in p:
        rows.append(
            [
                "agreement with analyze's arrays",
                f"max abs difference {p['max_abs_difference_vs_analyze_over_layer_scale']:.1e} "
                "x the layer's largest response",
            ]
        )
    return _table(["", ""], rows)


def _md_levers(lv: dict[str, Any]) -> list[str]:
    rows = []
    labels = {
        "memory_format": "memory format (batch 16)",
        "batch_size": "batch size (channels_last)",
        "threads": "threads",
        "early_stop": "early stop (7 layers of blocks 1-3)",
        "bf16": "precision",
    }
    for key, label in labels.items():
        for name, v in lv[key]["results"].items():
            rows.append(
                [
                    label,
                    name,
                    v["n_stimuli"],
                    f"{v['median_s']:.2f}",
                    f"{v['s_per_stimulus_median']:.3f}",
                    f"{v['gflops_median']:.1f}",
                ]
            )
    es, bf = lv["early_stop"], lv["bf16"]
    lines = _table(["lever", "variant", "stimuli", "median s", "s / stimulus", "GFLOP/s"], rows)
    lines += [
        "",
        f"* channels_last vs contiguous: {lv['memory_format']['speedup_channels_last']:.2f}x "
        f"(median of paired ratios; rounds {_rng(lv['memory_format'].get('speedup_range'))}).",
        f"* best batch size: {lv['batch_size']['best']}; speed-up vs batch 1: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in lv["batch_size"]["speedup_vs_batch_1"].items())
        + ".",
        f"* {lv['threads']['default']} threads (torch default) vs 1: "
        f"{lv['threads']['speedup_default_vs_1']:.2f}x (rounds {_rng(lv['threads'].get('speedup_range'))}).",
        f"* early stop at relu3_3 vs running the whole trunk: {es['speedup']:.2f}x measured "
        f"(rounds {_rng(es.get('speedup_range'))}), "
        f"{es['flop_ratio']:.2f}x in FLOPs; {es['note']}.",
        f"* bf16 autocast: {bf['slowdown_bf16_vs_fp32']:.1f}x the fp32 time with channels_last, "
        f"{bf['slowdown_bf16_vs_fp32_contiguous']:.1f}x with contiguous tensors; largest "
        "deviation of a mean from fp32, over the layer's largest response: "
        f"{max(bf['max_abs_deviation_over_layer_scale'].values()):.1e}.",
        f"* stimulus rendering: {1e3 * lv['render']['s_per_stimulus']:.1f} ms per stimulus, "
        f"{100 * lv['render']['share_of_probe_time']:.1f} % of the probe time.",
    ]
    return lines


def _md_metric(mt: dict[str, Any]) -> list[str]:
    rows = []
    for c in mt["configs"]:
        for name, v in c["results"].items():
            info = mt["metrics"][name]
            rows.append(
                [
                    f"{c['batch']} x {c['size']} px",
                    name,
                    len(info["layers"]),
                    info["channels"] if info["channels"] is not None else "—",
                    f"{v['pairs_per_s']:.3f}",
                    f"{c['speed_vs_lpips'].get(name, 1.0):.2f}x",
                    _rng(c.get("speed_vs_lpips_range", {}).get(name)),
                    f"{c['flop_bound_speed_vs_lpips'].get(name, 1.0):.2f}x",
                ]
            )
    lines = [f"Selection: top 25 % by PE per layer; source: {mt['selection_source']}.", ""]
    lines += _table(
        [
            "batch",
            "metric",
            "layers",
            "channels",
            "pairs/s",
            "speed vs LPIPS-VGG",
            "rounds",
            "FLOP bound",
        ],
        rows,
    )
    lines.append("")
    for c in mt["configs"]:
        share = c["share_outside_trunk"]
        lines.append(
            f"* {c['batch']} x {c['size']} px: time outside the trunk: selected top-25 % "
            f"{100 * share['selected_top25']:.0f} %, LPIPS {100 * share['lpips_vgg']:.0f} %; "
            f"with NCHW tensors {100 * share['selected_top25_nchw']:.0f} % and "
            f"{100 * share['lpips_vgg_nchw']:.0f} % (NCHW value = default value to "
            f"{c['nchw_max_rel_difference']:.0e} relative)."
        )
    for c in mt["configs"]:
        ar = c.get("distance_arithmetic")
        if ar:
            sec = ar["seconds"]
            lines.append(
                f"* {c['batch']} x {c['size']} px: distance arithmetic alone (features given): "
                + ", ".join(f"{k} {v:.3f} s" for k, v in sec.items())
                + "."
            )
    lines += [
        "* trunk_only_relu5_3: both images through the trunk to relu5_3 as one channels_last "
        "batch, no distance (the floor).",
        "* *_nchw: the same metric with `channels_last=False` (contiguous NCHW tensors), the "
        "layout used before.",
    ]
    return lines


def render_markdown(r: dict[str, Any]) -> str:
    """The results as markdown tables (pasted into docs/performance.md)."""
    m = r["machine"]
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in m["flags"].items())
    lines = [
        f"# hvsprobe benchmark{' (--quick)' if r['config']['quick'] else ''}",
        "",
        f"`{r['config']['command']}`, {r['started']} to {r['finished']}.",
        "",
        f"Machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs ({flags}); torch "
        f"{m['torch_version']}, CPU capability {m['torch_cpu_capability']}, "
        f"{m['torch_num_threads']} threads. Load average (1/5/15 min): start "
        f"{m['load_average_start']}, end {r['load_average_end']}.",
        "",
    ]
    if "peak" in r:
        p = r["peak"]
        end = r.get("peak_end")
        lines += ["## Measured peak (best of a few calls, GFLOP/s)", ""]
        if end:
            rows = [[k, v, end["gflops"].get(k, "—")] for k, v in p["gflops"].items()]
            lines += _table(["kernel", "start of run", "end of run"], rows)
        else:
            lines += _table(["kernel", "GFLOP/s"], [[k, v] for k, v in p["gflops"].items()])
        est = m.get("theoretical_fp32_gflops")
        lines += [
            "",
            f"Peak used for analyze's share (measured just before it): fp32 "
            f"{p['peak_gflops']['fp32']}, bf16 {p['peak_gflops']['bf16']} GFLOP/s. Load at start "
            f"{p['load_average']}"
            + (f", at end {end['load_average']}" if end else "")
            + (
                f". Theoretical AVX2 fp32 rate at the reported clock ~{est:.0f} GFLOP/s "
                "(logical CPUs x clock x 32 FLOP/cycle; a boosted clock exceeds it, SMT "
                "siblings would halve it)"
                if est
                else ""
            )
            + ".",
            "",
        ]
    if "probe" in r:
        lines += ["## Probe: `hvsprobe analyze vgg16`", "", *_md_probe(r["probe"]), ""]
    if "paper" in r:
        lines += [
            "## Paper protocol (one stimulus per pass, one layer per run, whole trunk)",
            "",
            *_md_paper(r["paper"]),
            "",
        ]
    if "levers" in r:
        lines += [
            "## Levers (224-px stimuli, 13 layers, ImageNet VGG-16)",
            "",
            *_md_levers(r["levers"]),
            "",
        ]
    if "metric" in r:
        lines += ["## Metric: image pairs per second (inference)", "", *_md_metric(r["metric"]), ""]
    if "loss" in r:
        ls = r["loss"]
        rows = [
            [
                name,
                len(ls["layers"][name]),
                f"{v['median_s']:.3f}",
                f"{ls['step_time_vs_all_channel'].get(name, 1.0):.2f}x",
                _rng(ls.get("step_time_vs_all_channel_range", {}).get(name)),
            ]
            for name, v in ls["results"].items()
        ]
        lines += [
            f"## Loss: SR training step (batch {ls['batch']}, {ls['hr_size']} px, "
            f"L1 + {ls['lambda']:g} x perceptual, Adam)",
            "",
            *_table(
                ["loss", "layers", "median step s", "step time vs all-channel VGG", "rounds"], rows
            ),
            "",
        ]
    if r.get("targets"):
        rows = [
            [
                t["target"],
                t["goal"],
                t["measured"],
                "met" if t["met"] else "**missed**",
                t["limited_by"],
            ]
            for t in r["targets"]
        ]
        lines += [
            "## Targets",
            "",
            *_table(["target", "goal", "measured", "", "limited by"], rows),
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
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
    args = parser.parse_args(argv)
    if args.render is not None:
        saved = json.loads(args.render.read_text())
        saved["targets"] = evaluate_targets(saved)
        args.render.write_text(json.dumps(saved, indent=2) + "\n")
        md = render_markdown(saved)
        args.render.with_suffix(".md").write_text(md + "\n")
        print(md)
        return 0

    from hvsprobe.backbones import get_backbone

    torch.manual_seed(0)
    stem = "results-quick" if args.quick else "results"
    results: dict[str, Any] = {
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
        "machine": _with_estimate(machine_info()),
    }
    log(f"machine: {json.dumps(results['machine'])}")
    bb = get_backbone("vgg16", "imagenet")
    results["config"]["weights_sha256"] = bb.weights_sha256
    with tempfile.TemporaryDirectory(prefix="hvsprobe-bench-") as tmp:
        work = Path(tmp)
        scores_dir: Path | None = None
        if "peak" in args.sections:
            log("peak")
            results["peak"] = section_peak(args.quick)
            log(f"peak: {results['peak']['gflops']}")
        peak = results.get("peak", {}).get("peak_gflops")
        if "probe" in args.sections:
            results["probe"] = section_probe(bb, args.quick, work, peak)
            scores_dir = Path(results["probe"]["results_dir"])
            log("probe: share of peak, side by side")
            results["probe"]["efficiency_side_by_side"] = efficiency_side_by_side(bb, args.quick)
            log(
                f"probe: {results['probe']['wall_s']} s wall, {results['probe']['gflops_achieved']} GFLOP/s"
            )
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
