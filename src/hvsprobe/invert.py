"""Feature inversion: rebuild an image from the features of a channel subset.

Starting from a fixed, seeded noise image, an image ``x`` in [0, 1] is optimised so that its
features on the selected channels match the target's::

    loss(x) = d_sel(x, target) + tv_weight * TV2(x)

``d_sel`` is the project's selected-channel distance
(:class:`hvsprobe.metrics.PerceptualDistance` with the :class:`~hvsprobe.selection.Selection`),
``TV2`` the mean squared difference of horizontally and vertically adjacent pixels (a
smoothness prior, Mahendran & Vedaldi 2015 with beta = 2). The optimiser is Adam on the pixels
with a projection: after every step the image is clamped to [0, 1]. A clamp rather than a
sigmoid parametrisation, because (i) a sigmoid's gradient vanishes where a pixel nears 0 or 1,
so saturated regions (black, white, saturated colours) of the target are reached slowly or not
at all, while the projection lets pixels sit exactly on the bounds; (ii) Adam's step is then
about ``lr`` in pixel units, so the learning rate reads directly (0.02 = 2 % of the range).

What an image rebuilt from a subset looks like shows what that subset keeps: the paper's
readers report that the high-PE channels keep structure and the low-PE channels texture and
colour. :mod:`hvsprobe.invert_measures` turns that into numbers; ``hvsprobe invert`` is the
command and ``python -m hvsprobe.experiments.inversion`` the results page.

Every subset starts from the same noise image (same seed), so the reconstructions differ only
by the channels. The run is deterministic for a seed on the CPU (a private generator for the
noise; ``torch.use_deterministic_algorithms`` during the optimisation).
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._io import atomic_path, sha256_file, write_json_atomic
from ._validation import check_images, check_positive
from .backbones import Backbone, get_backbone
from .invert_measures import inversion_measures
from .scores import ChannelScores
from .selection import Selection, select_channels

__all__ = [
    "InversionConfig",
    "InversionResult",
    "Reconstruction",
    "default_selections",
    "invert",
    "inversion_figure",
    "load_target",
    "save_inversion",
    "total_variation",
]

SCHEMA_VERSION = 1
#: Layers of the default VGG-16 subsets: every ReLU up to relu3_3.
DEFAULT_LAYERS = ("relu1_1", "relu1_2", "relu2_1", "relu2_2", "relu3_1", "relu3_2", "relu3_3")

SelectionSource = Selection | str | os.PathLike[str]


@dataclass(frozen=True)
class InversionConfig:
    """Settings of one inversion run (all stored in ``inversion.json``).

    Attributes
    ----------
    steps : int
        Adam steps per subset.
    lr : float
        Adam learning rate (pixel units: the image is optimised directly, clamped to [0, 1]).
    tv_weight : float
        Weight of the squared total-variation prior (0 turns it off).
    seed : int
        Seed of the starting noise.
    init_mean, init_std : float
        Starting image: ``clamp(init_mean + init_std * N(0, 1), 0, 1)``, per pixel and colour.
    history_every : int
        Keep the selected distance every this many steps (and at the last one).

    Examples
    --------
    >>> InversionConfig(steps=100, seed=3).lr
    0.02
    >>> InversionConfig(steps=0)
    Traceback (most recent call last):
        ...
    ValueError: steps must be a positive integer, got 0
    """

    steps: int = 30
    lr: float = 0.02
    tv_weight: float = 0.5
    seed: int = 0
    init_mean: float = 0.5
    init_std: float = 0.1
    history_every: int = 10

    def __post_init__(self) -> None:
        if int(self.steps) != self.steps or self.steps < 1:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        check_positive(self.lr, "lr")
        check_positive(self.tv_weight, "tv_weight", allow_zero=True)
        check_positive(self.init_std, "init_std", allow_zero=True)
        if not 0.0 <= self.init_mean <= 1.0:
            raise ValueError(f"init_mean must lie in [0, 1], got {self.init_mean!r}")
        if int(self.history_every) != self.history_every or self.history_every < 1:
            raise ValueError(f"history_every must be a positive integer, got {self.history_every}")


@dataclass
class Reconstruction:
    """One subset's reconstructions (one per target image) and what they kept.

    Per-image lists are in the order of the target batch.

    Examples
    --------
    Made by :func:`invert`; by hand:

    >>> import torch
    >>> rec = Reconstruction("top", torch.zeros(1, 3, 8, 8), [0.5], [0.1], [(0, [0.5]), (2, [0.1])],
    ...                      0.2, [{"ssim_luma": 0.4, "delta_e00": 12.3, "gram": 0.05}])
    >>> rec.label, rec.final_distance
    ('top', [0.1])
    """

    label: str
    image: torch.Tensor
    initial_distance: list[float]
    final_distance: list[float]
    history: list[tuple[int, list[float]]]
    seconds: float
    measures: list[dict[str, float]] = field(default_factory=list)


@dataclass
class InversionResult:
    """Target, reconstructions and provenance of :func:`invert`.

    Examples
    --------
    What :func:`invert` returns (fields in its order):

    >>> import dataclasses
    >>> [f.name for f in dataclasses.fields(InversionResult)][:4]
    ['target', 'start', 'start_measures', 'reconstructions']
    """

    target: torch.Tensor
    start: torch.Tensor
    start_measures: list[dict[str, float]]
    reconstructions: dict[str, Reconstruction]
    config: InversionConfig
    backbone: str
    weights: str
    weights_sha256: str
    selections: dict[str, dict[str, Any]]
    gram_layers: list[str]
    seconds: float


# --------------------------------------------------------------------------------------------
# inputs


def load_target(path: str | os.PathLike[str], size: int | None = 256) -> torch.Tensor:
    """Read an image as ``1 x 3 x size x size`` in [0, 1]: centre crop to a square, resize.

    ``size=None`` keeps the image as it is. Resizing uses PIL's bicubic filter (antialiased
    when shrinking) on the 8-bit image.

    Examples
    --------
    >>> import tempfile, torch
    >>> path = save_png(torch.rand(1, 3, 20, 30), tempfile.mkdtemp() + "/noise.png")
    >>> tuple(load_target(path, 16).shape), tuple(load_target(path, None).shape)
    ((1, 3, 16, 16), (1, 3, 20, 30))
    """
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"image {p} does not exist")
    try:
        with Image.open(p) as im:
            im = im.convert("RGB")
            if size is not None:
                if int(size) < 1:
                    raise ValueError(f"size must be a positive number of pixels, got {size}")
                w, h = im.size
                s = min(w, h)
                left, top = (w - s) // 2, (h - s) // 2
                im = im.crop((left, top, left + s, top + s))
                if s != size:
                    im = im.resize((int(size), int(size)), Image.Resampling.BICUBIC)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as exc:
        raise ValueError(f"{p} could not be read as an image: {exc}") from None
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))[None]


def default_selections(
    scores: ChannelScores,
    *,
    fraction: float = 0.25,
    layers: Sequence[str] | None = None,
    score: str = "pe",
    seed: int = 0,
) -> dict[str, Selection]:
    """Top, bottom and random ``fraction`` of the live channels of each layer (same sizes).

    All three come from :func:`~hvsprobe.selection.select_channels` with ``scope='layer'``
    (``top_fraction``, ``top_fraction`` with ``bottom=True``, ``random_fraction`` with
    ``seed``), so channels the scores mark as excluded (dead, NaN) are left out of all three
    alike and every layer gets the same count in each.

    Examples
    --------
    >>> import hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.probe import probe
    >>> from hvsprobe.scores import compute_scores
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> scores = compute_scores(probe(bb, grid, response="whole_map", progress=False))
    >>> sels = default_selections(scores, fraction=0.5)
    >>> list(sels), len({sel.n_selected for sel in sels.values()})
    (['top', 'bottom', 'random'], 1)
    """
    if not (isinstance(fraction, int | float) and 0.0 < fraction <= 1.0):
        raise ValueError(
            f"fraction must be > 0 and <= 1 (the share of each layer's channels), got {fraction!r}"
        )
    names = list(layers) if layers is not None else None
    common = {"score": score, "value": fraction, "scope": "layer", "layers": names}
    out = {
        "top": select_channels(scores, strategy="top_fraction", **common),
        "bottom": select_channels(scores, strategy="top_fraction", bottom=True, **common),
        "random": select_channels(scores, strategy="random_fraction", seed=seed, **common),
    }
    sizes = {k: {n: len(e["channels"]) for n, e in s.layers.items()} for k, s in out.items()}
    if len({tuple(v.items()) for v in sizes.values()}) != 1:  # pragma: no cover - by design
        raise RuntimeError(f"default subsets differ in size: {sizes}")
    return out


def _selection_record(sel: Selection, source: object) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "source": str(source) if source else "(in memory)",
        "score": sel.score,
        "strategy": sel.strategy,
        "n_selected": sel.n_selected,
        "per_layer": {n: len(e["channels"]) for n, e in sel.layers.items()},
        "channels": {n: list(e["channels"]) for n, e in sel.layers.items()},
        "provenance": sel.provenance,
    }
    if isinstance(source, str | os.PathLike) and Path(source).is_file():
        rec["sha256"] = sha256_file(source)
    return rec


def _as_selections(
    selections: Mapping[str, SelectionSource] | Sequence[SelectionSource],
) -> tuple[dict[str, Selection], dict[str, dict[str, Any]]]:
    """Labelled selections and their provenance records (labels: keys or file stems)."""
    if isinstance(selections, Mapping):
        items = list(selections.items())
    else:
        items = []
        for i, s in enumerate(selections):
            label = Path(s).stem if isinstance(s, str | os.PathLike) else f"selection{i + 1}"
            while label in dict(items):
                label += "_"
            items.append((label, s))
    if not items:
        raise ValueError("invert needs at least one selection")
    sels, records = {}, {}
    for label, s in items:
        sel = s if isinstance(s, Selection) else Selection.load(Path(s))
        if not isinstance(sel, Selection):
            raise TypeError(f"selection {label!r} must be a Selection or a JSON path")
        sels[label] = sel
        records[label] = _selection_record(sel, "" if isinstance(s, Selection) else s)
    return sels, records


# --------------------------------------------------------------------------------------------
# the optimisation


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Squared total variation per image: mean squared vertical + horizontal neighbour step.

    Examples
    --------
    >>> import torch
    >>> float(total_variation(torch.zeros(1, 3, 4, 4))[0])
    0.0
    """
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).flatten(1).mean(dim=1)
    dx = (x[..., :, 1:] - x[..., :, :-1]).pow(2).flatten(1).mean(dim=1)
    return dx + dy


