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
* :mod:`~hvsprobe.evaluate.stats` — the statistics themselves, with the VQEG logistic of
  :mod:`~hvsprobe.evaluate.logistic`;
* :mod:`~hvsprobe.evaluate.paired` — paired differences between metrics on the same rows,
  with group-bootstrap intervals and a three-word verdict.

A *metric* is any object with ``name: str``, ``higher_is_better: bool`` and
``__call__(x, y) -> torch.Tensor`` of shape ``(N,)`` for image batches ``x``, ``y`` of shape
N x 3 x H x W with values in [0, 1] (see :class:`Metric`).  Where a function takes a metric,
a registered name (``'psnr'``, ``'lpips-alex'``, ...) is accepted too and looked up with
``hvsprobe.metrics.get_metric``.
"""

from .._io import DATA_ENV_VAR as ENV_VAR
from .agreement import LayerAgreement, lpips_agreement, score_weight_agreement
from .bapps import (
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
from .iqa import (
    IQADataset,
    IQAPair,
    IQAResult,
    compute_metric_values,
    evaluate_iqa,
    load_iqa_dataset,
    read_csiq,
    read_csv_dataset,
    read_kadid10k,
    read_live,
    read_tid2013,
)
from .logistic import LogisticFit, LogisticFitError, fit_logistic5, logistic5
from .metric_interface import Metric, as_distance, metric_values, resolve_metric
from .paired import (
    VERDICTS,
    PairedDifference,
    RandomControl,
    paired_difference,
    random_control,
    verdict,
)
from .psychophysics import (
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
from .stats import (
    BootstrapCI,
    CorrelationSummary,
    bootstrap_ci,
    correlation_summary,
    krcc,
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
    "resolve_metric",
    "rmse",
    "score_2afc",
    "score_weight_agreement",
    "srcc",
    "threshold_contrast",
    "thresholds_from_curves",
]
