"""The orientation score mu2: circular selectivity, the peak index and the selectivity flags."""

from __future__ import annotations

import numpy as np

from .config import ScoreConfig

__all__ = ["circular_selectivity", "orientation_columns", "peak_selectivity"]


def circular_selectivity(
    curves: np.ndarray, orientations_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``1 - circular variance`` and preferred orientation of orientation curves.

    Responses are rectified (negative means count as 0); angles are doubled because
    orientation has period 180 degrees.

    Returns
    -------
    selectivity : ndarray, shape (C,)
        In [0, 1]; NaN when the rectified curve is all zero.
    preferred : ndarray, shape (C,)
        Degrees in [0, 180).

    Examples
    --------
    >>> o = np.array([0.0, 45.0, 90.0, 135.0])
    >>> sel, pref = circular_selectivity(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]]), o)
    >>> sel.round(3).tolist(), pref.round(3).tolist()
    ([1.0, 1.0], [0.0, 45.0])
    """
    o = np.clip(np.asarray(curves, dtype=np.float64), 0.0, None)
    theta = np.deg2rad(np.asarray(orientations_deg, dtype=np.float64)) * 2.0
    z = (o * np.exp(1j * theta)[None, :]).sum(axis=1)
    total = o.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sel = np.where(total > 0, np.abs(z) / total, np.nan)
    pref = np.mod(np.rad2deg(np.angle(z)) / 2.0, 180.0)
    return sel, pref


def _circular_interp(
    curves: np.ndarray, orientations_deg: np.ndarray, at_deg: np.ndarray
) -> np.ndarray:
    """Linear interpolation of 180-degree-periodic curves at one angle per row."""
    th = np.mod(np.asarray(orientations_deg, dtype=np.float64), 180.0)
    order = np.argsort(th)
    th, curves = th[order], np.asarray(curves, dtype=np.float64)[:, order]
    th_ext = np.concatenate([th - 180.0, th, th + 180.0])
    out = np.empty(curves.shape[0])
    for c in range(curves.shape[0]):
        out[c] = np.interp(np.mod(at_deg[c], 180.0), th_ext, np.tile(curves[c], 3))
    return out


def peak_selectivity(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    """Peak orientation index ``(R_pref - R_orth) / (R_pref + R_orth)`` of rectified curves.

    ``R_pref`` is the largest sampled response, ``R_orth`` the response 90 degrees away
    (linearly interpolated on the circle when not sampled). NaN for all-zero curves.

    Examples
    --------
    >>> o = np.array([0.0, 45.0, 90.0, 135.0])
    >>> peak_selectivity(np.array([[3.0, 2.0, 1.0, 2.0]]), o).tolist()
    [0.5]
    """
    o = np.clip(np.asarray(curves, dtype=np.float64), 0.0, None)
    th = np.asarray(orientations_deg, dtype=np.float64)
    best = o.argmax(axis=1)
    r_pref = o[np.arange(o.shape[0]), best]
    r_orth = _circular_interp(o, th, th[best] + 90.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r_pref > 0, (r_pref - r_orth) / (r_pref + r_orth), np.nan)


def orientation_columns(
    r: np.ndarray, kf: np.ndarray, orientations: np.ndarray, config: ScoreConfig
) -> dict[str, np.ndarray]:
    """mu2, preferred orientation, peak index and the two selectivity flags.

    Examples
    --------
    >>> r = np.zeros((1, 1, 4))
    >>> r[0, 0] = [3.0, 2.0, 1.0, 2.0]
    >>> cols = orientation_columns(r, np.array([0]), np.array([0.0, 45.0, 90.0, 135.0]), ScoreConfig())
    >>> float(cols["osi"][0]), bool(cols["sel"][0])
    (0.5, True)
    """
    c = r.shape[0]
    if r.shape[2] < 2:  # concentric gratings: no orientation
        nan = np.full(c, np.nan)
        no = np.zeros(c, dtype=bool)
        return {"mu2": nan, "pref": nan, "osi": nan, "sel": no, "sel_peak": no}
    orient_curve = r[np.arange(c), kf, :]
    circ, pref = circular_selectivity(orient_curve, orientations)
    osi = peak_selectivity(orient_curve, orientations)
    mu2 = circ if config.mu2 == "circular" else osi
    thr = config.selective_circular if config.mu2 == "circular" else config.selective_osi
    sel = np.nan_to_num(mu2, nan=0.0) >= thr
    sel_peak = np.nan_to_num(osi, nan=0.0) >= config.selective_osi
    return {"mu2": mu2, "pref": pref, "osi": osi, "sel": sel, "sel_peak": sel_peak}