@contextlib.contextmanager
def _deterministic() -> Iterator[None]:
    """``torch.use_deterministic_algorithms(True)`` inside the block, the old setting after."""
    old = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(old, warn_only=old_warn)


def start_image(shape: torch.Size | tuple[int, ...], config: InversionConfig) -> torch.Tensor:
    """The seeded starting noise (CPU, float32): ``clamp(mean + std * N(0, 1), 0, 1)``.

    Every image of a batch gets the same noise image, so a batch gives what separate runs
    give.

    Examples
    --------
    >>> x = start_image((2, 3, 4, 4), InversionConfig(seed=1))
    >>> tuple(x.shape), bool(torch.equal(x[0], x[1])), 0.0 <= float(x.min()) <= float(x.max()) <= 1.0
    ((2, 3, 4, 4), True, True)
    """
    g = torch.Generator().manual_seed(int(config.seed))
    noise = torch.randn((1, *tuple(shape)[1:]), generator=g, dtype=torch.float32)
    start = (config.init_mean + config.init_std * noise).clamp_(0.0, 1.0)
    return start.expand(tuple(shape)).contiguous()


def _optimise(
    metric: torch.nn.Module,
    target: torch.Tensor,
    start: torch.Tensor,
    config: InversionConfig,
    bar: Any,
) -> tuple[torch.Tensor, list[float], list[float], list[tuple[int, list[float]]]]:
    """Projected Adam from ``start``; returns the images, first and last distances, history.

    The images of a batch are independent: the loss is a sum of per-image terms and Adam
    works elementwise, so a batch only shares the trunk's passes.
    """
    x = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.lr)
    history: list[tuple[int, list[float]]] = []
    first: list[float] = []
    last: list[float] = []
    for step in range(int(config.steps) + 1):
        opt.zero_grad(set_to_none=True)
        d = metric(x, target)
        last = [float(v) for v in d.detach()]
        if step == 0:
            first = last
        if step % config.history_every == 0 or step == config.steps:
            history.append((step, last))
        if step == config.steps:  # the distance of the final image, no further update
            break
        loss = d.sum()
        if config.tv_weight:
            loss = loss + config.tv_weight * total_variation(x).sum()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
        bar.update(1)
        bar.set_postfix(distance=f"{float(np.mean(last)):.4g}", refresh=False)
    return x.detach(), first, last, history


