"""Run a stimulus grid through a backbone and record every channel's spatial-mean response.

The result is a :class:`~hvsprobe.tuning.Tuning`: per layer an array of shape
``channels x frequencies x orientations x phases x contrasts`` with the grid, the weights
identity and the full configuration (its file format is in :mod:`hvsprobe.tuning`).

Long runs are resumable: :func:`probe` with ``checkpoint=PATH`` saves the partial arrays
every ``checkpoint_every`` seconds and continues from them when called again with the same
configuration.

Two ways of running the stimuli are offered:

* :func:`probe` (the default, fast path): batches of stimuli, every requested layer recorded
  in one forward pass that stops after the deepest of them, ``channels_last`` activations
  on the CPU (measured faster there with oneDNN, see ``docs/performance.md``).
* :func:`probe_paper_protocol` (the reference): the protocol of the original study, one
  stimulus per forward pass, one layer per run and the full network every time. It gives
  the same numbers up to floating-point summation order and exists to check that, and to
  time it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from ._io import config_hash
from ._precision import autocast
from ._validation import check_bool, check_choice
from .backbones import Backbone, as_backbone
from .backbones.base import default_channels_last
from .checkpoint import ProbeCheckpoint
from .errors import UserError
from .response import (
    ResponseConfig,
    TorusError,
    check_torus,
    circular_padding,
    interior_masks,
    plan_torus,
    refuse_torus,
    render_torus,
    torus_unit,
)
from .stimuli import StimulusGrid
from .tuning import Tuning

__all__ = [
    "PRECISIONS",
    "default_channels_last",
    "best_stimulus_whole_map",
    "check_route",
    "probe",
    "probe_config",
    "probe_paper_protocol",
]

PRECISIONS = ("fp32", "bf16")


def probe_config(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str],
    *,
    precision: str = "fp32",
    batch_size: int = 16,
    channels_last: bool = False,
    response: str | ResponseConfig | None = None,
) -> dict[str, Any]:
    """The configuration dict recorded with (and identifying) a probe run.

    ``memory_format`` is recorded for provenance only: it changes the floating-point
    summation order (results agree to ~1e-6 relative), not the quantity measured, so it is
    not part of the cache identity. The response method (see :mod:`hvsprobe.response`) is.

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> cfg = probe_config(bb, grid, ["1"], response="whole_map")
    >>> cfg["backbone"], cfg["layers"], cfg["response"]["method"], cfg["memory_format"]
    ('tiny', ['1'], 'whole_map', 'contiguous')
    """
    resp = ResponseConfig.coerce(response)
    return {
        "backbone": backbone.name,
        "weights": backbone.weights,
        "weights_sha256": backbone.weights_sha256,
        **({"code_sha256": backbone.code_sha256} if backbone.code_sha256 else {}),
        "weights_origin": backbone.weights_origin,
        "input_norm": backbone.input_norm,
        **_token_record(backbone, layers, grid),
        "layers": list(layers),
        "grid": grid.to_dict(),
        "response": resp.to_dict(),
        "precision": precision,
        "batch_size": int(batch_size),
        "memory_format": "channels_last" if channels_last else "contiguous",
        "hvsprobe_version": __version__,
    }


def _token_record(backbone: Backbone, layers: Sequence[str], grid: StimulusGrid) -> dict[str, Any]:
    """What the results say about token layers and a fixed input size (empty for a CNN).

    ``token_layers``: per token layer (``N x L x C`` read as ``C x h x w``) the extra
    (class/register) tokens dropped; ``fixed_input_size``: the one input side the network
    takes, at which it is probed, and ``field_of_view_deg``: that side over the grid's pixels
    per degree (the ppd decides the field of view of such a model).
    """
    out: dict[str, Any] = {}
    layers = list(layers)
    tokens = backbone.token_layers(layers) if layers else {}
    if tokens:
        out["token_layers"] = {name: {"extra_tokens_dropped": e} for name, e in tokens.items()}
    fixed = backbone.fixed_input_size(layers) if layers else None
    if fixed is not None:
        out["fixed_input_size"] = fixed
        out["field_of_view_deg"] = fixed / float(grid.ppd)
    return out


def probe_identity(cfg: dict[str, Any]) -> str:
    """Cache key: the parts of the config that change the numbers."""
    keep = {k: cfg[k] for k in ("backbone", "weights_sha256", "layers", "grid", "precision")}
    if cfg.get("code_sha256"):  # a network from your own code: the code is its identity too
        keep["code_sha256"] = cfg["code_sha256"]
    if cfg.get("input_norm") not in (None, "imagenet"):  # another normalisation, other numbers
        keep["input_norm"] = cfg["input_norm"]
    resp = cfg.get("response")
    keep["response"] = (
        {k: v for k, v in resp.items() if k not in ("torus", "interior", "border_pass_s")}
        if isinstance(resp, dict)
        else {"method": "whole_map"}
    )
    return config_hash(keep)


def _check_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device, or a one-line ``ValueError`` naming it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device {device!r} is not a torch device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: CUDA is not available on this machine")
    return dev


def checked_layers(
    backbone: Backbone, grid: StimulusGrid, layers: Sequence[str] | None
) -> list[str]:
    """``layers`` (default: the backbone's) in network order, checked against the grid size."""
    names = backbone.check_layers(layers if layers is not None else backbone.default_layers)
    h, w = grid.size
    fixed = backbone.fixed_input_size(names)
    if fixed is not None and (h, w) != (fixed, fixed):
        raise ValueError(
            f"{backbone.name} takes only {fixed} x {fixed} px inputs (up to layer {names[-1]}); "
            f"probe it at its native size: --size {fixed} (the grid's pixels per degree then "
            f"set the field of view, {fixed} / ppd degrees)"
        )
    need = backbone.min_input_size(names)
    if min(h, w) < need:
        raise ValueError(
            f"{backbone.name} layer {names[-1]} needs images >= {need} px, grid is {h}x{w}"
        )
    return names


@contextlib.contextmanager
def _channels_last_weights(module: torch.nn.Module, enabled: bool) -> Iterator[None]:
    """Temporarily store the 4-d parameters and buffers of ``module`` as ``channels_last``.

    The original tensors are put back on exit, so a backbone shared with other code (a
    metric, a loss) keeps its layout; values are never changed.
    """
    if not enabled:
        yield
        return
    fmt = torch.channels_last
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    tensors = [*module.parameters(), *module.buffers()]
    with torch.no_grad():
        for t in tensors:
            if t.dim() == 4 and not t.is_contiguous(memory_format=fmt):
                saved.append((t, t.data))
                t.data = t.data.contiguous(memory_format=fmt)
    try:
        yield
    finally:
        with torch.no_grad():
            for t, data in saved:
                t.data = data


def probe(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str] | None = None,
    *,
    response: str | ResponseConfig | None = None,
    batch_size: int = 16,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    progress: bool = True,
    channels_last: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> Tuning:
    """Record the response of every channel of ``layers`` to every stimulus of ``grid``.

    Each batch of stimuli passes through the network once, which stops after the deepest
    requested layer; activations are reduced to per-channel means as they appear and then
    dropped, so memory does not grow with the number of layers.

    Parameters
    ----------
    backbone : Backbone
        The network (see :func:`hvsprobe.backbones.get_backbone`).
    grid : StimulusGrid
        Stimuli to show.
    layers : sequence of str, optional
        Layers to record; default ``backbone.default_layers`` (every ReLU output / block).
    response : str or ResponseConfig, optional
        How a map becomes one number (:mod:`hvsprobe.response`): ``'torus'`` (default, the
        border-free response to an infinite grating), ``'interior'`` (the border-free
        interior of a larger stimulus) or ``'whole_map'`` (the paper's whole-map mean of the
        grid-sized stimulus, border included).
    batch_size : int
        Stimuli per forward pass (the torus route runs one (frequency, orientation) at a
        time, all its phases and contrasts in one batch).
    precision : {'fp32', 'bf16'}
        ``'bf16'`` runs the convolutions under bfloat16 autocast; the means are always
        accumulated in float32.
    device : str or torch.device, optional
        Device to run on; default: the backbone's device.
    checkpoint : path, optional
        Folder for resumable partial results (``probe.partial.npz``). A rerun with the same
        configuration continues where the last one stopped; the file is removed on success.
    checkpoint_every : float
        Seconds between partial saves.
    progress : bool
        Show a progress bar.
    channels_last : bool, optional
        Run the convolutions on ``channels_last`` (NHWC) tensors; default
        :func:`default_channels_last` (``True`` on the CPU). Results agree with the NCHW
        path to floating-point summation order (``docs/performance.md``).
    log : callable, optional
        Receives one-line notes about the checkpoint (resumed, set aside).

    Returns
    -------
    Tuning
        With, for the border-free methods, each channel's whole-map response to its best
        stimulus (``Tuning.best_whole_map``), from which the scores derive the border share.

    See Also
    --------
    probe_paper_protocol : the original study's one-stimulus, one-layer, full-network
        protocol (a slow reference for the whole-map response).

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> bb = hvsprobe.wrap(net, ["1", "2"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> tuning = probe(bb, grid, response="whole_map", progress=False)
    >>> tuning.layers, tuning.responses["2"].shape
    (['1', '2'], (8, 3, 4, 2, 1))
    """
    backbone = as_backbone(backbone)
    check_choice(precision, "precision", PRECISIONS)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not isinstance(grid, StimulusGrid):
        raise TypeError(f"grid must be a StimulusGrid, got {type(grid).__name__}")
    if channels_last is not None:
        check_bool(channels_last, "channels_last")
    if device is not None:
        device = _check_device(device)
    resp = ResponseConfig.coerce(response)
    names = checked_layers(backbone, grid, layers)
    dev = torch.device(device) if device is not None else next(backbone.parameters()).device
    backbone = backbone.to(dev)
    cl = default_channels_last(dev) if channels_last is None else bool(channels_last)
    cfg = probe_config(
        backbone,
        grid,
        names,
        precision=precision,
        batch_size=batch_size,
        channels_last=cl,
        response=resp,
    )
    runner = _make_runner(backbone, grid, names, resp, int(batch_size), dev, cfg)
    key = probe_identity(cfg)
    n = len(grid)
    sums = {name: np.zeros((backbone.channels[name], n), dtype=np.float32) for name in names}
    ckpt = ProbeCheckpoint(checkpoint, key, sums, n, every=checkpoint_every, log=log)
    start = ckpt.restore()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, initial=start, unit="stim", desc=f"probe {backbone.name}")
    with ckpt.guard(), torch.inference_mode(), _channels_last_weights(backbone, cl):
        for idx, means in runner(start, cl, precision):
            for name, m in means.items():
                ckpt.sums[name][:, idx] = m
            if bar is not None:
                bar.update(len(idx))
            ckpt.after_batch(int(idx[-1]) + 1)
        if bar is not None:
            bar.close()
        _refuse_non_finite(backbone, sums, ckpt)
        responses = {name: arr.reshape(arr.shape[0], *grid.shape) for name, arr in sums.items()}
        best: dict[str, np.ndarray] = {}
        border_s = 0.0
        if resp.method != "whole_map":
            ckpt.save()  # the main pass is kept while the short border pass runs
            t_border = time.perf_counter()
            best = best_stimulus_whole_map(
                backbone,
                grid,
                responses,
                cl,
                precision,
                dev,
                batch_size=int(batch_size),
                progress=progress,
            )
            border_s = time.perf_counter() - t_border
    run = ckpt.finish()
    run.border_pass_s = border_s
    return Tuning(responses=responses, grid=grid, config=cfg, best_whole_map=best, run=run)


