"""Reading named module outputs with forward hooks, and the dry run that describes a network.

Every backbone, built-in or not, is an :class:`torch.nn.Module` whose layers are modules named
as in ``named_modules()`` (``"layer2.0.conv1"``). :func:`record` registers a forward hook on
each requested module, runs the network and stops it (a private exception raised from the last
hook) as soon as every requested output is recorded. :func:`survey` runs the whole network once
on a grey image and notes, for every module, how often it ran, what it produced and whether a
later in-place operation changed that output (an in-place ReLU after a BatchNorm, as in
torchvision's ResNets): such outputs are copied when recorded.

Token models (vision transformers) produce ``N x L x C`` outputs with ``L = h * w`` patch
tokens in row-major order, after ``e`` class/register tokens. The dry run finds ``e``
(:func:`token_layout`) and :func:`record` hands such an output on as the ``N x C x h x w`` map
of its patch tokens, the ``e`` extra tokens dropped (:attr:`Survey.tokens` records ``e``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = [
    "MAX_EXTRA_TOKENS",
    "LayerInfo",
    "Survey",
    "record",
    "survey",
    "token_layout",
    "tokens_as_map",
]

#: Most class/register tokens looked for ahead of the patch tokens of a token model.
MAX_EXTRA_TOKENS = 16


class _Stop(BaseException):  # noqa: N818 - control flow, not an error
    """Raised from a hook once every requested output is recorded (early stop).

    A ``BaseException`` so that a model's own ``except Exception`` cannot swallow it.
    """


@dataclass(frozen=True)
class LayerInfo:
    """One recordable layer, as seen in a dry run.

    Attributes
    ----------
    name : str
        The layer's name: its canonical alias (``"relu1_2"``) where it has one, else ``module``.
    module : str
        Dotted module name, as in ``model.named_modules()``.
    kind : str
        The module's class name.
    channels : int
        Channels of its output.
    height, width : int
        Size of its output for a square input of ``input_size`` pixels.
    input_size : int
        Side of the dry run's input.
    stride : float
        ``input_size / height``: input pixels per feature-map position. It equals the
        layer's cumulative stride when padding preserves sizes and ``input_size`` is a
        multiple of it (VGG, ResNet: 1, 2, 4, …); otherwise it is close to it (AlexNet's
        conv1 at 224 px: 224 / 55 = 4.07, stride 4).

    Examples
    --------
    >>> from torch import nn
    >>> import hvsprobe
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU()), ["1"])
    >>> info = bb.layer_info("1")
    >>> info.kind, info.channels, round(info.stride, 1)
    ('ReLU', 4, 2.0)
    """

    name: str
    module: str
    kind: str
    channels: int
    height: int
    width: int
    input_size: int
    stride: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


@dataclass
class Survey:
    """What one full forward pass of a network did, module by module.

    Attributes
    ----------
    size : int
        Side of the square input used.
    order : list of str
        Modules in the order their first call finished (children before their parents).
    calls : Counter
        Calls per module.
    outputs : dict
        Module -> shape of its first output (a tuple) or the output's type name.
    kinds : dict
        Module -> class name.
    modified : set of str
        Modules whose first output was changed in place later in the pass.
    tokens : dict
        Token modules (``N x L x C`` outputs read as maps) -> extra tokens dropped.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    >>> s = survey(net, probe_input(net, 8))
    >>> s.order, s.outputs["1"]
    (['0', '1'], (1, 4, 6, 6))
    """

    size: int
    order: list[str] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    outputs: dict[str, tuple[int, ...] | str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    modified: set[str] = field(default_factory=set)
    tokens: dict[str, int] = field(default_factory=dict)

    def problem(self, module: str) -> str | None:
        """Why ``module``'s output cannot be recorded (``None`` when it can)."""
        if self.calls[module] == 0:
            return "is not run by the forward pass"
        if self.calls[module] > 1:
            return (
                f"runs {self.calls[module]} times per forward pass (a shared module); record a "
                "module that runs once, such as its parent"
            )
        shape = self.outputs[module]
        if module in self.tokens:
            return None
        if not isinstance(shape, tuple) or len(shape) != 4:
            return (
                f"produced {_describe(shape)}, not an N x C x H x W feature map (nor N x L x C "
                "tokens with L = extra + h*w for this input)"
            )
        return None

    def candidates(self) -> list[str]:
        """Modules whose output can be recorded, in network order."""
        return [m for m in self.order if self.problem(m) is None]

    def info(self, module: str, name: str | None = None) -> LayerInfo:
        """The :class:`LayerInfo` of a recordable module."""
        shape = self.outputs[module]
        assert isinstance(shape, tuple)
        if module in self.tokens:
            _, n_tokens, c = shape
            h = w = math.isqrt(n_tokens - self.tokens[module])
        else:
            _, c, h, w = shape
        return LayerInfo(
            name=name or module,
            module=module,
            kind=self.kinds[module],
            channels=int(c),
            height=int(h),
            width=int(w),
            input_size=self.size,
            stride=self.size / h if h else float("inf"),
        )


