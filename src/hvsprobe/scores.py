"""Per-channel scores from tuning arrays: mu1 (frequency), mu2 (orientation), PE.

All equations, and the reasons for each choice, are in ``docs/method.md``. In brief, for a
channel with phase-averaged response ``r(f, theta)`` at the chosen contrast:

* best stimulus ``(f*, theta*) = argmax r``; frequency curve ``a(f) = r(f, theta*)``
  (``frequency_curve='preferred'``, default), the orientation mean, or the orientation max;
* **mu1** ``'csf_logslope'`` (default): CSF-weighted mean of ``|d a~ / d ln f|`` with
  ``a~ = a / max|a|``, trapezoid weights in ``ln f``: independent of the channel's gain and,
  to first order, of how densely frequencies are sampled; ``'vfss_v1'``: the authors' v1
  formula ``sum_i CSF_v1(f_i) |gradient(a)(i)|`` with MATLAB's index gradient, verbatim;
* **mu2** ``'circular'`` (default): ``1 - circular variance`` of the rectified orientation
  curve at ``f*`` (angles doubled, period 180 deg); ``'peak'``: ``(R_pref - R_orth) /
  (R_pref + R_orth)``;
* **PE** ``'product_layer_max'`` (default): ``(mu1 / max_layer mu1) * (mu2 / max_layer mu2)``;
  ``'product_layer_rank'``: product of within-layer percentile ranks; ``'product'``: raw
  ``mu1 * mu2``.

Dead channels (no response to any stimulus) get NaN scores and ``dead=True``: they are
reported, never silently scored as 0.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_path, check_schema, read_json, write_json_atomic
from ._validation import check_choice
from .tuning import Tuning

__all__ = [
    "MU1_VARIANTS",
    "MU2_VARIANTS",
    "PE_VARIANTS",
    "ChannelScores",
    "ScoreConfig",
    "bandwidth_octaves",
    "circular_selectivity",
    "compute_scores",
    "matlab_gradient",
    "mu1_csf_logslope",
    "mu1_vfss_v1",
    "peak_selectivity",
]

SCHEMA_VERSION = 2
MU1_VARIANTS = ("csf_logslope", "vfss_v1")
MU2_VARIANTS = ("circular", "peak")
PE_VARIANTS = ("product_layer_max", "product_layer_rank", "product")
FREQUENCY_CURVES = ("preferred", "mean", "max")
COLUMNS = (
    "layer",
    "channel",
    "dead",
    "mu1",
    "mu2",
    "pe",
    "best_frequency_cpd",
    "preferred_orientation_deg",
    "osi_peak",
    "orientation_selective",
    "orientation_selective_peak",
    "bandwidth_oct",
    "bandwidth_censored",
    "peak_response",
    "peak_rel_median",
    "weak",
    "border_share",
    "border_dominated",
    "peak_at_top",
    "peak_at_bottom",
    "selectable",
)
#: Boolean columns of the score table.
FLAG_COLUMNS = (
    "dead",
    "orientation_selective",
    "orientation_selective_peak",
    "bandwidth_censored",
    "weak",
    "border_dominated",
    "peak_at_top",
    "peak_at_bottom",
    "selectable",
)
#: The CSF weighting mu1 'csf_logslope' by default: the model with the lowest
#: leave-one-dataset-out error on the castleCSF data (docs/human.md, "Held-out error").
DEFAULT_CSF = "barten"


@dataclass(frozen=True)
class ScoreConfig:
    """Which variant of each score to compute, and with which human CSF.

    Attributes
    ----------
    mu1, mu2, pe : str
        Variant names (see module docstring).
    csf : str, optional
        CSF name for :func:`hvsprobe.human.get_csf`, weighting mu1 ``'csf_logslope'``.
        Default (``None``) :data:`DEFAULT_CSF` = ``'barten'``, the model with the lowest
        held-out (leave-one-dataset-out) error against the castleCSF data (docs/human.md).
        ``'vfss_v1'`` always uses the v1 Mannos–Sakrison variant, as the authors' code did,
        so a CSF given with it is refused rather than recorded as if used.
    csf_params : dict
        Extra parameters of the CSF. Viewing-condition parameters that are left out are
        filled from the stimulus grid (see :func:`resolve_csf_params`): field area or size
        from the grid's size and ppd, and a 100 cd/m^2 display luminance.
    frequency_curve : {'preferred', 'mean', 'max'}
        How the frequency curve is taken from ``r(f, theta)``.
    contrast_index : int
        Which contrast of the grid to score (default: the last, i.e. highest).
    selective_osi : float
        Threshold of the peak index ``(R_pref - R_orth) / (R_pref + R_orth)`` for the
        ``orientation_selective_peak`` column (1/3: a 2:1 preferred-to-orthogonal ratio).
    selective_circular : float
        Threshold of ``1 - circular variance`` (mu2 'circular') for the
        ``orientation_selective`` column. 1/6 is the same 2:1 criterion for a sinusoidal
        orientation curve ``a + b cos 2(theta - theta0)`` (docs/method.md section 5). With
        ``mu2='peak'`` the column uses ``selective_osi``: it always uses mu2's own index.
    dead_rtol, dead_atol : float
        A channel is dead when ``max |response| <= dead_atol + dead_rtol * layer max``.
    weak_fraction : float
        A live channel is weak when its peak (best-stimulus) response is below this fraction
        of the median peak of its layer's live channels (default 0.1), or below
        ``weak_max_fraction`` of the layer's largest peak.
    weak_max_fraction : float
        See ``weak_fraction`` (default 0.001).
    border_max_share : float
        A channel is border dominated when the zero-padded border changes its whole-map
        response to its best stimulus by more than this share (default 0.5; needs a
        border-free probe, see :mod:`hvsprobe.response`).

    Examples
    --------
    >>> ScoreConfig().csf_name
    'barten'
    >>> ScoreConfig(mu1="vfss_v1", csf="barten")
    Traceback (most recent call last):
    ...
    ValueError: csf='barten' does not apply to mu1='vfss_v1', which always uses the authors' v1 Mannos-Sakrison CSF; leave csf unset
    """

    mu1: str = "csf_logslope"
    mu2: str = "circular"
    pe: str = "product_layer_max"
    csf: str | None = None
    csf_params: dict[str, Any] = field(default_factory=dict)
    frequency_curve: str = "preferred"
    contrast_index: int = -1
    selective_osi: float = 1.0 / 3.0
    selective_circular: float = 1.0 / 6.0
    dead_rtol: float = 1e-6
    dead_atol: float = 1e-12
    weak_fraction: float = 0.1
    weak_max_fraction: float = 0.001
    border_max_share: float = 0.5

    def __post_init__(self) -> None:
        check_choice(self.mu1, "mu1 variant", MU1_VARIANTS)
        check_choice(self.mu2, "mu2 variant", MU2_VARIANTS)
        check_choice(self.pe, "PE variant", PE_VARIANTS)
        check_choice(self.frequency_curve, "frequency_curve", FREQUENCY_CURVES)
        for name in ("selective_osi", "selective_circular", "weak_fraction", "border_max_share"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {v}")
        if not 0.0 <= self.weak_max_fraction < 1.0:
            raise ValueError(f"weak_max_fraction must lie in [0, 1), got {self.weak_max_fraction}")
        if self.mu1 == "vfss_v1" and (
            self.csf not in (None, "mannos_sakrison_v1") or self.csf_params
        ):
            what = (
                f"csf={self.csf!r}"
                if self.csf not in (None, "mannos_sakrison_v1")
                else "csf_params"
            )
            raise ValueError(
                f"{what} does not apply to mu1='vfss_v1', which always uses the authors' v1 "
                "Mannos-Sakrison CSF; leave csf unset"
            )
        if self.csf is not None:
            from .human import list_csfs

            check_choice(self.csf, "csf", list_csfs())

    @property
    def csf_name(self) -> str:
        """The CSF actually used: ``csf``, or the default of the mu1 variant."""
        if self.mu1 == "vfss_v1":
            return "mannos_sakrison_v1"
        return self.csf or DEFAULT_CSF

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``csf`` resolved to the CSF actually used)."""
        return {**asdict(self), "csf": self.csf_name}


