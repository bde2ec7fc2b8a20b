"""LPIPS-style perceptual distances on a frozen backbone, weighted per channel.

For every layer the distance uses, both images' activations are unit-normalised over the
layer's channels at each position, their squared difference is weighted per channel, summed
over channels, averaged over positions (or upsampled to a per-pixel map) and summed over
layers::

    d(x, y) = sum_l mean_hw sum_c w_lc (fx_lchw / n_lhw(fx) - fy_lchw / n_lhw(fy))^2,
    n_lhw(f) = sqrt(sum_c f_lchw^2 + eps)

The weights ``w`` come from a :class:`~hvsprobe.selection.Selection` (hard 0/1 or soft), from
the official LPIPS v0.1 linear layers (:class:`hvsprobe.metrics.LPIPS`), or are 1 for every channel of the LPIPS
layers (the uncalibrated "baseline", ``selection=None``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validation import (
    check_bool,
    check_choice,
    check_comparable,
    check_images,
    check_input_range,
    check_positive,
)
from ..backbones import Backbone, as_backbone, get_backbone
from ..backbones.base import default_channels_last
from ..backbones.weights import LPIPS_LAYERS
from ..errors import is_allocation_failure
from ..selection import Selection
from .dtypes import accumulation_dtype, autocast_off, iter_layers_as, module_dtype
from .memory import (
    MemoryNeedError,
    feature_elements,
    max_memory_bytes,
    memory_estimate,
    refuse_line,
)

__all__ = [
    "DEFAULT_EPS",
    "REDUCTIONS",
    "UPSAMPLE_MODES",
    "PerceptualDistance",
    "perceptual_distance",
    "unit_normalize",
]

#: ``reduction`` values: over the batch dimension.
REDUCTIONS = ("none", "mean", "sum")
#: How per-layer distance maps are brought to the input size when ``spatial=True``.
UPSAMPLE_MODES = ("box", "bilinear")
#: Added to the squared norm inside the square root (LPIPS adds 1e-10 to the norm itself).
DEFAULT_EPS = 1e-10

ChannelWeights = Mapping[str, "Sequence[float] | np.ndarray | torch.Tensor"]
SelectionLike = Selection | str | os.PathLike[str] | ChannelWeights | None


# --------------------------------------------------------------------------------------------
# construction helpers


def resolve_backbone(
    backbone: str | Backbone | nn.Module, weights: str | os.PathLike[str]
) -> Backbone:
    """Return ``backbone`` itself (a plain module wrapped) or build the registered one.

    Examples
    --------
    >>> from torch import nn
    >>> bb = resolve_backbone(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), "imagenet")
    >>> type(bb).__name__, bb.default_layers
    ('Backbone', ['1'])
    """
    if isinstance(backbone, nn.Module) and not isinstance(backbone, Backbone):
        backbone = as_backbone(backbone)
    if isinstance(backbone, Backbone):
        if not (isinstance(weights, str) and weights == "imagenet"):
            raise ValueError(
                "weights= applies only when backbone is given by name; a Backbone instance "
                f"already carries its weights ({backbone.weights!r})"
            )
        return backbone
    if isinstance(backbone, str):
        return get_backbone(backbone, weights=weights)
    raise TypeError(
        f"backbone must be a name, a Backbone or an nn.Module, got {type(backbone).__name__}"
    )


def _as_vector(values: Any, layer: str, n: int) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    vec = np.asarray(values, dtype=np.float64).reshape(-1)
    if vec.size != n:
        raise ValueError(f"layer {layer} has {n} channels, but {vec.size} weights were given")
    return vec


def channel_plan(
    selection: SelectionLike, backbone: Backbone
) -> dict[str, tuple[torch.Tensor | None, torch.Tensor]]:
    """Per used layer (network order): selected channel indices (``None`` = all) and weights.

    Parameters
    ----------
    selection : Selection, path, mapping or None
        ``None``: every channel of the LPIPS layers (every default layer for backbones without
        LPIPS layers) with weight 1. A :class:`Selection` (or the path of its JSON): its
        channels and weights. A mapping: layer name -> full per-channel weight vector.
    backbone : Backbone

    Returns
    -------
    dict
        Layer -> ``(indices or None, weights)``; channels with weight 0 are left out.

    Raises
    ------
    ValueError
        A selection made on other weights (compared by ``weights_sha256``; the display name
        does not matter), unknown layers, a wrong
        channel count, negative or non-finite weights, or no channel with a positive weight.

    Examples
    --------
    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    >>> bb = hvsprobe.wrap(net, ["1"], name="tiny")
    >>> index, weights = channel_plan({"1": [0, 1, 0, 0, 0, 0, 0, 2.0]}, bb)["1"]
    >>> index.tolist(), weights.tolist()
    ([1, 7], [1.0, 2.0])
    """
    full: dict[str, np.ndarray] = {}
    if isinstance(selection, str | os.PathLike):
        selection = Selection.load(Path(selection))
    if selection is None:
        layers = list(LPIPS_LAYERS.get(backbone.name, ()))
        if not layers or not set(layers) <= set(backbone.layer_names):
            layers = backbone.default_layers
        full = {n: np.ones(backbone.channels[n]) for n in layers}
    elif isinstance(selection, Selection):
        if selection.weights_sha256 != backbone.weights_sha256:  # identity, not display name
            raise ValueError(
                f"the selection was made on backbone {selection.backbone!r} with weights sha256 "
                f"{selection.weights_sha256[:12] or '(none)'}…, but this metric runs "
                f"{backbone.name!r} with weights sha256 {backbone.weights_sha256[:12]}… "
                f"({backbone.weights}); build the metric on the backbone and weights the "
                "channels were scored on"
            )
        for layer in selection.used_layers():
            backbone.check_layers([layer])
            n = int(selection.layers[layer]["n_channels"])
            if n != backbone.channels[layer]:
                raise ValueError(
                    f"selection layer {layer} has {n} channels, the backbone's has "
                    f"{backbone.channels[layer]}"
                )
            full[layer] = selection.weight_vector(layer)
    elif isinstance(selection, Mapping):
        for layer, values in selection.items():
            backbone.check_layers([layer])
            full[layer] = _as_vector(values, layer, backbone.channels[layer])
    else:
        raise TypeError(
            "selection must be None, a Selection, a path to a selection JSON or a mapping "
            f"layer -> channel weights, got {type(selection).__name__}"
        )
    plan: dict[str, tuple[torch.Tensor | None, torch.Tensor]] = {}
    for layer in backbone.check_layers(list(full)) if full else []:
        vec = full[layer]
        if not np.all(np.isfinite(vec)) or np.any(vec < 0):
            raise ValueError(f"channel weights of layer {layer} must be finite and >= 0")
        keep = np.nonzero(vec > 0)[0]
        if keep.size == 0:
            continue
        idx = None if keep.size == vec.size else torch.from_numpy(keep.astype(np.int64))
        plan[layer] = (idx, torch.from_numpy(vec[keep].astype(np.float32)))
    if not plan:
        raise ValueError("the selection has no channel with a positive weight")
    return plan


# --------------------------------------------------------------------------------------------
# normalisation and spatial maps


def unit_normalize(f: torch.Tensor, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """``f / sqrt(sum_c f^2 + eps)`` over dimension 1 (channels).

    Smooth everywhere: at a position where every channel is 0 the derivative is
    ``1 / sqrt(eps)``, where LPIPS's ``f / (sqrt(sum_c f^2) + eps)`` has an infinite derivative
    of the square root and back-propagates NaN.

    Examples
    --------
    >>> import torch
    >>> f = torch.tensor([3.0, 4.0]).view(1, 2, 1, 1)  # two channels at one position
    >>> [round(v, 6) for v in unit_normalize(f).flatten().tolist()]
    [0.6, 0.8]
    """
    return f / torch.sqrt(f.pow(2).sum(dim=1, keepdim=True) + eps)


class _NormalizedColumns(torch.autograd.Function):
    """``rows[:, index] / sqrt(sum_c rows^2 + eps)`` with a hand-written backward pass.

    Autograd's own backward of the same three steps (norm, gather, scale) materialises three
    full-width gradients (the norm's, the gather's zero-filled scatter and their sum); this one
    writes one: ``grad_rows = rows * a + scatter(index, g * inv)`` with the per-row
    ``a = -inv^2 sum_j g_j out_j`` (checked against autograd by ``gradcheck`` in the tests).
    """

    @staticmethod
    def forward(
        ctx: Any, rows: torch.Tensor, index: torch.Tensor | None, eps: float
    ) -> torch.Tensor:
        sq = torch.linalg.vector_norm(rows, dim=1, keepdim=True).square_()
        inv = sq.add_(eps).rsqrt_()
        out = rows * inv if index is None else rows.index_select(1, index).mul_(inv)
        ctx.index = index
        ctx.eps = eps
        ctx.save_for_backward(rows, inv, out)
        return out

    @staticmethod
    def differentiable_backward(
        rows: torch.Tensor, index: torch.Tensor | None, eps: float, grad: torch.Tensor
    ) -> tuple[torch.Tensor, None, None]:
        """The same gradient from out-of-place operations on ``rows`` (double backward).

        Recomputes the norm from ``rows`` so that the graph of the gradient reaches the
        input; used only when the backward pass itself is recorded (``create_graph=True``).
        """
        inv = rows.square().sum(dim=1, keepdim=True).add(eps).rsqrt()
        out = rows * inv if index is None else rows.index_select(1, index) * inv
        coef = -(grad * out).sum(dim=1, keepdim=True) * inv.square()
        scaled = grad * inv
        grad_rows = rows * coef
        if index is None:
            return grad_rows + scaled, None, None
        return grad_rows.index_add(1, index, scaled), None, None

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        rows, inv, out = ctx.saved_tensors
        if not ctx.needs_input_grad[0]:
            return None, None, None
        if torch.is_grad_enabled():  # create_graph=True: a differentiable backward
            return _NormalizedColumns.differentiable_backward(rows, ctx.index, ctx.eps, grad)
        coef = (grad * out).sum(dim=1, keepdim=True).mul_(inv.square()).neg_()
        grad_rows = rows * coef
        scaled = grad * inv
        if ctx.index is None:
            grad_rows.add_(scaled)
        else:
            grad_rows.index_add_(1, ctx.index, scaled)
        return grad_rows, None, None


def _normalized_rows(rows: torch.Tensor, index: torch.Tensor | None, eps: float) -> torch.Tensor:
    """Unit-normalise the rows of ``rows`` (positions x channels), keep the ``index`` columns.

    The squared norm runs over every column; only the kept columns are scaled, so with 25 %
    of the channels selected three quarters of the elementwise work is skipped.
    """
    apply = cast(Callable[..., torch.Tensor], _NormalizedColumns.apply)
    return apply(rows, index, eps)


def _weighted_sq_distance(diff: torch.Tensor, weights: torch.Tensor, inplace: bool) -> torch.Tensor:
    """``sum_c w_c diff_c^2`` per row of ``diff`` (positions x channels)."""
    sq = diff.square_() if inplace else diff.square()
    return torch.mv(sq, weights)


@functools.lru_cache(maxsize=64)
def _box_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """``n_out x n_in`` overlap matrix of two tilings of one interval (rows sum to 1)."""
    edges = torch.arange(n_in + 1, dtype=torch.float64) * (n_out / n_in)
    pos = torch.arange(n_out, dtype=torch.float64)[:, None]
    lo = torch.maximum(pos, edges[None, :-1])
    hi = torch.minimum(pos + 1.0, edges[None, 1:])
    return (hi - lo).clamp_min(0.0)


def upsample_map(d: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """Bring an ``N x 1 x h x w`` map to ``size``.

    ``"box"`` treats each feature cell as covering an equal share of the image and gives every
    pixel the area-weighted mean of the cells it overlaps: the map's mean is unchanged exactly,
    whatever the size ratio. ``"bilinear"`` is LPIPS's ``nn.Upsample(mode='bilinear',
    align_corners=False)``: smoother, mean preserved only when the ratio is an integer.

    Examples
    --------
    >>> import torch
    >>> m = upsample_map(torch.tensor([[[[1.0, 3.0]]]]), (2, 4), "box")
    >>> m[0, 0].tolist(), float(m.mean())
    ([[1.0, 1.0, 3.0, 3.0], [1.0, 1.0, 3.0, 3.0]], 2.0)
    """
    if mode == "bilinear":
        return F.interpolate(d, size=size, mode="bilinear", align_corners=False)
    mh = _box_matrix(d.shape[-2], size[0]).to(device=d.device, dtype=d.dtype)
    mw = _box_matrix(d.shape[-1], size[1]).to(device=d.device, dtype=d.dtype)
    return torch.einsum("ih,nchw,jw->ncij", mh, d, mw)


def reduce_batch(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction`` over dimension 0.

    Examples
    --------
    >>> import torch
    >>> reduce_batch(torch.tensor([1.0, 3.0]), "mean"), reduce_batch(torch.tensor([1.0, 3.0]), "none")
    (tensor(2.), tensor([1., 3.]))
    """
    if reduction == "mean":
        return values.mean(dim=0)
    if reduction == "sum":
        return values.sum(dim=0)
    return values


