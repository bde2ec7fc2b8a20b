"""Your own network as a backbone: :func:`wrap`, :func:`list_layers`, :func:`load_model`.

``load_model("path/to/file.py:build")`` (or ``"package.module:function"``) imports the module,
calls the function to build the network, optionally loads a checkpoint with restricted
unpickling (``torch.load(weights_only=True)``) and wraps the result. ``torchvision:NAME``
(``tv:NAME``) and ``timm:NAME`` build through those libraries (:mod:`hvsprobe.backbones.zoo`).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import io
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from ..errors import UserError
from .base import Backbone, InputNorm, LayerInfo
from .weights import load_checkpoint
from .wrapping import code_sha256, wrap

__all__ = [
    "as_backbone",
    "code_sha256",
    "list_layers",
    "load_checkpoint",
    "load_model",
    "parse_input_norm",
    "parse_model_args",
    "wrap",
]


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
        from .registry import get_backbone

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
    if not all(math.isfinite(v) for v in pair[0]) or not all(
        math.isfinite(v) and v > 0 for v in pair[1]
    ):
        raise UserError(
            f"input normalisation {text!r}: the means must be finite numbers and the standard "
            "deviations finite and > 0 (e.g. 0.5,0.5,0.5/0.25,0.25,0.25)"
        )
    return (pair[0], pair[1])


def _import_file(path: Path) -> ModuleType:
    """Run the file ``path`` as a module (its code is trusted, as ``python FILE.py`` would be).

    Whatever it does at import that would end or confuse hvsprobe is contained: it sees
    ``sys.argv == [FILE]`` (a module that parses the command line at import finds no
    arguments of hvsprobe's), and ``SystemExit`` (``sys.exit()``, an argparse usage error)
    becomes one error naming the file.
    """
    if path.is_dir():
        raise UserError(
            f"model file {str(path)!r} is a directory; give FILE.py:FUNCTION (a Python file) "
            "or an importable MODULE:FUNCTION"
        )
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
    argv = sys.argv
    sys.argv = [str(path)]
    printed = io.StringIO()  # an argparse usage line must not look like hvsprobe's own
    try:
        with contextlib.redirect_stderr(printed):
            # compiled from the file as it is now: a stale __pycache__ entry (an edit within
            # the same second, same size) must not run old code under the new code identity
            exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)  # noqa: S102
    except SystemExit as exc:
        del sys.modules[mod_name]
        code = exc.code
        said = _first_line(printed.getvalue().splitlines()[-1]) if printed.getvalue() else ""
        said = str(code) if isinstance(code, str) else said or (f"status {code}" if code else "")
        said = f" ({said})" if said else ""
        raise UserError(
            f"model file {path} called sys.exit() while being imported{said}; a model file "
            "must only define the network (move command-line code under "
            '`if __name__ == "__main__":`)'
        ) from None
    except Exception as exc:
        del sys.modules[mod_name]
        raise ValueError(f"cannot import {path}: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.argv = argv
        sys.path.remove(str(path.resolve().parent))
    sys.stderr.write(printed.getvalue())  # what a module that imported fine printed, kept
    return module


def _import(where: str) -> ModuleType:
    if where.endswith((".py", "/", os.sep)) or "/" in where or os.sep in where:
        return _import_file(Path(where).expanduser())
    if Path(where).is_dir():
        return _import_file(Path(where))
    try:
        return importlib.import_module(where)
    except ImportError as exc:
        raise ValueError(
            f"cannot import module {where!r} ({exc}); give an importable module or a .py file"
        ) from exc


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else "(no message)"


def _innermost_user_frame(exc: BaseException) -> str:
    """``' at FILE:LINE'`` of the innermost frame outside torch and hvsprobe, if any."""
    found = ""
    tb = exc.__traceback__
    while tb is not None:
        name = str(tb.tb_frame.f_globals.get("__name__", ""))
        if not name.startswith(("torch", "hvsprobe")):
            found = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def _call_builder(spec: str, kwargs: dict[str, Any]) -> tuple[nn.Module, str, object]:
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
    try:
        model = fn(**kwargs)
    except SystemExit as exc:
        raise UserError(f"model builder {spec} called sys.exit({exc.code!r}); it must return "
                        "a torch.nn.Module") from None  # fmt: skip
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:  # the builder's own bug (TypeError, AttributeError, …)
        where_ = _innermost_user_frame(exc)
        raise UserError(
            f"model builder {spec} failed{where_}: {type(exc).__name__}: "
            f"{_first_line(str(exc))}; fix the builder or its arguments (--model-arg)"
        ) from exc
    if not isinstance(model, nn.Module):
        raise ValueError(f"{spec} returned a {type(model).__name__}, not a torch.nn.Module")
    stem = Path(where).stem if where.endswith(".py") else where.rpartition(".")[2]
    return model, f"{stem}.{func}", fn


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
    model, default_name, builder = _call_builder(spec, kwargs)
    origin = f"built by {spec}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"
    weights = "custom"
    if checkpoint is not None:
        load_checkpoint(model, checkpoint)
        weights = Path(checkpoint).stem
        origin += f", weights from {Path(checkpoint).expanduser()}"
    bb = wrap(
        model,
        layers,
        name=name or default_name,
        input_norm=input_norm,
        weights=weights,
        weights_origin=origin,
    )
    bb.code_sha256 = code_sha256(model, builder, {"spec": spec, **kwargs})
    return bb