def _refuse_non_finite(
    backbone: Backbone, sums: dict[str, np.ndarray], ckpt: ProbeCheckpoint
) -> None:
    """Stop with one line naming the first layer with NaN/inf responses and how many stimuli.

    A NaN or infinite response (a NaN normalisation, a model that divides by zero) would be
    scored as an all-NaN tuning; the checkpoint of such a run is removed, so nothing of it
    is reused.
    """
    for name, arr in sums.items():
        bad = ~np.isfinite(arr).all(axis=0)
        if bad.any():
            ckpt.finish()
            raise UserError(
                f"{backbone.name}: layer {name!r} gave NaN or infinite responses to "
                f"{int(bad.sum())} of {bad.size} stimuli ({int((~np.isfinite(arr)).any(axis=1).sum())}"
                f" of {arr.shape[0]} channels); check the model's forward() and its input "
                "normalisation on [0, 1] images"
            )


Runner = Callable[[int, bool, str], Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]]


def _make_runner(
    backbone: Backbone,
    grid: StimulusGrid,
    names: list[str],
    resp: ResponseConfig,
    batch_size: int,
    dev: torch.device,
    cfg: dict[str, Any],
) -> Runner:
    """The stimulus loop of one response method: yields ``(flat indices, layer -> C x n)``.

    Checks that the method applies (and records its details in ``cfg['response']``) before
    any stimulus is run.
    """
    if resp.method == "torus":
        if grid.kind != "grating":
            raise ValueError(
                f"response='torus' needs full-field gratings, the grid is kind={grid.kind!r}; "
                "use response='whole_map' (or 'interior' for gabor patches)"
            )
        unit = check_route(backbone, grid, names, resp)
        assert unit is not None
        plan = plan_torus(grid.frequencies, grid.orientations, grid.ppd, unit, resp)
        cfg["response"]["torus"] = plan.summary()
        return lambda start, cl, precision: _torus_batches(
            backbone, grid, names, plan, start, cl, precision, dev
        )
    if resp.method == "interior":
        h, w = grid.size
        if backbone.fixed_input_size(names) is not None:
            raise TorusError(
                f"{backbone.name} takes only {h} px inputs: the interior route renders larger "
                "stimuli; use --response whole_map (response='whole_map')"
            )
        size = (int(math.ceil(h * resp.interior_scale)), int(math.ceil(w * resp.interior_scale)))
        masks = interior_masks(backbone, names, size)
        cfg["response"]["interior"] = {
            "rendered_size": list(size),
            "interior_positions": {k: int(v.sum()) for k, v in masks.items()},
        }
        big = dataclasses.replace(grid, size=size)
        return lambda start, cl, precision: _grid_batches(
            backbone, big, names, masks, batch_size, start, cl, precision, dev
        )
    return lambda start, cl, precision: _grid_batches(
        backbone, grid, names, None, batch_size, start, cl, precision, dev
    )


