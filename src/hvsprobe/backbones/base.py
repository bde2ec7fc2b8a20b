"""The :class:`Backbone` wrapper: any CNN, layers by dotted name, [0, 1] RGB in, weights identity.

A backbone is an :class:`torch.nn.Module` plus the names of the modules whose outputs are
recorded (dotted names as in ``named_modules()``), read with forward hooks; the forward pass
stops once the deepest requested output is recorded (:mod:`hvsprobe.backbones.hooks`). The
built-in networks are the same thing with canonical aliases (``relu1_2`` is VGG-16's
``features.3``). Channel counts, network order and strides come from a dry run, and the
weights identity is the sha256 of the actual state dict, recomputed when a weight changes.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import torch
from torch import nn

from .._validation import check_images
from ..errors import UserError
from .hooks import LayerInfo, Survey, probe_input, record, survey
from .weights import state_dict_sha256

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Backbone",
    "InputNorm",
    "LayerInfo",
    "default_channels_last",
]

#: ImageNet channel statistics used by torchvision's pretrained models. LPIPS's own input
#: scaling ((2x - 1) - shift) / scale with shift (-0.030, -0.088, -0.188) and scale
#: (0.458, 0.448, 0.450) is algebraically the same normalisation.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: ``input_norm`` values: a name, ``(mean, std)`` (3 values each), or a callable on the batch.
InputNorm = str | tuple[Sequence[float], Sequence[float]] | Callable[[torch.Tensor], torch.Tensor]

#: Square input sides tried, in order, for the dry run that lists a network's layers.
SURVEY_SIZES = (32, 64, 224)
#: Activation modules whose outputs are the default layers of a network without aliases.
_ACTIVATIONS = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Softplus, nn.Tanh, nn.Sigmoid,
)  # fmt: skip


class _Trunk(nn.Module):
    """A ``features`` Sequential in a container, so its module names are ``features.N``."""

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y: torch.Tensor = self.features(x)
        return y


def _norm_description(input_norm: InputNorm | None) -> tuple[str, Any]:
    """``(description, payload)``: payload is ``(mean, std)``, a callable or ``None``."""
    if input_norm is None or (isinstance(input_norm, str) and input_norm == "none"):
        return "none", None
    if isinstance(input_norm, str):
        if input_norm != "imagenet":
            raise ValueError(
                f"input_norm must be 'imagenet', 'none', (mean, std) or a callable, "
                f"got {input_norm!r}"
            )
        return "imagenet", (IMAGENET_MEAN, IMAGENET_STD)
    if isinstance(input_norm, tuple | list) and len(input_norm) == 2:
        mean, std = (tuple(float(v) for v in part) for part in input_norm)
        finite = all(math.isfinite(v) for v in (*mean, *std))
        if len(mean) != 3 or len(std) != 3 or not finite or min(std) <= 0:
            raise ValueError(
                f"input_norm (mean, std) needs 3 finite values each, std > 0: {input_norm}"
            )
        if (mean, std) == (IMAGENET_MEAN, IMAGENET_STD):
            return "imagenet", (mean, std)
        return f"mean={list(mean)},std={list(std)}", (mean, std)
    if callable(input_norm):
        qual = f"{type(input_norm).__module__}.{type(input_norm).__qualname__}"
        if not isinstance(input_norm, nn.Module):
            qual = f"{getattr(input_norm, '__module__', '?')}.{getattr(input_norm, '__qualname__', qual)}"
        return f"callable:{qual}", input_norm
    raise TypeError(f"input_norm must be a name, (mean, std) or a callable, got {input_norm!r}")


def _refuse_input_channels(name: str, exc: RuntimeError) -> None:
    """A first convolution that wants other than 3 input channels: say so, not "the size"."""
    found = re.search(r"to have (\d+) channels, but got 3 channels", str(exc))
    if found:
        n = int(found.group(1))
        raise UserError(
            f"{name}: the model expects {n} input channel{'s' if n != 1 else ''}, and hvsprobe "
            "feeds RGB images (3 channels); wrap it so that it takes N x 3 x H x W (e.g. a "
            "builder returning nn.Sequential(<RGB to gray>, model); docs/models.md)"
        ) from None


class Backbone(nn.Module):
    """A frozen network whose layers are named modules, read with forward hooks.

    Inputs are RGB images in [0, 1] (N x 3 x H x W); the input normalisation happens inside.
    :meth:`extract` runs the network only until every requested layer has been recorded.
    Build one with :func:`hvsprobe.wrap` (any model) or
    :func:`hvsprobe.backbones.get_backbone` (the registered networks).

    Parameters
    ----------
    name : str
        Display name (registry name for the built-in networks), used in messages and file names.
    model : torch.nn.Module
        The network. It is frozen (``requires_grad_(False)``, eval mode) in place.
    stage_names : sequence of str, optional
        Only for a ``model`` that is an :class:`torch.nn.Sequential` trunk: one canonical name
        per element. The trunk is then held as ``features`` (module names ``features.0``, …)
        and the names become aliases: the built-in networks are made this way.
    layers : sequence of str, optional
        The default layers (dotted module names or aliases). Default: the aliases starting with
        ``relu`` (else ``block``); without aliases, every activation module that runs once,
        else every top-level child with a feature-map output.
    aliases : mapping, optional
        Canonical name -> dotted module name.
    input_norm : str, (mean, std) or callable
        ``"imagenet"`` (default: ImageNet mean/std), ``"none"`` (the network takes [0, 1]
        RGB), ``(mean, std)`` with 3 values each, or a callable applied to the batch.
    weights : str
        Label of the weights (``"imagenet"``, ``"random:SEED"``, ``"custom"``, …).
    weights_origin : str
        Where the weights came from.
    weights_sha256 : str, optional
        Accepted for compatibility only: the identity is always computed from the state dict,
        and a value that differs from it is refused.
    survey_size : int, optional
        Side of the grey image of the dry run that finds the layers (default: the first of 32, 64, 224 that runs).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import hvsprobe
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), ["1"], name="tiny")
    >>> bb.default_layers, bb.channels["1"]
    (['1'], 4)
    >>> bb.extract(torch.rand(2, 3, 8, 8), "1")["1"].shape
    torch.Size([2, 4, 6, 6])
    """

    def __init__(
        self,
        name: str,
        model: nn.Module,
        stage_names: Sequence[str] | None = None,
        *,
        layers: Sequence[str] | None = None,
        aliases: Mapping[str, str] | None = None,
        input_norm: InputNorm | None = "imagenet",
        weights: str = "custom",
        weights_origin: str = "",
        weights_sha256: str | None = None,
        survey_size: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        aliases = dict(aliases or {})
        if stage_names is not None:
            if not isinstance(model, nn.Sequential) or len(stage_names) != len(model):
                raise ValueError("one stage name per element of features is required")
            model = _Trunk(model)
            aliases = {**{n: f"features.{i}" for i, n in enumerate(stage_names)}, **aliases}
        self.name = str(name)
        self.model = model
        self.weights = str(weights)
        self.weights_origin = str(weights_origin)
        modules = dict(model.named_modules())
        bad = {a: m for a, m in aliases.items() if m not in modules or not m}
        if bad:
            raise ValueError(f"{self.name}: aliases name no module of the model: {bad}")
        self.aliases: dict[str, str] = aliases
        self.input_norm, payload = _norm_description(input_norm)
        # a callable input_norm: a module is registered (it moves with .to()), a function kept
        self.input_transform: nn.Module | None = None
        self._norm_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
        if isinstance(payload, tuple):
            mean, std = payload
            self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
            self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        elif isinstance(payload, nn.Module):
            self.input_transform = payload.requires_grad_(False)
        elif payload is not None:
            self._norm_fn = payload
        self._survey_size = survey_size
        self._surveys: dict[int | None, Survey] = {}
        self._fixed: dict[tuple[str, str], int | None] = {}
        self._sha: tuple[Any, str] | None = None
        #: sha256 of the code that defines the network (set by ``wrap``/``load_model``: the
        #: source files of its own module classes, the builder's file and arguments); part of
        #: the cache identity with the weights, so an edited ``forward()`` is probed afresh.
        self.code_sha256 = ""
        self.requires_grad_(False)
        self.eval()
        if weights_sha256 is not None and weights_sha256 != self.weights_sha256:
            raise ValueError(
                f"{self.name}: weights_sha256 is computed from the state dict "
                f"({self.weights_sha256[:12]}…); the given {weights_sha256[:12]!r}… differs"
            )
        self._survey()  # the dry run, now: before any hook of the caller's is registered
        self._default = self.check_layers(layers) if layers is not None else None

    # a frozen feature extractor: BatchNorm statistics never update
    def train(self, mode: bool = True) -> Backbone:  # noqa: D102
        return super().train(False)

    def __repr__(self) -> str:
        return (
            f"Backbone({self.name!r}, weights={self.weights!r}, "
            f"sha256={self.weights_sha256[:12]}…, layers={len(self.layer_names)})"
        )

    # -- identity --------------------------------------------------------------------

    def _fingerprint(self) -> Any:
        try:
            return tuple(
                (k, t.data_ptr(), t._version, tuple(t.shape), t.dtype, t.device)
                for k, t in self.state_dict(keep_vars=True).items()
            )
        except RuntimeError:  # inference tensors keep no version counter: always rehash
            return None

    @property
    def weights_sha256(self) -> str:
        """sha256 of the network's state dict (parameters and buffers), computed by hvsprobe.

        Keys, dtypes, shapes and bytes count (:func:`~hvsprobe.backbones.state_dict_sha256`);
        an input normalisation other than ImageNet's is part of the identity too. The value
        is cached and recomputed when a tensor is replaced or changed in place (its version
        counter moves); an edit through ``.data`` is not seen.
        """
        key = self._fingerprint()
        if self._sha is None or key is None or self._sha[0] != key:
            digest = state_dict_sha256(self.model.state_dict())
            if self.input_norm != "imagenet":
                norm = self.input_norm
                if self.input_transform is not None:
                    norm += ":" + state_dict_sha256(self.input_transform.state_dict())
                digest = hashlib.sha256(f"{digest}|input_norm={norm}".encode()).hexdigest()
            self._sha = (key, digest)
        return self._sha[1]

    def _structure(self) -> str:
        """Digest of the architecture as printed (layer types, kernels, strides, paddings)."""
        return hashlib.sha256(repr(self.model).encode()).hexdigest()[:16]

    # -- layers ----------------------------------------------------------------------

    def _survey(self, size: int | None = None) -> Survey:
        """The dry run at ``size`` (default: the first of :data:`SURVEY_SIZES` that runs)."""
        key = size if size is not None else self._survey_size
        if key not in self._surveys:
            sizes = [key] if key is not None else list(SURVEY_SIZES)
            errors = []
            for s in sizes:
                try:
                    self._surveys[key] = survey(self.model, self.normalize(probe_input(self, s)))
                    break
                except (RuntimeError, AssertionError) as exc:  # timm/torchvision size asserts
                    if isinstance(exc, RuntimeError):
                        _refuse_input_channels(self.name, exc)
                    errors.append(f"{s} px: {str(exc).splitlines()[0]}")
                except (MemoryError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # the model's own code: TypeError, AttributeError, …
                    first = (str(exc).strip().splitlines() or [""])[0]
                    raise UserError(
                        f"{self.name}: the model's forward() failed on a grey 1 x 3 x {s} x {s} "
                        f"image ({type(exc).__name__}: {first}); a model must take one "
                        "N x 3 x H x W image batch"
                    ) from exc
            else:
                raise ValueError(
                    f"{self.name}: the dry run on a grey image failed ({'; '.join(errors)}); "
                    "give an input size it accepts (survey_size=, or --size for `hvsprobe layers`)"
                )
        return self._surveys[key]

    def module_name(self, layer: str) -> str:
        """Dotted module name of ``layer`` (an alias or a dotted name)."""
        return self.aliases.get(layer, layer)

    @property
    def layer_names(self) -> list[str]:
        """Canonical layer names in network order: the aliases, or every recordable module."""
        order = self._survey().order
        if self.aliases:
            pos = {m: i for i, m in enumerate(order)}
            return sorted(self.aliases, key=lambda a: pos.get(self.aliases[a], len(pos)))
        return self._survey().candidates()

    @property
    def channels(self) -> dict[str, int]:
        """Layer name (canonical and dotted) -> channels, from the dry run."""
        s = self._survey()
        out = {m: s.info(m).channels for m in s.candidates()}
        out.update({a: out[m] for a, m in self.aliases.items() if m in out})
        return out

    @property
    def default_layers(self) -> list[str]:
        """Layers probed by default (see the ``layers`` parameter)."""
        if self._default is not None:
            return list(self._default)
        names = self.layer_names
        if self.aliases:
            relu = [n for n in names if n.startswith("relu")]
            return relu or [n for n in names if n.startswith("block")]
        modules = dict(self.model.named_modules())
        act = [n for n in names if isinstance(modules[n], _ACTIVATIONS)]
        return act or [n for n in names if "." not in n]

    def _available(self) -> str:
        names = self.layer_names
        shown = ", ".join(names[:40])
        more = (
            f" … ({len(names)} in all; hvsprobe.list_layers lists them)" if len(names) > 40 else ""
        )
        return shown + more

    def check_layers(self, layers: Sequence[str] | str) -> list[str]:
        """Validate layer names (aliases or dotted) and return them sorted in network order.

        Raises
        ------
        ValueError
            No names; a name that is no module; a module that does not run exactly once or
            whose output is not an N x C x H x W feature map (the message names it and the
            shape it produced).
        """
        if isinstance(layers, str):
            layers = [layers]
        layers = list(dict.fromkeys(layers))
        if not layers:
            raise ValueError(
                f"at least one layer name is required; {self.name} has: {self._available()}"
            )
        modules = dict(self.model.named_modules())
        unknown = [
            n for n in layers if not self.module_name(n) or self.module_name(n) not in modules
        ]
        if unknown:
            raise ValueError(
                f"{self.name} has no layer(s) {unknown}; available: {self._available()}"
            )
        s = self._survey()
        for n in layers:
            m = self.module_name(n)
            problem = s.problem(m)
            if problem is not None:
                raise ValueError(
                    f"{self.name} layer {n!r} ({m}, {type(modules[m]).__name__}) {problem}"
                )
        pos = {m: i for i, m in enumerate(s.order)}
        return sorted(layers, key=lambda n: pos[self.module_name(n)])

    def layer_index(self, layer: str) -> int:
        """Position of ``layer``'s module in network order (the order outputs are completed)."""
        self.check_layers([layer])
        return self._survey().order.index(self.module_name(layer))

    def describe_layers(
        self, layers: Sequence[str] | None = None, *, size: int = 224
    ) -> list[LayerInfo]:
        """Channels, feature-map size and stride of ``layers`` (default: all), from one dry run.

        Parameters
        ----------
        layers : sequence of str, optional
            Default :attr:`layer_names`.
        size : int
            Side of the square grey input of the dry run.

        Returns
        -------
        list of LayerInfo
            In network order.

        Examples
        --------
        >>> from torch import nn
        >>> import hvsprobe
        >>> net = nn.Sequential(
        ...     nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1)
        ... )
        >>> bb = hvsprobe.wrap(net, ["1", "3"], name="tiny")
        >>> [(i.name, i.channels, i.stride) for i in bb.describe_layers(["3"])]
        [('3', 16, 2.0)]
        """
        names = self.check_layers(layers if layers is not None else self.layer_names)
        s = self._survey(int(size))
        out = []
        for n in names:
            m = self.module_name(n)
            problem = s.problem(m)
            if problem is not None:
                raise ValueError(f"{self.name} layer {n!r} ({m}) at {size} px {problem}")
            out.append(s.info(m, n))
        return out

    def layer_info(self, layer: str, *, size: int = 224) -> LayerInfo:
        """:meth:`describe_layers` for one layer."""
        return self.describe_layers([layer], size=size)[0]

    def min_input_size(self, layers: Sequence[str] | str) -> int:
        """Smallest square input (pixels) for which every requested layer has output.

        Cached per weights identity, architecture and module (never per display name).
        """
        names = self.check_layers(layers)
        fixed = self.fixed_input_size(names)
        if fixed is not None:
            return fixed
        key = (self.weights_sha256, self._structure())
        return max(_min_size(self, key, self.module_name(n)) for n in names)

    def token_layers(self, layers: Sequence[str] | str) -> dict[str, int]:
        """Layers among ``layers`` whose tokens are read as maps -> extra tokens dropped.

        Examples
        --------
        >>> from torch import nn
        >>> import hvsprobe
        >>> hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), ["1"]).token_layers("1")
        {}
        """
        tokens = self._survey().tokens
        names = self.check_layers(layers)
        return {n: tokens[self.module_name(n)] for n in names if self.module_name(n) in tokens}

    def fixed_input_size(self, layers: Sequence[str] | str) -> int | None:
        """The one square input side the network takes up to ``layers``, or ``None``.

        A model whose position embedding (or a Linear over the flattened map, or any
        fixed-size parameter added to a map) fixes its input size runs at the dry run's size
        but not at twice it; such a model is probed at its native size only.

        Examples
        --------
        >>> from torch import nn
        >>> import hvsprobe
        >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), ["1"])
        >>> bb.fixed_input_size(["1"]) is None
        True
        """
        names = self.check_layers(layers)
        deepest = self.module_name(names[-1])
        key = ("fixed", deepest)
        if key not in self._fixed:
            size = self._survey().size
            self._fixed[key] = None if _has_output(self, deepest, 2 * size) else size
        return self._fixed[key]

    # -- running ---------------------------------------------------------------------

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] RGB to the network's input (``input_norm``)."""
        if self.input_transform is not None:
            y: torch.Tensor = self.input_transform(x)
            return y
        if self._norm_fn is not None:
            return self._norm_fn(x)
        if self.input_norm == "none":
            return x
        mean, std = cast(torch.Tensor, self.mean), cast(torch.Tensor, self.std)
        return (x - mean.to(x.dtype)) / std.to(x.dtype)

    def extract(
        self,
        x: torch.Tensor,
        layers: Sequence[str] | str,
        *,
        check: bool = True,
        full: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Return the activations of ``layers`` for images ``x`` in [0, 1].

        Parameters
        ----------
        x : torch.Tensor
            N x 3 x H x W, values in [0, 1].
        layers : sequence of str
            Layer names: aliases or dotted module names.
        check : bool
            Validate ``x`` (shape, range, NaN). Internal callers that built ``x`` themselves
            may skip it.
        full : bool
            Run the whole network instead of stopping after the deepest requested layer
            (the original study's protocol; same values).

        Returns
        -------
        dict
            Layer name to N x C x h x w activation, in network order.
        """
        return dict(self.iter_layers(x, layers, check=check, full=full))

    def iter_layers(
        self,
        x: torch.Tensor,
        layers: Sequence[str] | str,
        *,
        check: bool = True,
        full: bool = False,
        reduce: Callable[[torch.Tensor], torch.Tensor]
        | Mapping[str, Callable[[torch.Tensor], torch.Tensor]]
        | None = None,
    ) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, activation)`` for ``layers`` in network order.

        One forward pass, stopped once every requested layer is recorded (unless ``full``);
        the activations are yielded after it. ``reduce`` (e.g. ``lambda a: a.mean((2, 3))``)
        is applied to each activation as soon as it is produced, inside the pass, and its
        result is yielded instead: then no full feature map outlives the module that made it.
        A mapping gives one callable per requested layer name.
        """
        names = self.check_layers(layers)
        if isinstance(reduce, Mapping):
            reduce = {self.module_name(n): reduce[n] for n in names}
        if check:
            check_images(x, min_size=self.min_input_size(names))
        targets = {self.module_name(n): n for n in names}
        acts = record(
            self.model,
            self.normalize(x),
            targets,
            copy=self._survey().modified,
            tokens=self._survey().tokens,
            stop_early=not full,
            reduce=reduce,
        )
        for n in names:
            yield n, acts[self.module_name(n)]

    def forward(  # noqa: D102
        self, x: torch.Tensor, layers: Sequence[str] | str | None = None
    ) -> dict[str, torch.Tensor]:
        return self.extract(x, layers if layers is not None else self.default_layers)

    @property
    def features(self) -> nn.Module:
        """The ``features`` trunk of the built-in networks (``model.features``)."""
        feats = getattr(self.model, "features", None)
        if not isinstance(feats, nn.Module):
            raise AttributeError(f"{self.name} has no 'features' trunk")
        return feats


def _has_output(bb: Backbone, module: str, size: int) -> bool:
    try:
        x = bb.normalize(probe_input(bb, size))
        with torch.no_grad():
            h = record(bb.model, x, {module: module}, tokens=bb._survey().tokens)[module]
    except (RuntimeError, AssertionError, ValueError):
        return False
    return h.shape[-1] >= 1 and h.shape[-2] >= 1


def _min_size(bb: Backbone, identity: tuple[str, str], module: str) -> int:
    """Smallest square input with a non-empty output at ``module`` (bisection, cached)."""
    key = (*identity, module)
    if key not in _MIN_SIZE:
        hi = 1
        while not _has_output(bb, module, hi):
            hi *= 2
            if hi > 8192:
                raise ValueError(f"{bb.name}: no input size up to 8192 px gives {module} an output")
        lo = hi // 2  # lo fails (or is 0), hi works
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _has_output(bb, module, mid):
                hi = mid
            else:
                lo = mid
        _MIN_SIZE[key] = hi
    return _MIN_SIZE[key]


#: (weights sha256, architecture digest, module) -> minimum input side.
_MIN_SIZE: dict[tuple[str, str, str], int] = {}


def default_channels_last(device: str | torch.device) -> bool:
    """Whether the probe and the metrics use ``channels_last`` tensors by default on ``device``.

    ``True`` on the CPU, where oneDNN convolves NHWC tensors without the reorder to and from
    its blocked layout that NCHW inputs need at every layer; it also lets the metrics reduce
    over channels along contiguous memory. ``False`` elsewhere, the previous behaviour. The
    measurements behind both choices, CPU and GPU, are in ``docs/performance.md``.

    Examples
    --------
    >>> default_channels_last("cpu")
    True
    """
    return torch.device(device).type == "cpu"
