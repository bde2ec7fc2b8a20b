"""From a metric to a detection threshold: distance curves, bisection, interpolation.

A stimulus' threshold is the contrast ``c`` at which the distance between the blank
(``stimulus_fn(0)``) and the stimulus, ``D(c) = metric(blank, stimulus(c))``, reaches a
criterion.  The distance must not decrease with contrast; a violation is reported
(:class:`ThresholdError`), never papered over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..metric_interface import Metric, as_distance, metric_values, resolve_metric

__all__ = ["ThresholdError", "distance_curves", "threshold_contrast", "thresholds_from_curves"]


class ThresholdError(RuntimeError):
    """A threshold could not be found.

    Attributes
    ----------
    reason : str
        ``'below_range'`` (criterion already reached at the lowest contrast),
        ``'above_range'`` (not reached at the highest contrast), ``'non_monotone'``
        (distance decreases somewhere with contrast), ``'flat'`` (distance does not change)
        or ``'non_finite'``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class DistanceFn:
    """``D(c) = distance(metric(blank, stimulus(c)))`` with the blank computed once."""

    def __init__(
        self,
        metric: Metric,
        stimulus_fn: Callable[[float], torch.Tensor],
        device: torch.device | str | None,
        batch_size: int,
    ) -> None:
        self.metric = metric
        self.fn = stimulus_fn
        self.device = device
        self.batch_size = batch_size
        self.blank = self._one(0.0)

    def _one(self, c: float) -> torch.Tensor:
        img = self.fn(float(c))
        if not isinstance(img, torch.Tensor):
            raise TypeError(f"stimulus_fn must return a torch.Tensor, got {type(img).__name__}")
        if img.ndim == 3:
            img = img.unsqueeze(0)
        if img.ndim != 4 or img.shape[0] != 1:
            raise ValueError(
                f"stimulus_fn(contrast) must return 1 x 3 x H x W or 3 x H x W, got {tuple(img.shape)}"
            )
        return img

    def __call__(self, contrasts: Sequence[float] | np.ndarray) -> np.ndarray:
        cs = np.asarray(contrasts, dtype=np.float64).reshape(-1)
        out = np.empty(cs.size)
        batch = getattr(self.fn, "batch", None)
        for start in range(0, cs.size, self.batch_size):
            chunk = cs[start : start + self.batch_size]
            y = batch(chunk) if batch is not None else torch.cat([self._one(c) for c in chunk])
            x = self.blank.expand(y.shape[0], -1, -1, -1)
            vals = metric_values(self.metric, x, y, device=self.device)
            out[start : start + chunk.size] = as_distance(self.metric, vals)
        return out


def monotone_envelope(d: np.ndarray, rtol: float) -> bool:
    span = float(np.ptp(d))
    return bool(np.all(np.diff(d) >= -rtol * span))


def bisect_threshold(
    dist: Callable[[Sequence[float]], np.ndarray],
    criterion: float,
    lo: float,
    hi: float,
    d_lo: float,
    d_hi: float,
    tol_log10: float,
    atol: float,
    max_iter: int,
) -> float:
    """Bisection in log contrast inside a bracket with ``d_lo < criterion <= d_hi``."""
    for _ in range(max_iter):
        if math.log10(hi / lo) <= tol_log10:
            break
        mid = math.sqrt(lo * hi)
        dm = float(dist([mid])[0])
        if not math.isfinite(dm):
            raise ThresholdError(f"distance at contrast {mid:.4g} is not finite", "non_finite")
        if dm < d_lo - atol or dm > d_hi + atol:
            raise ThresholdError(
                f"distance is not monotone in contrast: D({lo:.4g}) = {d_lo:.4g}, "
                f"D({mid:.4g}) = {dm:.4g}, D({hi:.4g}) = {d_hi:.4g}",
                "non_monotone",
            )
        if dm >= criterion:
            hi, d_hi = mid, dm
        else:
            lo, d_lo = mid, dm
    return math.sqrt(lo * hi)


