"""FLOPs of a backbone's forward pass, counted by ``torch.utils.flop_counter``.

PyTorch's :class:`~torch.utils.flop_counter.FlopCounterMode` counts every convolution and
matrix product that runs (2 x multiply-adds, ``2 Cin Cout kh kw Hout Wout / groups`` per
image for a convolution); ReLU, pooling and the spatial means add < 0.1 % and are not
counted. Used by the benchmarks (GFLOP/s of the probe) and the border study (FLOPs of
each response route).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backbones import Backbone

__all__ = ["forward_flops", "flops_per_layer"]


def forward_flops(
    backbone: Backbone,
    layers: Sequence[str],
    size: tuple[int, int],
    *,
    torus: bool = False,
    full_trunk: bool = False,
) -> int:
    """FLOPs of one ``size`` image through ``backbone`` up to the deepest of ``layers``.

    Parameters
    ----------
    backbone : Backbone
    layers : sequence of str
        Requested layers; the pass stops after the deepest (``full_trunk``: runs every stage,
        as the paper's protocol did).
    size : tuple of int
        Image ``(H, W)``.
    torus : bool
        Run with circular padding (the torus route; :func:`hvsprobe.response.circular_padding`).

    Examples
    --------
    >>> from hvsprobe.backbones import get_backbone
    >>> bb = get_backbone("vgg16", "random:0")
    >>> forward_flops(bb, ["relu1_1"], (32, 32)) == 2 * 3 * 64 * 9 * 32 * 32
    True
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .response import circular_padding

    param = next(backbone.parameters())
    x = torch.full((1, 3, *size), 0.5, dtype=param.dtype, device=param.device)
    wanted = [backbone.layer_names[-1]] if full_trunk else list(layers)
    pad = circular_padding(backbone) if torus else contextlib.nullcontext()
    with torch.inference_mode(), pad, FlopCounterMode(display=False) as counter:
        for _ in backbone.iter_layers(x, wanted, check=False):
            pass
    return int(counter.get_total_flops())


def flops_per_layer(
    backbone: Backbone, layers: Sequence[str], size: tuple[int, int]
) -> dict[str, int]:
    """FLOPs spent between each requested layer and the one before it, in network order.

    Their sum is :func:`forward_flops` of the deepest layer.

    Examples
    --------
    >>> from hvsprobe.backbones import get_backbone
    >>> bb = get_backbone("alexnet", "random:0")
    >>> per = flops_per_layer(bb, ["relu1", "relu2"], (64, 64))
    >>> list(per), sum(per.values()) == forward_flops(bb, ["relu2"], (64, 64))
    (['relu1', 'relu2'], True)
    """
    names = backbone.check_layers(list(layers))
    out: dict[str, int] = {}
    before = 0
    for i, name in enumerate(names):
        total = forward_flops(backbone, names[: i + 1], size)
        out[name] = total - before
        before = total
    return out
