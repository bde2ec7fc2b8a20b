"""Backbones: the registry (``list_backbones()``, ``get_backbone(name, weights=...)``;
:mod:`hvsprobe.backbones.registry`) and any network of your own (``wrap(model, layers)``,
``list_layers(model)``, ``load_model(spec)``; :mod:`hvsprobe.backbones.custom`).

Every backbone is offered with its ImageNet weights (``weights="imagenet"``, found and
verified by :mod:`hvsprobe.backbones.weights`) and with seeded random weights as a control
(``weights="random"`` or ``"random:SEED"``). An explicit weights file may be given as
``weights="/path/to/file"``.
"""

from __future__ import annotations

from .base import IMAGENET_MEAN, IMAGENET_STD, Backbone, LayerInfo
from .custom import as_backbone, list_layers, load_model
from .registry import BackboneSpec, backbone_info, get_backbone, list_backbones, parse_weights
from .weights import (
    WeightsNotFoundError,
    cache_dir,
    load_checkpoint,
    load_lpips_linear,
    state_dict_sha256,
)
from .wrapping import wrap

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Backbone",
    "BackboneSpec",
    "LayerInfo",
    "WeightsNotFoundError",
    "as_backbone",
    "backbone_info",
    "cache_dir",
    "get_backbone",
    "list_backbones",
    "list_layers",
    "load_checkpoint",
    "load_lpips_linear",
    "load_model",
    "parse_weights",
    "state_dict_sha256",
    "wrap",
]
