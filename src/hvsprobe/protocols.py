"""The ``Metric`` protocol: what every metric offers and what every evaluation needs.

One declaration for :func:`hvsprobe.metrics.get_metric`'s metrics and for the evaluation
protocols (:mod:`hvsprobe.evaluate`), which accept any object that follows it; both
packages re-export it (``hvsprobe.metrics.Metric is hvsprobe.evaluate.Metric``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

__all__ = ["Metric"]


@runtime_checkable
class Metric(Protocol):
    """A metric: ``name``, ``higher_is_better`` and one value per image pair.

    Attributes
    ----------
    name : str
        Name used in results and cache keys.
    higher_is_better : bool
        ``True`` for similarities / quality scores (PSNR, SSIM), ``False`` for distances
        (MSE, LPIPS).

    ``__call__(x, y)`` takes image batches N x 3 x H x W with values in [0, 1] and returns a
    tensor of shape ``(N,)``.

    Examples
    --------
    Every metric of the registry follows it, and so does a plain class:

    >>> import torch
    >>> from hvsprobe.metrics import get_metric
    >>> metric: Metric = get_metric("psnr")
    >>> metric.name, metric.higher_is_better, tuple(metric(torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)).shape)
    ('psnr', True, (2,))
    >>> class MSE:
    ...     name, higher_is_better = "mse", False
    ...     def __call__(self, x, y):
    ...         return ((x - y) ** 2).flatten(1).mean(1)
    >>> isinstance(MSE(), Metric)
    True
    """

    name: str
    higher_is_better: bool

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return one value per image pair, shape ``(N,)``."""
        ...