def check_route(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str],
    response: str | ResponseConfig | None = None,
) -> int | None:
    """Refuse, before any stimulus runs, a network the response route cannot measure.

    The torus route needs a network that commutes with translation: a fixed input size
    (an absolute position embedding) or a failed translation check (:func:`check_torus`)
    ends in one :class:`~hvsprobe.response.TorusError` line naming the module suspected.
    Returns the torus unit (``None`` for the other routes).

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"])
    >>> check_route(bb, StimulusGrid.default(size=32, n_frequencies=3), ["1"])
    1
    """
    resp = ResponseConfig.coerce(response)
    names = list(layers)
    if resp.method != "torus":
        return None
    if backbone.fixed_input_size(names) is not None:
        raise refuse_torus(backbone, f"it takes only {grid.size[0]} px inputs")
    unit = _network_torus_unit(backbone, names)
    check_torus(backbone, names, unit)
    return unit


def _network_torus_unit(backbone: Backbone, names: list[str]) -> int:
    """The torus unit of the backbone's default layers (with ``names``), else of ``names``.

    Taking the unit of the whole default layer set, not only of the requested layers, puts
    every stimulus on the same torus whichever layers are probed, so a layer's responses do
    not depend on which other layers were requested with it.
    """
    everything = list(dict.fromkeys([*backbone.default_layers, *names]))
    try:
        return torus_unit(backbone, backbone.check_layers(everything))
    except (TorusError, ValueError):
        return torus_unit(backbone, names)


