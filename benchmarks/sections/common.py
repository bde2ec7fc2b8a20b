"""What every section shares: constants, targets, the machine, interleaved timing."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

SCHEMA_VERSION = 1
HERE = Path(__file__).resolve().parents[1]
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


def with_estimate(info: dict[str, Any]) -> dict[str, Any]:
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


def sample_grid(n: int) -> Any:
    """A 224-px, 60-ppd grid of ``n`` in {1, 2, 4, 8, 16, 32} stimuli (timing only)."""
    from hvsprobe.stimuli import StimulusGrid

    shapes = {1: (1, 1, 1), 2: (1, 2, 1), 4: (1, 2, 2), 8: (1, 4, 2), 16: (1, 4, 4), 32: (2, 4, 4)}
    f, o, p = shapes[n]
    return StimulusGrid.default(n_frequencies=f, n_orientations=o, n_phases=p)
