"""The frequency score mu1, the frequency bandwidth and the best frequency.

``mu1`` ``'csf_logslope'`` weights a channel's log-frequency slope by a human CSF, whose
viewing condition is filled from the stimulus grid (:func:`resolve_csf_params`);
``'vfss_v1'`` is the authors' v1 formula (``docs/method.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "DISPLAY_LUMINANCE",
    "bandwidth_octaves",
    "matlab_gradient",
    "mu1_csf_logslope",
    "mu1_vfss_v1",
    "resolve_csf_params",
]


def matlab_gradient(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """MATLAB's ``gradient(y)`` with unit spacing: central differences, one-sided at the ends.

    Examples
    --------
    >>> matlab_gradient(np.array([1.0, 2.0, 4.0, 8.0])).tolist()
    [1.0, 1.5, 3.0, 4.0]
    """
    grad: np.ndarray = np.gradient(np.asarray(y, dtype=np.float64), axis=axis, edge_order=1)
    return grad


def _log_trapezoid_weights(freqs: np.ndarray) -> np.ndarray:
    """Trapezoid-rule weights for integrating over ``ln f`` at the given samples."""
    x: np.ndarray = np.log(freqs)
    if x.size == 1:
        return np.ones(1)
    dx = np.diff(x)
    w: np.ndarray = np.zeros_like(x)
    w[:-1] += dx / 2
    w[1:] += dx / 2
    return w


def mu1_csf_logslope(curves: np.ndarray, freqs: np.ndarray, csf: np.ndarray) -> np.ndarray:
    """CSF-weighted mean absolute log-frequency slope of gain-normalised curves.

    Parameters
    ----------
    curves : ndarray, shape (C, F)
        Frequency tuning curves.
    freqs : ndarray, shape (F,)
        Strictly increasing frequencies (cycles/degree).
    csf : ndarray, shape (F,)
        Human sensitivity at ``freqs`` (any scale; only its shape matters).

    Returns
    -------
    ndarray, shape (C,)
        ``sum_i w_i S_i |d a~/d ln f|_i / sum_i w_i S_i`` with ``a~ = a / max|a|`` and
        trapezoid weights ``w_i`` in ``ln f``. NaN where ``max|a| == 0``.

    Examples
    --------
    >>> f = np.array([1.0, 2.0, 4.0, 8.0])
    >>> flat, tuned = [1.0, 1.0, 1.0, 1.0], [0.1, 1.0, 0.1, 0.0]
    >>> mu1_csf_logslope(np.array([flat, tuned]), f, np.ones(4)).round(3).tolist()
    [0.0, 0.481]
    """
    curves = np.asarray(curves, dtype=np.float64)
    freqs = np.asarray(freqs, dtype=np.float64)
    if freqs.size < 3:
        raise ValueError(f"mu1 needs at least 3 frequencies, got {freqs.size}")
    scale = np.abs(curves).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(scale > 0, curves / scale, np.nan)
    slope = np.gradient(norm, np.log(freqs), axis=1, edge_order=1)
    weights = _log_trapezoid_weights(freqs) * np.asarray(csf, dtype=np.float64)
    mu1: np.ndarray = (np.abs(slope) * weights).sum(axis=1) / weights.sum()
    return mu1


def mu1_vfss_v1(curves: np.ndarray, csf_v1: np.ndarray) -> np.ndarray:
    """The authors' v1 frequency score ``VFSS_m = sum_i CSF(f_i) |gradient(a_m)(i)|``.

    Raw (unnormalised) responses, MATLAB index gradient, the CSF values as given.

    Examples
    --------
    >>> mu1_vfss_v1(np.array([[0.0, 1.0, 0.0]]), np.array([1.0, 2.0, 1.0])).tolist()
    [2.0]
    """
    mu1: np.ndarray = (np.asarray(csf_v1)[None, :] * np.abs(matlab_gradient(curves, axis=1))).sum(
        axis=1
    )
    return mu1


def bandwidth_octaves(
    curves: np.ndarray, freqs: np.ndarray, *, baseline: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Full width at half height of frequency curves, in octaves.

    With ``baseline=True`` (default) the half height lies halfway between the curve's
    minimum and its peak, so a response that never falls to zero (a DC offset, common in
    deep layers) still has a measurable width; ``baseline=False`` takes half the peak.
    Crossings are interpolated linearly in ``log2 f``. When the curve does not fall to the
    half height before an end of the sampled range, that end is used and the width is
    flagged as censored (a lower bound).

    Returns
    -------
    width : ndarray, shape (C,)
        Octaves; NaN where the peak is not positive or the curve is flat.
    censored : ndarray of bool, shape (C,)

    Examples
    --------
    >>> f = np.geomspace(1, 16, 5)  # 1, 2, 4, 8, 16 cpd
    >>> w, cens = bandwidth_octaves(np.array([[1.0, 2.0, 3.0, 2.0, 1.0]]), f)
    >>> float(w[0]), bool(cens[0])
    (2.0, False)
    """
    curves = np.asarray(curves, dtype=np.float64)
    lf = np.log2(np.asarray(freqs, dtype=np.float64))
    width = np.full(curves.shape[0], np.nan)
    censored = np.zeros(curves.shape[0], dtype=bool)
    for c, a in enumerate(curves):
        k = int(a.argmax())
        peak = a[k]
        base = float(a.min()) if baseline else 0.0
        if not peak > 0 or not peak > base:
            continue
        half = base + (peak - base) / 2.0
        lo, hi = lf[0], lf[-1]
        cens = False
        below = np.nonzero(a[:k] < half)[0]
        if below.size:
            j = below[-1]
            lo = np.interp(half, [a[j], a[j + 1]], [lf[j], lf[j + 1]])
        else:
            cens = True
        above = np.nonzero(a[k + 1 :] < half)[0]
        if above.size:
            j = k + above[0]
            hi = np.interp(half, [a[j + 1], a[j]], [lf[j + 1], lf[j]])
        else:
            cens = True
        width[c], censored[c] = hi - lo, cens
    return width, censored