def _describe(out: object) -> str:
    if isinstance(out, tuple) and all(isinstance(s, int) for s in out):
        return f"a tensor of shape {tuple(out)}"
    return f"a {out}" if isinstance(out, str) else f"a {type(out).__name__}"


def token_layout(shape: tuple[int, ...], height: int, width: int, extra: int | None = None) -> int:
    """Extra tokens ahead of the ``h x w`` patch tokens of an ``N x L x C`` output, or -1.

    ``h x w`` must have the input's aspect ratio and divide it (a whole patch size); the
    fewest extra tokens (at most :data:`MAX_EXTRA_TOKENS`) that make this so are taken, or
    exactly ``extra`` when the model says (timm's ``num_prefix_tokens``). The count is a
    reading of the shape, so the results record it (``token_layers`` in ``tuning.json``).

    Examples
    --------
    >>> token_layout((1, 197, 192), 224, 224)  # ViT-Ti/16: a class token and 14 x 14 patches
    1
    >>> token_layout((1, 3, 64), 32, 32)  # no 2 x 2 grid or larger: not a token map
    -1
    """
    if len(shape) != 3:
        return -1
    n_tokens = shape[1]
    tries = [extra] if extra is not None else range(MAX_EXTRA_TOKENS + 1)
    for e in tries:
        h, w = _patch_grid(n_tokens - e, height, width)
        if h >= 2 and w >= 2 and height % h == 0 and width % w == 0:
            return e
    return -1


def _patch_grid(n: int, height: int, width: int) -> tuple[int, int]:
    """``(h, w)`` with ``h * w == n`` and ``h / w == height / width``, else ``(0, 0)``."""
    if n <= 0:
        return 0, 0
    h = round(math.sqrt(n * height / width))
    if h <= 0 or n % h or (n // h) * height != h * width:
        return 0, 0
    return h, n // h


def tokens_as_map(y: torch.Tensor, extra: int, height: int, width: int) -> torch.Tensor:
    """The ``N x C x h x w`` map of the patch tokens of ``y`` (``N x L x C``), a view.

    Examples
    --------
    >>> y = torch.arange(2 * 5 * 3.0).view(2, 5, 3)  # 1 class token + 2 x 2 patches, 3 channels
    >>> m = tokens_as_map(y, 1, 8, 8)
    >>> m.shape, float(m[0, 2, 0, 1]) == float(y[0, 2, 2])
    (torch.Size([2, 3, 2, 2]), True)
    """
    n_batch, n_tokens, c = y.shape
    h, w = _patch_grid(n_tokens - extra, height, width)
    if h == 0:
        raise ValueError(
            f"{n_tokens} tokens minus {extra} extra are no patch grid for a {height}x{width} input"
        )
    return y[:, extra:, :].transpose(1, 2).view(n_batch, c, h, w)  # splitting L: a view


def _first_param(model: nn.Module) -> torch.Tensor | None:
    for t in model.parameters():
        return t
    for b in model.buffers():
        return b
    return None


def probe_input(model: nn.Module, size: int, value: float = 0.5) -> torch.Tensor:
    """A 1 x 3 x size x size grey image on the model's device, in its floating dtype.

    Examples
    --------
    >>> from torch import nn
    >>> x = probe_input(nn.Conv2d(3, 4, 3).double(), 8)
    >>> x.shape, x.dtype, float(x.max())
    (torch.Size([1, 3, 8, 8]), torch.float64, 0.5)
    """
    ref = _first_param(model)
    device = ref.device if ref is not None else torch.device("cpu")
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    return torch.full((1, 3, size, size), value, device=device, dtype=dtype)


def survey(model: nn.Module, x: torch.Tensor) -> Survey:
    """Run ``model`` once on ``x`` (already normalised) and describe every submodule's output.

    Raises whatever the model raises (a ``RuntimeError`` for an input it cannot take).

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2))
    >>> survey(net, probe_input(net, 8)).outputs["1"]
    (1, 4, 4, 4)
    """
    s = Survey(size=int(x.shape[-1]))
    kept: dict[str, tuple[torch.Tensor, int]] = {}

    def make_hook(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, _inp: Any, out: Any) -> None:
            s.calls[name] += 1
            if s.calls[name] > 1:
                return
            s.order.append(name)
            s.kinds[name] = type(module).__name__
            if isinstance(out, torch.Tensor):
                s.outputs[name] = tuple(int(d) for d in out.shape)
                kept[name] = (out, out._version)
            else:
                s.outputs[name] = type(out).__name__

        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules() if n]
    try:
        with torch.inference_mode(False), torch.no_grad():
            model(x.clone())
    finally:
        for h in handles:
            h.remove()
    s.modified = {n for n, (t, v) in kept.items() if t._version != v}
    prefix = getattr(model, "num_prefix_tokens", None)
    for name, shape in s.outputs.items():
        if isinstance(shape, tuple) and len(shape) == 3 and s.calls[name] == 1:
            e = token_layout(shape, int(x.shape[-2]), int(x.shape[-1]), prefix)
            if e >= 0:
                s.tokens[name] = e
    return s


