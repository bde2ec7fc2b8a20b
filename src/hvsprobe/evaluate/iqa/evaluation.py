"""Correlating a metric with an IQA data set's human scores: :func:`evaluate_iqa`."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._io import atomic_path, write_json_atomic
from ..metric_interface import Metric, resolve_metric
from ..stats import CorrelationSummary, correlation_summary
from .data import IQADataset, IQAPair
from .metric_values import compute_metric_values

__all__ = ["IQAResult", "evaluate_iqa", "per_type_rows"]


_SUMMARY_COLUMNS = ("subset", "n", "n_refs", "srcc", "krcc", "plcc", "rmse")


@dataclass
class IQAResult:
    """Result of :func:`evaluate_iqa`.

    Attributes
    ----------
    metric : str
        Metric name.
    metric_higher_is_better : bool
        Direction of the metric.
    dataset : str
        Dataset name.
    score_name : str
        ``'MOS'`` / ``'DMOS'``.
    score_higher_is_better : bool
        Direction of the human score.
    overall : CorrelationSummary
        All pairs.
    per_type : dict of str to CorrelationSummary
        One summary per distortion type.
    values : numpy.ndarray
        Raw metric value of every pair (before orientation).
    pairs : list of IQAPair
        The pairs, aligned with ``values``.
    settings : dict
        ``n_boot``, ``seed``, ``level``.
    notes : list of str
        Remarks (replaced infinite values, reader notes).
    """

    metric: str
    metric_higher_is_better: bool
    dataset: str
    score_name: str
    score_higher_is_better: bool
    overall: CorrelationSummary
    per_type: dict[str, CorrelationSummary]
    values: np.ndarray
    pairs: list[IQAPair]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """Flat summary rows (``all`` first, then each type) with CI bounds."""
        out = []
        for subset, s in [("all", self.overall), *per_type_rows(self)]:
            row: dict[str, Any] = {"subset": subset, "n": s.n, "n_refs": s.n_groups}
            for stat in ("srcc", "krcc", "plcc", "rmse"):
                row[stat] = getattr(s, stat)
                ci = s.ci.get(stat)
                row[f"{stat}_low"] = ci.low if ci is not None else math.nan
                row[f"{stat}_high"] = ci.high if ci is not None else math.nan
            row["fit_error"] = s.fit_error or ""
            out.append(row)
        return out

    def to_dict(self, *, include_pairs: bool = False) -> dict[str, Any]:
        """JSON-serialisable result (with per-pair values when ``include_pairs``)."""
        from ... import __version__

        d: dict[str, Any] = {
            "kind": "iqa_evaluation",
            "schema_version": 1,
            "hvsprobe_version": __version__,
            "metric": self.metric,
            "metric_higher_is_better": self.metric_higher_is_better,
            "dataset": self.dataset,
            "score_name": self.score_name,
            "score_higher_is_better": self.score_higher_is_better,
            "sign_convention": (
                "metric and human score both oriented so that higher = better quality; "
                "a good metric has positive SRCC/KRCC/PLCC"
            ),
            "ci_resampling_unit": "reference image",
            "settings": dict(self.settings),
            "overall": self.overall.to_dict(),
            "per_type": {k: v.to_dict() for k, v in self.per_type.items()},
            "notes": list(self.notes),
        }
        if include_pairs:
            d["pairs"] = [
                {
                    "ref": str(p.ref_path),
                    "dist": str(p.dist_path),
                    "score": p.score,
                    "dist_type": p.dist_type,
                    "ref_id": p.ref_id,
                    "metric_value": float(v),
                }
                for p, v in zip(self.pairs, self.values, strict=True)
            ]
        return d

    def write_json(self, path: str | os.PathLike[str], *, include_pairs: bool = True) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict(include_pairs=include_pairs))

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the summary rows (:meth:`rows`) atomically as CSV."""
        rows = self.rows()
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return Path(path)

    def write_pairs_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write one row per pair (paths, human score, type, reference, metric value)."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["ref", "dist", "score", "dist_type", "ref_id", "metric_value"])
            for p, v in zip(self.pairs, self.values, strict=True):
                writer.writerow([p.ref_path, p.dist_path, p.score, p.dist_type, p.ref_id, v])
        return Path(path)