def refine_peak_log(curve_row: np.ndarray, freqs: np.ndarray, k: int) -> float:
    """Parabolic refinement of a sampled maximum in log frequency."""
    if k == 0 or k == len(freqs) - 1:
        return float(freqs[k])
    x = np.log(freqs[k - 1 : k + 2])
    y = curve_row[k - 1 : k + 2]
    denom = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    a = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / denom
    b = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / denom
    if a >= 0:
        return float(freqs[k])
    xv = -b / (2 * a)
    return float(np.exp(np.clip(xv, x[0], x[2])))


#: Mean display luminance assumed for the probe stimuli (cd/m^2), a typical SDR display.
DISPLAY_LUMINANCE = 100.0


def resolve_csf_params(name: str, params: dict[str, Any], grid: Any) -> dict[str, Any]:
    """Fill the CSF's viewing-condition parameters that ``params`` leaves out from ``grid``.

    ``castle_fit`` gets ``area_deg2`` = the stimulus field area, ``barten`` gets
    ``field_size_deg`` = the square root of that area; both get ``luminance`` =
    :data:`DISPLAY_LUMINANCE` unless given. Other CSFs take no viewing condition.

    Examples
    --------
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> grid = StimulusGrid.default(size=60, ppd=60.0, n_frequencies=3)  # 1 x 1 degree
    >>> resolve_csf_params("barten", {}, grid)
    {'field_size_deg': 1.0, 'luminance': 100.0}
    >>> resolve_csf_params("castle_fit", {"luminance": 50.0}, grid)
    {'luminance': 50.0, 'area_deg2': 1.0}
    """
    out = dict(params)
    h, w = grid.size
    area = (h / grid.ppd) * (w / grid.ppd)
    if name == "castle_fit":
        out.setdefault("area_deg2", area)
        out.setdefault("luminance", DISPLAY_LUMINANCE)
    elif name == "barten":
        out.setdefault("field_size_deg", math.sqrt(area))
        out.setdefault("luminance", DISPLAY_LUMINANCE)
    return out


def csf_values(name: str, params: dict[str, Any], freqs: np.ndarray) -> np.ndarray:
    from ..human import get_csf

    return np.asarray(get_csf(name, **params)(freqs), dtype=np.float64)
