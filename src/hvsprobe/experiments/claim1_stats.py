"""Paired comparisons of the claim-1 channel subsets: differences, intervals, verdicts.

For every backbone, data set and fraction k the top-k % by PE is compared, on the *same*
rows, with the bottom-k % by PE, with all channels, with LPIPS's learned weights and with the
distribution of random k % subsets (:mod:`hvsprobe.evaluate.paired`).  One set of bootstrap
replicates per backbone and data set serves every comparison, so all differences are paired:

* LIVE — SRCC against DMOS; replicates resample reference images; rank statistic, so the
  exact swap permutation p-value is reported too;
* ModelFest and castleCSF — RMSE in log10 sensitivity after one fitted criterion;
  replicates resample stimuli (castleCSF rows sharing a stimulus move together) and refit the
  criterion, minimising over a log grid of criteria (the table's point values come from the
  refined fit of :func:`hvsprobe.evaluate.psychophysics.fit_single_criterion`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..evaluate.paired import (
    bootstrap_srcc,
    difference_from_replicates,
    group_bootstrap,
    random_control_from_replicates,
    swap_permutation_pvalue,
)

__all__ = ["compare_variants", "criterion_grid_predictions"]

#: Comparisons of the top-k % by PE, in page order.
OTHERS = ("random subsets", "bottom-k % by PE", "all channels", "LPIPS learned weights")


def criterion_grid_predictions(
    contrasts: np.ndarray, curves: np.ndarray, n_grid: int = 256
) -> np.ndarray:
    """Predicted log10 sensitivities ``(S, G)`` for ``G`` criteria spanning the distances.

    The criteria are quantiles of all positive sampled distances (as the scan of
    :func:`~hvsprobe.evaluate.psychophysics.fit_single_criterion`); thresholds are
    interpolated by :func:`~hvsprobe.evaluate.psychophysics.thresholds_from_curves`.

    Examples
    --------
    >>> c = np.geomspace(1e-3, 1.0, 8)
    >>> criterion_grid_predictions(c, np.outer([1.0, 4.0], c**2), n_grid=5).shape
    (2, 5)
    """
    from ..evaluate.psychophysics import thresholds_from_curves

    d = np.asarray(curves, dtype=np.float64)
    pos = d[d > 0]
    ks = np.unique(np.quantile(pos if pos.size else d.reshape(-1), np.linspace(0, 1, n_grid)))
    return np.stack([-np.log10(thresholds_from_curves(contrasts, d, k)[0]) for k in ks], axis=1)


def _rmse_replicates(
    preds: Sequence[np.ndarray], human: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> np.ndarray:
    """``(n_boot, V)`` RMSE at the best grid criterion on resampled stimuli."""
    h = np.asarray(human, dtype=np.float64)

    def stat(rows: np.ndarray) -> np.ndarray:
        return np.array(
            [float(np.sqrt(np.min(np.mean((p[rows] - h[rows, None]) ** 2, axis=0)))) for p in preds]
        )

    return group_bootstrap(stat, groups, n_boot=n_boot, seed=seed)


def _select(rows: list[dict[str, Any]], backbone: str) -> dict[str, dict[str, Any]]:
    return {r["variant"]: r for r in rows if r["backbone"] == backbone}


def compare_variants(
    backbone: str,
    variants: Mapping[str, tuple[str, float, Any]],
    rows: list[dict[str, Any]],
    data: Mapping[str, dict[str, Any]],
    fractions: Sequence[float],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """All paired comparisons of one backbone, as flat records.

    Parameters
    ----------
    backbone : str
        Backbone name (selects the ``rows``).
    variants : mapping
        ``name -> (family, k, weights)`` as built by the experiment.
    rows : list of dict
        The experiment's table rows (point values: ``live_srcc``, ``modelfest_rmse``,
        ``castle_rmse``).
    data : mapping
        Per data set label (``'LIVE SRCC'``, ...): ``{'column', 'higher', 'values'
        (variant -> per-row predictions), 'human', 'groups', 'kind'}`` where ``kind`` is
        ``'srcc'`` (``values`` oriented like ``human``) or ``'rmse'`` (``values`` = grid
        predictions ``(S, G)`` of :func:`criterion_grid_predictions`).
    fractions : sequence of float
        The k values.
    n_boot, seed, level
        Bootstrap settings.

    Returns
    -------
    list of dict
        One record per (data set, k, comparison) with ``backbone, dataset, k, other, a, b,
        diff, low, high, level, p_value, verdict, n_rows, n_groups`` and, for random subsets,
        ``percentile, percentile_low, percentile_high, n_random``.
    """
    point = _select(rows, backbone)
    names = list(variants)
    out: list[dict[str, Any]] = []
    for label, spec in data.items():
        col, higher = spec["column"], bool(spec["higher"])
        human, groups = np.asarray(spec["human"]), np.asarray(spec["groups"])
        if spec["kind"] == "srcc":
            x = np.stack([spec["values"][n] for n in names])
            reps = bootstrap_srcc(x, human, groups, n_boot=n_boot, seed=seed)
        else:
            reps = _rmse_replicates([spec["values"][n] for n in names], human, groups, n_boot, seed)
        col_of = {n: i for i, n in enumerate(names)}
        n_groups = len(set(groups.tolist()))
        common = {"statistic": col, "n_rows": int(human.size), "n_groups": n_groups}
        for k in fractions:
            pct = int(round(100 * k))
            top = f"top {pct}% pe"
            if top not in col_of:
                continue
            a = float(point[top][col])
            base = {"backbone": backbone, "dataset": label, "k": k, "higher_is_better": higher}
            rnd = [n for n in names if variants[n][0] == "random" and variants[n][1] == k]
            if rnd:
                rc = random_control_from_replicates(
                    a,
                    np.array([point[n][col] for n in rnd]),
                    reps[:, col_of[top]],
                    reps[:, [col_of[n] for n in rnd]],
                    higher_is_better=higher,
                    level=level,
                    **common,
                )
                out.append(
                    {
                        **base,
                        "other": OTHERS[0],
                        **_flat(rc.difference),
                        "percentile": rc.percentile,
                        "percentile_low": rc.percentile_low,
                        "percentile_high": rc.percentile_high,
                        "n_random": rc.n_random,
                    }
                )
            for other, vname in zip(
                OTHERS[1:],
                (f"bottom {pct}% pe", "all channels", "LPIPS (learned weights)"),
                strict=True,
            ):
                if vname not in col_of or not math.isfinite(point[vname].get(col, math.nan)):
                    continue
                p = None
                if spec["kind"] == "srcc":
                    p = swap_permutation_pvalue(
                        spec["values"][top], spec["values"][vname], human, groups, seed=seed
                    )
                d = difference_from_replicates(
                    a,
                    float(point[vname][col]),
                    reps[:, col_of[top]],
                    reps[:, col_of[vname]],
                    higher_is_better=higher,
                    level=level,
                    p_value=p,
                    **common,
                )
                out.append({**base, "other": other, **_flat(d)})
    return out


def _flat(d: Any) -> dict[str, Any]:
    keys = ("statistic", "a", "b", "diff", "low", "high", "level", "p_value", "verdict")
    return {k: getattr(d, k) for k in (*keys, "n_rows", "n_groups", "n_failed")}
