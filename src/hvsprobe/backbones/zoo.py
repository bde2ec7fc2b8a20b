"""Networks by name from torchvision and timm: ``torchvision:NAME`` and ``timm:NAME``.

Neither library is required: each is an optional extra (``pip install hvsprobe[torchvision]``,
``pip install hvsprobe[timm]``) imported only when such a name is used. The weights come from
one of three routes, always written into the backbone's provenance:

* ``random:SEED``: the library's own initialisation, run under a seeded torch generator (the
  control; nothing is downloaded);
* a checkpoint file: the library's architecture with a state dict read by restricted
  unpickling (:func:`hvsprobe.backbones.weights.load_checkpoint`);
* ``pretrained``: the library's own pretrained route (torchvision ``weights="DEFAULT"``, timm
  ``pretrained=True``), which downloads into that library's cache.

The input normalisation is the model's own where the library records it (timm's
``pretrained_cfg`` mean/std; torchvision's pretrained weights' transforms), else ImageNet's.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .base import IMAGENET_MEAN, IMAGENET_STD, Backbone, InputNorm
from .weights import load_checkpoint
from .wrapping import wrap

__all__ = ["ZOO_PREFIXES", "is_zoo_spec", "load_zoo_model", "split_zoo_spec"]

#: spec prefix -> the library (``tv:`` is the short form of ``torchvision:``).
ZOO_PREFIXES = {"torchvision": "torchvision", "tv": "torchvision", "timm": "timm"}


def split_zoo_spec(spec: str) -> tuple[str, str] | None:
    """``"timm:vit_tiny_patch16_224"`` -> ``("timm", "vit_tiny_patch16_224")``; else ``None``.

    Examples
    --------
    >>> split_zoo_spec("tv:resnet18"), split_zoo_spec("my_nets.py:build")
    (('torchvision', 'resnet18'), None)
    """
    prefix, sep, name = spec.partition(":")
    if not sep or prefix not in ZOO_PREFIXES or not name:
        return None
    return ZOO_PREFIXES[prefix], name


def is_zoo_spec(spec: str) -> bool:
    """Whether ``spec`` names a torchvision or timm model.

    Examples
    --------
    >>> is_zoo_spec("torchvision:resnet18"), is_zoo_spec("pkg.mod:build")
    (True, False)
    """
    return split_zoo_spec(spec) is not None


def _import_library(library: str, spec: str) -> Any:
    try:
        return importlib.import_module(library)
    except Exception as exc:  # ImportError, or a build that fails at import (CUDA wheels)
        why = "is not installed" if isinstance(exc, ImportError) else f"fails to import ({exc})"
        why = why.splitlines()[0]
        raise ValueError(
            f"{spec} needs {library}, which {why}: pip install hvsprobe[{library}] "
            "(with the torch build that suits your machine)"
        ) from None


def _build(lib: Any, library: str, name: str, pretrained: bool, kwargs: dict[str, Any]) -> Any:
    if library == "torchvision":
        kw = {"weights": "DEFAULT" if pretrained else None, **kwargs}
        return lib.models.get_model(name, **kw)
    return lib.create_model(name, pretrained=pretrained, **kwargs)


def _known_names(lib: Any, library: str) -> list[str]:
    names = lib.models.list_models() if library == "torchvision" else lib.list_models()
    return list(names)


def _input_norm(model: nn.Module, lib: Any, library: str, name: str, pretrained: bool) -> Any:
    """``((mean, std), where it came from)``: the model's own where recorded, else ImageNet's."""
    if library == "timm":
        cfg = getattr(model, "pretrained_cfg", None) or {}
        mean, std = cfg.get("mean"), cfg.get("std")
        if mean is not None and std is not None and len(mean) == 3 and len(std) == 3:
            return (tuple(map(float, mean)), tuple(map(float, std))), "timm pretrained_cfg"
    elif pretrained:
        try:
            tf = lib.models.get_model_weights(name).DEFAULT.transforms()
            return (tuple(tf.mean), tuple(tf.std)), "torchvision weights transforms"
        except (AttributeError, ValueError, KeyError, TypeError):
            pass
    return (IMAGENET_MEAN, IMAGENET_STD), "ImageNet (the library records none)"


def _parse(weights: str | os.PathLike[str] | None) -> tuple[str, int, Path | None]:
    if weights is None or weights in ("pretrained", "imagenet"):
        return "pretrained", 0, None
    if isinstance(weights, os.PathLike):
        return "file", 0, Path(weights)
    if weights == "random" or weights.startswith("random:"):
        try:
            return "random", int(weights.partition(":")[2] or "0"), None
        except ValueError:
            raise ValueError(f"bad random seed in weights={weights!r}; use 'random:INT'") from None
    return "file", 0, Path(weights).expanduser()


def load_zoo_model(
    spec: str,
    weights: str | os.PathLike[str] | None = "pretrained",
    *,
    layers: Sequence[str] | None = None,
    model_args: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    name: str | None = None,
    input_norm: InputNorm | None = None,
) -> Backbone:
    """Build a torchvision or timm model by name and wrap it as a backbone.

    Parameters
    ----------
    spec : str
        ``torchvision:NAME`` (also ``tv:NAME``) or ``timm:NAME``.
    weights : str or path-like
        ``"pretrained"`` (default; the library's own download route, also ``"imagenet"``),
        ``"random:SEED"`` (the library's initialisation under a seeded generator) or a
        checkpoint file (same as ``checkpoint``).
    layers : sequence of str, optional
        Default layers (dotted module names).
    model_args : mapping, optional
        Keyword arguments of ``torchvision.models.get_model`` / ``timm.create_model``.
    checkpoint : path, optional
        A state dict for the library's architecture, read with restricted unpickling.
    name : str, optional
        Display name (default: ``NAME``).
    input_norm : str, (mean, std) or callable, optional
        Overrides the model's own normalisation (see :func:`hvsprobe.wrap`).

    Returns
    -------
    Backbone

    Raises
    ------
    ValueError
        The library is missing (the message says ``pip install hvsprobe[LIBRARY]``), the name
        is unknown, the download fails, or the checkpoint does not fit.

    Examples
    --------
    >>> bb = load_zoo_model("timm:resnet18", "random:0")  # doctest: +SKIP
    >>> bb.channels["layer2"]  # doctest: +SKIP
    128
    """
    parts = split_zoo_spec(spec)
    if parts is None:
        raise ValueError(f"{spec!r} is not torchvision:NAME or timm:NAME")
    library, model_name = parts
    kind, seed, path = _parse(weights)
    if checkpoint is not None:
        if kind == "file" and path is not None and Path(checkpoint) != path:
            raise ValueError("give the weights file once: --weights FILE or --checkpoint FILE")
        kind, path = "file", Path(checkpoint).expanduser()
    lib = _import_library(library, spec)
    if model_name not in _known_names(lib, library):
        raise ValueError(
            f"{library} has no model {model_name!r} (its list_models() names the available ones)"
        )
    kwargs = dict(model_args or {})
    try:
        if kind == "pretrained":
            model = _build(lib, library, model_name, True, kwargs)
            label, origin = "pretrained", f"{library} pretrained weights of {model_name}"
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = _build(lib, library, model_name, False, kwargs)
            label = f"random:{seed}"
            origin = f"{library} initialisation of {model_name} under torch seed {seed}"
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        route = "download its pretrained weights" if kind == "pretrained" else "build it"
        raise ValueError(
            f"{library} could not {route} for {model_name!r}: {first}"
            + ("; use --checkpoint FILE or --weights random:SEED" if kind == "pretrained" else "")
        ) from exc
    if kind == "file":
        assert path is not None
        load_checkpoint(model, path)
        label, origin = path.stem, f"{library} {model_name} with weights from {path}"
    norm, norm_source = _input_norm(model, lib, library, model_name, kind == "pretrained")
    if input_norm is not None:
        norm, norm_source = input_norm, "given by the caller"
    return wrap(
        model,
        layers,
        name=name or model_name,
        input_norm=norm,
        weights=label,
        weights_origin=f"{origin}; input normalisation: {norm_source}",
    )
