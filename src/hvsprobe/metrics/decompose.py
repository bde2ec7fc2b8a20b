"""Per-channel decomposition of the perceptual distance.

The selected-channel distance is linear in the channel weights:

.. math:: D(x, y) = \\sum_\\ell \\sum_c w_{\\ell c}\\, d_{\\ell c}(x, y), \\qquad
          d_{\\ell c} = \\operatorname{mean}_{h,w}\\bigl(\\hat f^{\\ell}_c(x) - \\hat f^{\\ell}_c(y)\\bigr)^2

with :math:`\\hat f` the unit-normalised features (normalised over *all* channels of the
layer, as in :class:`~hvsprobe.metrics.PerceptualDistance`). Computing :math:`d_{\\ell c}` once
per image pair therefore evaluates every selection — top-k, bottom-k, dozens of random
subsets, all channels, LPIPS's learned weights — at the cost of one forward pass. The
experiments use this; :func:`combine` reproduces ``PerceptualDistance`` exactly (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from .._validation import check_images
from ..backbones import Backbone
from .perceptual import (
    DEFAULT_EPS,
    accumulation_dtype,
    iter_layers_as,
    module_dtype,
    unit_normalize,
)

__all__ = ["channel_distances", "combine", "normalized_features", "pair_channel_distances"]


@torch.no_grad()
def normalized_features(
    backbone: Backbone, x: torch.Tensor, layers: Sequence[str], eps: float = DEFAULT_EPS
) -> dict[str, torch.Tensor]:
    """Unit-normalised features of ``x`` (``N x 3 x H x W`` in [0, 1]) for ``layers``.

    Like the metric, runs in the wider of ``x``'s and the backbone's dtype without changing
    the backbone, and normalises in at least float32.
    """
    check_images(x, min_size=backbone.min_input_size(layers))
    x = x.to(torch.promote_types(x.dtype, module_dtype(backbone)))
    return {
        n: unit_normalize(f.to(accumulation_dtype(f.dtype)), eps)
        for n, f in iter_layers_as(backbone, x, layers)
    }


def pair_channel_distances(
    nx: Mapping[str, torch.Tensor], ny: Mapping[str, torch.Tensor]
) -> dict[str, np.ndarray]:
    """``d[layer]`` of shape ``N x C`` from two sets of normalised features (broadcasting N)."""
    return {n: (nx[n] - ny[n]).pow(2).mean(dim=(2, 3)).double().cpu().numpy() for n in nx}


def channel_distances(
    backbone: Backbone,
    x: torch.Tensor,
    y: torch.Tensor,
    layers: Sequence[str],
    eps: float = DEFAULT_EPS,
) -> dict[str, np.ndarray]:
    """Per-channel distances ``d[layer]`` (``N x C``) between image batches ``x`` and ``y``.

    ``x`` may have batch size 1 and be broadcast against ``y`` (e.g. a blank field against a
    batch of stimuli).
    """
    return pair_channel_distances(
        normalized_features(backbone, x, layers, eps), normalized_features(backbone, y, layers, eps)
    )


def combine(d: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """``sum_layer d[layer] @ weights[layer]``: the distance of one weighting, per sample.

    Layers missing from ``weights`` contribute nothing.
    """
    total = None
    for layer, w in weights.items():
        term = d[layer] @ np.asarray(w, dtype=np.float64)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("weights name no layer")
    return total
