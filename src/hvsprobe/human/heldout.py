"""In-sample and leave-one-dataset-out (LODO) error of every CSF against the castleCSF rows.

The castleCSF static, foveal, achromatic rows
(:func:`hvsprobe.human.castle_data.load_castle_achromatic`) come from several independent
psychophysical datasets that disagree with one another by a few tenths of a log unit. A CSF
chosen for the probe must predict a study it was not fitted to, so each model is scored twice:

*in-sample*
    fit on every row, score on the same rows;
*leave-one-dataset-out*
    for each dataset D: fit on the rows of every *other* dataset, score on the rows of D.
    Whole datasets are held out, never single rows, because rows of one study share its
    observers, method and calibration.

What "fit" means depends on the model (:data:`FITTED`):

``castle_fit``
    all 10 coefficients of :func:`hvsprobe.human.castle_fit_csf` are refitted
    (the same solver, start and bounds as the packaged fit); its overall gain is one of them.
``barten``, ``mannos_sakrison``, ``mannos_sakrison_v1``
    nothing of the curve is fitted; only one constant log10 gain (the mean residual of the
    training rows) is. For Barten the error *without* that gain is reported as well
    (it involves no fit, so it is the same in- and out-of-sample).

Every RMSE is in log10 sensitivity. Besides the pooled RMSE over all held-out rows, the
table gives the unweighted mean of the per-dataset held-out RMSEs and a *shape-only* held-
out RMSE, in which each held-out dataset's own mean residual is removed: the probe weights
frequencies with ``CSFModel.normalized`` and so only uses the curve's shape, not its level.

>>> from hvsprobe.human.heldout import csf_heldout_table  # doctest: +SKIP
>>> rows = csf_heldout_table("../shared/data")  # doctest: +SKIP
>>> {r["model"]: round(r["lodo_rmse_log10"], 3) for r in rows}  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._format import EN_DASH, format_number
from .castle_data import load_castle_achromatic
from .castle_fit import castle_log10
from .fitting import NEAR_PROBE, fit_castle_coeffs, predict_at_rows
from .models import get_csf, list_csfs

__all__ = [
    "FITTED",
    "HeldoutModel",
    "best_heldout_model",
    "csf_heldout_table",
    "heldout_table_markdown",
    "leave_one_dataset_out",
]

Rows = Mapping[str, np.ndarray]

#: What each model fits to the training rows, in words (shown in the tables).
FITTED: dict[str, str] = {
    "mannos_sakrison": "log10 gain only",
    "mannos_sakrison_v1": "log10 gain only",
    "barten": "log10 gain only",
    "castle_fit": "all 10 coefficients",
}


@dataclass(frozen=True)
class HeldoutModel:
    """How one CSF is fitted to training rows and predicts other rows.

    Attributes
    ----------
    name : str
        Model name (a :func:`hvsprobe.human.list_csfs` name for the built-in ones).
    fit : callable
        ``fit(train_rows) -> state``: everything the model learns from the training rows.
    predict : callable
        ``predict(state, rows) -> log10 sensitivity`` at each row.
    fitted : str
        What ``fit`` fits, in words.
    unfitted : callable or None
        ``unfitted(rows) -> log10 sensitivity`` with nothing fitted at all (for models with
        published constants); ``None`` when the model has no such form.
    """

    name: str
    fit: Callable[[Rows], Any]
    predict: Callable[[Any, Rows], np.ndarray]
    fitted: str
    unfitted: Callable[[Rows], np.ndarray] | None = None


def _subset(rows: Rows, mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[mask] for k, v in rows.items()}


def _gain_model(name: str) -> HeldoutModel:
    """A published curve with one fitted constant log10 gain (the training mean residual)."""
    model = get_csf(name)

    def unfitted(rows: Rows) -> np.ndarray:
        return np.log10(predict_at_rows(model, rows))

    def fit(train: Rows) -> float:
        return float(np.mean(np.log10(train["sensitivity"]) - unfitted(train)))

    def predict(shift: float, rows: Rows) -> np.ndarray:
        return unfitted(rows) + shift

    return HeldoutModel(name, fit, predict, FITTED[name], unfitted)


def castle_model() -> HeldoutModel:
    def fit(train: Rows) -> dict[str, float]:
        return fit_castle_coeffs(train)[0]

    def predict(coeffs: dict[str, float], rows: Rows) -> np.ndarray:
        return castle_log10(rows["frequency"], rows["luminance"], rows["area"], coeffs)

    return HeldoutModel("castle_fit", fit, predict, FITTED["castle_fit"])


def default_models() -> list[HeldoutModel]:
    """The built-in CSFs, in :func:`hvsprobe.human.list_csfs` order."""
    return [castle_model() if n == "castle_fit" else _gain_model(n) for n in list_csfs()]


def leave_one_dataset_out(datasets: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(held-out dataset, test mask)`` for every dataset, in sorted order.

    The training rows are ``~mask``: every row of every other dataset and none of the
    held-out one.

    Parameters
    ----------
    datasets : sequence of str
        The dataset label of each row.

    Yields
    ------
    tuple of (str, numpy.ndarray of bool)

    Examples
    --------
    >>> [(d, m.tolist()) for d, m in leave_one_dataset_out(["b", "a", "b"])]
    [('a', [False, True, False]), ('b', [True, False, True])]
    """
    labels = np.asarray(datasets, dtype=str)
    for name in sorted(set(labels.tolist())):
        yield name, labels == name


