"""A protocol's prediction: curves -> one criterion -> thresholds -> statistics.

:func:`predict_thresholds` is the shared core of :func:`~hvsprobe.evaluate.psychophysics.
predict_modelfest` and :func:`~hvsprobe.evaluate.psychophysics.predict_castle_csf`; its
result is a :class:`ThresholdPrediction`.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from ..._io import atomic_path, write_json_atomic
from ..metric_interface import Metric
from .criterion import fit_single_criterion
from .thresholds import (
    DistanceFn,
    ThresholdError,
    bisect_threshold,
    distance_curves,
    monotone_envelope,
    thresholds_from_curves,
)

__all__ = ["ThresholdPrediction", "predict_thresholds"]


@dataclass
class ThresholdPrediction:
    """Predicted versus human log10 sensitivity with one fitted criterion.

    Attributes
    ----------
    protocol : str
        ``'modelfest'`` or ``'castle_csf'``.
    metric : str
        Metric name.
    criterion : float
        The fitted criterion.
    pearson_r, spearman_rho : float
        Correlations of predicted and human log10 sensitivity.
    rmse_log10 : float
        RMSE in log10 sensitivity.
    n : int
        Stimuli (rows) compared.
    n_censored : int
        Stimuli whose threshold lies outside the contrast range (counted at its end).
    shift_invariant : bool
        Whether all curves have the same log-log slope at threshold (within 10 %), i.e.
        changing the criterion shifts every predicted log sensitivity by the same amount.
    table : dict of str to numpy.ndarray
        Per-stimulus columns: ``label``, ``human_log10``, ``predicted_log10``, ``threshold``,
        ``censored``, ``loglog_slope`` and protocol-specific columns.
    excluded : list of dict
        Rows left out and why (castleCSF).
    notes : list of str
        Remarks (non-monotone curves, ...).
    settings : dict
        The settings used.
    """

    protocol: str
    metric: str
    criterion: float
    pearson_r: float
    spearman_rho: float
    rmse_log10: float
    n: int
    n_censored: int
    shift_invariant: bool
    table: dict[str, np.ndarray]
    excluded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable result."""
        return {
            "kind": "threshold_prediction",
            "schema_version": 1,
            "protocol": self.protocol,
            "metric": self.metric,
            "criterion": self.criterion,
            "pearson_r": self.pearson_r,
            "spearman_rho": self.spearman_rho,
            "rmse_log10": self.rmse_log10,
            "n": self.n,
            "n_censored": self.n_censored,
            "shift_invariant": self.shift_invariant,
            "table": {k: np.asarray(v).tolist() for k, v in self.table.items()},
            "excluded": list(self.excluded),
            "notes": list(self.notes),
            "settings": dict(self.settings),
        }

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict())

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the per-stimulus table atomically as CSV."""
        cols = list(self.table)
        n = len(next(iter(self.table.values()))) if cols else 0
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(cols)
            for i in range(n):
                writer.writerow([np.asarray(self.table[col])[i] for col in cols])
        return Path(path)


def _local_slopes(c: np.ndarray, d: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """d log D / d log c of each curve around its threshold (NaN where D <= 0)."""
    out = np.full(d.shape[0], np.nan)
    for i in range(d.shape[0]):
        j = int(np.clip(np.searchsorted(c, thr[i]), 1, c.size - 1))
        if d[i, j - 1] > 0 and d[i, j] > 0:
            out[i] = (math.log(d[i, j]) - math.log(d[i, j - 1])) / (
                math.log(c[j]) - math.log(c[j - 1])
            )
    return out


def _label(labels: Sequence[str], idx: np.ndarray, stimulus: int) -> str:
    """Label of the first row that uses distinct stimulus ``stimulus``."""
    return labels[int(np.flatnonzero(idx == stimulus)[0])]


def _check_curves(
    metric: Metric,
    curves: np.ndarray,
    labels: Sequence[str],
    idx: np.ndarray,
    *,
    strict: bool,
    monotone_rtol: float,
    notes: list[str],
) -> list[int]:
    """Raise on non-finite or flat curves (and non-monotone ones if ``strict``).

    Returns the stimuli whose curve is not monotone (then a note says their first crossing
    is used).
    """
    n = curves.shape[0]
    bad_finite = [i for i in range(n) if not np.all(np.isfinite(curves[i]))]
    if bad_finite:
        raise ThresholdError(
            f"metric {metric.name!r} gave non-finite distances for stimuli "
            f"{[_label(labels, idx, i) for i in bad_finite]}",
            "non_finite",
        )
    flat = [i for i in range(n) if np.ptp(curves[i]) == 0]
    non_mono = [
        i for i in range(n) if i not in flat and not monotone_envelope(curves[i], monotone_rtol)
    ]
    if flat or non_mono:
        names = {i: _label(labels, idx, i) for i in flat + non_mono}
        msg = (
            f"metric {metric.name!r}: distance does not increase with contrast for "
            f"{len(flat) + len(non_mono)} stimulus/stimuli: flat {[names[i] for i in flat]}, "
            f"non-monotone {[names[i] for i in non_mono]}"
        )
        if strict or flat:
            raise ThresholdError(
                msg + " (pass strict=False to use the first crossing)", "non_monotone"
            )
        notes.append(msg + "; their first crossing of the criterion is used")
    return non_mono


def _refine_thresholds(
    metric: Metric,
    fns: Sequence[Callable[[float], torch.Tensor]],
    contrasts: np.ndarray,
    curves: np.ndarray,
    criterion: float,
    thresholds: np.ndarray,
    censored: np.ndarray,
    skip: Sequence[int],
    *,
    strict: bool,
    monotone_rtol: float,
    batch_size: int,
    device: torch.device | str | None,
    describe: Callable[[int], str],
    notes: list[str],
) -> None:
    """Bisect each uncensored threshold at ``criterion`` in place (0.001 decades)."""
    for i, fn in enumerate(fns):
        if censored[i] != 0 or i in skip:
            continue
        j = int(np.argmax(curves[i] >= criterion))
        span = float(np.ptp(curves[i]))
        try:
            thresholds[i] = bisect_threshold(
                DistanceFn(metric, fn, device, batch_size),
                criterion,
                contrasts[j - 1],
                contrasts[j],
                curves[i, j - 1],
                curves[i, j],
                1e-3,
                monotone_rtol * span,
                60,
            )
        except ThresholdError as exc:
            if strict:
                raise
            notes.append(f"stimulus {describe(i)}: {exc}")


def _shift_invariant(slopes: np.ndarray) -> bool:
    """Whether every curve has the same log-log slope at threshold (within 10 %)."""
    finite = slopes[np.isfinite(slopes)]
    return bool(
        finite.size == slopes.size
        and finite.size > 0
        and float(np.ptp(finite)) <= 0.1 * abs(float(np.median(finite)))
    )


def _agreement(pred: np.ndarray, human: np.ndarray) -> tuple[float, float, float]:
    """Pearson r, Spearman rho (NaN for constant predictions) and RMSE in log10 sensitivity."""
    r = float(stats.pearsonr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    rho = float(stats.spearmanr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    return r, rho, float(np.sqrt(np.mean((pred - human) ** 2)))


def _summarise(
    protocol: str,
    metric_name: str,
    labels: Sequence[str],
    human: np.ndarray,
    criterion: float,
    contrasts: np.ndarray,
    curves: np.ndarray,
    thr_stim: np.ndarray,
    cens_stim: np.ndarray,
    idx: np.ndarray,
    notes: list[str],
    settings: dict[str, Any],
) -> ThresholdPrediction:
    """Per-row thresholds, predictions and slopes, their agreement with ``human``, the result."""
    thr, cens = thr_stim[idx], cens_stim[idx]
    pred = -np.log10(thr)
    slopes = _local_slopes(contrasts, curves, thr_stim)[idx]
    n_cens = int(np.sum(cens != 0))
    if n_cens:
        notes.append(
            f"{n_cens} threshold(s) outside the contrast range [{settings['c_min']:g}, "
            f"{settings['c_max']:g}] are counted at the end of the range"
        )
    r, rho, err = _agreement(pred, human)
    table = {
        "label": np.asarray(labels, dtype=str),
        "human_log10": human,
        "predicted_log10": pred,
        "threshold": thr,
        "censored": cens,
        "loglog_slope": slopes,
    }
    return ThresholdPrediction(
        protocol,
        metric_name,
        criterion,
        r,
        rho,
        err,
        int(human.size),
        n_cens,
        _shift_invariant(slopes),
        table,
        [],
        notes,
        settings,
    )


def predict_thresholds(
    protocol: str,
    metric: Metric,
    labels: Sequence[str],
    fns: Sequence[Callable[[float], torch.Tensor]],
    human: np.ndarray,
    *,
    c_min: float,
    c_max: float,
    n_contrasts: int,
    refine: bool,
    strict: bool,
    monotone_rtol: float,
    batch_size: int,
    device: torch.device | str | None,
    progress: bool,
    curve_index: np.ndarray | None = None,
) -> tuple[ThresholdPrediction, np.ndarray]:
    """Shared core: curves -> criterion fit -> refined thresholds -> statistics.

    ``fns`` are the distinct stimuli; ``curve_index[i]`` says which of them row ``i`` uses
    (default: row ``i`` uses stimulus ``i``).
    """
    if not 0.0 < c_min < c_max:
        raise ValueError(f"need 0 < c_min < c_max, got {c_min!r}, {c_max!r}")
    idx = np.arange(len(fns)) if curve_index is None else np.asarray(curve_index)
    contrasts = np.geomspace(c_min, c_max, int(n_contrasts))
    curves = distance_curves(
        metric, fns, contrasts, batch_size=batch_size, device=device, progress=progress
    )
    notes: list[str] = []
    non_mono = _check_curves(
        metric, curves, labels, idx, strict=strict, monotone_rtol=monotone_rtol, notes=notes
    )
    fit = fit_single_criterion(contrasts, curves[idx], human)
    thr_stim, cens_stim = thresholds_from_curves(contrasts, curves, fit.criterion)
    if refine:
        _refine_thresholds(
            metric,
            fns,
            contrasts,
            curves,
            fit.criterion,
            thr_stim,
            cens_stim,
            non_mono,
            strict=strict,
            monotone_rtol=monotone_rtol,
            batch_size=batch_size,
            device=device,
            describe=lambda i: _label(labels, idx, i),
            notes=notes,
        )
    settings = {
        "c_min": c_min,
        "c_max": c_max,
        "n_contrasts": int(n_contrasts),
        "refine": refine,
        "strict": strict,
        "monotone_rtol": monotone_rtol,
        "interpolated_fit_rmse": fit.rmse,
    }
    result = _summarise(
        protocol,
        metric.name,
        labels,
        human,
        fit.criterion,
        contrasts,
        curves,
        thr_stim,
        cens_stim,
        idx,
        notes,
        settings,
    )
    return result, curves
