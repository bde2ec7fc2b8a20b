"""Section ``peak``: this machine's measured peak, fp32 and bf16 matmul and conv."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .common import best_rate, load_average


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
