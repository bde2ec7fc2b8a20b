"""How a channel's activation map becomes one response number, with or without the border.

The paper's response is the spatial mean of a channel's activation map. Near the edges of
the map the network's zero padding acts, and for deep layers (large receptive fields) the
padded region is much of the map: the whole-map mean then measures the padding as much as
the grating (``docs/method.md`` section 2, ``docs/results/border_study.md``). Three ways of
measuring, selected by :class:`ResponseConfig` ``method``:

``'torus'`` (default)
    The response to an *infinite* grating. The grating is rendered on a small torus, an
    image that holds whole periods in both directions and whose size suits the network's
    strides, and every padded convolution and pooling is made circular, so the network
    sees a periodic image with no border at all. The spatial mean over the torus is then
    exactly the mean over the infinite plane. A wave vector fits a torus only when its
    components are whole numbers of cycles per torus side, so frequency and orientation
    are moved to the nearest such vector within a tolerance (default 1 % in frequency and
    1 degree in orientation; the realised values are recorded). The torus needs no more
    pixels than the whole-map stimulus for the default grid, often far fewer.
``'interior'``
    The stimulus exactly as specified, rendered larger (``interior_scale`` x the grid's
    size), with each layer's mean taken over the positions that no padding reaches (found
    by letting NaN padding propagate through the network once). Applies to any network
    whose padding happens in ``Conv2d``/``MaxPool2d``/``AvgPool2d``; costs
    ``interior_scale**2`` times the pixels.
``'whole_map'``
    The paper's definition: the mean over the whole map of the grid-sized stimulus,
    border included.

The padding rewrite works on the modules themselves (forward pre-hooks on every padded
``Conv2d``, ``MaxPool2d`` and ``AvgPool2d``, their ``padding`` set to 0 for the duration),
so it applies to any network built from them. Padding that a model does inside its own
``forward`` (``F.pad``) cannot be seen this way; the torus route therefore checks, once per
network and layer set, that the result is exactly translation-equivariant on the torus
(:func:`check_torus`), and refuses the network otherwise.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_choice
from .errors import is_allocation_failure

__all__ = [
    "RESPONSE_METHODS",
    "ResponseConfig",
    "TorusError",
    "TorusPlan",
    "check_torus",
    "circular_padding",
    "interior_masks",
    "nan_padding",
    "plan_torus",
    "refuse_torus",
    "render_torus",
    "torus_unit",
    "translation_suspects",
]

RESPONSE_METHODS = ("torus", "interior", "whole_map")
#: Modules that shift, resize or pool globally: no exact periodic or interior equivalent.
_REFUSED = (
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.Upsample,
    nn.ConvTranspose2d,
    nn.Unfold,
    nn.Fold,
)
_PADDED = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


class TorusError(ValueError):
    """A network or stimulus that the border-free routes cannot handle exactly."""


class UnsupportedModuleError(TorusError):
    """A module with no border-free equivalent (adaptive pooling, upsampling, ...)."""


@dataclass(frozen=True)
class ResponseConfig:
    """How the per-stimulus response of a channel is measured (see the module docstring).

    Attributes
    ----------
    method : {'torus', 'interior', 'whole_map'}
        Default ``'torus'``: the border-free response to an infinite grating.
    frequency_tolerance : float
        Torus only: largest relative change of a stimulus's spatial frequency allowed when
        its wave vector is moved onto the torus lattice (default 0.01).
    orientation_tolerance_deg : float
        Torus only: largest change of its orientation, degrees (default 1).
    max_torus : int
        Torus only: largest torus side in pixels; a stimulus that needs more is refused
        with a message suggesting larger tolerances.
    interior_scale : float
        Interior only: the stimulus is rendered at this multiple of the grid's size.

    Examples
    --------
    >>> ResponseConfig().method
    'torus'
    >>> ResponseConfig("whole_map").to_dict()["method"]
    'whole_map'
    """

    method: str = "torus"
    frequency_tolerance: float = 0.01
    orientation_tolerance_deg: float = 1.0
    max_torus: int = 2048
    interior_scale: float = 2.0

    def __post_init__(self) -> None:
        check_choice(self.method, "response method", RESPONSE_METHODS)
        if not 0.0 < float(self.frequency_tolerance) < 0.5:
            raise ValueError(
                f"frequency_tolerance must lie in (0, 0.5), got {self.frequency_tolerance}"
            )
        if not 0.0 < float(self.orientation_tolerance_deg) < 45.0:
            raise ValueError(
                "orientation_tolerance_deg must lie in (0, 45), got "
                f"{self.orientation_tolerance_deg}"
            )
        if int(self.max_torus) < 8:
            raise ValueError(f"max_torus must be >= 8 pixels, got {self.max_torus}")
        if not float(self.interior_scale) >= 1.0:
            raise ValueError(f"interior_scale must be >= 1, got {self.interior_scale}")

    @classmethod
    def coerce(cls, value: str | ResponseConfig | dict[str, Any] | None) -> ResponseConfig:
        """A config from a method name, a dict of fields, a config or ``None`` (default)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls(method=value)
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(cls.__dataclass_fields__))
            if unknown:
                raise ValueError(f"unknown response settings {unknown}")
            return cls(**value)
        raise TypeError(f"response must be a method name or ResponseConfig, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; only the fields that matter for the method."""
        d = asdict(self)
        if self.method != "torus":
            for k in ("frequency_tolerance", "orientation_tolerance_deg", "max_torus"):
                d.pop(k)
        if self.method != "interior":
            d.pop("interior_scale")
        return d


# ----------------------------------------------------------------------------------------
# module geometry and the padding rewrite


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    t = tuple(int(a) for a in v)
    return (t[0], t[0]) if len(t) == 1 else (t[0], t[1])


def _geometry(m: nn.Module) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Effective kernel extent, stride and leading padding of a padded module, per axis."""
    if isinstance(m, nn.Conv2d):
        k, s, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.dilation)
        ext = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        if isinstance(m.padding, str):
            p = (0, 0) if m.padding == "valid" else ((ext[0] - 1) // 2, (ext[1] - 1) // 2)
        else:
            p = _pair(m.padding)
        return ext, s, p
    k = _pair(m.kernel_size)
    s = _pair(m.stride if m.stride is not None else m.kernel_size)
    d = _pair(getattr(m, "dilation", 1))
    ext = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    return ext, s, _pair(m.padding)


@contextlib.contextmanager
def _rewrite_padding(model: nn.Module, pad_fn: Any) -> Iterator[None]:
    """Replace the padding of every padded module of ``model`` by ``pad_fn`` for a while.

    ``pad_fn(x, module, extent, stride, lead)`` returns the explicitly padded input; the
    module's own padding is set to 0 and restored on exit, with the hooks removed.
    """
    handles = []
    saved: list[tuple[nn.Module, str, Any]] = []

    def refuse(module: nn.Module, _args: Any) -> None:
        raise UnsupportedModuleError(
            f"{type(module).__name__} has no border-free equivalent (it resizes or pools the "
            "whole map); use response='whole_map' for this network or layer"
        )

    for m in model.modules():
        if isinstance(m, _REFUSED):
            handles.append(m.register_forward_pre_hook(refuse))
        elif isinstance(m, _PADDED):
            ext, s, lead = _geometry(m)

            def hook(
                module: nn.Module, args: Any, ext: Any = ext, s: Any = s, lead: Any = lead
            ) -> Any:
                return (pad_fn(args[0], module, ext, s, lead), *args[1:])

            handles.append(m.register_forward_pre_hook(hook))
            saved.append((m, "padding", m.padding))
            if isinstance(m, nn.Conv2d):
                saved.append((m, "padding_mode", m.padding_mode))
    try:
        for m, attr, _ in saved:
            if attr == "padding":
                setattr(m, attr, (0, 0) if isinstance(m, nn.Conv2d) else 0)
            else:
                setattr(m, attr, "zeros")
        yield
    finally:
        for h in handles:
            h.remove()
        for m, attr, value in saved:
            setattr(m, attr, value)


def _circular_pad(x: torch.Tensor, module: nn.Module, ext: Any, s: Any, lead: Any) -> torch.Tensor:
    """Extend a periodic map so that a valid (unpadded) pass gives ``size / stride`` outputs."""
    for axis, k, st, p in ((2, ext[0], s[0], lead[0]), (3, ext[1], s[1], lead[1])):
        n = x.shape[axis]
        if n % st:
            raise TorusError(
                f"{type(module).__name__} with stride {st} received a periodic map of {n} "
                "pixels, not a multiple of its stride: the torus does not suit this network"
            )
        if k == st and p == 0:
            continue
        x = _wrap(x, axis, p, k - st - p)
    return x


def _wrap(x: torch.Tensor, axis: int, lead: int, trail: int) -> torch.Tensor:
    """``x`` extended periodically by ``lead`` elements before and ``trail`` after ``axis``.

    Slices and ``torch.cat`` keep the memory format, where an ``index_select`` would lose it
    (``docs/performance.md``, circular padding); a negative ``trail`` crops.
    """
    n = x.shape[axis]
    if 0 <= lead <= n and -n < trail <= n:
        parts = [x.narrow(axis, n - lead, lead)] if lead else []
        parts.append(x if trail >= 0 else x.narrow(axis, 0, n + trail))
        if trail > 0:
            parts.append(x.narrow(axis, 0, trail))
        return torch.cat(parts, dim=axis) if len(parts) > 1 else parts[0]
    idx = torch.arange(-lead, n + trail, device=x.device) % n  # tiny maps: wrap many times
    return x.index_select(axis, idx)


def _nan_pad(x: torch.Tensor, module: nn.Module, ext: Any, s: Any, lead: Any) -> torch.Tensor:
    """Pad with NaN exactly where the module would pad (zeros, or -inf for max pooling)."""
    (ph, pw) = lead
    trail_h = ph if not isinstance(getattr(module, "padding", None), str) else ext[0] - 1 - ph
    trail_w = pw if not isinstance(getattr(module, "padding", None), str) else ext[1] - 1 - pw
    if not (ph or pw or trail_h or trail_w):
        return x
    return F.pad(x, (pw, trail_w, ph, trail_h), value=float("nan"))


def circular_padding(model: nn.Module) -> contextlib.AbstractContextManager[None]:
    """Within the block, every padded conv/pool of ``model`` pads circularly (a torus).

    Maps must stay a whole multiple of each module's stride; a module that resizes the map
    globally (adaptive pooling, upsampling) raises :class:`TorusError` when it runs.

    Examples
    --------
    >>> import torch
    >>> conv = torch.nn.Conv2d(1, 1, 3, padding=1, bias=False)
    >>> x = torch.rand(1, 1, 8, 8)
    >>> with circular_padding(conv):  # shifting the input shifts the output, edges included
    ...     same = torch.allclose(conv(torch.roll(x, 2, 3)), torch.roll(conv(x), 2, 3))
    >>> same
    True
    >>> conv.padding  # restored
    (1, 1)
    """
    return _rewrite_padding(model, _circular_pad)


def nan_padding(model: nn.Module) -> contextlib.AbstractContextManager[None]:
    """Within the block, every padded conv/pool of ``model`` pads with NaN.

    Outputs that depend on padding then come out NaN: the mask of finite values is the
    region that the border does not reach (:func:`interior_masks`).
    """
    return _rewrite_padding(model, _nan_pad)


# ----------------------------------------------------------------------------------------
# the network's side: the torus unit, the exactness check, the interior masks


def _run(backbone: Any, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    return dict(backbone.iter_layers(x, layers, check=False))


def _dtype_device(backbone: Any) -> tuple[torch.dtype, torch.device]:
    p = next(iter(backbone.parameters()), None)
    if p is None:
        return torch.float32, torch.device("cpu")
    return p.dtype, p.device


#: Modules whose own parameters are ordinary layer weights, never a map added to the input.
_LAYERS_WITH_WEIGHTS = (
    nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear, nn.Bilinear, nn.Embedding,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d,
    nn.MultiheadAttention, nn.PReLU,
)  # fmt: skip


def translation_suspects(model: nn.Module) -> list[tuple[str, str]]:
    """Modules and parameters that may stop ``model`` commuting with translation.

    In order of suspicion: a parameter named like a position embedding; any other parameter
    or buffer outside the ordinary layers with more than one position (a fixed-size map
    added to the input); a ``Linear`` that follows a ``Flatten`` (a Linear over the
    flattened map). Each entry is ``(dotted name, what it is)``.

    Examples
    --------
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv = nn.Conv2d(3, 4, 3)
    ...         self.pos_embed = nn.Parameter(torch.zeros(1, 4, 6, 6))
    >>> translation_suspects(Net())
    [('pos_embed', 'an absolute position embedding')]
    """
    pos: list[tuple[str, str]] = []
    other: list[tuple[str, str]] = []
    for mod_name, m in model.named_modules():
        if isinstance(m, _LAYERS_WITH_WEIGHTS):
            continue
        own = [*m.named_parameters(recurse=False), *m.named_buffers(recurse=False)]
        for pname, t in own:
            if t is None or t.dim() < 2 or t[0].numel() == t.shape[-1]:
                continue  # a scalar, a vector or a single token (a class token)
            full = f"{mod_name}.{pname}" if mod_name else pname
            if "pos" in pname.lower():
                pos.append((full, "an absolute position embedding"))
            else:
                other.append((full, "a fixed-size parameter added to the input"))
    linear: list[tuple[str, str]] = []
    flattened = False
    for mod_name, m in model.named_modules():
        if isinstance(m, nn.Flatten):
            flattened = True
        elif flattened and isinstance(m, nn.Linear):
            linear.append((mod_name, "a Linear over the flattened map"))
            break
    return pos + other + linear


def refuse_torus(backbone: Any, what: str) -> TorusError:
    """The one-line refusal of the torus route: ``what`` happened, and the module suspected."""
    model = getattr(backbone, "model", backbone)
    suspects = translation_suspects(model)
    name = getattr(backbone, "name", type(model).__name__)
    culprit = (
        f"suspected: {suspects[0][0]} ({suspects[0][1]})"
        if suspects
        else "suspected: the network pads or crops inside its forward(), or adds "
        "position-dependent values there"
    )
    return TorusError(
        f"{name} does not commute with translation ({what}; {culprit}), which the default "
        "torus route needs; use --response whole_map (response='whole_map')"
    )


def torus_unit(backbone: Any, layers: Sequence[str], *, limit: int = 1024) -> int:
    """Smallest torus side (pixels) that every requested layer maps to a whole feature map.

    Found by running the network on tori of increasing size with circular padding until no
    module meets a map that is not a multiple of its stride.

    Raises
    ------
    TorusError
        If no side up to ``limit`` works, or the network has a module without a periodic
        equivalent.
    """
    dtype, dev = _dtype_device(backbone)
    last: Exception | None = None
    with torch.inference_mode(), circular_padding(backbone):
        for u in range(1, limit + 1):
            try:
                _run(backbone, torch.full((1, 3, u, u), 0.5, dtype=dtype, device=dev), layers)
            except UnsupportedModuleError:
                raise
            except TorusError as exc:
                last = exc
                continue
            except (RuntimeError, AssertionError) as exc:  # too small, or a fixed input size
                last = exc
                continue
            return u
    raise TorusError(f"no torus side up to {limit} px suits layers {list(layers)}: {last}")


def check_torus(
    backbone: Any,
    layers: Sequence[str],
    unit: int,
    *,
    seed: int = 0,
    rtol: float | None = None,
) -> None:
    """Check that the circular network is exactly translation-equivariant on the torus.

    A random periodic image of side ``2 * unit`` and its copy rolled by ``unit`` pixels must
    give feature maps that are rolls of each other, at every requested layer. Padding done
    inside a model's own ``forward`` (which :func:`circular_padding` cannot see), an absolute
    position embedding or a fixed-size map added to the input break this, and the torus
    route is then refused with one line naming the module suspected
    (:func:`translation_suspects`).

    ``rtol`` defaults to ``1024 * eps`` of the network's dtype (1.2e-4 for float32): a
    shift by a multiple of every stride gives every output the same inputs in the same
    order, so an equivariant network differs only by the summation order the kernels pick
    per position (observed below 1e-6 of the scale), while a position embedding changes the
    maps at the percent level.

    Raises
    ------
    TorusError
        When a layer's maps differ by more than ``rtol`` of their largest value.
    """
    dtype, dev = _dtype_device(backbone)
    if rtol is None:
        rtol = 1024 * torch.finfo(dtype).eps
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 2 * unit, 2 * unit, generator=gen, dtype=torch.float64)
    x = x.to(dtype=dtype, device=dev)
    shifted = torch.roll(x, shifts=(unit, unit), dims=(2, 3))
    try:
        with torch.inference_mode(), circular_padding(backbone):
            a = _run(backbone, x, layers)
            b = _run(backbone, shifted, layers)
    except (RuntimeError, AssertionError) as exc:
        if is_allocation_failure(exc):
            raise  # a resource error, not a network the torus cannot hold
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise refuse_torus(
            backbone, f"it fails on a {2 * unit} px periodic input: {first}"
        ) from exc
    for name in a:
        fa, fb = a[name].float(), b[name].float()
        h, w = fa.shape[-2:]
        if (2 * unit) % h or (2 * unit) % w or h != w or unit % ((2 * unit) // h):
            raise refuse_torus(
                backbone,
                f"layer {name} maps a {2 * unit} px torus to {h}x{w}, not a whole fraction of it",
            )
        step = (2 * unit) // fa.shape[-1]
        back = torch.roll(fb, shifts=(-(unit // step), -(unit // step)), dims=(2, 3))
        scale = float(fa.abs().max()) or 1.0
        err = float((back - fa).abs().max())
        if err > rtol * scale:
            raise refuse_torus(
                backbone,
                f"layer {name}: shifting a periodic input by {unit} px changes its map by "
                f"{err:.3g} of {scale:.3g}, more than {rtol:.2g} of it",
            )


def interior_masks(
    backbone: Any, layers: Sequence[str], size: tuple[int, int]
) -> dict[str, torch.Tensor]:
    """Per layer, a boolean ``h x w`` mask of the positions that no padding reaches.

    Raises
    ------
    ValueError
        If a layer has no such position at ``size`` (render larger stimuli).
    """
    dtype, dev = _dtype_device(backbone)
    x = torch.full((1, 3, *size), 0.5, dtype=dtype, device=dev)
    with torch.inference_mode(), nan_padding(backbone):
        maps = _run(backbone, x, layers)
    out = {}
    for name, m in maps.items():
        mask = torch.isfinite(m[0]).all(dim=0)
        if not bool(mask.any()):
            raise ValueError(
                f"layer {name} has no position free of the border on a {size[0]}x{size[1]} "
                "stimulus; raise interior_scale or use response='torus'"
            )
        out[name] = mask
    return out


# ----------------------------------------------------------------------------------------
# the stimulus side: putting each wave vector on a torus


@dataclass(frozen=True)
class TorusPlan:
    """Torus sizes and realised wave vectors for every (frequency, orientation) of a grid.

    Arrays are ``F x O``: ``height``/``width`` in pixels, ``kx``/``ky`` in cycles/pixel
    (y pointing up, as in :mod:`hvsprobe.stimuli`), and the realised frequency (cpd) and
    orientation (degrees) beside their relative / absolute errors.
    """

    unit: int
    height: np.ndarray
    width: np.ndarray
    kx: np.ndarray
    ky: np.ndarray
    frequency_cpd: np.ndarray
    orientation_deg: np.ndarray
    frequency_error: np.ndarray
    orientation_error_deg: np.ndarray

    def pixels(self) -> int:
        """Pixels of one stimulus per (frequency, orientation), summed over the grid."""
        return int((self.height.astype(np.int64) * self.width).sum())

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable description (recorded with the tuning)."""
        return {
            "unit_px": self.unit,
            "max_relative_frequency_error": float(np.abs(self.frequency_error).max()),
            "max_orientation_error_deg": float(np.abs(self.orientation_error_deg).max()),
            "largest_torus_px": [int(self.height.max()), int(self.width.max())],
            "pixels_per_phase": self.pixels(),
            "height": self.height.tolist(),
            "width": self.width.tolist(),
            "realised_frequency_cpd": np.round(self.frequency_cpd, 9).tolist(),
            "realised_orientation_deg": np.round(self.orientation_deg, 9).tolist(),
        }


def _snap(k: float, tol: float, unit: int, max_side: int) -> tuple[int, float]:
    """Smallest side ``n`` (multiple of ``unit``) with ``|round(k n) / n - k| <= tol``."""
    if abs(k) <= 1e-15:
        return unit, 0.0
    for n in range(unit, max_side + 1, unit):
        j = round(k * n)
        if j != 0 and abs(j / n - k) <= tol:
            return n, j / n
    return 0, math.nan


def plan_torus(
    frequencies_cpd: Sequence[float],
    orientations_deg: Sequence[float],
    ppd: float,
    unit: int,
    config: ResponseConfig | None = None,
) -> TorusPlan:
    """Put every (frequency, orientation) of a grid on the smallest torus within tolerance.

    Each wave-vector component ``k`` (cycles/pixel) becomes ``j / n`` with ``n`` a multiple
    of ``unit``; the two components are independent, so a torus may be rectangular (an
    axis-aligned grating needs only ``unit`` pixels across its bars). The tolerance per
    component is ``|k| * min(frequency_tolerance, orientation_tolerance) / sqrt(2)``, which
    bounds the relative frequency change and the orientation change (radians) together.

    Raises
    ------
    TorusError
        If a component needs a side above ``config.max_torus``.

    Examples
    --------
    >>> plan = plan_torus([1.875], [0.0], ppd=60.0, unit=16)
    >>> int(plan.width[0, 0]), int(plan.height[0, 0])  # a 32-px period, vertical bars
    (32, 16)
    """
    cfg = config or ResponseConfig()
    from .stimuli.geometry import cos_sin_deg

    f = np.asarray(frequencies_cpd, dtype=np.float64)
    o = np.asarray(orientations_deg, dtype=np.float64)
    rel = min(float(cfg.frequency_tolerance), math.radians(cfg.orientation_tolerance_deg))
    shape = (f.size, o.size)
    out = {k: np.zeros(shape) for k in ("h", "w", "kx", "ky")}
    cos_t, sin_t = cos_sin_deg(o)
    for i, fi in enumerate(f):
        k = fi / ppd
        tol = k * rel / math.sqrt(2.0)
        for j in range(o.size):
            for axis, comp in (("w", k * cos_t[j]), ("h", k * sin_t[j])):
                n, kr = _snap(float(comp), tol, unit, int(cfg.max_torus))
                if n == 0:
                    raise TorusError(
                        f"{fi:g} cpd at {o[j]:g} deg needs a torus side above "
                        f"{cfg.max_torus} px for the tolerance (its period is "
                        f"{ppd / fi:.3g} px); lower --ppd or raise --f-min (in Python: "
                        "ResponseConfig(max_torus=...)), or use --response interior"
                    )
                out[axis][i, j] = n
                out["kx" if axis == "w" else "ky"][i, j] = kr
    kx, ky = out["kx"], out["ky"]
    fr = np.hypot(kx, ky) * ppd
    th = np.mod(np.rad2deg(np.arctan2(ky, kx)), 180.0)
    d_th = np.mod(th - np.mod(o, 180.0)[None, :] + 90.0, 180.0) - 90.0
    return TorusPlan(
        unit=int(unit),
        height=out["h"].astype(np.int64),
        width=out["w"].astype(np.int64),
        kx=kx,
        ky=ky,
        frequency_cpd=fr,
        orientation_deg=th,
        frequency_error=fr / f[:, None] - 1.0,
        orientation_error_deg=d_th,
    )


def render_torus(
    height: int,
    width: int,
    kx: float,
    ky: float,
    phases_deg: Sequence[float],
    contrasts: Sequence[float],
    mean: float,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Gratings that are exactly periodic on a ``height x width`` torus.

    ``L = mean (1 + c cos(2 pi (kx x + ky y) + phase))`` with ``x``, ``y`` measured from the
    image centre, ``y`` up, exactly as :mod:`hvsprobe.stimuli` renders (so for even sides
    the pixels sample the wave at the same half-pixel offsets as the grid's stimuli); one
    image per (phase, contrast), phase slowest, so the batch matches the grid's flat order
    within one (frequency, orientation).

    Returns
    -------
    torch.Tensor
        ``(P * K) x 3 x height x width`` in [0, 1].
    """
    from .stimuli.patterns import grating_wave, luminance

    ph = np.asarray(phases_deg, dtype=np.float64)
    cs = np.asarray(contrasts, dtype=np.float64)
    # one wave per phase, drawn by the package's one grating renderer (exactly periodic)
    wave = grating_wave((height, width), kx, ky, ph, backend="torch")  # P x H x W
    lum: torch.Tensor = luminance(
        wave.repeat_interleave(len(cs), dim=0), np.tile(cs, len(ph)), mean
    )
    lum = lum.reshape(-1, 1, height, width).expand(-1, 3, height, width)
    return lum.to(dtype=dtype).contiguous().to(device if device is not None else "cpu")
