"""Feature extraction of the claim-1 / evaluate path against this machine's fp32 conv peak.

One run measures, side by side and under the same load:

* the **peak**: a 256 -> 256 channel 3x3 convolution on 56 x 56 maps (batch 8, fp32, the
  best of several repetitions, NCHW and channels_last), in GFLOP/s;
* the **trunk FLOPs** of the backbone up to its deepest LPIPS layer for the images used
  (counted from the convolutions' output shapes: 2 x C_in/groups x k_h x k_w x C_out x H x W);
* the **per-channel distance extraction** of ``hvsprobe.experiments.claim1`` on LIVE pairs,
  split into image decoding, trunk forward passes and the normalise / difference / mean step,
  for the previous way (one NCHW image per pass) and the current one
  (:func:`hvsprobe.experiments.claim1.live_channel_distances`: channels_last, distorted
  images of one reference batched).

The ratio "achieved GFLOP/s of the extraction / peak GFLOP/s" is the number to watch
(target >= 0.5).  Results go to ``benchmarks/evaluate-features/results.json`` and
``results.md``, with the machine's core count and load average.

Usage::

    HVSPROBE_DATA=../shared/data python benchmarks/evaluate_features.py --backbone vgg16 --pairs 6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def conv_peak(channels_last: bool, reps: int = 5, batch: int = 8) -> dict[str, float]:
    """Best-of-``reps`` GFLOP/s of a 256-channel 3x3 convolution on 56 x 56 maps."""
    conv = nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    x = torch.randn(batch, 256, 56, 56)
    if channels_last:
        conv = conv.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    flops = 2.0 * 256 * 256 * 9 * 56 * 56 * batch
    best = float("inf")
    with torch.no_grad():
        conv(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - t0)
    return {"seconds": best, "gflop": flops / 1e9, "gflops_per_s": flops / best / 1e9}


def trunk_flops(backbone, shape: tuple[int, int], layers: list[str]) -> float:
    """FLOPs of the convolutions the backbone runs up to the deepest of ``layers``."""
    total = 0.0
    hooks = []

    def count(mod: nn.Conv2d, _inp, out) -> None:
        nonlocal total
        kh, kw = mod.kernel_size
        total += 2.0 * mod.in_channels / mod.groups * kh * kw * out.shape[1] * out[0, 0].numel()

    for m in backbone.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(count))
    with torch.no_grad():
        for _ in backbone.iter_layers(torch.zeros(1, 3, *shape), layers):
            pass
    for h in hooks:
        h.remove()
    return total


def old_extraction(backbone, layers, pairs, timings: dict[str, float]) -> dict[str, np.ndarray]:
    """The previous claim-1 loop: one NCHW image per forward pass, references kept."""
    from hvsprobe.image_io import load_image
    from hvsprobe.metrics.perceptual import unit_normalize

    def feats(img: torch.Tensor) -> dict[str, torch.Tensor]:
        t0 = time.perf_counter()
        raw = list(backbone.iter_layers(img, layers))
        timings["forward_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        out = {n: unit_normalize(f) for n, f in raw}
        timings["normalize_distance_s"] += time.perf_counter() - t0
        return out

    refs: dict[str, dict[str, torch.Tensor]] = {}
    rows: dict[str, list[np.ndarray]] = {n: [] for n in layers}
    with torch.no_grad():
        for p in pairs:
            key = str(p.ref_path)
            if key not in refs:
                t0 = time.perf_counter()
                ref = load_image(p.ref_path)
                timings["decode_s"] += time.perf_counter() - t0
                refs[key] = feats(ref)
            t0 = time.perf_counter()
            img = load_image(p.dist_path)
            timings["decode_s"] += time.perf_counter() - t0
            nd = feats(img)
            t0 = time.perf_counter()
            for n in layers:
                rows[n].append((refs[key][n] - nd[n]).pow(2).mean(dim=(2, 3))[0].double().numpy())
            timings["normalize_distance_s"] += time.perf_counter() - t0
    return {n: np.stack(v) for n, v in rows.items()}


def _parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", default="vgg16")
    ap.add_argument("--pairs", type=int, default=6, help="LIVE pairs (first ones of a reference)")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", type=Path, default=HERE / "evaluate-features")
    return ap.parse_args()


def _live_pairs(args: argparse.Namespace) -> tuple[list[Any], Any]:
    """The first ``--pairs`` LIVE pairs of the first reference, and them as a data set."""
    from hvsprobe.evaluate.iqa import IQADataset, read_live

    live = read_live(data_root=args.data_root)
    first_ref = live.pairs[0].ref_id
    pairs = [p for p in live.pairs if p.ref_id == first_ref][: args.pairs]
    ds = IQADataset(live.name, pairs, live.higher_is_better, live.score_name, live.root)
    return pairs, ds


def _extraction(
    bb: Any, layers: list[str], pairs: list[Any], ds: Any, flops: float, peak: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Time the previous and the current extraction side by side; the peak measured after."""
    from hvsprobe.experiments.claim1 import live_channel_distances

    t_old = {"decode_s": 0.0, "forward_s": 0.0, "normalize_distance_s": 0.0}
    t0 = time.perf_counter()
    old = old_extraction(bb, layers, pairs, t_old)
    t_old["total_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    new = live_channel_distances(bb, layers, ds, progress=False)
    t_new = {"total_s": time.perf_counter() - t0}
    peaks_after = {"channels_last": conv_peak(True)}
    peak_after = peaks_after["channels_last"]["gflops_per_s"]
    max_dev = max(float(np.max(np.abs(old[n] - new[n]))) for n in layers)

    def rate(seconds: float) -> float:
        return flops / seconds / 1e9

    ref_peak = max(peak, peak_after)
    extraction = {
        "previous": {
            **t_old,
            "gflops_per_s_total": rate(t_old["total_s"]),
            "gflops_per_s_forward": rate(t_old["forward_s"]),
            "ratio_to_peak": rate(t_old["total_s"]) / ref_peak,
        },
        "current": {
            **t_new,
            "gflops_per_s_total": rate(t_new["total_s"]),
            "ratio_to_peak": rate(t_new["total_s"]) / ref_peak,
        },
        "speedup": t_old["total_s"] / t_new["total_s"],
        "max_abs_difference": max_dev,
    }
    return extraction, peaks_after


def _markdown(
    args: argparse.Namespace,
    result: dict[str, Any],
    n_pairs: int,
    load: tuple[float, ...],
    flops: float,
) -> list[str]:
    """The results page."""
    e = result["extraction"]
    t_old, t_new = e["previous"], e["current"]
    peaks, peak_after = result["peak"], result["peak_after"]["channels_last"]["gflops_per_s"]
    img, layers = result["images"], result["config"]["layers"]
    return [
        "# Feature extraction vs fp32 conv peak",
        "",
        f"`python benchmarks/evaluate_features.py --backbone {args.backbone} --pairs "
        f"{n_pairs}`; {os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, "
        f"load average {load[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end "
        "(a shared machine: compare the ratios, measured in the same run).",
        "",
        f"- peak: 256-ch 3x3 conv on 56x56 (batch 8): NCHW "
        f"{peaks['nchw']['gflops_per_s']:.1f}, channels_last "
        f"{peaks['channels_last']['gflops_per_s']:.1f} GFLOP/s before, {peak_after:.1f} after",
        f"- trunk: {flops / 1e9:.1f} GFLOP for {img['count']} images of {img['width']} x "
        f"{img['height']} ({args.backbone} up to {layers[-1]})",
        "",
        "| extraction | total s | decode s | forward s | normalise+distance s | GFLOP/s | "
        "ratio to peak |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| previous (NCHW, one image per pass) | {t_old['total_s']:.2f} | {t_old['decode_s']:.2f}"
        f" | {t_old['forward_s']:.2f} | {t_old['normalize_distance_s']:.2f} | "
        f"{e['previous']['gflops_per_s_total']:.1f} | {e['previous']['ratio_to_peak']:.2f} |",
        f"| current (`live_channel_distances`) | {t_new['total_s']:.2f} | — | — | — | "
        f"{e['current']['gflops_per_s_total']:.1f} | {e['current']['ratio_to_peak']:.2f} |",
        "",
        f"Speed-up {e['speedup']:.2f}x; largest difference between the two results "
        f"{e['max_abs_difference']:.2e}.",
    ]


def main() -> None:
    args = _parse_args()

    from hvsprobe._io import write_json_atomic, write_text_atomic
    from hvsprobe.backbones import get_backbone
    from hvsprobe.experiments.claim1 import LPIPS_LAYERS

    load = os.getloadavg()
    bb = get_backbone(args.backbone).eval()
    layers = LPIPS_LAYERS[args.backbone]
    pairs, ds = _live_pairs(args)
    from PIL import Image

    with Image.open(pairs[0].ref_path) as im:
        w, h = im.size
    n_images = len(pairs) + 1  # one reference
    flops = trunk_flops(bb, (h, w), layers) * n_images

    result: dict[str, Any] = {
        "kind": "benchmark_evaluate_features",
        "schema_version": 1,
        "config": {"backbone": args.backbone, "layers": layers, "pairs": len(pairs)},
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_start": [round(v, 2) for v in load],
            "platform": platform.platform(),
            "torch": torch.__version__,
        },
        "images": {"count": n_images, "height": h, "width": w},
        "trunk_gflop": flops / 1e9,
    }
    peaks = {"nchw": conv_peak(False), "channels_last": conv_peak(True)}
    peak = max(v["gflops_per_s"] for v in peaks.values())
    result["peak"] = peaks
    extraction, peaks_after = _extraction(bb, layers, pairs, ds, flops, peak)
    result["peak_after"] = peaks_after
    result["extraction"] = extraction
    result["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out / "results.json", result)
    md = _markdown(args, result, len(pairs), load, flops)
    write_text_atomic(args.out / "results.md", "\n".join(md) + "\n")
    print("\n".join(md))
    print(json.dumps({"ratio_current": extraction["current"]["ratio_to_peak"]}))


if __name__ == "__main__":
    main()