def _rmse(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else math.nan


def _near_probe(rows: Rows) -> np.ndarray:
    """Rows within :data:`hvsprobe.human.castle.NEAR_PROBE` (luminance and area ranges)."""
    lum, area = np.asarray(rows["luminance"]), np.asarray(rows["area"])
    (lo_l, hi_l), (lo_a, hi_a) = NEAR_PROBE["luminance"], NEAR_PROBE["area_deg2"]
    return (lum >= lo_l) & (lum <= hi_l) & (area >= lo_a) & (area <= hi_a)


def _score_model(m: HeldoutModel, rows: Rows) -> dict[str, Any]:
    target = np.log10(np.asarray(rows["sensitivity"], dtype=float))
    labels = np.asarray(rows["dataset"], dtype=str)
    state = m.fit(rows)
    in_resid = m.predict(state, rows) - target
    out_resid = np.full_like(target, np.nan)
    per: dict[str, dict[str, Any]] = {}
    for name, test in leave_one_dataset_out(labels):
        train = _subset(rows, ~test)
        out_resid[test] = m.predict(m.fit(train), _subset(rows, test)) - target[test]
        r = out_resid[test]
        per[name] = {
            "n_rows": int(test.sum()),
            "in_sample_rmse_log10": _rmse(in_resid[test]),
            "lodo_rmse_log10": _rmse(r),
            "lodo_mean_residual_log10": float(np.mean(r)),
            "lodo_shape_rmse_log10": _rmse(r - np.mean(r)),
        }
    raw = None if m.unfitted is None else _rmse(m.unfitted(rows) - target)
    near = _near_probe(rows)
    return {
        "model": m.name,
        "fitted": m.fitted,
        "n_rows": int(target.size),
        "n_datasets": len(per),
        "unfitted_rmse_log10": raw,
        "in_sample_rmse_log10": _rmse(in_resid),
        "lodo_rmse_log10": _rmse(out_resid),
        "lodo_mean_dataset_rmse_log10": float(
            np.mean([p["lodo_rmse_log10"] for p in per.values()])
        ),
        "lodo_shape_rmse_log10": _rmse(
            np.concatenate(
                [out_resid[t] - np.mean(out_resid[t]) for _, t in leave_one_dataset_out(labels)]
            )
        ),
        "n_rows_near_probe": int(near.sum()),
        "in_sample_near_probe_rmse_log10": _rmse(in_resid[near]),
        "lodo_near_probe_rmse_log10": _rmse(out_resid[near]),
        "per_dataset": per,
    }


def csf_heldout_table(
    data_root: str | os.PathLike[str] | None = None,
    *,
    rows: Rows | None = None,
    models: Sequence[HeldoutModel] | None = None,
) -> list[dict[str, Any]]:
    """In-sample and leave-one-dataset-out RMSE (log10 sensitivity) of every CSF.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.
        Ignored when ``rows`` is given.
    rows : mapping or None
        Rows to use instead of the castleCSF selection: ``frequency``, ``sensitivity``,
        ``luminance``, ``area``, ``field_size_deg`` and ``dataset`` arrays of equal length.
    models : sequence of HeldoutModel or None
        Models to score; ``None`` scores every built-in CSF (see :data:`FITTED`).

    Returns
    -------
    list of dict
        One entry per model: ``model``, ``fitted`` (what is fitted, in words), ``n_rows``,
        ``n_datasets``, ``unfitted_rmse_log10`` (nothing fitted; ``None`` for castle_fit),
        ``in_sample_rmse_log10`` (fit and score on all rows), ``lodo_rmse_log10`` (pooled
        over all held-out rows), ``lodo_mean_dataset_rmse_log10`` (unweighted mean of the
        per-dataset held-out RMSEs), ``lodo_shape_rmse_log10`` (pooled, after removing each
        held-out dataset's own mean residual), ``n_rows_near_probe``,
        ``in_sample_near_probe_rmse_log10`` and ``lodo_near_probe_rmse_log10`` (the same
        in-sample and held-out residuals restricted to the rows near the probe condition,
        :data:`hvsprobe.human.castle.NEAR_PROBE`) and ``per_dataset`` (``{name: {n_rows,
        in_sample_rmse_log10, lodo_rmse_log10, lodo_mean_residual_log10,
        lodo_shape_rmse_log10}}``). Residuals are model minus data.

    Raises
    ------
    FileNotFoundError
        If the castleCSF data are not found.
    ValueError
        If the rows hold fewer than two datasets.

    Examples
    --------
    >>> table = csf_heldout_table("../shared/data")  # doctest: +SKIP
    >>> [r["model"] for r in table]  # doctest: +SKIP
    ['mannos_sakrison', 'mannos_sakrison_v1', 'barten', 'castle_fit']
    """
    data = load_castle_achromatic(data_root) if rows is None else rows
    n_sets = len(set(np.asarray(data["dataset"], dtype=str).tolist()))
    if n_sets < 2:
        raise ValueError(f"leave-one-dataset-out needs at least two datasets, got {n_sets}")
    return [_score_model(m, data) for m in (models if models is not None else default_models())]


def best_heldout_model(table: Sequence[Mapping[str, Any]]) -> str:
    """Name of the model with the lowest pooled leave-one-dataset-out RMSE.

    Parameters
    ----------
    table : sequence of dict
        Output of :func:`csf_heldout_table`.

    Returns
    -------
    str

    Examples
    --------
    >>> best_heldout_model([{"model": "a", "lodo_rmse_log10": 0.3},
    ...                     {"model": "b", "lodo_rmse_log10": 0.2}])
    'b'
    """
    return min(table, key=lambda r: r["lodo_rmse_log10"])["model"]


def _f(x: float | None) -> str:
    return format_number(x, 3, missing=EN_DASH, nonfinite="text")


def heldout_table_markdown(table: Sequence[Mapping[str, Any]]) -> str:
    """Markdown tables (per model and per dataset) for :func:`csf_heldout_table` output.

    Parameters
    ----------
    table : sequence of dict
        Output of :func:`csf_heldout_table`.

    Returns
    -------
    str
        Markdown text.
    """
    lines = [
        "| model | fitted to training rows | no fit | in-sample | LODO pooled "
        "| LODO mean of datasets | LODO shape only | near probe: in-sample / LODO |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        lines.append(
            f"| {r['model']} | {r['fitted']} | {_f(r['unfitted_rmse_log10'])} "
            f"| {_f(r['in_sample_rmse_log10'])} | **{_f(r['lodo_rmse_log10'])}** "
            f"| {_f(r['lodo_mean_dataset_rmse_log10'])} | {_f(r['lodo_shape_rmse_log10'])} "
            f"| {_f(r['in_sample_near_probe_rmse_log10'])} / "
            f"{_f(r['lodo_near_probe_rmse_log10'])} |"
        )
    names = [r["model"] for r in table]
    lines += [
        "",
        "Per held-out dataset, RMSE log10 in-sample / LODO (LODO mean residual, model − data):",
        "",
        "| dataset | rows | " + " | ".join(names) + " |",
        "|---|---:|" + "---|" * len(names),
    ]
    for ds, info in table[0]["per_dataset"].items():
        cells = []
        for r in table:
            p = r["per_dataset"][ds]
            cells.append(
                f"{p['in_sample_rmse_log10']:.3f} / {p['lodo_rmse_log10']:.3f} "
                f"({p['lodo_mean_residual_log10']:+.2f})"
            )
        lines.append(f"| {ds} | {info['n_rows']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