def _measures(
    x: torch.Tensor, target: torch.Tensor, net: Backbone, layers: Sequence[str]
) -> list[dict[str, float]]:
    return [inversion_measures(x[i : i + 1], target[i : i + 1], net, layers) for i in range(len(x))]


def invert(
    image: torch.Tensor,
    selections: Mapping[str, SelectionSource] | Sequence[SelectionSource],
    *,
    steps: int = 30,
    lr: float = 0.02,
    tv_weight: float = 0.5,
    seed: int = 0,
    backbone: Backbone | None = None,
    gram_layers: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
    config: InversionConfig | None = None,
) -> InversionResult:
    """Rebuild ``image`` from the features of each channel subset in ``selections``.

    Parameters
    ----------
    image : torch.Tensor
        The target, ``1 x 3 x H x W`` in [0, 1] (see :func:`load_target`), or a batch
        ``N x 3 x H x W`` of targets rebuilt independently (one trunk pass for all).
    selections : mapping label -> Selection/path, or sequence of them
        The channel subsets; labels default to the JSON file stems.
    steps, lr, tv_weight, seed : see :class:`InversionConfig`
        Ignored when ``config`` is given.
    backbone : Backbone, optional
        The network the selections were scored on (default: built by name from the first
        selection, with the weights its provenance names, else ImageNet; the metric refuses
        weights whose sha256 differs from the selection's).
    gram_layers : sequence of str, optional
        Layers of the Gram texture measure (default: every layer the selections use).
    device : str or torch.device, optional
        Where to optimise (default CPU).
    progress : bool
        Show a tqdm bar per subset.
    config : InversionConfig, optional
        All settings at once.

    Returns
    -------
    InversionResult

    Examples
    --------
    On a results folder: ``invert(load_target("zebra.png"),
    default_selections(ChannelScores.load(FOLDER)), steps=100)``. On a hand-made network:

    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.selection import Selection
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> layer = {"channels": [0, 1, 2], "weights": [1.0, 1.0, 1.0], "n_channels": 8}
    >>> sel = Selection("tiny", bb.weights_sha256, {"1": layer})
    >>> res = invert(torch.rand(1, 3, 16, 16), {"three": sel}, steps=3, backbone=bb)
    >>> rec = res.reconstructions["three"]
    >>> list(res.reconstructions), rec.final_distance[0] < rec.initial_distance[0]
    (['three'], True)
    """
    from tqdm.auto import tqdm

    from .metrics import PerceptualDistance

    cfg = config or InversionConfig(steps=steps, lr=lr, tv_weight=tv_weight, seed=seed)
    check_images(image, "image")
    sels, records = _as_selections(selections)
    first = next(iter(sels.values()))
    if backbone is None:  # the weights the scores were measured on (the metric checks sha256)
        w = (first.provenance.get("scores") or {}).get("weights") or "imagenet"
        backbone = get_backbone(first.backbone, weights=w)
    net = backbone
    dev = torch.device(device) if device is not None else torch.device("cpu")
    net = net.to(dev).float()
    target = image.detach().to(dev, torch.float32)
    used = [n for s in sels.values() for n in s.used_layers()]
    g_layers = net.check_layers(list(gram_layers) if gram_layers else used)
    start = start_image(target.shape, cfg).to(dev)
    t0 = time.perf_counter()
    out: dict[str, Reconstruction] = {}
    start_measures = _measures(start, target, net, g_layers)
    with _deterministic():
        for label, sel in sels.items():
            metric = PerceptualDistance(net, sel, reduction="none")
            ts = time.perf_counter()
            with tqdm(total=cfg.steps, desc=f"invert {label}", disable=not progress) as bar:
                x, d0, d1, hist = _optimise(metric, target, start, cfg, bar)
            secs = time.perf_counter() - ts
            out[label] = Reconstruction(
                label, x.cpu(), d0, d1, hist, secs, _measures(x, target, net, g_layers)
            )
    return InversionResult(
        target=target.cpu(),
        start=start.cpu(),
        start_measures=start_measures,
        reconstructions=out,
        config=cfg,
        backbone=net.name,
        weights=str(net.weights),
        weights_sha256=net.weights_sha256,
        selections=records,
        gram_layers=list(g_layers),
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------------------------
# outputs


def save_png(x: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Write a ``1 x 3 x H x W`` [0, 1] image as an 8-bit PNG, atomically.

    Examples
    --------
    >>> import tempfile, torch
    >>> save_png(torch.zeros(1, 3, 4, 4), tempfile.mkdtemp() + "/black.png").name
    'black.png'
    """
    from PIL import Image

    arr = (x[0].detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp, format="PNG", optimize=True)
    return Path(path)


def inversion_figure(
    rows: Sequence[tuple[str, torch.Tensor, Mapping[str, tuple[torch.Tensor, str]]]],
    path: str | os.PathLike[str],
    *,
    panel_inches: float = 1.9,
) -> Path:
    """Side-by-side figure: one row per target, columns target then each reconstruction.

    Parameters
    ----------
    rows : sequence of (name, target, {label: (reconstruction, caption)})
    path : path
        PNG to write (atomically), at the report's 100 dpi.
    panel_inches : float
        Width of one panel.

    Examples
    --------
    >>> import tempfile, torch
    >>> target, rebuilt = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    >>> inversion_figure([("noise", target, {"top": (rebuilt, "SSIM 0.4")})], tempfile.mkdtemp() + "/fig.png").name
    'fig.png'
    """
    from .report.figures import new_figure, report_style, save_figure

    labels = list(rows[0][2])
    n_cols = 1 + len(labels)
    with report_style():
        fig = new_figure(panel_inches * n_cols, (panel_inches + 0.45) * len(rows), constrained=True)
        axes = fig.subplots(len(rows), n_cols, squeeze=False)
        for r, (name, target, recs) in enumerate(rows):
            panels = [(target, f"{name}\ntarget")] + [
                (recs[k][0], f"{k}\n{recs[k][1]}") for k in labels
            ]
            for c, (img, title) in enumerate(panels):
                ax = axes[r][c]
                ax.imshow(img[0].detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy())
                ax.set_title(title, fontsize=7.5)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
        return save_figure(fig, path)


def caption(rec: Reconstruction, i: int = 0) -> str:
    """Two-line panel caption: selected distance and the measures of image ``i``.

    Examples
    --------
    >>> import torch
    >>> rec = Reconstruction("top", torch.zeros(1, 3, 8, 8), [0.5], [0.1], [(0, [0.5])], 0.2,
    ...                      [{"ssim_luma": 0.4, "delta_e00": 12.3, "gram": 0.05}])
    >>> print(caption(rec))
    d=0.1 SSIM=0.40
    ΔE=12.3 Gram=0.05
    """
    m = rec.measures[i]
    return (
        f"d={rec.final_distance[i]:.3g} SSIM={m['ssim_luma']:.2f}\n"
        f"ΔE={m['delta_e00']:.1f} Gram={m['gram']:.2f}"
    )


def _names(res: InversionResult, names: Sequence[str] | None) -> list[str]:
    n = res.target.shape[0]
    out = list(names) if names else (["image"] if n == 1 else [f"image{i + 1}" for i in range(n)])
    if len(out) != n or len(set(out)) != n:
        raise ValueError(f"need {n} distinct image names, got {out}")
    return out


def _png_name(label: str, name: str, n: int) -> str:
    return f"{label}.png" if n == 1 else f"{name}-{label}.png"


def result_record(
    res: InversionResult,
    image_sources: Sequence[object] = (),
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON document of a run (``kind='inversion'``); per-image lists follow ``images``.

    Examples
    --------
    >>> import torch
    >>> rec = Reconstruction("top", torch.zeros(1, 3, 8, 8), [0.5], [0.1], [(0, [0.5]), (2, [0.1])],
    ...                      0.2, [{"ssim_luma": 0.4, "delta_e00": 12.3, "gram": 0.05}])
    >>> res = InversionResult(torch.ones(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5), [{}],
    ...                       {"top": rec}, InversionConfig(steps=2), "tiny", "custom", "", {}, [], 0.3)
    >>> doc = result_record(res, names=["grey"])
    >>> doc["kind"], doc["reconstructions"]["top"]["png"], doc["reconstructions"]["top"]["seconds_per_step"]
    ('inversion', ['top.png'], 0.1)
    """
    names = _names(res, names)
    n = len(names)
    images = []
    for i, name in enumerate(names):
        src = str(image_sources[i]) if i < len(image_sources) and image_sources[i] else ""
        rec: dict[str, Any] = {"name": name, "path": src or "(in memory)"}
        if src and Path(src).is_file():
            rec["sha256"] = sha256_file(src)
        images.append(rec)
    return {
        "kind": "inversion",
        "schema_version": SCHEMA_VERSION,
        "config": {
            **asdict(res.config),
            "optimiser": "adam",
            "parametrisation": "pixels, clamped to [0, 1] after every step (projected Adam)",
            "loss": "selected-channel distance + tv_weight * mean squared neighbour difference",
            "start": "clamp(init_mean + init_std * N(0,1), 0, 1), torch.Generator seeded",
            "gram_layers": res.gram_layers,
            "image_shape": list(res.target.shape[1:]),
        },
        "backbone": res.backbone,
        "weights": res.weights,
        "weights_sha256": res.weights_sha256,
        "images": images,
        "selections": res.selections,
        "start_measures": res.start_measures,
        "reconstructions": {
            k: {
                "png": [_png_name(k, name, n) for name in names],
                "initial_distance": r.initial_distance,
                "final_distance": r.final_distance,
                "history": r.history,
                "measures": r.measures,
                "seconds": r.seconds,
                "seconds_per_step": r.seconds / res.config.steps,
            }
            for k, r in res.reconstructions.items()
        },
        "seconds": res.seconds,
        "environment": {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "machine": platform.machine(),
        },
    }


def save_inversion(
    res: InversionResult,
    out: str | os.PathLike[str],
    *,
    image_sources: Sequence[object] = (),
    names: Sequence[str] | None = None,
    figure: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the targets, one PNG per subset and image, the figure and ``inversion.json``.

    Files in ``out``: ``target.png`` and ``<label>.png`` for one image (``<name>-target.png``,
    ``<name>-<label>.png`` for several), ``inversion.png`` (rows: images; columns: target and
    each subset; or the path ``figure``) and ``inversion.json`` (:func:`result_record`).

    Examples
    --------
    >>> import tempfile, torch
    >>> rec = Reconstruction("top", torch.zeros(1, 3, 8, 8), [0.5], [0.1], [(0, [0.5])], 0.2,
    ...                      [{"ssim_luma": 0.4, "delta_e00": 12.3, "gram": 0.05}])
    >>> res = InversionResult(torch.ones(1, 3, 8, 8), torch.full((1, 3, 8, 8), 0.5), [{}],
    ...                       {"top": rec}, InversionConfig(steps=2), "tiny", "custom", "", {}, [], 0.3)
    >>> path = save_inversion(res, tempfile.mkdtemp())
    >>> path.name, sorted(p.name for p in path.parent.iterdir())
    ('inversion.json', ['inversion.json', 'inversion.png', 'target.png', 'top.png'])
    """
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    names = _names(res, names)
    n = len(names)
    rows = []
    for i, name in enumerate(names):
        save_png(res.target[i : i + 1], d / _png_name("target", name, n))
        recs = {}
        for k, r in res.reconstructions.items():
            save_png(r.image[i : i + 1], d / _png_name(k, name, n))
            recs[k] = (r.image[i : i + 1], caption(r, i))
        rows.append((name, res.target[i : i + 1], recs))
    inversion_figure(rows, figure or d / "inversion.png")
    return write_json_atomic(d / "inversion.json", result_record(res, image_sources, names))
