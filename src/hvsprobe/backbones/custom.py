"""Your own network as a backbone: :func:`wrap`, :func:`list_layers`, :func:`load_model`.

``load_model("path/to/file.py:build")`` (or ``"package.module:function"``) imports the module,
calls the function to build the network, optionally loads a checkpoint with restricted
unpickling (``torch.load(weights_only=True)``) and wraps the result. ``torchvision:NAME``
(``tv:NAME``) and ``timm:NAME`` build through those libraries (:mod:`hvsprobe.backbones.zoo`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from .base import Backbone, InputNorm, LayerInfo

__all__ = [
    "as_backbone",
    "list_layers",
    "load_checkpoint",
    "load_model",
    "parse_input_norm",
    "parse_model_args",
    "wrap",
]


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
    return Backbone(
        name or type(model).__name__,
        model,
        layers=layers,
        aliases=aliases,
        input_norm=input_norm,
        weights=weights,
        weights_origin=weights_origin,
        survey_size=survey_size,
    )


def as_backbone(backbone: object) -> Backbone:
    """``backbone`` itself, or a plain ``nn.Module`` wrapped with :func:`wrap`'s defaults.

    Examples
    --------
    >>> from torch import nn
    >>> bb = as_backbone(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    >>> as_backbone(bb) is bb
    True
    """
    if isinstance(backbone, Backbone):
        return backbone
    if isinstance(backbone, nn.Module):
        return wrap(backbone)
    raise TypeError(
        "backbone must be a Backbone (hvsprobe.wrap(model, layers) or get_backbone(name)) or a "
        f"torch.nn.Module, got {type(backbone).__name__}"
    )


def list_layers(
    model: nn.Module | str, *, size: int = 224, input_norm: InputNorm | None = "imagenet"
) -> list[LayerInfo]:
    """Every recordable layer of ``model`` with its channels, feature size and stride.

    A layer is a module that runs once per forward pass and outputs an N x C x H x W map;
    the numbers come from one dry run on a grey ``size`` x ``size`` image.

    Parameters
    ----------
    model : torch.nn.Module, Backbone or str
        A network, a backbone, or a registered backbone name (built with random weights).
    size : int
        Input side of the dry run.
    input_norm : str, (mean, std) or callable
        As in :func:`wrap` (for a plain module).

    Returns
    -------
    list of LayerInfo
        In network order; built-in networks list their canonical names.

    Examples
    --------
    >>> from torch import nn
    >>> import hvsprobe
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU())
    >>> [(i.name, i.channels, i.stride) for i in hvsprobe.list_layers(net, size=32)]
    [('0', 8, 2.0), ('1', 8, 2.0)]
    """
    if isinstance(model, str):
        from . import get_backbone

        bb = get_backbone(model, "random:0")
    elif isinstance(model, Backbone):
        bb = model
    else:
        bb = wrap(model, input_norm=input_norm)
    return bb.describe_layers(size=size)


# --------------------------------------------------------------------------------------------
# building a model from "MODULE:FUNCTION"


def parse_model_args(items: Sequence[str] | None) -> dict[str, Any]:
    """``["width=8", "name=foo"]`` -> ``{"width": 8, "name": "foo"}`` (Python literals or text).

    Examples
    --------
    >>> parse_model_args(["width=8", "name=foo", "scale=0.5"])
    {'width': 8, 'name': 'foo', 'scale': 0.5}
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"model argument {item!r} must look like KEY=VALUE")
        try:
            out[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[key] = text
    return out


def parse_input_norm(text: str) -> InputNorm:
    """``"imagenet"``, ``"none"`` or ``"M1,M2,M3/S1,S2,S3"`` -> an ``input_norm`` value.

    Examples
    --------
    >>> parse_input_norm("0.5,0.5,0.5/0.25,0.25,0.25")
    ([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    >>> parse_input_norm("none")
    'none'
    """
    if text in ("imagenet", "none"):
        return text
    mean, sep, std = text.partition("/")
    try:
        pair = ([float(v) for v in mean.split(",")], [float(v) for v in std.split(",")])
    except ValueError:
        pair = None
    if not sep or pair is None or len(pair[0]) != 3 or len(pair[1]) != 3:
        raise ValueError(
            f"input normalisation {text!r}: use 'imagenet', 'none' or 'M1,M2,M3/S1,S2,S3'"
        )
    return (pair[0], pair[1])


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    mod_name = f"_hvsprobe_model_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    sys.path.insert(0, str(path.resolve().parent))  # its sibling modules import too
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[mod_name]
        raise ValueError(f"cannot import {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _import(where: str) -> ModuleType:
    if where.endswith(".py") or "/" in where or os.sep in where:
        return _import_file(Path(where).expanduser())
    try:
        return importlib.import_module(where)
    except ImportError as exc:
        raise ValueError(
            f"cannot import module {where!r} ({exc}); give an importable module or a .py file"
        ) from exc


def _call_builder(spec: str, kwargs: dict[str, Any]) -> tuple[nn.Module, str]:
    where, sep, func = spec.rpartition(":")
    if not sep or not where or not func:
        raise ValueError(
            f"model {spec!r} must be MODULE:FUNCTION, FILE.py:FUNCTION, torchvision:NAME or "
            "timm:NAME"
        )
    module = _import(where)
    fn = getattr(module, func, None)
    if not callable(fn):
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))
        raise ValueError(f"{where} has no function {func!r}; it defines: {', '.join(public)}")
    try:
        inspect.signature(fn).bind(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{spec}: cannot call with {kwargs}: {exc}") from exc
    except ValueError:  # builtins without a signature: just call
        pass
    model = fn(**kwargs)
    if not isinstance(model, nn.Module):
        raise ValueError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    stem = Path(where).stem if where.endswith(".py") else where.rpartition(".")[2]
    return model, f"{stem}.{func}"


def load_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a state dict into ``model`` with restricted unpickling (tensors and containers only).

    The file may hold the state dict itself or a dict with it under ``"state_dict"``,
    ``"model"`` or ``"model_state_dict"``; a ``"module."`` prefix (DataParallel) is removed.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not loadable with ``weights_only=True``, no state dict in it, or keys/shapes that do not
        fit the model.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import torch
    >>> from torch import nn
    >>> src, dst = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     torch.save({"state_dict": src.state_dict()}, Path(d) / "ckpt.pt")
    ...     load_checkpoint(dst, Path(d) / "ckpt.pt")
    >>> torch.equal(src.weight, dst.weight)
    True
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError …
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"cannot read checkpoint {path} with restricted loading (weights_only=True): {first}"
        ) from exc
    state = obj
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), Mapping):
                state = obj[key]
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"checkpoint {path} holds no state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ValueError(
            f"checkpoint {path} does not fit the model: {str(exc).splitlines()[-1].strip()}"
        ) from exc
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {path} does not fit the model (missing {missing[:5]}, "
            f"unexpected {list(unexpected)[:5]})"
        )


