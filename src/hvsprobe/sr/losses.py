"""Training losses: L1 + lambda x perceptual.

``perceptual`` is one of

``none``       L1 only;
``vgg``        every channel of VGG-16 relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 with weight 1
               (:class:`hvsprobe.metrics.PerceptualDistance` with ``selection=None``): the
               common "VGG perceptual loss" in LPIPS form (unit-normalised features);
``selected``   the channels of a selection JSON (top-k by PE from ``hvsprobe analyze``);
``random``     a seeded random subset with the same number of channels in each of the same
               layers (:func:`random_like`), the control for ``selected``;
``lpips-vgg``  LPIPS v0.1 VGG (official linear weights), a learned reference.

All perceptual terms normalise features over *all* channels of a layer (as LPIPS does) and
then sum the selected channels' squared differences, so a 25 % selection gives roughly a
quarter of the ``vgg`` term at the same lambda; compare losses along their lambda sweeps.
The SR output is clamped to [0, 1] before the perceptual term (the backbones take [0, 1]
images); out-of-range pixels are pulled back by the L1 term only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..selection import Selection

__all__ = ["PERCEPTUAL_KINDS", "SRLoss", "build_perceptual", "random_like"]

PERCEPTUAL_KINDS = ("none", "vgg", "selected", "random", "lpips-vgg")


def _metric_module():  # noqa: ANN202
    """``hvsprobe.metrics``, imported late so this package imports without it."""
    try:
        from .. import metrics as metric
    except ImportError as exc:  # pragma: no cover - depends on the checkout
        raise ImportError(
            "perceptual SR losses need hvsprobe.metrics (PerceptualDistance, LPIPS)"
        ) from exc
    return metric


def random_like(selection: Selection, seed: int) -> Selection:
    """A random control for ``selection``: same layers, same channel count per layer.

    Channel indices are drawn uniformly without replacement from all channels of each layer
    (``numpy.random.default_rng([seed, layer position])``); the selected channels' weights are
    shuffled onto them (all 1 for a top-k selection).

    Parameters
    ----------
    selection : Selection
    seed : int

    Returns
    -------
    Selection
    """
    layers = {}
    for i, (name, entry) in enumerate(selection.layers.items()):
        n = int(entry["n_channels"])
        k = len(entry["channels"])
        rng = np.random.default_rng([int(seed), i])
        chans = np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)
        weights = rng.permutation(np.asarray(entry["weights"], dtype=np.float64))
        layers[name] = {
            "channels": [int(c) for c in chans],
            "weights": [float(w) for w in weights],
            "n_channels": n,
        }
    return Selection(
        backbone=selection.backbone,
        weights_sha256=selection.weights_sha256,
        layers=layers,
        score=selection.score,
        strategy={"name": "random_like", "seed": int(seed), "of": selection.strategy},
        provenance={"random_like_of": selection.provenance},
    )


def build_perceptual(
    kind: str,
    *,
    selection: Selection | str | os.PathLike[str] | None = None,
    seed: int = 0,
    backbone: str = "vgg16",
    backbone_weights: str = "imagenet",
) -> nn.Module | None:
    """The perceptual term for ``kind`` (``None`` for ``'none'``).

    Parameters
    ----------
    kind : str
        One of :data:`PERCEPTUAL_KINDS`.
    selection : Selection or path, optional
        Required for ``'selected'`` and ``'random'``.
    seed : int
        Seed of the ``'random'`` subset.
    backbone : str
        Backbone for ``'vgg'``/``'selected'``/``'random'`` (``'vgg16'``).
    backbone_weights : str
        Its weights (``'imagenet'``; ``'random:SEED'`` in tests).

    Returns
    -------
    torch.nn.Module or None
        Maps (sr, hr) in [0, 1] to the batch-mean distance.
    """
    if kind not in PERCEPTUAL_KINDS:
        raise ValueError(f"unknown perceptual loss {kind!r}; choose one of {PERCEPTUAL_KINDS}")
    if kind == "none":
        return None
    metric = _metric_module()
    if kind == "lpips-vgg":
        return metric.LPIPS("vgg", reduction="mean")
    if kind == "vgg":
        return metric.PerceptualDistance(
            backbone, None, backbone_weights, reduction="mean", name="vgg-all"
        )
    if selection is None:
        raise ValueError(f"perceptual loss {kind!r} needs a selection (JSON path or Selection)")
    sel = Selection.load(Path(selection)) if not isinstance(selection, Selection) else selection
    if kind == "random":
        sel = random_like(sel, seed)
    return metric.PerceptualDistance(
        sel.backbone if sel.backbone else backbone,
        sel,
        backbone_weights,
        reduction="mean",
        name=f"vgg-{kind}",
    )


class SRLoss(nn.Module):
    """``L1(sr, hr) + lam * perceptual(clamp(sr, 0, 1), hr)``.

    Parameters
    ----------
    perceptual : torch.nn.Module, optional
        Batch-mean perceptual distance (from :func:`build_perceptual`).
    lam : float
        Weight of the perceptual term.
    """

    def __init__(self, perceptual: nn.Module | None = None, lam: float = 0.0) -> None:
        super().__init__()
        self.perceptual = perceptual
        self.lam = float(lam)
        if self.lam < 0:
            raise ValueError(f"lambda must be >= 0, got {lam}")

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss and its parts (``l1``, ``perceptual`` as floats, detached)."""
        sr = sr.float()
        hr = hr.float()
        l1 = (sr - hr).abs().mean()
        parts = {"l1": float(l1.detach())}
        total = l1
        if self.perceptual is not None:
            p = self.perceptual(sr.clamp(0.0, 1.0), hr)
            parts["perceptual"] = float(p.detach())
            if self.lam:
                total = total + self.lam * p
        else:
            parts["perceptual"] = float("nan")
        return total, parts
