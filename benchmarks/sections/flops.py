"""Convolution FLOPs of a probe pass, counted with forward hooks (``count_conv_flops``).

Self-contained (torch only), so that the tests can load this file on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn


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
