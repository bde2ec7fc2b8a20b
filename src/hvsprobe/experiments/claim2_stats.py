"""Claim 2's statistics: matched-PSNR gaps between loss curves and the verdicts built on them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .claim2_config import MAIN_LOSSES

__all__ = ["compute_verdicts", "matched_psnr_gap", "paired_matched_gap"]


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan")


def _curve(rows: list[dict[str, Any]], loss: str, seed: int, set_name: str) -> np.ndarray:
    """(PSNR, LPIPS-Alex) of ``loss``'s rho points for one seed and set, sorted by PSNR.

    The seed's L1-only run (``none``, rho = 0) is included as the common start of every
    curve, so curves of two losses always share a PSNR range next to it.
    """
    pts = [
        (r["psnr_y"], r["lpips_alex"])
        for r in rows
        if r["seed"] == seed
        and r["set"] == set_name
        and ((r["loss"] == loss and r["rho"] > 0) or r["loss"] == "none")
    ]
    return np.asarray(sorted(pts), dtype=np.float64).reshape(-1, 2)


def matched_psnr_gap(a: np.ndarray, b: np.ndarray, n: int = 21) -> float | None:
    """Mean LPIPS(b) - LPIPS(a) over the PSNR range both curves cover (None: no overlap).

    Each curve is ``k x 2`` (PSNR, LPIPS) sorted by PSNR, linearly interpolated. Positive
    means ``a`` has the lower (better) LPIPS at the same PSNR.
    """
    if len(a) < 1 or len(b) < 1:
        return None
    lo = max(a[:, 0].min(), b[:, 0].min())
    hi = min(a[:, 0].max(), b[:, 0].max())
    if hi - lo < 1e-9:
        return None
    grid = np.linspace(lo, hi, n)
    la = np.interp(grid, a[:, 0], a[:, 1])
    lb = np.interp(grid, b[:, 0], b[:, 1])
    return float(np.mean(lb - la))


def paired_matched_gap(
    rows: list[dict[str, Any]],
    image_rows: list[dict[str, Any]],
    target: str,
    other: str,
    seeds: Sequence[int],
    set_name: str,
    *,
    n_boot: int = 2000,
    boot_seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any] | None:
    """Matched-PSNR LPIPS-Alex gap ``other - target`` with a bootstrap over seeds and images.

    Per seed the curves of both losses (rho points and the L1-only start) are rebuilt from
    per-image PSNR-Y and LPIPS-Alex averaged over the *same* images, and
    :func:`matched_psnr_gap` compares them; the gap is the mean over seeds.  A replicate
    draws the seeds and the test images with replacement (the same images for every run:
    paired), so the interval carries both sources of noise.  Positive favours ``target``;
    the verdict is :func:`hvsprobe.evaluate.paired.verdict` of the interval.

    Parameters
    ----------
    rows : list of dict
        Per-run summary rows (``run``, ``loss``, ``rho``, ``seed``, ``set``).
    image_rows : list of dict
        Per-image evaluation rows (``model`` = run name, ``set``, ``image``, ``psnr_y``,
        ``lpips_alex``).
    target, other : str
        Losses compared.
    seeds : sequence of int
        Seeds.
    set_name : str
        Test set.
    n_boot, boot_seed, level : int, int, float
        Bootstrap settings.

    Returns
    -------
    dict or None
        ``diff, low, high, level, n_boot, n_seeds, n_images, verdict``; ``None`` when the
        curves never overlap.

    Examples
    --------
    >>> paired_matched_gap([], [], "selected", "vgg", [0], "Set5") is None
    True
    """
    from ..evaluate.paired import verdict

    runs = {
        (r["loss"], r["rho"], r["seed"]): r["run"]
        for r in rows
        if r["set"] == set_name and r["loss"] in (target, other, "none") and "run" in r
    }
    per_run: dict[str, dict[str, tuple[float, float]]] = {}
    for r in image_rows:
        if r.get("set") == set_name and r.get("model") in runs.values():
            per_run.setdefault(r["model"], {})[r["image"]] = (r["psnr_y"], r["lpips_alex"])
    images = sorted(set.intersection(*(set(v) for v in per_run.values()))) if per_run else []
    seeds = [s for s in seeds if any(k[2] == s for k in runs)]
    if not images or not seeds:
        return None
    arr = {run: np.array([per_run[run][i] for i in images]) for run in per_run}  # (I, 2)

    def curve(loss: str, seed: int, w: np.ndarray) -> np.ndarray:
        pts = [
            tuple(w @ arr[run])
            for (ls, rho, sd), run in runs.items()
            if sd == seed and run in arr and ((ls == loss and rho > 0) or ls == "none")
        ]
        return np.asarray(sorted(pts), dtype=np.float64).reshape(-1, 2)

    def gap(seed_pick: Sequence[int], w: np.ndarray) -> float:
        gaps = [matched_psnr_gap(curve(target, s, w), curve(other, s, w)) for s in seed_pick]
        ok = [g for g in gaps if g is not None]
        return float(np.mean(ok)) if ok else math.nan

    n = len(images)
    point = gap(seeds, np.full(n, 1.0 / n))
    if not math.isfinite(point):
        return None
    rng = np.random.default_rng(boot_seed)
    reps = np.empty(n_boot)
    for b in range(n_boot):
        pick = rng.integers(0, len(seeds), len(seeds))
        w = np.bincount(rng.integers(0, n, n), minlength=n) / n
        reps[b] = gap([seeds[i] for i in pick], w)
    ok = reps[np.isfinite(reps)]
    alpha = (1.0 - level) / 2.0
    lo, hi = (float(v) for v in np.percentile(ok, [100 * alpha, 100 * (1 - alpha)]))
    return {
        "diff": point,
        "low": lo,
        "high": hi,
        "level": level,
        "n_boot": n_boot,
        "n_failed": int(reps.size - ok.size),
        "n_seeds": len(seeds),
        "n_images": n,
        "verdict": verdict(lo, hi, higher_is_better=True),
    }


def compute_verdicts(
    rows: list[dict[str, Any]],
    seeds: Sequence[int],
    sets: Sequence[str],
    target: str = "selected",
    image_rows: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Compare ``target`` with ``vgg`` and ``random`` per set (see :mod:`.claim2`).

    With ``image_rows`` (per-image evaluation rows) each verdict also carries ``paired``:
    the matched-PSNR gap with its bootstrap interval over seeds and images and one of the
    three words of :func:`hvsprobe.evaluate.paired.verdict` (:func:`paired_matched_gap`).
    """
    verdicts = []
    for set_name in sets:
        seed_sd = _seed_sd(rows, set_name)
        for other in ("vgg", "random"):
            if not any(r["loss"] == other for r in rows) or not any(
                r["loss"] == target for r in rows
            ):
                continue
            v = _compare(rows, target, other, seeds, set_name, seed_sd)
            v["paired"] = (
                None
                if image_rows is None
                else paired_matched_gap(rows, image_rows, target, other, seeds, set_name)
            )
            verdicts.append(v)
    return verdicts