def record(
    model: nn.Module,
    x: torch.Tensor,
    targets: Mapping[str, str],
    *,
    copy: set[str] | frozenset[str] = frozenset(),
    tokens: Mapping[str, int] | None = None,
    stop_early: bool = True,
    reduce: Callable[[torch.Tensor], torch.Tensor]
    | Mapping[str, Callable[[torch.Tensor], torch.Tensor]]
    | None = None,
) -> dict[str, torch.Tensor]:
    """Outputs of the modules in ``targets`` for input ``x`` (already normalised).

    Parameters
    ----------
    model : torch.nn.Module
    x : torch.Tensor
        The model's input.
    targets : mapping
        Dotted module name -> the layer name to use in error messages.
    copy : set of str
        Modules whose output a later in-place operation changes (:attr:`Survey.modified`):
        their output is cloned when recorded, unless the pass stops right there.
    tokens : mapping, optional
        Token modules (:attr:`Survey.tokens`) -> extra tokens: their ``N x L x C`` output is
        read as the ``N x C x h x w`` map of its patch tokens (:func:`tokens_as_map`).
    stop_early : bool
        Stop the forward pass once every target is recorded (default). ``False`` runs the
        whole network.
    reduce : callable or mapping, optional
        Applied to each output inside its hook (e.g. a spatial mean), so that the full map
        is not kept while the pass goes on; nothing is copied then. A mapping gives one
        callable per module name.

    Returns
    -------
    dict
        Module name -> its output (N x C x H x W).

    Raises
    ------
    ValueError
        A target that produced something other than an N x C x H x W tensor, ran twice, or
        did not run.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
    >>> out = record(net, torch.rand(1, 3, 8, 8), {"1": "relu"})  # stops after module "1"
    >>> out["1"].shape
    torch.Size([1, 4, 6, 6])
    """
    out: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    remaining = set(targets)

    def make_hook(name: str) -> Callable[[nn.Module, Any, Any], None]:
        def hook(module: nn.Module, _inp: Any, y: Any) -> None:
            label = f"layer {targets[name]!r} ({name}, {type(module).__name__})"
            if name in out:
                raise ValueError(f"{label} runs more than once per forward pass")
            if tokens and name in tokens and isinstance(y, torch.Tensor) and y.dim() == 3:
                y = tokens_as_map(y, tokens[name], int(x.shape[-2]), int(x.shape[-1]))
            if not isinstance(y, torch.Tensor) or y.dim() != 4:
                shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise ValueError(
                    f"{label} produced {_describe(shape)}, not an N x C x H x W feature map"
                )
            remaining.discard(name)
            last = stop_early and not remaining
            if reduce is not None:
                out[name] = reduce[name](y) if isinstance(reduce, Mapping) else reduce(y)
            else:
                out[name] = y.clone() if name in copy and not last else y
            if last:
                raise _Stop

        return hook

    handles = [modules[n].register_forward_hook(make_hook(n)) for n in targets]
    try:
        model(x)
    except _Stop:
        pass
    finally:
        for h in handles:
            h.remove()
    if remaining:
        missing = ", ".join(f"{targets[n]!r} ({n})" for n in sorted(remaining))
        raise ValueError(f"layer(s) {missing} did not run in this forward pass")
    return out
