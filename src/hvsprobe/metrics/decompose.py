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
from .dtypes import accumulation_dtype, iter_layers_as, module_dtype
from .perceptual import DEFAULT_EPS, unit_normalize

__all__ = ["channel_distances", "combine", "normalized_features", "pair_channel_distances"]


@torch.no_grad()
def normalized_features(
    backbone: Backbone, x: torch.Tensor, layers: Sequence[str], eps: float = DEFAULT_EPS
) -> dict[str, torch.Tensor]:
    """Unit-normalised features of ``x`` (``N x 3 x H x W`` in [0, 1]) for ``layers``.

    Like the metric, runs in the wider of ``x``'s and the backbone's dtype without changing
    the backbone, and normalises in at least float32.

    Examples
    --------
    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> f = normalized_features(bb, torch.rand(2, 3, 16, 16), ["1"])
    >>> tuple(f["1"].shape), f["1"].dtype
    ((2, 8, 16, 16), torch.float32)
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
    """``d[layer]`` of shape ``N x C`` from two sets of normalised features (broadcasting N).

    Examples
    --------
    >>> import torch
    >>> nx = {"a": torch.zeros(1, 2, 4, 4)}
    >>> ny = {"a": torch.stack([torch.zeros(4, 4), torch.ones(4, 4)]).unsqueeze(0)}
    >>> pair_channel_distances(nx, ny)["a"]
    array([[0., 1.]])
    """
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

    Examples
    --------
    The selected-channel distance is a weighted sum of these per-channel distances:

    >>> import numpy as np, torch, hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.metrics import PerceptualDistance
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
    >>> bb = hvsprobe.wrap(net, ["1", "3"], name="tiny")
    >>> x, y = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 16, 16)
    >>> d = channel_distances(bb, x, y, ["1", "3"])
    >>> d["1"].shape
    (2, 8)
    >>> w = np.linspace(0.0, 1.0, 8)
    >>> np.allclose(combine(d, {"3": w}), PerceptualDistance(bb, {"3": w})(x, y).numpy(), rtol=1e-5)
    True
    """
    return pair_channel_distances(
        normalized_features(backbone, x, layers, eps), normalized_features(backbone, y, layers, eps)
    )


def combine(d: Mapping[str, np.ndarray], weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """``sum_layer d[layer] @ weights[layer]``: the distance of one weighting, per sample.

    Layers missing from ``weights`` contribute nothing.

    Examples
    --------
    >>> import numpy as np
    >>> combine({"a": np.array([[1.0, 2.0]]), "b": np.array([[5.0]])}, {"a": np.array([0.5, 0.25])})
    array([1.])
    """
    total = None
    for layer, w in weights.items():
        term = d[layer] @ np.asarray(w, dtype=np.float64)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("weights name no layer")
    return total
