"""One interface for every metric: ``get_metric(name, **kwargs)`` and ``list_metrics()``.

Every metric is an :class:`torch.nn.Module` with ``.name``, ``.higher_is_better`` and
``__call__(x, y) -> Tensor`` of shape ``(N,)`` for image batches ``N x 3 x H x W`` in [0, 1].
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..backbones import Backbone, get_backbone, list_backbones, wrap
from ..protocols import Metric
from ..selection import Selection
from .baselines import MSSSIM, PSNR, SSIM
from .lpips_ref import LPIPS
from .perceptual import PerceptualDistance

__all__ = ["Metric", "MetricSpec", "get_metric", "list_metrics", "metric_info"]


@dataclass(frozen=True)
class MetricSpec:
    """A registered metric.

    Examples
    --------
    >>> spec = metric_info("ssim")
    >>> spec.name, spec.higher_is_better, callable(spec.build)
    ('ssim', True, True)
    """

    name: str
    higher_is_better: bool
    description: str
    build: Callable[..., nn.Module]


def _selected(
    selection: Selection | str | os.PathLike[str] | None = None, **kwargs: Any
) -> PerceptualDistance:
    if selection is None:
        raise ValueError("metric 'selected' needs selection= (a Selection or its JSON path)")
    if isinstance(selection, str | os.PathLike):
        selection = Selection.load(os.fspath(selection))
    if not isinstance(selection, Selection):
        raise TypeError(f"selection must be a Selection or a path, got {type(selection).__name__}")
    if kwargs.get("backbone") is None:
        if selection.backbone not in list_backbones():
            raise ValueError(
                f"the selection was made on {selection.backbone!r}, which is not a registered "
                "backbone: pass backbone= the network it was made on (e.g. "
                "hvsprobe.analyze(...).backbone or the hvsprobe.wrap(...) you analysed)"
            )
        kwargs["backbone"] = selection.backbone
    elif isinstance(kwargs["backbone"], nn.Module) and not isinstance(kwargs["backbone"], Backbone):
        # a plain module: wrapped under the selection's name (hvsprobe.wrap's defaults)
        kwargs["backbone"] = wrap(kwargs["backbone"], name=selection.backbone)
    if isinstance(kwargs["backbone"], str) and "weights" not in kwargs:
        label = selection.provenance.get("scores", {}).get("weights")
        if isinstance(label, str) and (label == "imagenet" or label.startswith("random")):
            kwargs["weights"] = label
    return PerceptualDistance(selection=selection, name="selected", **kwargs)


def _baseline(net: str) -> Callable[..., PerceptualDistance]:
    def build(
        backbone: Backbone | None = None, weights: str = "imagenet", **kwargs: Any
    ) -> PerceptualDistance:
        if backbone is not None and backbone.name != net:
            raise ValueError(f"baseline-{net[:4]} runs {net}, got a {backbone.name} backbone")
        bb = backbone if backbone is not None else get_backbone(net, weights=weights)
        return PerceptualDistance(bb, None, name=f"baseline-{net[:4]}", **kwargs)

    return build


_REGISTRY: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        MetricSpec(
            "lpips-alex",
            False,
            "LPIPS v0.1, AlexNet, official linear layers",
            lambda **kw: LPIPS("alex", **kw),
        ),
        MetricSpec(
            "lpips-vgg",
            False,
            "LPIPS v0.1, VGG-16, official linear layers",
            lambda **kw: LPIPS("vgg", **kw),
        ),
        MetricSpec(
            "baseline-vgg",
            False,
            "every channel of the LPIPS VGG-16 layers (relu1_2 ... relu5_3), weight 1",
            _baseline("vgg16"),
        ),
        MetricSpec(
            "baseline-alex",
            False,
            "every channel of the LPIPS AlexNet layers (relu1 ... relu5), weight 1",
            _baseline("alexnet"),
        ),
        MetricSpec(
            "selected",
            False,
            "the channels (and weights) of a Selection; needs selection=",
            _selected,
        ),
        MetricSpec("psnr", True, "PSNR in dB over RGB", lambda **kw: PSNR(**kw)),
        MetricSpec("ssim", True, "SSIM of MATLAB rgb2gray luma (Wang et al. 2004)", SSIM),
        MetricSpec("ms-ssim", True, "MS-SSIM of MATLAB rgb2gray luma (Wang et al. 2003)", MSSSIM),
    )
}


def list_metrics() -> list[str]:
    """Names accepted by :func:`get_metric`, in a fixed order.

    Examples
    --------
    >>> list_metrics()
    ['lpips-alex', 'lpips-vgg', 'baseline-vgg', 'baseline-alex', 'selected', 'psnr', 'ssim', 'ms-ssim']
    """
    return list(_REGISTRY)


def metric_info(name: str) -> MetricSpec:
    """The registry entry for ``name`` (``ValueError`` listing the names if unknown).

    Examples
    --------
    >>> metric_info("lpips-alex").higher_is_better, metric_info("psnr").description
    (False, 'PSNR in dB over RGB')
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown metric {name!r}; available: {', '.join(list_metrics())}")
    return _REGISTRY[name]


def get_metric(name: str, **kwargs: Any) -> nn.Module:
    """Build the metric ``name``.

    Parameters
    ----------
    name : str
        One of :func:`list_metrics`: ``'lpips-alex'``, ``'lpips-vgg'``, ``'baseline-vgg'``,
        ``'baseline-alex'``, ``'selected'``, ``'psnr'``, ``'ssim'``, ``'ms-ssim'``.
    **kwargs
        Passed to the metric: ``reduction``, ``spatial``, ``eps`` for the perceptual ones, and
        ``backbone=`` a prebuilt :class:`~hvsprobe.backbones.Backbone` to share one (its
        architecture must fit; the baselines also take ``weights=``, e.g. ``'random:0'``);
        ``selection`` (required), ``backbone``, ``weights`` for ``'selected'`` (backbone and
        weights default to the selection's); ``data_range`` etc. for PSNR/SSIM/MS-SSIM.

    Returns
    -------
    torch.nn.Module
        With ``.name`` (= ``name``), ``.higher_is_better`` (``False`` for distances, ``True``
        for PSNR/SSIM/MS-SSIM) and ``__call__(x, y) -> Tensor (N,)``.

    Examples
    --------
    >>> import torch
    >>> metric = get_metric("ssim", color="rgb")
    >>> x = torch.rand(1, 3, 16, 16)
    >>> metric.name, metric(x, x)
    ('ssim', tensor([1.]))
    >>> get_metric("baseline-alex", weights="random:0").name
    'baseline-alex'
    """
    spec = metric_info(name)
    metric = spec.build(**kwargs)
    metric.name = spec.name  # type: ignore[assignment]  # nn.Module types attributes as Tensor | Module
    return metric
