"""What the evaluation protocols need from a metric, and how they call it.

A *metric* is any object with ``name: str``, ``higher_is_better: bool`` and
``__call__(x, y) -> torch.Tensor`` of shape ``(N,)`` for image batches ``x``, ``y`` of shape
N x 3 x H x W with values in [0, 1] (:class:`hvsprobe.protocols.Metric`, declared once).  Where a function takes a metric,
a registered name (``'psnr'``, ``'lpips-alex'``, ...) is accepted too and looked up with
``hvsprobe.metrics.get_metric``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..protocols import Metric

__all__ = ["Metric", "as_distance", "metric_values", "resolve_metric"]


def resolve_metric(metric: Metric | str) -> Metric:
    """Return ``metric`` itself, or look a name up with ``hvsprobe.metrics.get_metric``.

    Parameters
    ----------
    metric : Metric or str
        A metric object or a registered metric name.

    Returns
    -------
    Metric

    Raises
    ------
    TypeError
        If ``metric`` lacks ``name``, ``higher_is_better`` or ``__call__``.
    """
    if isinstance(metric, str):
        from ..metrics import get_metric  # imported lazily: an optional sibling package

        metric = get_metric(metric)
    missing = [a for a in ("name", "higher_is_better") if not hasattr(metric, a)]
    if missing or not callable(metric):
        raise TypeError(
            "a metric needs .name (str), .higher_is_better (bool) and __call__(x, y) -> "
            f"tensor (N,); {type(metric).__name__} lacks "
            + (", ".join(missing) if missing else "__call__")
        )
    return metric


def metric_values(
    metric: Metric,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Call ``metric(x, y)`` without gradients and return float64 values of shape ``(N,)``.

    Parameters
    ----------
    metric : Metric
        The metric.
    x, y : torch.Tensor
        Image batches N x 3 x H x W in [0, 1].
    device : torch.device or str, optional
        Device the images are moved to first (default: where they are).

    Returns
    -------
    numpy.ndarray
        The metric values (NaN and infinities are passed through; callers check).

    Raises
    ------
    ValueError
        If the metric does not return one value per pair.
    """
    if device is not None:
        x, y = x.to(device), y.to(device)
    with torch.no_grad():
        out = metric(x, y)
    arr = torch.as_tensor(out).detach().to("cpu", torch.float64).numpy()
    n = int(x.shape[0])
    if arr.shape == (n, 1) or arr.shape == (n, 1, 1, 1):
        arr = arr.reshape(n)
    if arr.shape != (n,):
        raise ValueError(
            f"metric {getattr(metric, 'name', metric)!r} returned shape {arr.shape} for a batch "
            f"of {n} pairs; it must return one value per pair, shape ({n},)"
        )
    return arr


def as_distance(metric: Metric, values: np.ndarray) -> np.ndarray:
    """Orient metric values as a distance: ``values`` if lower is better, else ``-values``."""
    return -values if bool(metric.higher_is_better) else values