def _replace_infinite(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Replace +/-inf (e.g. PSNR of identical images) by finite values that keep the order."""
    v = values.copy()
    if np.isnan(v).any():
        bad = np.flatnonzero(np.isnan(v))
        raise ValueError(f"the metric returned NaN for {bad.size} pair(s), e.g. indices {bad[:5]}")
    inf = ~np.isfinite(v)
    if not inf.any():
        return v, []
    finite = v[~inf]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    step = max(hi - lo, 1.0)
    v[np.isposinf(v)] = hi + step
    v[np.isneginf(v)] = lo - step
    return v, [
        f"{int(inf.sum())} infinite metric value(s) replaced by max/min finite value +/- "
        f"{step:g} (order kept) for the statistics"
    ]


def evaluate_iqa(
    metric: Metric | str,
    dataset: IQADataset,
    *,
    batch_size: int = 8,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> IQAResult:
    """Correlate a metric with the human scores of an IQA dataset.

    Computes SRCC, KRCC, PLCC (after the VQEG 5-parameter logistic) and RMSE over all pairs
    and per distortion type, each with a percentile bootstrap interval that resamples
    reference images.  Both sides are oriented to "higher = better quality" first, so a good
    metric has positive correlations (module docstring).

    Parameters
    ----------
    metric : Metric or str
        The metric (or a name for ``hvsprobe.metrics.get_metric``).
    dataset : IQADataset
        From one of the readers.
    batch_size : int
        Pairs per metric call (pairs of different image sizes never share a batch).
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar.
    cache : path-like or mutable mapping, optional
        Metric value cache (see :func:`compute_metric_values`).
    n_boot : int
        Bootstrap replicates (0: no intervals).
    seed : int
        Bootstrap seed.
    level : float
        Confidence level.

    Returns
    -------
    IQAResult
    """
    m = resolve_metric(metric)
    if len(dataset) < 2:
        raise ValueError(f"dataset {dataset.name} has {len(dataset)} pair(s); need at least 2")
    raw = compute_metric_values(
        m, dataset.pairs, batch_size=batch_size, device=device, progress=progress, cache=cache
    )
    values, notes = _replace_infinite(raw)
    pred = values if m.higher_is_better else -values
    scores = np.array([p.score for p in dataset.pairs], dtype=np.float64)
    human = scores if dataset.higher_is_better else -scores
    refs = np.array([p.ref_id for p in dataset.pairs])
    types = np.array([p.dist_type for p in dataset.pairs])
    kw = {"n_boot": n_boot, "seed": seed, "level": level}
    overall = _summary(pred, human, refs, kw)
    per_type = {
        t: _summary(pred[types == t], human[types == t], refs[types == t], kw)
        for t in dataset.dist_types
    }
    for label, s, mask in [
        ("all", overall, np.ones(len(types), dtype=bool)),
        *((t, per_type[t], types == t) for t in per_type),
    ]:
        if not math.isfinite(s.srcc) and not (label == "all" and s is not overall):
            notes.append(
                f"subset {label}: no correlation (—): {_undefined(pred[mask], scores[mask])}"
            )
    return IQAResult(
        m.name,
        bool(m.higher_is_better),
        dataset.name,
        dataset.score_name,
        dataset.higher_is_better,
        overall,
        per_type,
        raw,
        list(dataset.pairs),
        kw,
        [*dataset.notes, *notes],
    )


def _undefined(pred: np.ndarray, scores: np.ndarray) -> str:
    """Why a rank correlation of ``pred`` with the human ``scores`` is undefined.

    Examples
    --------
    >>> import numpy as np
    >>> _undefined(np.array([1.0, 2.0, 3.0]), np.array([5.0, 5.0, 5.0]))
    'the human scores are all 5 (a correlation needs them to vary)'
    """
    if pred.size < 3:
        return f"{pred.size} pair(s); a correlation needs at least 3"
    if np.ptp(scores) == 0:
        return f"the human scores are all {scores[0]:g} (a correlation needs them to vary)"
    finite = pred[np.isfinite(pred)]
    if finite.size and np.ptp(finite) == 0:
        return f"the metric gives every pair the same value {finite[0]:g}"
    return "the metric's values are not finite"


def per_type_rows(result: IQAResult) -> list[tuple[str, Any]]:
    """The per-type summaries to show beside ``all``: none when the only type is ``all``.

    A CSV without a ``dist_type`` column puts every pair in the type ``all`` (the default),
    whose summary is the overall one; it is shown once.
    """
    items = list(result.per_type.items())
    if len(items) == 1 and items[0][0] == "all" and items[0][1].n == result.overall.n:
        return []
    return items


def _summary(
    pred: np.ndarray, human: np.ndarray, refs: np.ndarray, kw: dict[str, Any]
) -> CorrelationSummary:
    if pred.size < 3:
        nan = math.nan
        return CorrelationSummary(
            int(pred.size),
            len(set(refs.tolist())),
            nan,
            nan,
            nan,
            nan,
            {},
            None,
            f"only {pred.size} pair(s): no statistics",
        )
    return correlation_summary(pred, human, refs, **kw)