def load_model(
    spec: str,
    *,
    model_args: Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    layers: Sequence[str] | None = None,
    input_norm: InputNorm | None = "imagenet",
    name: str | None = None,
    weights: str | None = None,
) -> Backbone:
    """Build ``MODULE:FUNCTION`` (or ``torchvision:NAME`` / ``timm:NAME``) as a backbone.

    Parameters
    ----------
    spec : str
        ``package.module:function``, ``path/to/file.py:function``, ``tv:NAME`` (torchvision)
        or ``timm:NAME`` (timm); the function is called with ``model_args``.
    model_args : mapping, optional
        Keyword arguments of the function (for tv/timm: of ``get_model``/``create_model``).
    checkpoint : path, optional
        State dict to load (:func:`load_checkpoint`).
    layers, input_norm, name
        As in :func:`wrap`; the name defaults to ``"<module>.<function>"``.
    weights : str, optional
        For ``torchvision:NAME`` / ``timm:NAME`` only (:func:`hvsprobe.backbones.zoo.load_zoo_model`):
        ``"random:SEED"`` (default ``random:0``), ``"pretrained"`` or a file; their input
        normalisation is the model's own unless ``input_norm`` is given.

    Returns
    -------
    Backbone
        Its ``weights`` label is ``"custom"``, or the checkpoint's file stem.

    Examples
    --------
    >>> import hvsprobe
    >>> bb = hvsprobe.load_model("torch.nn:Identity")  # doctest: +SKIP
    """
    from .zoo import is_zoo_spec, load_zoo_model

    if is_zoo_spec(spec):
        return load_zoo_model(
            spec,
            weights or "random:0",
            layers=layers,
            model_args=model_args,
            checkpoint=checkpoint,
            name=name,
            input_norm=None if input_norm == "imagenet" else input_norm,
        )
    if weights is not None:
        raise ValueError("weights= applies to torchvision:NAME and timm:NAME; use checkpoint=")
    kwargs = dict(model_args or {})
    model, default_name = _call_builder(spec, kwargs)
    origin = f"built by {spec}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    weights = "custom"
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
        weights = Path(checkpoint).stem
        origin += f", weights from {Path(checkpoint).expanduser()}"
    return wrap(
        model,
        layers,
        name=name or default_name,
        input_norm=input_norm,
        weights=weights,
        weights_origin=origin,
    )
