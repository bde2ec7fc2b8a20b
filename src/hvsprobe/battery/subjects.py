"""The battery's subjects: a network's layers (with any number of channel weightings sharing
one forward pass), a metric, or the raw pixels. See ``docs/battery.md`` section 3."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch

__all__ = [
    "MetricSubject",
    "NetworkSubject",
    "PixelSubject",
    "Subject",
    "make_subject",
    "subset_weightings",
]


class Subject(Protocol):
    """Turns (test images, one reference image) into responses, one column per variant."""

    name: str
    variants: list[str]

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        """``(N, len(variants))`` responses that grow with the test-reference difference."""
        ...


class PixelSubject:
    """RMS difference of the pixel arrays (Cai et al.'s raw-pixel baseline).

    Examples
    --------
    >>> s = PixelSubject()
    >>> s.respond(torch.full((1, 3, 2, 2), 0.75), torch.full((1, 3, 2, 2), 0.25)).tolist()
    [[0.5]]
    """

    name = "pixels"
    variants = ["pixels"]
    images_forwarded = 0

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        d = (test.double() - reference.double()).square().mean(dim=(1, 2, 3)).sqrt()
        return d.cpu().numpy()[:, None]


class MetricSubject:
    """A metric of :func:`hvsprobe.get_metric`; minus the score where higher is more similar."""

    def __init__(self, name: str, device: str | torch.device | None = None, **kwargs: Any):
        from ..metrics import get_metric

        self.metric = get_metric(name, **kwargs)
        if device is not None:
            self.metric = self.metric.to(device)
        self.device = device
        self.name = name
        self.variants = [name]
        self.sign = -1.0 if bool(getattr(self.metric, "higher_is_better", False)) else 1.0
        self.images_forwarded = 0

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            ref = reference.expand(test.shape[0], -1, -1, -1)
            if self.device is not None:
                test, ref = test.to(self.device), ref.to(self.device)
            s = self.metric(test, ref)
        self.images_forwarded += 2 * int(test.shape[0])
        return self.sign * s.double().cpu().numpy().reshape(-1, 1)


class NetworkSubject:
    """LPIPS-style distances on whole feature maps, under one or more channel weightings.

    Per layer: each position's feature vector is unit-normalised over *all* channels, the
    squared difference to the reference is averaged over positions, giving one distance per
    channel; a weighting sums them with its weights over channels and layers. All weightings
    share one forward pass (the reference's features are computed once per call).

    Parameters
    ----------
    backbone : Backbone
        A built backbone (:func:`hvsprobe.backbones.get_backbone` or :func:`hvsprobe.wrap`).
    layers : sequence of str
        Layers used.
    weightings : mapping, optional
        Variant name -> {layer: weight vector}; default one variant, every channel weight 1.
    name : str, optional
        Display name (default the backbone's name and weights label).
    """

    def __init__(
        self,
        backbone: Any,
        layers: Sequence[str],
        weightings: Mapping[str, Mapping[str, np.ndarray]] | None = None,
        *,
        name: str | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.backbone = backbone if device is None else backbone.to(device)
        self.device = device
        self.layers = list(layers)
        label = f"{getattr(backbone, 'name', 'network')} ({getattr(backbone, 'weights', '')})"
        self.name = name or label
        self.n_channels: dict[str, int] = {}
        with torch.no_grad():
            probe = torch.full((1, 3, 32, 32), 0.5)
            if device is not None:
                probe = probe.to(device)
            feats = self.backbone.extract(probe, self.layers)
        self.n_channels = {k: int(feats[k].shape[1]) for k in self.layers}
        if weightings is None:
            weightings = {"all channels": {k: np.ones(c) for k, c in self.n_channels.items()}}
        self.variants = list(weightings)
        cols = []
        for v in self.variants:
            w = weightings[v]
            missing = [k for k in w if k not in self.n_channels]
            if missing:
                raise ValueError(f"weighting {v!r} names layers {missing} not in {self.layers}")
            parts = []
            for k in self.layers:
                vec = np.asarray(w.get(k, np.zeros(self.n_channels[k])), dtype=np.float64)
                if vec.shape != (self.n_channels[k],):
                    raise ValueError(
                        f"weighting {v!r}: layer {k} needs {self.n_channels[k]} weights, "
                        f"got {vec.shape}"
                    )
                parts.append(vec)
            cols.append(np.concatenate(parts))
        self.weights = np.stack(cols, axis=1)  # (C_total, V)
        self.images_forwarded = 0

    def channel_distances(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        """``(N, C_total)`` per-channel distances (layers in order, channels within)."""
        from ..metrics.perceptual import unit_normalize

        if self.device is not None:
            test, reference = test.to(self.device), reference.to(self.device)
        n = int(test.shape[0])
        with torch.no_grad():
            # one forward pass for the tests and the reference (N + 1 images)
            f = self.backbone.extract(torch.cat([test, reference[:1]]), self.layers)
            out = []
            for k in self.layers:
                a = unit_normalize(f[k][:n].float())
                b = unit_normalize(f[k][n:].float())
                out.append((a - b).square().mean(dim=(2, 3)).double().cpu())
        self.images_forwarded += n + 1
        return torch.cat(out, dim=1).numpy()

    def respond(self, test: torch.Tensor, reference: torch.Tensor) -> np.ndarray:
        return self.channel_distances(test, reference) @ self.weights


def subset_weightings(
    scores: Any,
    layers: Sequence[str],
    kinds: Sequence[str] = ("selection",),
    *,
    fraction: float = 0.25,
    n_random: int = 20,
    seed: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """Channel subsets as 0/1 weightings, chosen from a score table as claim 1 does.

    ``kinds``: ``selection`` (top ``fraction`` of each layer by PE), ``bottom`` (bottom
    ``fraction`` by PE), ``random`` (``n_random`` seeded random subsets of the same size),
    ``all`` (every channel). Weak and border-dominated channels are excluded from the
    rankings and random draws (:func:`hvsprobe.selection.select_channels`'s default).
    """
    from ..selection import random_subsets, select_channels

    def ones(sel: Any) -> dict[str, np.ndarray]:
        return {k: (sel.weight_vector(k) > 0).astype(np.float64) for k in layers}

    out: dict[str, dict[str, np.ndarray]] = {}
    pct = int(round(100 * fraction))
    lay = list(layers)
    for kind in kinds:
        if kind == "selection":
            sel = select_channels(scores, strategy="top_fraction", value=fraction, layers=lay)
            out[f"top {pct}% pe"] = ones(sel)
        elif kind == "bottom":
            sel = select_channels(
                scores, strategy="top_fraction", value=fraction, layers=lay, bottom=True
            )
            out[f"bottom {pct}% pe"] = ones(sel)
        elif kind == "random":
            for r, sel in enumerate(
                random_subsets(scores, fraction, n_random, seed=seed, layers=lay)
            ):
                out[f"random {pct}% #{r}"] = ones(sel)
        elif kind == "all":
            sel = select_channels(scores, strategy="all", value=1.0, layers=lay)
            out["all channels"] = ones(sel)
        else:
            raise ValueError(f"subset must be selection, bottom, random or all, got {kind!r}")
    return out


def make_subject(
    name: str,
    *,
    weights: str = "imagenet",
    layers: Sequence[str] | None = None,
    scores: str | os.PathLike[str] | None = None,
    subsets: Sequence[str] = (),
    fraction: float = 0.25,
    n_random: int = 20,
    seed: int = 0,
    device: str | torch.device | None = None,
    metric_kwargs: Mapping[str, Any] | None = None,
) -> Subject:
    """A subject from a name: ``pixels``, a metric of :func:`hvsprobe.metrics.list_metrics`,
    or a backbone of :func:`hvsprobe.backbones.list_backbones` (default layers: LPIPS's five;
    ``subsets`` with ``scores``, an ``hvsprobe analyze`` results folder, picks channel subsets).
    """
    from ..backbones import get_backbone, list_backbones
    from ..backbones.weights import LPIPS_LAYERS
    from ..metrics import list_metrics

    if name == "pixels":
        return PixelSubject()
    if name in list_metrics():
        return MetricSubject(name, device=device, **dict(metric_kwargs or {}))
    if name not in list_backbones():
        raise ValueError(
            f"unknown subject {name!r}: use 'pixels', a metric ({', '.join(list_metrics())}) "
            f"or a backbone ({', '.join(list_backbones())})"
        )
    bb = get_backbone(name, weights=weights)
    lay = list(layers) if layers else list(LPIPS_LAYERS.get(name, ()))
    if not lay:
        raise ValueError(f"name the layers of {name} with --layers")
    wt = None
    if subsets:
        if scores is None:
            raise ValueError("channel subsets need --scores, an `hvsprobe analyze` results folder")
        from ..results_folder import load_scores

        wt = subset_weightings(
            load_scores(scores), lay, subsets, fraction=fraction, n_random=n_random, seed=seed
        )
    return NetworkSubject(bb, lay, wt, name=f"{name} ({weights})", device=device)
