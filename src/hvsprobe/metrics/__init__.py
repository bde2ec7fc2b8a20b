"""Perceptual metrics and losses built from selected channels, LPIPS, and classic baselines.

* :class:`PerceptualDistance` / :func:`perceptual_distance`: LPIPS-style distance on the
  channels (and weights) of a :class:`~hvsprobe.selection.Selection`, or on every channel of
  the LPIPS layers (``selection=None``); usable as a training loss.
* :class:`LPIPS` / :func:`lpips`: LPIPS v0.1 (AlexNet or VGG-16) with the official weights.
* :func:`psnr`, :func:`ssim`, :func:`ms_ssim`: baselines (per sample).
* :func:`get_metric` / :func:`list_metrics`: one interface for all of them.
* :func:`distance_command`: the body of ``hvsprobe distance``.
"""

from ..image_io import load_image
from .baselines import MSSSIM, PSNR, SSIM, ms_ssim, psnr, rgb_to_gray, ssim
from .cli_support import distance_command, image_pairs
from .decompose import channel_distances, combine, normalized_features, pair_channel_distances
from .lpips_ref import LPIPS, lpips
from .perceptual import (
    DEFAULT_EPS,
    REDUCTIONS,
    PerceptualDistance,
    channel_plan,
    perceptual_distance,
    unit_normalize,
)
from .registry import Metric, MetricSpec, get_metric, list_metrics, metric_info

__all__ = [
    "DEFAULT_EPS",
    "LPIPS",
    "MSSSIM",
    "PSNR",
    "REDUCTIONS",
    "SSIM",
    "Metric",
    "MetricSpec",
    "PerceptualDistance",
    "channel_distances",
    "channel_plan",
    "combine",
    "distance_command",
    "get_metric",
    "image_pairs",
    "list_metrics",
    "load_image",
    "lpips",
    "metric_info",
    "normalized_features",
    "pair_channel_distances",
    "ms_ssim",
    "perceptual_distance",
    "psnr",
    "rgb_to_gray",
    "ssim",
    "unit_normalize",
]
