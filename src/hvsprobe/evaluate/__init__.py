"""Evaluate perceptual metrics against human data.

Protocols (see ``docs/evaluate.md``):

* :mod:`~hvsprobe.evaluate.iqa` — full-reference image quality datasets (LIVE, TID2013,
  KADID-10k, CSIQ, any CSV): SRCC, KRCC, PLCC after the VQEG logistic, RMSE, with bootstrap
  confidence intervals over reference images;
* :mod:`~hvsprobe.evaluate.bapps` — BAPPS 2AFC agreement and JND mAP (Zhang et al. 2018);
* :mod:`~hvsprobe.evaluate.psychophysics` — contrast detection thresholds predicted with one
  fitted criterion, compared with ModelFest and the castleCSF data;
* :mod:`~hvsprobe.evaluate.agreement` — rank agreement between channel scores and LPIPS
  linear weights, with permutation p-values;
* :mod:`~hvsprobe.evaluate.stats` — the statistics themselves;
* :mod:`~hvsprobe.evaluate.paired` — paired differences between metrics on the same rows,
  with group-bootstrap intervals and a three-word verdict.

A *metric* is any object with ``name: str``, ``higher_is_better: bool`` and
``__call__(x, y) -> torch.Tensor`` of shape ``(N,)`` for image batches ``x``, ``y`` of shape
N x 3 x H x W with values in [0, 1] (see :class:`Metric`).  Where a function takes a metric,
a registered name (``'psnr'``, ``'lpips-alex'``, ...) is accepted too and looked up with
``hvsprobe.metrics.get_metric``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .._io import DATA_ENV_VAR
from .._io import resolve_data_root as _resolve_data_root

#: Environment variable naming the data folder (holding ``iqa/``, ``psychophysics/``, ...).
ENV_VAR = DATA_ENV_VAR


@runtime_checkable
class Metric(Protocol):
    """What the evaluation protocols need from a metric.

    Attributes
    ----------
    name : str
        Name used in results and cache keys.
    higher_is_better : bool
        ``True`` for similarities / quality scores (PSNR, SSIM), ``False`` for distances
        (MSE, LPIPS).
    """

    name: str
    higher_is_better: bool

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Return one value per image pair, shape ``(N,)``."""
        ...


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


def resolve_data_root(data_root: str | os.PathLike[str] | None = None) -> Path:
    """Return ``data_root`` as a path, or the folder named by ``HVSPROBE_DATA``.

    Parameters
    ----------
    data_root : path-like, optional
        The data folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If neither is given.
    """
    return _resolve_data_root(data_root)[0]


# The submodules import the helpers above, so they are imported after them.
from .agreement import LayerAgreement, lpips_agreement, score_weight_agreement  # noqa: E402
from .bapps import (  # noqa: E402
    JNDPair,
    JNDResult,
    TwoAFCResult,
    TwoAFCTriplet,
    average_precision,
    evaluate_2afc,
    evaluate_jnd,
    jnd_map,
    read_2afc,
    read_jnd,
    score_2afc,
)
from .iqa import (  # noqa: E402
    IQADataset,
    IQAPair,
    IQAResult,
    compute_metric_values,
    evaluate_iqa,
    load_image,
    load_iqa_dataset,
    read_csiq,
    read_csv_dataset,
    read_kadid10k,
    read_live,
    read_tid2013,
)
from .paired import (  # noqa: E402
    VERDICTS,
    PairedDifference,
    RandomControl,
    paired_difference,
    random_control,
    verdict,
)
from .psychophysics import (  # noqa: E402
    SUPPORTED_MODELFEST_IDS,
    CriterionFit,
    ModelFestData,
    ThresholdError,
    ThresholdPrediction,
    castle_stimulus,
    castle_stimulus_size,
    distance_curves,
    fit_single_criterion,
    load_modelfest,
    modelfest_stimulus,
    modelfest_waveform,
    predict_castle_csf,
    predict_modelfest,
    threshold_contrast,
    thresholds_from_curves,
)
from .stats import (  # noqa: E402
    BootstrapCI,
    CorrelationSummary,
    LogisticFit,
    LogisticFitError,
    bootstrap_ci,
    correlation_summary,
    fit_logistic5,
    krcc,
    logistic5,
    plcc,
    rmse,
    srcc,
)

__all__ = [
    "ENV_VAR",
    "VERDICTS",
    "PairedDifference",
    "RandomControl",
    "paired_difference",
    "random_control",
    "verdict",
    "SUPPORTED_MODELFEST_IDS",
    "BootstrapCI",
    "CorrelationSummary",
    "CriterionFit",
    "IQADataset",
    "IQAPair",
    "IQAResult",
    "JNDPair",
    "JNDResult",
    "LayerAgreement",
    "LogisticFit",
    "LogisticFitError",
    "Metric",
    "ModelFestData",
    "ThresholdError",
    "ThresholdPrediction",
    "TwoAFCResult",
    "TwoAFCTriplet",
    "as_distance",
    "average_precision",
    "bootstrap_ci",
    "castle_stimulus",
    "castle_stimulus_size",
    "compute_metric_values",
    "correlation_summary",
    "distance_curves",
    "evaluate_2afc",
    "evaluate_iqa",
    "evaluate_jnd",
    "fit_logistic5",
    "fit_single_criterion",
    "jnd_map",
    "krcc",
    "load_image",
    "load_iqa_dataset",
    "load_modelfest",
    "logistic5",
    "lpips_agreement",
    "metric_values",
    "modelfest_stimulus",
    "modelfest_waveform",
    "plcc",
    "predict_castle_csf",
    "predict_modelfest",
    "read_2afc",
    "read_csiq",
    "read_csv_dataset",
    "read_jnd",
    "read_kadid10k",
    "read_live",
    "read_tid2013",
    "resolve_data_root",
    "resolve_metric",
    "rmse",
    "score_2afc",
    "score_weight_agreement",
    "srcc",
    "threshold_contrast",
    "thresholds_from_curves",
]