# ----------------------------------------------------------------------------------------
# the formulas, as small pure functions on arrays


def matlab_gradient(y: np.ndarray, axis: int = -1) -> np.ndarray:
    """MATLAB's ``gradient(y)`` with unit spacing: central differences, one-sided at the ends."""
    return np.gradient(np.asarray(y, dtype=np.float64), axis=axis, edge_order=1)


def _log_trapezoid_weights(freqs: np.ndarray) -> np.ndarray:
    """Trapezoid-rule weights for integrating over ``ln f`` at the given samples."""
    x = np.log(freqs)
    if x.size == 1:
        return np.ones(1)
    dx = np.diff(x)
    w = np.zeros_like(x)
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
    return (np.abs(slope) * weights).sum(axis=1) / weights.sum()


def mu1_vfss_v1(curves: np.ndarray, csf_v1: np.ndarray) -> np.ndarray:
    """The authors' v1 frequency score ``VFSS_m = sum_i CSF(f_i) |gradient(a_m)(i)|``.

    Raw (unnormalised) responses, MATLAB index gradient, the CSF values as given.
    """
    return (np.asarray(csf_v1)[None, :] * np.abs(matlab_gradient(curves, axis=1))).sum(axis=1)


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
    """
    o = np.clip(np.asarray(curves, dtype=np.float64), 0.0, None)
    th = np.asarray(orientations_deg, dtype=np.float64)
    best = o.argmax(axis=1)
    r_pref = o[np.arange(o.shape[0]), best]
    r_orth = _circular_interp(o, th, th[best] + 90.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(r_pref > 0, (r_pref - r_orth) / (r_pref + r_orth), np.nan)


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


def _refine_peak_log(curve_row: np.ndarray, freqs: np.ndarray, k: int) -> float:
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


def _normalise_pe(
    mu1: np.ndarray, mu2: np.ndarray, variant: str, reference: np.ndarray | None = None
) -> np.ndarray:
    """PE of every channel with finite scores, normalised within the layer.

    The layer maxima (``product_layer_max``) and percentile ranks (``product_layer_rank``)
    are taken over the ``reference`` channels (default: all with finite scores; the driver
    passes the selectable ones, so that a near-silent or border-driven channel cannot set
    the scale). Flagged channels are scored on the same scale and may exceed 1.
    """
    live = np.isfinite(mu1) & np.isfinite(mu2)
    ref = live if reference is None else (live & reference)
    if not ref.any():
        ref = live
    pe = np.full(mu1.shape, np.nan)
    if not live.any():
        return pe
    a, b = mu1[live], mu2[live]
    if variant == "product":
        pe[live] = a * b
    elif variant == "product_layer_max":
        ma, mb = mu1[ref].max(), mu2[ref].max()
        pe[live] = (a / ma if ma > 0 else 0.0) * (b / mb if mb > 0 else 0.0)
    elif variant == "product_layer_rank":
        ra, rb = np.sort(mu1[ref]), np.sort(mu2[ref])

        def pct(sorted_ref: np.ndarray, v: np.ndarray) -> np.ndarray:
            lo = np.searchsorted(sorted_ref, v, side="left")
            hi = np.searchsorted(sorted_ref, v, side="right")
            return (lo + hi + 1) / 2.0 / sorted_ref.size  # mid-rank, as scipy's rankdata

        pe[live] = pct(ra, a) * pct(rb, b)
    return pe


# ----------------------------------------------------------------------------------------
# the result object


@dataclass
class ChannelScores:
    """A table with one row per (layer, channel) and the configuration that produced it.

    ``columns`` maps each name of :data:`COLUMNS` to a numpy array of equal length.
    """

    columns: dict[str, np.ndarray]
    config: dict[str, Any]

    def __len__(self) -> int:
        return len(self.columns["channel"])

    @property
    def layers(self) -> list[str]:
        """Layer names in the order they appear."""
        return list(dict.fromkeys(self.columns["layer"].tolist()))

    def layer(self, name: str) -> dict[str, np.ndarray]:
        """The rows of one layer."""
        mask = self.columns["layer"] == name
        if not mask.any():
            raise ValueError(f"no scores for layer {name!r}; have {self.layers}")
        return {k: v[mask] for k, v in self.columns.items()}

    def summary(self) -> list[dict[str, Any]]:
        """Per layer: counts of every flag, medians of the scores, selective shares.

        Medians are over live channels. The median best frequency comes with the share of
        live channels whose peak sits at the top (or bottom) of the frequency grid: for
        those the true peak lies beyond the grid, so the median is a bound, not an estimate.
        """
        rows = []
        for name in self.layers:
            t = self.layer(name)
            live = ~t["dead"]
            n_live = int(live.sum())
            ok = t["selectable"] if "selectable" in t else live
            by = "pe" if np.isfinite(t["pe"][ok]).any() else "mu1"  # concentric: no PE
            top = np.argsort(-np.where(ok, np.nan_to_num(t[by], nan=-np.inf), -np.inf))[:5]

            def med(col: str, t: dict[str, np.ndarray] = t, live: np.ndarray = live) -> float:
                vals = t[col][live]
                vals = vals[np.isfinite(vals)]
                return float(np.median(vals)) if vals.size else math.nan

            def count(col: str, t: dict[str, np.ndarray] = t) -> int:
                return int(t[col].sum()) if col in t else 0

            def share(n: int, n_live: int = n_live) -> float:
                return n / n_live if n_live else math.nan

            rows.append(
                {
                    "layer": name,
                    "channels": int(live.size),
                    "dead": int((~live).sum()),
                    "weak": count("weak"),
                    "border_dominated": count("border_dominated"),
                    "peak_at_top": count("peak_at_top"),
                    "peak_at_bottom": count("peak_at_bottom"),
                    "bandwidth_censored": count("bandwidth_censored"),
                    "selectable": count("selectable"),
                    "median_mu1": med("mu1"),
                    "median_mu2": med("mu2"),
                    "median_pe": med("pe"),
                    "median_best_frequency_cpd": med("best_frequency_cpd"),
                    "share_peak_at_top": share(count("peak_at_top")),
                    "share_peak_at_bottom": share(count("peak_at_bottom")),
                    "orientation_selective": count("orientation_selective"),
                    "share_orientation_selective": share(count("orientation_selective")),
                    "orientation_selective_peak": count("orientation_selective_peak"),
                    "share_orientation_selective_peak": share(count("orientation_selective_peak")),
                    "top_channels": [int(t["channel"][i]) for i in top if ok[i]],
                    "top_channels_by": by,
                }
            )
        return rows

    def save(self, path: str | Path) -> Path:
        """Write ``scores.csv`` (the table) and ``scores.json`` (config) atomically.

        ``path`` is a folder.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / "scores.csv") as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(COLUMNS)
                for i in range(len(self)):
                    row = []
                    for col in COLUMNS:
                        v = self.columns[col][i]
                        if isinstance(v, np.floating | float):
                            row.append("" if not np.isfinite(v) else f"{float(v):.9g}")
                        elif isinstance(v, np.bool_ | bool):
                            row.append("1" if v else "0")
                        else:
                            row.append(str(v))
                    w.writerow(row)
        write_json_atomic(
            path / "scores.json",
            {
                "kind": "scores",
                "schema_version": SCHEMA_VERSION,
                "columns": list(COLUMNS),
                "config": self.config,
            },
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChannelScores:
        """Read a folder written by :meth:`save`."""
        path = Path(path)
        meta = read_json(path / "scores.json")
        check_schema(meta, "scores", SCHEMA_VERSION, path / "scores.json")
        with open(path / "scores.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        cols: dict[str, np.ndarray] = {}
        have = set(rows[0]) if rows else set(COLUMNS)
        missing = [c for c in COLUMNS if c not in have]
        if missing:
            raise ValueError(
                f"{path / 'scores.csv'} lacks columns {missing} (written by an older hvsprobe); "
                "rerun `hvsprobe analyze` (the cached tuning is reused)"
            )
        for col in COLUMNS:
            vals = [r[col] for r in rows]
            if col == "layer":
                cols[col] = np.array(vals, dtype=object)
            elif col == "channel":
                cols[col] = np.array([int(v) for v in vals], dtype=np.int64)
            elif col in FLAG_COLUMNS:
                cols[col] = np.array([v == "1" for v in vals], dtype=bool)
            else:
                cols[col] = np.array([float(v) if v != "" else np.nan for v in vals])
        return cls(columns=cols, config=meta["config"])


# ----------------------------------------------------------------------------------------
# the driver


#: Mean display luminance assumed for the probe stimuli (cd/m^2), a typical SDR display.
DISPLAY_LUMINANCE = 100.0


def resolve_csf_params(name: str, params: dict[str, Any], grid: Any) -> dict[str, Any]:
    """Fill the CSF's viewing-condition parameters that ``params`` leaves out from ``grid``.

    ``castle_fit`` gets ``area_deg2`` = the stimulus field area, ``barten`` gets
    ``field_size_deg`` = the square root of that area; both get ``luminance`` =
    :data:`DISPLAY_LUMINANCE` unless given. Other CSFs take no viewing condition.
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


def _csf_values(name: str, params: dict[str, Any], freqs: np.ndarray) -> np.ndarray:
    from .human import get_csf

    return np.asarray(get_csf(name, **params)(freqs), dtype=np.float64)


def _strength(
    peak: np.ndarray, live: np.ndarray, config: ScoreConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Peak relative to the layer's median live peak, and the ``weak`` flag."""
    mags = np.abs(peak[live])
    med = float(np.median(mags)) if mags.size else math.nan
    top = float(mags.max()) if mags.size else math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(live, peak / med, np.nan) if med > 0 else np.full(peak.shape, np.nan)
    weak = live & ((peak < config.weak_fraction * med) | (peak < config.weak_max_fraction * top))
    return rel, weak


def border_shares(r: np.ndarray, best_whole_map: np.ndarray | None) -> np.ndarray:
    """Share of each channel's whole-map best-stimulus response that the border changes.

    ``|a_whole - a_free| / max(|a_whole|, |a_free|)`` with ``a_free`` the border-free
    response to the channel's best stimulus and ``a_whole`` the paper's whole-map response
    to the same stimulus (``Tuning.best_whole_map``): 0 when the border changes nothing,
    above 0.5 when it contributes more than half, 1 for a channel that responds only to the
    border. NaN without a border-free probe.

    Parameters
    ----------
    r : ndarray, shape (C, F, O)
        Border-free phase-averaged responses at the scored contrast.
    best_whole_map : ndarray, shape (C, 3), optional
        Frequency index, orientation index and whole-map response per channel.
    """
    c = r.shape[0]
    if best_whole_map is None or len(best_whole_map) != c:
        return np.full(c, np.nan)
    i_f = best_whole_map[:, 0].astype(np.int64)
    i_o = best_whole_map[:, 1].astype(np.int64)
    free = r[np.arange(c), i_f, i_o]
    whole = best_whole_map[:, 2]
    denom = np.maximum(np.abs(whole), np.abs(free))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, np.abs(whole - free) / denom, np.nan)


def _orientation_columns(
    r: np.ndarray, kf: np.ndarray, orientations: np.ndarray, config: ScoreConfig
) -> dict[str, np.ndarray]:
    """mu2, preferred orientation, peak index and the two selectivity flags."""
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


def score_layer(
    responses: np.ndarray,
    freqs: np.ndarray,
    orientations: np.ndarray,
    config: ScoreConfig,
    csf_fn: Callable[[np.ndarray], np.ndarray] | None = None,
    best_whole_map: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Scores and flags for one layer's responses ``C x F x O x P x K`` (see :class:`ScoreConfig`)."""
    resp = np.asarray(responses, dtype=np.float64)
    if resp.ndim != 5:
        raise ValueError(f"responses must be C x F x O x P x K, got shape {resp.shape}")
    c, f, o = resp.shape[:3]
    if f != len(freqs) or o != len(orientations):
        raise ValueError("responses do not match the grid's frequencies/orientations")
    scale = np.abs(resp).reshape(c, -1).max(axis=1)
    dead = scale <= config.dead_atol + config.dead_rtol * (scale.max() if c else 0.0)
    r = resp.mean(axis=3)[..., config.contrast_index]  # C x F x O
    flat = r.reshape(c, -1).argmax(axis=1)
    kf, ko = np.unravel_index(flat, (f, o))
    rows = np.arange(c)
    if config.frequency_curve == "preferred":
        curve = r[rows, :, ko]
    elif config.frequency_curve == "mean":
        curve = r.mean(axis=2)
    else:
        curve = r.max(axis=2)
    if config.mu1 == "csf_logslope":
        csf = csf_fn(freqs) if csf_fn else _csf_values(config.csf_name, config.csf_params, freqs)
        mu1 = mu1_csf_logslope(curve, freqs, csf)
    else:
        mu1 = mu1_vfss_v1(curve, _csf_values("mannos_sakrison_v1", {}, freqs))
    ori = _orientation_columns(r, kf, orientations, config)
    pref_curve = r[rows, :, ko]
    bw, cens = bandwidth_octaves(pref_curve, freqs)
    best_f = np.array([_refine_peak_log(pref_curve[i], freqs, int(kf[i])) for i in range(c)])
    mu1, mu2, osi, pref, bw, best_f = (
        np.where(dead, np.nan, v) for v in (mu1, ori["mu2"], ori["osi"], ori["pref"], bw, best_f)
    )
    live = ~dead
    peak = r.reshape(c, -1).max(axis=1)
    rel, weak = _strength(peak, live, config)
    share = np.where(dead, np.nan, border_shares(r, best_whole_map))
    border = live & (np.nan_to_num(share, nan=0.0) > config.border_max_share)
    return {
        "dead": dead,
        "mu1": mu1,
        "mu2": mu2,
        "pe": _normalise_pe(mu1, mu2, config.pe, live & ~weak & ~border),
        "best_frequency_cpd": best_f,
        "preferred_orientation_deg": pref,
        "osi_peak": osi,
        "orientation_selective": live & ori["sel"],
        "orientation_selective_peak": live & ori["sel_peak"],
        "bandwidth_oct": bw,
        "bandwidth_censored": cens & live,
        "peak_response": peak,
        "peak_rel_median": rel,
        "weak": weak,
        "border_share": share,
        "border_dominated": border,
        "peak_at_top": live & (kf == f - 1),
        "peak_at_bottom": live & (kf == 0),
        "selectable": live & ~weak & ~border,
    }


def compute_scores(tuning: Tuning, config: ScoreConfig | None = None) -> ChannelScores:
    """Score every channel of every layer of ``tuning``.

    Parameters
    ----------
    tuning : Tuning
        Probe result (see :func:`hvsprobe.probe.probe`).
    config : ScoreConfig, optional
        Variants and CSF; defaults documented in ``docs/method.md``.

    Returns
    -------
    ChannelScores
    """
    config = config or ScoreConfig()
    grid = tuning.grid
    freqs = np.asarray(grid.frequencies, dtype=np.float64)
    orients = np.asarray(grid.orientations, dtype=np.float64)
    csf_params = resolve_csf_params(config.csf_name, config.csf_params, grid)
    csf = _csf_values(config.csf_name, csf_params, freqs)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in COLUMNS}
    for layer in tuning.layers:
        res = score_layer(
            tuning.responses[layer],
            freqs,
            orients,
            config,
            csf_fn=lambda _f: csf,
            best_whole_map=tuning.best_whole_map.get(layer),
        )
        n = len(res["mu1"])
        parts["layer"].append(np.array([layer] * n, dtype=object))
        parts["channel"].append(np.arange(n, dtype=np.int64))
        for k, v in res.items():
            parts[k].append(v)
    cols = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    cfg = {
        "score": {**config.to_dict(), "csf_params": csf_params},
        "backbone": tuning.backbone,
        "weights": tuning.config.get("weights"),
        "weights_sha256": tuning.weights_sha256,
        "probe": {k: v for k, v in tuning.config.items() if k != "hvsprobe_version"},
    }
    return ChannelScores(columns=cols, config=cfg)
