"""Your own network as a backbone: :func:`wrap`, :func:`list_layers`, :func:`load_model`.

``load_model("path/to/file.py:build")`` (or ``"package.module:function"``) imports the module,
calls the function to build the network, optionally loads a checkpoint with restricted
unpickling (``torch.load(weights_only=True)``) and wraps the result. ``tv:NAME`` and
``timm:NAME`` build through torchvision or timm when they are installed (never required).
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

import torch
from torch import nn

from ..errors import UserError
from .base import Backbone, InputNorm, LayerInfo
from .weights import read_torch_weights

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


def _build_external(library: str, name: str, kwargs: dict[str, Any]) -> nn.Module:
    """``tv:NAME`` / ``timm:NAME`` through the installed library (weights as it provides)."""
    package = "torchvision" if library == "tv" else "timm"
    try:
        lib = importlib.import_module(package)
    except ImportError:
        raise ValueError(
            f"{library}:{name} needs {package}, which is not installed; install it yourself "
            "(matching your torch) or give MODULE:FUNCTION"
        ) from None
    try:
        model: nn.Module = (
            lib.models.get_model(name, **kwargs)
            if library == "tv"
            else lib.create_model(name, **kwargs)
        )
        return model
    except (KeyError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{package} cannot build {name!r}: {exc}") from exc


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
            f"model {spec!r} must be MODULE:FUNCTION, FILE.py:FUNCTION, tv:NAME or timm:NAME"
        )
    if where in ("tv", "timm"):
        return _build_external(where, func, kwargs), func, None
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
    obj = read_torch_weights(path)  # restricted unpickling; any failure: "not a weights file"
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
) -> Backbone:
    """Build ``MODULE:FUNCTION`` (or ``tv:NAME`` / ``timm:NAME``) and wrap it as a backbone.

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

    Returns
    -------
    Backbone
        Its ``weights`` label is ``"custom"``, or the checkpoint's file stem.

    Examples
    --------
    >>> import hvsprobe
    >>> bb = hvsprobe.load_model("torch.nn:Identity")  # doctest: +SKIP
    """
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