def _seed_sd(rows: list[dict[str, Any]], set_name: str) -> float:
    """Seed-to-seed spread: pooled SD of LPIPS-Alex over all (loss, rho) points with >= 2 seeds."""
    groups: dict[tuple[str, float], list[float]] = {}
    for r in rows:
        if r["set"] == set_name and r["loss"] in MAIN_LOSSES + ("none",):
            groups.setdefault((r["loss"], r["rho"]), []).append(r["lpips_alex"])
    variances = [np.var(v, ddof=1) for v in groups.values() if len(v) > 1]
    return float(np.sqrt(np.mean(variances))) if variances else float("nan")


def _same_rho_gains(
    rows: list[dict[str, Any]], target: str, other: str, seed: int, set_name: str
) -> list[tuple[float, float]]:
    """(LPIPS-Alex gain, PSNR-Y gain) of ``target`` over ``other`` at each shared rho."""
    a = {
        r["rho"]: r
        for r in rows
        if r["loss"] == target and r["seed"] == seed and r["set"] == set_name
    }
    b = {
        r["rho"]: r
        for r in rows
        if r["loss"] == other and r["seed"] == seed and r["set"] == set_name
    }
    return [
        (b[rho]["lpips_alex"] - a[rho]["lpips_alex"], a[rho]["psnr_y"] - b[rho]["psnr_y"])
        for rho in sorted(set(a) & set(b))
    ]


def _outcome(effect: float, seed_sd: float) -> str:
    """The effect against twice the seed-to-seed SD."""
    if not math.isfinite(effect):
        return "undetermined"
    if not math.isfinite(seed_sd) or seed_sd == 0:
        return ("better" if effect > 0 else "worse") + " (no seed spread available)"
    if effect > 2 * seed_sd:
        return "better"
    if effect < -2 * seed_sd:
        return "worse"
    return "not resolved"


def _compare(
    rows: list[dict[str, Any]],
    target: str,
    other: str,
    seeds: Sequence[int],
    set_name: str,
    seed_sd: float,
) -> dict[str, Any]:
    """One verdict (without ``paired``): matched-PSNR gap, else the same-rho gain."""
    gaps, same_rho = [], []
    for s in seeds:
        g = matched_psnr_gap(_curve(rows, target, s, set_name), _curve(rows, other, s, set_name))
        if g is not None:
            gaps.append(g)
        same_rho += _same_rho_gains(rows, target, other, s, set_name)
    gap, gap_sd = mean_sd(gaps)
    d_lp = float(np.mean([x[0] for x in same_rho])) if same_rho else float("nan")
    d_ps = float(np.mean([x[1] for x in same_rho])) if same_rho else float("nan")
    effect = gap if gaps else d_lp
    return {
        "set": set_name,
        "target": target,
        "other": other,
        "basis": "matched PSNR" if gaps else "same rho",
        "lpips_gap": effect,
        "lpips_gap_sd_over_seeds": gap_sd,
        "n_seeds_with_overlap": len(gaps),
        "same_rho_lpips_gain": d_lp,
        "same_rho_psnr_gain": d_ps,
        "seed_sd_lpips": seed_sd,
        "ratio_to_seed_sd": effect / seed_sd
        if seed_sd and math.isfinite(seed_sd)
        else float("nan"),
        "outcome": _outcome(effect, seed_sd),
    }