@contextlib.contextmanager
def evaluation_mode(module: nn.Module) -> Iterator[None]:
    """Run ``module`` in evaluation mode inside the block; restore each submodule's flag after.

    A metric never trains its backbone: BatchNorm in training mode would both use batch
    statistics and update its running ones from the images compared. Nothing is done (and
    nothing iterated) when no submodule is training.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train()
    >>> with evaluation_mode(net):
    ...     net[1].training
    False
    >>> net[1].training
    True
    """
    training = [m for m in module.modules() if m.training]
    if not training:
        yield
        return
    for m in training:
        m.training = False
    try:
        yield
    finally:
        for m in training:
            m.training = True


# --------------------------------------------------------------------------------------------
# the module


class PerceptualDistance(nn.Module):
    """LPIPS-style distance on selected (optionally weighted) channels of a frozen backbone.

    Parameters
    ----------
    backbone : str, Backbone or torch.nn.Module
        Registry name (``"vgg16"``, ``"alexnet"``, ``"mobilenet_v2"``), a built backbone
        (:func:`hvsprobe.wrap`) or a plain module (wrapped with the defaults).
    selection : Selection, path, mapping or None
        Which channels count and how much (see :func:`channel_plan`). ``None`` is the LPIPS
        "baseline": every channel of the LPIPS layers, weight 1. A selection made on another
        backbone or other weights is refused.
    weights : str or path
        The backbone's weights when it is given by name (``"imagenet"``, ``"random:SEED"``, a
        file).
    spatial : bool
        Return an ``N x 1 x H x W`` distance map (summed over layers) instead of ``(N,)``.
        Only ``True``/``False`` are accepted (a string such as ``'no'`` is a ``TypeError``).
    reduction : {'none', 'mean', 'sum'}
        Over the batch: ``'none'`` keeps it; ``'mean'``/``'sum'`` drop the batch dimension.
    input_range : (0, 1) or (-1, 1)
        The value range of the inputs. ``(0, 1)`` (default) is the package's convention;
        ``(-1, 1)`` is official LPIPS's (``normalize=False``): such inputs are mapped to
        [0, 1] by ``(x + 1) / 2`` inside. State it explicitly: a [-1, 1] image whose pixels
        are all >= 0 cannot be told from a [0, 1] image and would give a wrong distance.
    eps : float
        Added to the squared norm *inside* the square root: ``f / sqrt(sum_c f^2 + eps)``
        (:func:`unit_normalize`). Official LPIPS divides by ``sqrt(sum_c f^2) + eps``, whose
        backward pass yields NaN wherever all channels of a position are exactly 0 (the
        derivative of the square root is infinite there); after a ReLU, PyTorch's ReLU
        backward happens to mask that NaN, but on other layers (MobileNetV2's linear
        bottlenecks, custom trunks) or with half-precision underflow it reaches the input.
        Inside the root the derivative is bounded by ``1 / sqrt(eps)``. With ``eps = 1e-10``
        both forms agree to ~1e-7 on natural images.
    upsample : {'box', 'bilinear'}
        Map upsampling for ``spatial=True`` (see :func:`upsample_map`). ``'box'`` (default)
        keeps ``map.mean((-2, -1)) == distance`` exactly.
    name : str, optional
        ``.name`` of the metric (default ``"perceptual-<backbone>"``).
    channels_last : bool, optional
        Run the trunk on ``channels_last`` (NHWC) tensors. ``None`` (default) means
        :func:`~hvsprobe.backbones.base.default_channels_last` of the input's device: ``True``
        on the CPU, where both the convolutions and the per-position channel reductions of the
        distance are faster in that layout (``docs/performance.md``). The value is the same
        up to summation order (tested to 1e-5 relative).

    max_memory : float, optional
        Gigabytes a call may use for its features; default: the memory available on the
        device at the call. A call whose estimate (:mod:`hvsprobe.metrics.memory`) is larger
        is refused before any feature is computed (:class:`~hvsprobe.metrics.memory.MemoryNeedError`,
        a ``ValueError`` naming the estimate and an image size that fits).

    Notes
    -----
    Normalisation runs over *all* channels of a layer, as in LPIPS, even when only some are
    weighted: a selection then re-weights the LPIPS baseline's terms and the distances of
    different selections on one backbone share a scale. Only the layers the selection uses
    are computed and the trunk stops at the deepest of them; the squared norm runs over
    every channel, then only the channels with a positive weight are gathered, scaled and
    compared. The last conv cannot be sliced to the selected channels because the norm needs
    all of them. When both images need gradients, or neither does, they go through the trunk
    as one batch; a loss against a fixed target runs the two passes separately so that the
    backward pass skips the target's half.

    Inputs are ``N x 3 x H x W`` RGB in ``input_range`` (``ValueError``/``TypeError``
    otherwise, see :func:`hvsprobe._validation.check_images`). A call never changes the
    module: on another device the module moves there (values unchanged), but it is never
    cast to the inputs' dtype. The computation runs in the wider of the inputs' and the
    module's dtype (float16/bfloat16 inputs are upcast to the module's float32; float64
    inputs run in float64 with a cast copy of the weights), and the norms and sums of the
    distance in at least float32, also under :func:`torch.autocast` (which still governs
    the trunk's convolutions). The result has that dtype. The backbone is frozen; gradients
    flow to the inputs (double backward included), so the module works as a training loss.

    Examples
    --------
    A distance on a hand-made network (any ``nn.Module`` works; the built-in backbones are
    named, e.g. ``PerceptualDistance("vgg16", selection="selection.json")``):

    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
    >>> metric = PerceptualDistance(hvsprobe.wrap(net, ["1", "3"], name="tiny"), {"3": torch.ones(8)})
    >>> x = torch.rand(2, 3, 16, 16)
    >>> metric(x, x).tolist(), bool((metric(x, x.flip(-1)) > 0).all())
    ([0.0, 0.0], True)
    >>> metric.n_channels
    {'3': 8}
    """

    higher_is_better = False

    def __init__(
        self,
        backbone: str | Backbone | nn.Module = "vgg16",
        selection: SelectionLike = None,
        weights: str | os.PathLike[str] = "imagenet",
        spatial: bool = False,
        reduction: str = "none",
        *,
        eps: float = DEFAULT_EPS,
        upsample: str = "box",
        name: str | None = None,
        channels_last: bool | None = None,
        input_range: tuple[float, float] = (0.0, 1.0),
        max_memory: float | None = None,
    ) -> None:
        super().__init__()
        if max_memory is not None:
            check_positive(max_memory, "max_memory")
        self.max_memory = max_memory
        self._elements: dict[bool, tuple[float, float, float]] = {}
        if channels_last is not None and not isinstance(channels_last, bool):
            raise TypeError(f"channels_last must be True, False or None, got {channels_last!r}")
        self.channels_last = channels_last
        self.reduction = check_choice(reduction, "reduction", REDUCTIONS)
        self.upsample = check_choice(upsample, "upsample", UPSAMPLE_MODES)
        self.eps = check_positive(eps, "eps")
        self.spatial = check_bool(spatial, "spatial")
        self.input_range = check_input_range(input_range)
        self.backbone = resolve_backbone(backbone, weights)
        plan = channel_plan(selection, self.backbone)
        self.layers: list[str] = list(plan)
        self._has_index: list[bool] = []
        for i, (idx, w) in enumerate(plan.values()):
            self.register_buffer(f"channel_weights_{i}", w, persistent=False)
            self.register_buffer(f"channel_index_{i}", idx, persistent=False)
            self._has_index.append(idx is not None)
        self.min_size = self.backbone.min_input_size(self.layers)
        self.name = name or f"perceptual-{self.backbone.name}"

    def train(self, mode: bool = True) -> PerceptualDistance:
        """Set the module's training flag; the backbone stays in evaluation mode.

        A metric's backbone is frozen: in training mode its BatchNorm layers would update
        their running statistics from the images compared (and normalise with batch
        statistics), so ``metric.train()`` (or a parent module's) leaves it in ``eval()``.
        A backbone put in training mode from outside is run in evaluation mode for each call
        and given back as it was (:meth:`compute`).
        """
        super().train(mode)
        self.backbone.eval()
        return self

    def extra_repr(self) -> str:  # noqa: D102
        n = sum(int(getattr(self, f"channel_weights_{i}").numel()) for i in range(len(self.layers)))
        return (
            f"name={self.name!r}, layers={self.layers}, channels={n}, spatial={self.spatial}, "
            f"reduction={self.reduction!r}, eps={self.eps:g}, input_range={self.input_range}"
        )

    @property
    def n_channels(self) -> dict[str, int]:
        """Channels with a positive weight, per used layer."""
        return {
            n: int(getattr(self, f"channel_weights_{i}").numel()) for i, n in enumerate(self.layers)
        }

    def check_inputs(
        self, x: object, y: object, input_range: tuple[float, float] | None = None
    ) -> None:
        """Raise ``TypeError``/``ValueError`` unless ``x``, ``y`` are a valid image pair."""
        rng = self.input_range if input_range is None else input_range
        check_images(x, "x", min_size=self.min_size, value_range=rng)
        check_images(y, "y", min_size=self.min_size, value_range=rng)
        assert isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)
        check_comparable(x, y)

    @property
    def dtype(self) -> torch.dtype:
        """The module's own floating dtype (its backbone's; ``float32`` unless converted)."""
        return module_dtype(self.backbone)

    def _follow_device(self, device: torch.device) -> None:
        """Move the module (and its backbone) to ``device``; never changes a dtype or a value."""
        p = next(self.backbone.parameters(), None)
        w = self.channel_weights_0
        if (p is not None and p.device != device) or w.device != device:
            self.to(device=device)

    def _prepare(self, x: torch.Tensor, input_range: tuple[float, float]) -> torch.Tensor:
        """``x`` in the computation dtype, mapped to [0, 1]."""
        x = x.to(torch.promote_types(x.dtype, self.dtype))
        return (x + 1.0) * 0.5 if input_range[0] < 0 else x

    def _layer_map(
        self, i: int, fx: torch.Tensor, fy: torch.Tensor, fxy: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``N x 1 x h x w`` weighted squared difference of unit-normalised features.

        ``fx`` and ``fy`` are the two images' activations of the ``i``-th used layer; ``fxy``,
        when given, is the one tensor they are the two halves of (a joint trunk pass), so each
        step below runs once for both. Both layouts give the same value up to summation order:
        ``channels_last`` activations are read as a (positions x channels) matrix without a
        copy; others are reduced over dim 1.
        """
        idx = getattr(self, f"channel_index_{i}") if self._has_index[i] else None
        acc = accumulation_dtype(fx.dtype)  # float16 squares overflow above 256
        if fxy is not None:
            fxy = fxy.to(acc)
            fx, fy = fxy[: fx.shape[0]], fxy[fx.shape[0] :]
        else:
            fx, fy = fx.to(acc), fy.to(acc)
        w = getattr(self, f"channel_weights_{i}").to(acc)
        inplace = not (fx.requires_grad or fy.requires_grad)
        n, c, h, wd = fx.shape

        def rows(f: torch.Tensor) -> torch.Tensor:  # N x C x h x w -> positions x C, no copy
            return _normalized_rows(f.permute(0, 2, 3, 1).reshape(-1, c), idx, self.eps)

        fmt = torch.channels_last
        if fxy is not None and fxy.is_contiguous(memory_format=fmt):
            u = rows(fxy)
            ux, uy = u[: u.shape[0] // 2], u[u.shape[0] // 2 :]
        elif fx.is_contiguous(memory_format=fmt) and fy.is_contiguous(memory_format=fmt):
            ux, uy = rows(fx), rows(fy)
        else:  # NCHW: reduce over dim 1
            nx, ny = unit_normalize(fx, self.eps), unit_normalize(fy, self.eps)
            if idx is not None:
                nx, ny = nx.index_select(1, idx), ny.index_select(1, idx)
            nchw: torch.Tensor = ((nx - ny).pow(2) * w.view(1, -1, 1, 1)).sum(dim=1, keepdim=True)
            return nchw
        diff = ux.sub_(uy) if inplace else ux - uy
        return _weighted_sq_distance(diff, w, inplace).view(n, 1, h, wd)

    def _feature_pairs(
        self, x: torch.Tensor, y: torch.Tensor
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
        """Yield ``(fx, fy, fxy)`` per used layer; one trunk pass over both images when possible.

        ``fxy`` is the joint activation (``fx`` and ``fy`` are its halves) or ``None`` when a
        loss against a fixed target runs two passes, so that the backward pass skips the
        target's half.
        """
        cl = self.channels_last
        if cl is None:
            cl = default_channels_last(x.device)
        fmt = torch.channels_last if cl else torch.contiguous_format
        if not torch.is_grad_enabled() or x.requires_grad == y.requires_grad:
            n = x.shape[0]
            xy = torch.cat([x, y]).contiguous(memory_format=fmt)
            for _, f in iter_layers_as(self.backbone, xy, self.layers):
                yield f[:n], f[n:], f
            return
        gx = iter_layers_as(self.backbone, x.contiguous(memory_format=fmt), self.layers)
        gy = iter_layers_as(self.backbone, y.contiguous(memory_format=fmt), self.layers)
        for (_, fx), (_, fy) in zip(gx, gy, strict=True):
            yield fx, fy, None

    def compute(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        spatial: bool,
        reduction: str,
        input_range: tuple[float, float] | None = None,
    ) -> torch.Tensor:
        """The distance with explicit ``spatial``/``reduction`` (``forward`` uses the stored ones).

        ``input_range`` (default: the module's) as in :class:`PerceptualDistance`.
        """
        check_bool(spatial, "spatial")
        check_choice(reduction, "reduction", REDUCTIONS)
        rng = self.input_range if input_range is None else check_input_range(input_range)
        self.check_inputs(x, y, rng)
        self._follow_device(x.device)
        grad = torch.is_grad_enabled() and (x.requires_grad or y.requires_grad)
        self.check_memory(x.shape, torch.promote_types(x.dtype, self.dtype), x.device, grad=grad)
        x, y = self._prepare(x, rng), self._prepare(y, rng)
        size = (int(x.shape[-2]), int(x.shape[-1]))
        total: torch.Tensor | None = None
        try:
            with evaluation_mode(self.backbone):
                for i, (fx, fy, fxy) in enumerate(self._feature_pairs(x, y)):
                    with autocast_off(x.device):
                        d = self._layer_map(i, fx, fy, fxy)
                        term = (
                            upsample_map(d, size, self.upsample)
                            if spatial
                            else d.mean(dim=(1, 2, 3))
                        )
                        total = term if total is None else total + term
        except (MemoryError, RuntimeError) as exc:
            if not is_allocation_failure(exc):
                raise
            text = str(exc)
            raise MemoryNeedError(
                f"metric {self.name} ran out of memory on {x.shape[0]} pair(s) of "
                f"{size[0]} x {size[1]} images ({text.splitlines()[0] if text else 'MemoryError'}); "
                "resize the images, compare crops of them, or lower --max-memory so that the "
                "check refuses before running"
            ) from None
        assert total is not None
        return reduce_batch(total, reduction)

    def memory_need(
        self, shape: Sequence[int], dtype: torch.dtype = torch.float32, *, grad: bool = False
    ) -> float:
        """Estimated bytes of a call on two ``shape`` batches (:mod:`hvsprobe.metrics.memory`).

        Examples
        --------
        >>> import hvsprobe
        >>> from torch import nn
        >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"])
        >>> PerceptualDistance(bb, None).memory_need((1, 3, 100, 100)) / 1e6  # 4 B x 2 x 1e4 x 24
        1.92
        """
        return memory_estimate(self._feature_elements(True), shape, dtype, grad=grad)

    def _feature_elements(self, exact: bool) -> tuple[float, float, float]:
        if exact not in self._elements:
            self._elements[exact] = feature_elements(self.backbone, self.layers, exact=exact)
        return self._elements[exact]

    def check_memory(
        self, shape: Sequence[int], dtype: torch.dtype, device: torch.device, *, grad: bool
    ) -> None:
        """Refuse a call whose features would not fit (``max_memory``, else what is available).

        A bound without a dry run (every stride taken as 1) is tried first; the backbone's
        dry run (:func:`~hvsprobe.metrics.memory.feature_elements`) is made only for images
        large enough for that bound to exceed the limit.
        """
        limit, given = max_memory_bytes(self.max_memory, device)
        if limit is None:
            return
        if memory_estimate(self._feature_elements(False), shape, dtype, grad=grad) <= limit:
            return
        need = memory_estimate(self._feature_elements(True), shape, dtype, grad=grad)
        if need > limit:
            raise MemoryNeedError(refuse_line(need, limit, shape, self.name, given=given))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distance between image batches ``x`` and ``y`` (``N x 3 x H x W`` in ``input_range``).

        Returns
        -------
        torch.Tensor
            ``(N,)`` (or ``N x 1 x H x W`` with ``spatial=True``); without the batch dimension
            after a ``'mean'``/``'sum'`` reduction. 0 for identical images.
        """
        return self.compute(x, y, spatial=self.spatial, reduction=self.reduction)


# --------------------------------------------------------------------------------------------
# functional forms (cached modules)


@functools.lru_cache(maxsize=8)
def shared_backbone(name: str, weights: str) -> Backbone:
    """A backbone built once per process for the functional forms (do not move it yourself).

    Examples
    --------
    >>> shared_backbone("alexnet", "random:0") is shared_backbone("alexnet", "random:0")
    True
    """
    return get_backbone(name, weights=weights)


def perceptual_distance(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    backbone: str | Backbone = "vgg16",
    selection: SelectionLike = None,
    weights: str | os.PathLike[str] = "imagenet",
    spatial: bool = False,
    reduction: str = "none",
    eps: float = DEFAULT_EPS,
    upsample: str = "box",
    input_range: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Functional form of :class:`PerceptualDistance` (same arguments and result).

    Backbones given by name are built once per process and reused; no call changes them
    (a float64 or bfloat16 call leaves the shared backbone in float32).

    Examples
    --------
    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> x = torch.rand(1, 3, 32, 32)
    >>> d = perceptual_distance(x * 2 - 1, x * 2 - 1, backbone=bb, input_range=(-1, 1))
    >>> float(d[0])
    0.0
    """
    if isinstance(backbone, str):
        backbone = shared_backbone(backbone, str(weights))
        weights = "imagenet"  # now carried by the backbone
    metric = PerceptualDistance(
        backbone,
        selection,
        weights,
        spatial,
        reduction,
        eps=eps,
        upsample=upsample,
        input_range=input_range,
    )
    out: torch.Tensor = metric(x, y)
    return out
