"""How a metric runs in its inputs' dtype without ever casting its module.

A call in another floating dtype than the backbone's runs each stage with a cast copy of its
weights (:func:`iter_layers_as`); norms and sums run in at least float32
(:func:`accumulation_dtype`), also under :func:`torch.autocast` (:func:`autocast_off`). So
metrics sharing one backbone stay independent of each other's calls.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, cast

import torch
from torch import nn

from ..backbones import Backbone

__all__ = ["accumulation_dtype", "autocast_off", "iter_layers_as", "module_dtype"]


def module_dtype(module: nn.Module) -> torch.dtype:
    """The floating dtype of ``module``'s first parameter (``float32`` if it has none).

    Examples
    --------
    >>> from torch import nn
    >>> module_dtype(nn.Linear(2, 2).double()), module_dtype(nn.ReLU())
    (torch.float64, torch.float32)
    """
    p = next(module.parameters(), None)
    return p.dtype if p is not None else torch.float32


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """``dtype`` widened to at least float32: the norms and sums of the distance use it.

    Examples
    --------
    >>> import torch
    >>> accumulation_dtype(torch.bfloat16), accumulation_dtype(torch.float64)
    (torch.float32, torch.float64)
    """
    return torch.promote_types(dtype, torch.float32)


def _cast_state(module: nn.Module, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """``module``'s floating parameters and buffers cast to ``dtype`` (new tensors)."""
    named = itertools.chain(module.named_parameters(), module.named_buffers())
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in named}


def iter_layers_as(
    backbone: Backbone, x: torch.Tensor, layers: Sequence[str]
) -> Iterator[tuple[str, torch.Tensor]]:
    """:meth:`Backbone.iter_layers` in ``x.dtype``, without converting the backbone.

    When ``x.dtype`` differs from the backbone's, each stage runs with a cast copy of its
    weights (:func:`torch.func.functional_call`); the backbone itself is left as it was, so
    metrics sharing it are unaffected.

    Examples
    --------
    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.ReLU())
    >>> bb = hvsprobe.wrap(net, ["1", "3"], name="tiny")
    >>> [(name, tuple(f.shape)) for name, f in iter_layers_as(bb, torch.rand(1, 3, 16, 16), ["1", "3"])]
    [('1', (1, 8, 16, 16)), ('3', (1, 4, 14, 14))]
    """
    if x.dtype == module_dtype(backbone):
        yield from backbone.iter_layers(x, layers, check=False)
        return
    names = backbone.check_layers(layers)
    wanted = set(names)
    h = backbone.normalize(x)
    for i in range(backbone.layer_index(names[-1]) + 1):
        stage = cast(nn.Sequential, backbone.features)[i]
        h = torch.func.functional_call(stage, _cast_state(stage, x.dtype), (h,))
        if backbone.layer_names[i] in wanted:
            yield backbone.layer_names[i], h


def autocast_off(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """A context that disables autocast on ``device`` when it is on (else does nothing).

    Examples
    --------
    >>> import torch
    >>> with torch.autocast("cpu", dtype=torch.bfloat16):
    ...     with autocast_off(torch.device("cpu")):
    ...         print(torch.is_autocast_enabled("cpu"))
    False
    """
    try:
        on = torch.is_autocast_enabled(device.type)
    except (TypeError, RuntimeError):  # pragma: no cover - device types without autocast
        on = False
    return torch.autocast(device.type, enabled=False) if on else contextlib.nullcontext()
