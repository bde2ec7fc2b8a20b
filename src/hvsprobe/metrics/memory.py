"""How much memory a perceptual distance needs for an image size, checked before it runs.

A perceptual distance holds full-resolution feature maps: VGG-16's first layers have 64
channels at every pixel, so a pair of 6000 x 6000 images needs 2 x 64 x 36e6 x 4 bytes =
18.4 GB for one of them alone. Rather than let the allocator fail part-way (or the system
swap), :meth:`~hvsprobe.metrics.PerceptualDistance.compute` compares an estimate with the
memory allowed (``max_memory``, default: the memory available on the device) and refuses
in one line, before any feature is computed, naming the estimate, the limit and what lowers
it. docs/metric.md explains why the metric refuses instead of tiling.

The estimate, in bytes, for a batch of ``N`` pairs of ``H x W`` images in a dtype of ``b``
bytes, with ``e_m = channels_m / stride_m^2`` the elements per input pixel of module ``m``
(from a dry run of the backbone on a small image, :meth:`Backbone.describe_layers`)::

    no gradient:   b * 2N * H * W * (2 * max_m e_m + sum_{used l} e_l)
    gradient:      b * 2N * H * W * 2 * (sum_m e_m + sum_{used l} e_l)

The first term is the trunk's largest module's input and output alive together (every
module's, for the backward pass, with their gradients); the second the recorded features of
the used layers. ``m`` runs over the modules up to the deepest used layer. It is an upper
estimate: measured on VGG-16 (random weights, CPU, float32, no gradient; peak resident
memory of the call) it was 1.3 x the real peak for the five LPIPS layers at 768 and
1024 pixels and 1.4 x for relu1_2 alone at 768 pixels (benchmark command in docs/metric.md).
The gradient form counts every module's output and its gradient; it was not measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._preflight import available_memory as host_available_memory
from ..backbones import Backbone
from ..errors import UserError

__all__ = ["MemoryNeedError", "available_memory", "feature_elements", "memory_estimate"]

GB = 1e9


class MemoryNeedError(UserError):
    """A metric call would need more memory than allowed (refused before it runs)."""


def available_memory(device: torch.device) -> int | None:
    """Bytes a computation on ``device`` may allocate now, or ``None`` when unknown.

    The CPU's is :func:`hvsprobe._preflight.available_memory` (the same reading as the probe's
    check before a run), a CUDA device's the free memory :func:`torch.cuda.mem_get_info`
    reports.

    Examples
    --------
    >>> import torch
    >>> n = available_memory(torch.device("cpu"))
    >>> n is None or n > 0
    True
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    return host_available_memory()


def feature_elements(
    backbone: Backbone, layers: Sequence[str], *, exact: bool = True
) -> tuple[float, float, float]:
    """Elements per input pixel: ``(max over modules, sum over modules, sum over layers)``.

    Modules are the backbone's layers up to the deepest of ``layers``. ``exact=False`` takes
    every stride as 1 (no dry run; an upper bound for the usual networks, whose strides
    are >= 1).

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> bb = hvsprobe.wrap(net, ["1", "2"], name="tiny")
    >>> feature_elements(bb, ["2"])  # 8 channels at stride 1 (twice), 8 at stride 2
    (8.0, 18.0, 2.0)
    """
    deepest = max(backbone.layer_index(n) for n in layers)
    names = backbone.layer_names[: deepest + 1]
    if exact:
        size = max(64, backbone.min_input_size(list(layers)))
        info = {
            i.name: i.channels / i.stride**2 for i in backbone.describe_layers(names, size=size)
        }
    else:
        info = {n: float(backbone.channels[n]) for n in names}
    per = [info[n] for n in names]
    return max(per), sum(per), sum(info[n] for n in layers)


def memory_estimate(
    elements: tuple[float, float, float],
    shape: Sequence[int],
    dtype: torch.dtype,
    *,
    grad: bool,
) -> float:
    """Bytes a distance between two ``shape`` batches needs (see the module docstring).

    Examples
    --------
    >>> import torch
    >>> # one pair of 6000 x 6000 images, VGG-16 up to relu1_2 only: 4 modules of 64 channels
    >>> memory_estimate((64, 256, 64), (1, 3, 6000, 6000), torch.float32, grad=False) / 1e9
    55.296
    """
    n, _c, h, w = (int(v) for v in shape)
    per_pixel = torch.finfo(dtype).bits // 8 * 2 * n * h * w
    biggest, every, used = elements
    factor = 2.0 * (every + used) if grad else 2.0 * biggest + used
    return float(per_pixel * factor)


def refuse_line(need: float, limit: float, shape: Sequence[int], name: str, *, given: bool) -> str:
    """The one-line refusal: the estimate, the limit and what lowers the need."""
    h, w = int(shape[-2]), int(shape[-1])
    scale = (limit / need) ** 0.5 if need > 0 else 1.0
    fit_h, fit_w = max(1, int(h * scale)), max(1, int(w * scale))
    where = "the --max-memory / max_memory limit" if given else "the memory available now"
    return (
        f"metric {name} on {shape[0]} pair(s) of {h} x {w} images needs about "
        f"{_size(need)} of features, more than {where} ({_size(limit)}); resize the "
        f"images (about {fit_h} x {fit_w} fits), compare crops of them, or raise the limit "
        "with --max-memory GB (max_memory= in Python) on a machine that has it"
    )


def _size(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= 0.1 * GB else f"{n / 1e6:.2g} MB"


def max_memory_bytes(value: float | None, device: torch.device) -> tuple[float | None, bool]:
    """The limit in bytes (``value`` in GB, else the available memory) and whether it was given."""
    if value is not None:
        return float(value) * GB, True
    avail = available_memory(device)
    return (float(avail) if avail is not None else None), False