def threshold_contrast(
    metric: Metric | str,
    stimulus_fn: Callable[[float], torch.Tensor],
    criterion: float,
    *,
    c_min: float = 1e-4,
    c_max: float = 1.0,
    n_grid: int = 9,
    tol_log10: float = 1e-3,
    max_iter: int = 60,
    monotone_rtol: float = 1e-3,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> float:
    """Contrast at which ``metric(blank, stimulus_fn(c))`` reaches ``criterion``.

    The blank is ``stimulus_fn(0.0)``.  The distance (the metric value, negated when
    ``metric.higher_is_better``) is first evaluated on ``n_grid`` log-spaced contrasts from
    ``c_min`` to ``c_max`` in one batch: it must be non-decreasing there (each step may fall by
    at most ``monotone_rtol`` times the range of the values, for numerical noise) and must
    cross the criterion.  The crossing is then bisected in log contrast until the bracket is
    narrower than ``tol_log10`` decades, checking at every step that the new value lies
    between the bracket's values.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    stimulus_fn : callable
        ``stimulus_fn(contrast) -> 1 x 3 x H x W`` (or 3 x H x W) tensor in [0, 1].
    criterion : float
        Distance at threshold (in the oriented units: ``-value`` for higher-is-better
        metrics).
    c_min, c_max : float
        Search range (``0 < c_min < c_max``).
    n_grid : int
        Points of the initial scan (>= 2).
    tol_log10 : float
        Final bracket width in decades; the geometric centre of the bracket is returned.
    max_iter : int
        Most bisection steps.
    monotone_rtol : float
        Allowed relative decrease between grid points.
    batch_size : int
        Stimuli per metric call in the scan.
    device : torch.device or str, optional
        Device for the images.

    Returns
    -------
    float
        Threshold contrast.

    Raises
    ------
    ThresholdError
        If the criterion is reached below ``c_min`` or never up to ``c_max``, if the
        distance is not monotone, flat or not finite (see ``reason``).
    """
    m = resolve_metric(metric)
    k = float(criterion)
    if not math.isfinite(k):
        raise ValueError(f"criterion must be finite, got {criterion!r}")
    if not 0.0 < c_min < c_max:
        raise ValueError(f"need 0 < c_min < c_max, got c_min={c_min!r}, c_max={c_max!r}")
    if n_grid < 2:
        raise ValueError(f"n_grid must be >= 2, got {n_grid!r}")
    dist = DistanceFn(m, stimulus_fn, device, batch_size)
    grid = np.geomspace(c_min, c_max, int(n_grid))
    d = dist(grid)
    if not np.all(np.isfinite(d)):
        raise ThresholdError(f"metric {m.name!r} gave non-finite distances {d}", "non_finite")
    span = float(np.ptp(d))
    if span == 0:
        raise ThresholdError(
            f"metric {m.name!r}: distance {d[0]:.4g} does not change between contrasts "
            f"{c_min:g} and {c_max:g}",
            "flat",
        )
    if not monotone_envelope(d, monotone_rtol):
        raise ThresholdError(
            f"metric {m.name!r}: distance is not non-decreasing in contrast on the grid "
            f"{np.array2string(grid, precision=3)}: {np.array2string(d, precision=4)}",
            "non_monotone",
        )
    if d[0] >= k:
        raise ThresholdError(
            f"criterion {k:.4g} is already reached at c_min={c_min:g} (distance {d[0]:.4g}); "
            "lower c_min or raise the criterion",
            "below_range",
        )
    if d[-1] < k:
        raise ThresholdError(
            f"criterion {k:.4g} is not reached at c_max={c_max:g} (distance {d[-1]:.4g})",
            "above_range",
        )
    j = int(np.argmax(d >= k))
    return bisect_threshold(
        dist, k, grid[j - 1], grid[j], d[j - 1], d[j], tol_log10, monotone_rtol * span, max_iter
    )


def distance_curves(
    metric: Metric | str,
    stimulus_fns: Sequence[Callable[[float], torch.Tensor]],
    contrasts: Sequence[float] | np.ndarray,
    *,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Distance of every stimulus at every contrast, shape ``(S, K)``.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    stimulus_fns : sequence of callable
        ``fn(contrast) -> 1 x 3 x H x W``; ``fn(0.0)`` is the blank.
    contrasts : array_like
        ``K`` contrasts.
    batch_size : int
        Images per metric call.
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar over stimuli.

    Returns
    -------
    numpy.ndarray
    """
    from tqdm.auto import tqdm

    m = resolve_metric(metric)
    cs = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    out = np.empty((len(stimulus_fns), cs.size))
    for i, fn in enumerate(tqdm(stimulus_fns, disable=not progress, unit="stim", desc=m.name)):
        out[i] = DistanceFn(m, fn, device, batch_size)(cs)
    return out


def thresholds_from_curves(
    contrasts: Sequence[float] | np.ndarray,
    distances: np.ndarray,
    criterion: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds for a criterion by interpolating sampled distance curves.

    For each curve the first contrast sample with ``D >= criterion`` is found and the
    crossing is interpolated linearly in ``(log c, log D)`` when both bracketing distances
    are positive (exact for power laws ``D = a c^p``), else in ``(log c, D)``.

    Parameters
    ----------
    contrasts : array_like
        Increasing contrasts ``(K,)``.
    distances : numpy.ndarray
        ``(S, K)`` or ``(K,)`` distances.
    criterion : float
        The criterion.

    Returns
    -------
    thresholds : numpy.ndarray
        ``(S,)`` threshold contrasts, clipped to ``[c_1, c_K]``.
    censored : numpy.ndarray
        ``(S,)`` int: ``-1`` criterion reached at the lowest contrast already, ``+1`` never
        reached, ``0`` interpolated.
    """
    c = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    if d.shape[1] != c.size or c.size < 2:
        raise ValueError(f"distances {d.shape} do not match {c.size} contrasts")
    k = float(criterion)
    above = d >= k
    first = np.argmax(above, axis=1)
    never = ~above.any(axis=1)
    at_start = above[:, 0]
    censored = np.where(never, 1, np.where(at_start, -1, 0)).astype(np.int64)
    j = np.clip(first, 1, c.size - 1)
    rows = np.arange(d.shape[0])
    d0, d1 = d[rows, j - 1], d[rows, j]
    lc0, lc1 = np.log(c[j - 1]), np.log(c[j])
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = (d0 > 0) & (d1 > 0) & (k > 0)
        t_log = (math.log(k) if k > 0 else 0.0) - np.log(np.where(pos, d0, 1.0))
        t_log = t_log / (np.log(np.where(pos, d1, 2.0)) - np.log(np.where(pos, d0, 1.0)))
        t_lin = (k - d0) / (d1 - d0)
    t = np.clip(np.where(pos, t_log, t_lin), 0.0, 1.0)
    thr = np.exp(lc0 + t * (lc1 - lc0))
    thr = np.where(censored == 1, c[-1], np.where(censored == -1, c[0], thr))
    return thr, censored
