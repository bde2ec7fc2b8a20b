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
    verdict,
)

__all__ = ["compare_variants", "criterion_grid_predictions", "pool_comparisons"]

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
    replicates: dict[tuple[str, str, float, str], tuple[float, np.ndarray, bool]] | None = None,
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
    replicates : dict, optional
        Filled with ``(backbone, data set, k, other) -> (diff, replicate diffs, higher)``
        for the pooled verdict (:func:`pool_comparisons`).

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
        ds_seed = int(spec.get("seed", seed))
        if spec["kind"] == "srcc":
            x = np.stack([spec["values"][n] for n in names])
            reps = bootstrap_srcc(x, human, groups, n_boot=n_boot, seed=ds_seed)
        elif spec["kind"] == "stat":
            reps = group_bootstrap(spec["stat"], groups, n_boot=n_boot, seed=ds_seed)
        else:
            reps = _rmse_replicates(
                [spec["values"][n] for n in names], human, groups, n_boot, ds_seed
            )
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
                if replicates is not None:
                    with np.errstate(all="ignore"):
                        med = np.nanmedian(reps[:, [col_of[n] for n in rnd]], axis=1)
                    replicates[(backbone, label, k, OTHERS[0])] = (
                        rc.difference.diff,
                        reps[:, col_of[top]] - med,
                        higher,
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
                if replicates is not None:
                    replicates[(backbone, label, k, other)] = (
                        d.diff,
                        reps[:, col_of[top]] - reps[:, col_of[vname]],
                        higher,
                    )
                out.append({**base, "other": other, **_flat(d)})
    return out


def _flat(d: Any) -> dict[str, Any]:
    keys = ("statistic", "a", "b", "diff", "low", "high", "level", "p_value", "verdict")
    return {k: getattr(d, k) for k in (*keys, "n_rows", "n_groups", "n_failed")}


def pool_comparisons(
    replicates: Mapping[tuple[str, str, float, str], tuple[float, np.ndarray, bool]],
    *,
    level: float = 0.95,
) -> list[dict[str, Any]]:
    """One pooled verdict per (backbone, k, comparison) over the data sets that have it.

    The rule of docs/evaluate.md ("Claim 1 across data sets"): each data set's difference is
    oriented (positive favours the top-k % by PE) and divided by the standard deviation of
    its own bootstrap replicates; the pooled value and its replicates are the equal-weight
    means over data sets (whose replicates were drawn independently), and the verdict comes
    from the percentile interval of the pooled replicates.

    Parameters
    ----------
    replicates : mapping
        ``(backbone, data set, k, other) -> (diff, replicate diffs (B,), higher is better)``
        as filled by :func:`compare_variants`.
    level : float
        Interval level.

    Returns
    -------
    list of dict
        ``backbone, k, other, z, low, high, verdict, n_datasets, datasets, left_out`` (only
        where two or more data sets have the comparison).

    Examples
    --------
    >>> r = np.random.default_rng(0).normal(1.0, 0.1, 400)
    >>> reps = {("b", "A", 0.1, "o"): (1.0, r, True), ("b", "B", 0.1, "o"): (-1.0, -r, False)}
    >>> p = pool_comparisons(reps)[0]
    >>> p["verdict"], p["n_datasets"], round(p["z"])
    ('supported', 2, 10)
    """
    groups: dict[tuple[str, float, str], list[str]] = {}
    for bb, ds, k, other in replicates:
        groups.setdefault((bb, k, other), []).append(ds)
    out: list[dict[str, Any]] = []
    for (bb, k, other), names in groups.items():
        zs, reps, used, left = [], [], [], []
        for ds in names:
            diff, r, higher = replicates[(bb, ds, k, other)]
            sign = 1.0 if higher else -1.0
            rr = sign * np.asarray(r, dtype=np.float64)
            ok = rr[np.isfinite(rr)]
            se = float(np.std(ok, ddof=1)) if ok.size > 1 else math.nan
            if not (math.isfinite(se) and se > 0 and math.isfinite(diff)):
                left.append(ds)
                continue
            zs.append(sign * diff / se)
            reps.append(rr / se)
            used.append(ds)
        if len(names) < 2:
            continue
        rec: dict[str, Any] = {"backbone": bb, "k": k, "other": other, "level": level}
        if used:
            z = float(np.mean(zs))
            zb = np.mean(np.stack(reps), axis=0)
            ok = zb[np.isfinite(zb)]
            alpha = (1.0 - level) / 2.0
            lo, hi = (
                (float(np.percentile(ok, 100 * alpha)), float(np.percentile(ok, 100 * (1 - alpha))))
                if ok.size
                else (math.nan, math.nan)
            )
        else:
            z, lo, hi = math.nan, math.nan, math.nan
        rec.update(
            {
                "z": z,
                "low": lo,
                "high": hi,
                "verdict": verdict(lo, hi),
                "n_datasets": len(used),
                "datasets": "; ".join(used),
                "left_out": "; ".join(left),
            }
        )
        out.append(rec)
    return out