def _layer_means(
    backbone: Backbone,
    images: torch.Tensor,
    names: list[str],
    masks: dict[str, torch.Tensor] | None,
    cl: bool,
    precision: str,
    dev: torch.device,
) -> dict[str, np.ndarray]:
    """Per layer ``C x N`` means of the maps (over ``masks[layer]`` when given)."""
    if cl:
        images = images.contiguous(memory_format=torch.channels_last)
    reduce: Any
    if masks:
        reduce = {n: (lambda a, m=masks[n]: a.float()[:, :, m].mean(dim=2)) for n in names}
    else:
        reduce = _spatial_mean
    with autocast(precision, dev):
        layers = backbone.iter_layers(images, names, check=False, reduce=reduce)
        return {name: means.T.cpu().numpy() for name, means in layers}


def _spatial_mean(act: torch.Tensor) -> torch.Tensor:
    return act.float().mean(dim=(2, 3))


def _grid_batches(
    backbone: Backbone,
    grid: StimulusGrid,
    names: list[str],
    masks: dict[str, torch.Tensor] | None,
    batch_size: int,
    start: int,
    cl: bool,
    precision: str,
    dev: torch.device,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    for idx, images in grid.batches(batch_size, device=dev, dtype=torch.float32):
        if idx[-1] < start:
            continue
        keep = idx >= start
        if not keep.all():
            idx, images = idx[keep], images[torch.from_numpy(keep).to(dev)]
        yield idx, _layer_means(backbone, images, names, masks, cl, precision, dev)


def _torus_batches(
    backbone: Backbone,
    grid: StimulusGrid,
    names: list[str],
    plan: Any,
    start: int,
    cl: bool,
    precision: str,
    dev: torch.device,
) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    n_f, n_o, n_p, n_k = grid.shape
    block = n_p * n_k  # the flat indices of one (frequency, orientation) are contiguous
    with circular_padding(backbone):
        for i in range(n_f):
            for j in range(n_o):
                first = (i * n_o + j) * block
                if first + block <= start:
                    continue
                images = render_torus(
                    int(plan.height[i, j]),
                    int(plan.width[i, j]),
                    float(plan.kx[i, j]),
                    float(plan.ky[i, j]),
                    grid.phases,
                    grid.contrasts,
                    grid.mean,
                    device=dev,
                )
                idx = np.arange(first, first + block, dtype=np.int64)
                yield idx, _layer_means(backbone, images, names, None, cl, precision, dev)


def best_stimulus_whole_map(
    backbone: Backbone,
    grid: StimulusGrid,
    responses: dict[str, np.ndarray],
    channels_last: bool = False,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    *,
    batch_size: int = 16,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Each channel's whole-map (paper) response to its best border-free stimulus.

    The best stimulus is the (frequency, orientation) of the largest phase-averaged
    response at the highest contrast. Every distinct best stimulus of every layer is
    rendered once at the grid's size with the network's own (zero) padding, all phases, and
    the whole-map means are averaged over phase.

    The pass is organised for speed without changing what is computed: the distinct best
    stimuli are grouped by the deepest layer that needs them, so each forward pass stops
    there and records only the layers that need its stimuli; ``batch_size`` images
    (several stimuli, all their phases) go through the network together. The per-image
    means are those of one stimulus at a time (``docs/performance.md``, border pass).

    Parameters
    ----------
    batch_size : int
        Images per forward pass (rounded down to whole stimuli of ``n_phases`` images, at
        least one stimulus).
    progress : bool
        Show a progress bar over the distinct stimuli.

    Returns
    -------
    dict of str to numpy.ndarray
        Layer -> ``C x 3`` float64: frequency index, orientation index, whole-map response.

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> tuning = probe(bb, grid, response="whole_map", progress=False)
    >>> best = best_stimulus_whole_map(bb, grid, tuning.responses)
    >>> best["1"].shape  # per channel: frequency index, orientation index, response
    (8, 3)
    """
    dev = torch.device(device) if device is not None else next(backbone.parameters()).device
    n_f, n_o, n_p, n_k = grid.shape
    names = list(responses)
    order = {name: i for i, name in enumerate(backbone.check_layers(names))}
    best = {}
    for name, arr in responses.items():
        r = arr.astype(np.float64).mean(axis=3)[..., -1].reshape(arr.shape[0], -1)
        best[name] = np.argmax(r, axis=1)
    needed: dict[int, set[str]] = {}
    for name, b in best.items():
        for flat_fo in np.unique(b).tolist():
            needed.setdefault(int(flat_fo), set()).add(name)
    # stimuli grouped by the deepest layer they need: each forward stops there
    groups: dict[int, list[int]] = {}
    for flat_fo, layers in sorted(needed.items()):
        groups.setdefault(max(order[n] for n in layers), []).append(flat_fo)
    per_batch = max(1, int(batch_size) // n_p)
    table: dict[int, dict[str, np.ndarray]] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(needed), unit="stim", desc=f"border pass {backbone.name}")
    for _deepest, pairs in sorted(groups.items()):
        for start in range(0, len(pairs), per_batch):
            chunk = pairs[start : start + per_batch]
            wanted: set[str] = set()
            for fo in chunk:
                wanted |= needed[fo]
            chunk_layers = sorted(wanted, key=order.__getitem__)
            idx = [
                ((i * n_o + j) * n_p + p) * n_k + (n_k - 1)
                for i, j in (divmod(fo, n_o) for fo in chunk)
                for p in range(n_p)
            ]
            images = grid.render(np.asarray(idx), device=dev)
            means = _layer_means(
                backbone, images, chunk_layers, None, channels_last, precision, dev
            )
            for c, fo in enumerate(chunk):
                cols = slice(c * n_p, (c + 1) * n_p)
                table[fo] = {
                    k: v[:, cols].astype(np.float64).mean(axis=1) for k, v in means.items()
                }
            if bar is not None:
                bar.update(len(chunk))
    if bar is not None:
        bar.close()
    out = {}
    for name, b in best.items():
        c = b.size
        rows = np.empty((c, 3), dtype=np.float64)
        rows[:, 0], rows[:, 1] = np.divmod(b, n_o)
        rows[:, 2] = [table[int(b[m])][name][m] for m in range(c)]
        out[name] = rows
    return out


def probe_paper_protocol(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str] | None = None,
    *,
    indices: Sequence[int] | np.ndarray | None = None,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Spatial-mean responses measured the way the original study did: the slow reference.

    For every layer separately ("one layer per run") and every stimulus separately ("one
    stimulus per forward pass") the stimulus is rendered and sent through the *whole*
    network (``backbone.extract(..., full=True)``, no early stop) in the contiguous NCHW
    layout, and the spatial mean of the layer's output is recorded. Compared with
    :func:`probe` this repeats every forward pass once per layer, runs past the deepest
    layer and gives up batching; the numbers are the same up to floating-point summation
    order.

    Parameters
    ----------
    backbone : Backbone
    grid : StimulusGrid
    layers : sequence of str, optional
        Default ``backbone.default_layers``.
    indices : sequence of int, optional
        Flat stimulus indices to measure (default: the whole grid), e.g. a sample to time
        the protocol on and extrapolate.
    precision : {'fp32', 'bf16'}
        As in :func:`probe`.
    device : str or torch.device, optional
        Default: the backbone's device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict of str to numpy.ndarray
        Layer -> float32 array ``C x len(indices)`` in the order of ``indices`` (flat grid
        order; ``Tuning.responses[layer].reshape(C, -1)[:, indices]`` is the batched
        equivalent).

    Examples
    --------
    The reference gives the numbers of the batched probe:

    >>> import numpy as np, hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> ref = probe_paper_protocol(bb, grid, indices=[0, 5])
    >>> fast = probe(bb, grid, response="whole_map", progress=False, channels_last=False)
    >>> ref["1"].shape, np.allclose(ref["1"], fast.responses["1"].reshape(8, -1)[:, [0, 5]], rtol=1e-4, atol=1e-6)
    ((8, 2), True)
    """
    backbone = as_backbone(backbone)
    check_choice(precision, "precision", PRECISIONS)
    names = checked_layers(backbone, grid, layers)
    idx = np.arange(len(grid)) if indices is None else np.asarray(indices, dtype=np.int64)
    dev = torch.device(device) if device is not None else next(backbone.parameters()).device
    backbone = backbone.to(dev)
    out = {n: np.zeros((backbone.channels[n], idx.size), dtype=np.float32) for n in names}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names) * idx.size, unit="pass", desc="paper protocol")
    with torch.inference_mode():
        for name in names:
            for j, i in enumerate(idx.tolist()):
                x = grid.render(int(i), device=dev, dtype=torch.float32)
                with autocast(precision, dev):  # the whole network, no early stop
                    act = backbone.extract(x, [name], check=False, full=True)[name]
                    out[name][:, j] = act.float().mean(dim=(2, 3))[0].cpu().numpy()
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out


