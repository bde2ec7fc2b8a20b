"""Claim-1 extraction speed on a generated data set in the KADID-10k layout.

The script writes ``--refs`` reference images (512 x 384 crops of the LIVE references in the
shared data folder; nothing is copied into the repository) and ``--per-ref`` distorted versions
of each (blur, noise, JPEG, brightness at five levels) with ``dmos.csv`` in KADID-10k's layout.
**The score column is made up** (5 minus the level plus noise): these are not human data; they
only make the reader accept the folder.

Measured in one run, side by side:

* the machine's **fp32 convolution peak** (``benchmarks/evaluate_features.conv_peak``: a
  256 -> 256 3x3 convolution, best of several, channels_last);
* the **trunk FLOPs** of the backbone up to its deepest LPIPS layer at 512 x 384;
* :func:`hvsprobe.evaluate.extract.extract_channel_distances` on every pair into an empty cache:
  pairs per second and achieved GFLOP/s (references + distorted images) / peak;
* with ``--bf16``: the same extraction under bfloat16 autocast, and the Spearman correlation,
  per channel, of its distances with fp32's over the rows (bf16 may be used only where the
  minimum over live channels is >= 0.999);
* with ``--memory``: the peak RSS of the extraction in fresh processes at two row counts.

Usage::

    HVSPROBE_DATA=../shared/data python benchmarks/claim1_extraction.py --refs 3 --per-ref 100
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageFilter

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# KADID-10k type codes used: 1 gaussian blur, 11 white noise, 10 jpeg, 16 brighten
_OPS = (1, 11, 10, 16)


def _distort(img: Image.Image, code: int, level: int, rng: np.random.Generator) -> Image.Image:
    if code == 1:
        return img.filter(ImageFilter.GaussianBlur(0.6 * level))
    if code == 11:
        a = np.asarray(img).astype(np.float64) + rng.normal(0, 5.0 * level, (384, 512, 3))
        return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if code == 10:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=max(5, 60 - 11 * level))
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return ImageEnhance.Brightness(img).enhance(1.0 + 0.12 * level)


def write_kadid_like(folder: Path, data_root: Path, refs: int, per_ref: int, seed: int) -> Path:
    """The generated data set (see the module docstring); returns its folder."""
    rng = np.random.default_rng(seed)
    srcs = sorted((data_root / "iqa" / "LIVE_subset" / "refimgs").glob("*.png"))
    if len(srcs) < 1:
        raise SystemExit(f"no LIVE references under {data_root}/iqa/LIVE_subset/refimgs")
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = ["dist_img,ref_img,dmos,var"]
    for r in range(refs):
        src = Image.open(srcs[r % len(srcs)]).convert("RGB")
        w, h = src.size
        if h > w:
            src = src.transpose(Image.Transpose.ROTATE_90)
            w, h = h, w
        left = (w - 512) // 2 + 17 * (r // len(srcs))
        ref = src.crop((left, (h - 384) // 2, left + 512, (h - 384) // 2 + 384))
        ref.save(folder / "images" / f"I{r + 1:02d}.png")
        for j in range(per_ref):
            code, level = _OPS[j % len(_OPS)], 1 + (j // len(_OPS)) % 5
            name = f"I{r + 1:02d}_{code:02d}_{j + 1:03d}.png"
            _distort(ref, code, level, rng).save(folder / "images" / name)
            lines.append(f"{name},I{r + 1:02d}.png,{5 - 0.8 * level + rng.normal(0, 0.2):.3f},0")
    (folder / "dmos.csv").write_text("\n".join(lines) + "\n")
    return folder


def _pairs(folder: Path) -> list[tuple[str, str]]:
    from hvsprobe.evaluate.iqa import read_kadid10k

    return [(str(p.ref_path), str(p.dist_path)) for p in read_kadid10k(folder).pairs]


def _extract(
    spec: Any, pairs: list[tuple[str, str]], cache: Path, workers: int = 1
) -> tuple[float, Any]:
    from hvsprobe.evaluate.extract import extract_channel_distances

    t0 = time.perf_counter()
    d = extract_channel_distances(
        spec, pairs, cache, chunk_rows=16, progress=False, workers=workers
    )
    return time.perf_counter() - t0, d


_PEAK_SCRIPT = """
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from claim1_extraction import _extract, _pairs
from hvsprobe.evaluate.extract import ExtractionSpec
from hvsprobe.experiments.claim1 import LPIPS_LAYERS
spec = ExtractionSpec(sys.argv[3], sys.argv[5], tuple(LPIPS_LAYERS[sys.argv[3]]))
pairs = _pairs(Path(sys.argv[1]))[: int(sys.argv[6])]
_, d = _extract(spec, pairs, Path(sys.argv[2]))
d.combine(__import__("numpy").ones((d.n_channels, 70)))
print(json.dumps({"rows": len(pairs), "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=int, default=3)
    ap.add_argument("--per-ref", type=int, default=100)
    ap.add_argument("--backbone", default="vgg16")
    ap.add_argument("--weights", default="imagenet")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    # each chunk runs on one thread (evaluate.extract.one_thread), so the machine is used
    # through processes; the timing includes starting them and building their networks
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--bf16", action="store_true", help="also measure bf16 and its ranking check")
    ap.add_argument("--memory", nargs=2, type=int, default=None, metavar=("ROWS1", "ROWS2"))
    ap.add_argument("--work", default=None, help="folder for the generated data (default: tmp)")
    ap.add_argument("--out", default=str(HERE / "claim1-extraction" / "results.json"), help="JSON")
    args = ap.parse_args()
    from evaluate_features import conv_peak, trunk_flops

    from hvsprobe._io import resolve_data_root, write_json_atomic
    from hvsprobe.backbones import get_backbone
    from hvsprobe.evaluate.extract import ExtractionSpec
    from hvsprobe.experiments.claim1 import LPIPS_LAYERS

    torch.set_num_threads(args.threads)
    work = Path(args.work or tempfile.mkdtemp(prefix="claim1-bench-"))
    data = write_kadid_like(
        work / "KADID-like", resolve_data_root(None)[0], args.refs, args.per_ref, 0
    )
    pairs = _pairs(data)
    layers = tuple(LPIPS_LAYERS[args.backbone])
    bb = get_backbone(args.backbone, args.weights)
    flops_img = trunk_flops(bb, (384, 512), list(layers))
    peak = max(conv_peak(True)["gflops_per_s"] for _ in range(2))
    spec = ExtractionSpec(args.backbone, args.weights, layers)
    _extract(spec, pairs[:2], work / "warm-up")  # builds the network, warms oneDNN's kernels
    secs, d32 = _extract(spec, pairs, work / "cache-fp32", args.workers)
    peak_after = max(conv_peak(True)["gflops_per_s"] for _ in range(2))
    images = len(pairs) + args.refs
    rate = images * flops_img / secs / 1e9
    res: dict[str, Any] = {
        "backbone": args.backbone,
        "weights": args.weights,
        "rows": len(pairs),
        "refs": args.refs,
        "image_size": [384, 512],
        "threads": args.threads,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "trunk_gflop_per_image": flops_img / 1e9,
        "fp32_conv_peak_gflops": {"before": peak, "after": peak_after},
        "fp32": {
            "seconds": secs,
            "pairs_per_s": len(pairs) / secs,
            "gflops": rate,
            "share_of_peak": rate / max(peak, peak_after),
        },
        "scores_are_made_up": True,
    }
    if args.bf16:
        b16 = ExtractionSpec(args.backbone, args.weights, layers, dtype="bfloat16")
        _extract(b16, pairs[:2], work / "warm-up")
        s16, d16 = _extract(b16, pairs, work / "cache-bf16", args.workers)
        from scipy import stats

        a = np.concatenate([x for _, x in d32.iter_chunks()])
        b = np.concatenate([x for _, x in d16.iter_chunks()])
        live = np.ptp(a, axis=0) > 0
        rho = np.array([stats.spearmanr(a[:, c], b[:, c]).statistic for c in np.flatnonzero(live)])
        res["bf16"] = {
            "seconds": s16,
            "pairs_per_s": len(pairs) / s16,
            "speedup_vs_fp32": secs / s16,
            "spearman_min": float(np.min(rho)),
            "spearman_median": float(np.median(rho)),
            "channels_checked": int(rho.size),
            "use_bf16": bool(np.min(rho) >= 0.999),
        }
    if args.memory:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        mem = []
        for n in args.memory:
            r = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _PEAK_SCRIPT,
                    str(data),
                    str(work / f"mem-{n}"),
                    args.backbone,
                    str(HERE),
                    args.weights,
                    str(n),
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            mem.append(json.loads(r.stdout.strip().splitlines()[-1]))
        res["peak_memory"] = mem
    res["maxrss_mb_this_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    write_json_atomic(args.out, res)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
