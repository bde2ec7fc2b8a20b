"""Any ``nn.Module`` as a :class:`Backbone` (:func:`wrap`), and its code identity.

:func:`code_sha256` names the code that defines a model (its non-torch classes' source files,
the builder's file and arguments); it joins the weights' sha256 in every cache key, so an
edited ``forward()`` is probed again. Below :mod:`hvsprobe.backbones.custom` (models from
files) and :mod:`hvsprobe.backbones.zoo` (models by library name), which both wrap through it.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from .base import Backbone, InputNorm

__all__ = ["code_sha256", "wrap"]


def wrap(
    model: nn.Module,
    layers: Sequence[str] | None = None,
    *,
    name: str | None = None,
    input_norm: InputNorm | None = "imagenet",
    aliases: Mapping[str, str] | None = None,
    weights: str = "custom",
    weights_origin: str = "",
    survey_size: int | None = None,
) -> Backbone:
    """Make any ``nn.Module`` a backbone whose layers are its modules' outputs.

    The model is frozen in place (``requires_grad_(False)``, eval mode). Its weights identity
    (``weights_sha256``) is computed from its state dict and follows later changes.

    Parameters
    ----------
    model : torch.nn.Module
        A network taking ``N x 3 x H x W`` images (after ``input_norm``).
    layers : sequence of str, optional
        Default layers: dotted module names as in ``model.named_modules()`` (see
        :func:`list_layers`). Default: every activation module that runs once, else the
        top-level children.
    name : str, optional
        Display name (default: the model's class name); results folders are named after it.
    input_norm : str, (mean, std) or callable
        ``"imagenet"`` (default), ``"none"`` ([0, 1] RGB goes in unchanged), ``(mean, std)``
        with 3 values each, or a callable on the [0, 1] batch.
    aliases : mapping, optional
        Short names for modules, e.g. ``{"stage2": "layer2"}``.
    weights : str
        Label of the weights, e.g. ``"imagenet"`` or a checkpoint name.
    weights_origin : str
        Where the weights came from.
    survey_size : int, optional
        Input side for the dry run that lists the layers (default: the first of 32, 64, 224 that runs).

    Returns
    -------
    Backbone
        Accepted by :func:`~hvsprobe.probe.probe`, :func:`~hvsprobe.analyze.analyze` and
        :class:`~hvsprobe.metrics.PerceptualDistance`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import hvsprobe
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> bb = hvsprobe.wrap(net, ["1"], name="tiny")
    >>> bb.extract(torch.rand(1, 3, 16, 16), ["1", "2"])["2"].shape
    torch.Size([1, 8, 8, 8])
    """
    if isinstance(model, Backbone):
        raise TypeError(f"{model.name!r} is already a Backbone; wrap the nn.Module it holds")
    if not isinstance(model, nn.Module):
        raise TypeError(f"wrap() needs a torch.nn.Module, got {type(model).__name__}")
    bb = Backbone(
        name or type(model).__name__,
        model,
        layers=layers,
        aliases=aliases,
        input_norm=input_norm,
        weights=weights,
        weights_origin=weights_origin,
        survey_size=survey_size,
    )
    bb.code_sha256 = code_sha256(model)
    return bb


def _source_file(obj: object) -> Path | None:
    try:
        where = inspect.getsourcefile(obj)  # type: ignore[arg-type]
    except TypeError:  # built-in
        return None
    return Path(where) if where and Path(where).is_file() else None


def code_sha256(
    model: nn.Module, builder: object = None, args: Mapping[str, Any] | None = None
) -> str:
    """sha256 of the code that defines ``model``: the files it comes from and the arguments.

    The source files of the module classes that are not torch's (a user's ``forward()``),
    the file of ``builder`` (the function that built it) and ``args`` (its keyword
    arguments, by ``repr``). Empty when none of that exists (a network of torch modules only,
    wrapped directly). The weights are identified separately (``Backbone.weights_sha256``).

    Examples
    --------
    >>> from torch import nn
    >>> code_sha256(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    ''
    """
    files: set[Path] = set()
    args = dict(args or {})
    for cls in {type(m) for m in model.modules()}:
        package = cls.__module__.partition(".")[0]
        if package not in ("torch", "hvsprobe"):
            found = _source_file(cls)
            if found is not None:
                files.add(found.resolve())
    if builder is not None:
        found = _source_file(builder)
        if found is not None:
            files.add(found.resolve())
    if not files and not args:
        return ""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    h.update(repr(sorted(args.items())).encode())
    return h.hexdigest()