def cached_probe(
    backbone: Backbone,
    grid: StimulusGrid,
    directory: str | Path,
    layers: Sequence[str] | None = None,
    *,
    checkpoint: str | Path | None = None,
    **kwargs: Any,
) -> tuple[Tuning, bool]:
    """Load the tuning in ``directory`` if it was made with the same configuration, else probe.

    Returns the tuning and whether it came from the cache. A fresh result is saved there.
    ``checkpoint`` is the folder for the probe's partial results (default ``directory``);
    other keyword arguments go to :func:`probe`.

    Examples
    --------
    >>> import tempfile, hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> folder = tempfile.mkdtemp()
    >>> _, cached = cached_probe(bb, grid, folder, response="whole_map", progress=False)
    >>> again, cached_again = cached_probe(bb, grid, folder, response="whole_map", progress=False)
    >>> cached, cached_again, again.layers
    (False, True, ['1'])
    """
    backbone = as_backbone(backbone)
    directory = Path(directory)
    names = backbone.check_layers(layers if layers is not None else backbone.default_layers)
    cfg = probe_config(
        backbone,
        grid,
        names,
        precision=kwargs.get("precision", "fp32"),
        batch_size=kwargs.get("batch_size", 16),
        response=kwargs.get("response"),
    )
    if (directory / "tuning.json").exists():
        try:
            old = Tuning.load(directory)
        except (ValueError, OSError, KeyError):
            old = None
        if old is not None and probe_identity(old.config) == probe_identity(cfg):
            return old, True
    ckpt_dir = directory if checkpoint is None else checkpoint
    tuning = probe(backbone, grid, names, checkpoint=ckpt_dir, **kwargs)
    tuning.save(directory)
    return tuning, False
