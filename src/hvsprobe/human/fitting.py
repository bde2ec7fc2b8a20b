"""Fitting the ``castle_fit`` form to castleCSF rows, and any CSF at the rows' own conditions.

Shared by the in-sample fit and errors (:mod:`hvsprobe.human.castle`) and the
leave-one-dataset-out errors (:mod:`hvsprobe.human.heldout`); neither imports the other's
internals. scipy is imported here, so only the fit loads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from .castle_fit import CASTLE_FIT_PARAM_NAMES, castle_log10
from .models import CSFModel, evaluate_formula

__all__ = ["NEAR_PROBE", "fit_castle_coeffs", "fit_settings", "predict_at_rows"]

#: Rows "near the probe condition" in :func:`csf_error_table`: luminance (cd/m^2) and
#: area (deg^2) ranges, both inclusive.
NEAR_PROBE = {"luminance": (10.0, 1000.0), "area_deg2": (2.0, 100.0)}

# Fit parametrisation: coefficients marked True are fitted as log10 values.
_FIT_LOG = {
    "peak_gain_max": True,
    "gain_knee_luminance": True,
    "gain_exponent": False,
    "peak_freq_max": True,
    "freq_knee_luminance": True,
    "freq_exponent": False,
    "bandwidth_oct": False,
    "low_freq_floor_log10": True,
    "area_max_deg2": True,
    "n_cycles": True,
}
# start values and bounds in the fitted space (log10 where _FIT_LOG is True)
_FIT_X0 = {
    "peak_gain_max": math.log10(300.0),
    "gain_knee_luminance": 0.0,
    "gain_exponent": 0.5,
    "peak_freq_max": math.log10(4.0),
    "freq_knee_luminance": 0.0,
    "freq_exponent": 0.3,
    "bandwidth_oct": 4.0,
    "low_freq_floor_log10": math.log10(0.5),
    "area_max_deg2": 2.0,
    "n_cycles": math.log10(5.0),
}
_FIT_BOUNDS = {
    "peak_gain_max": (0.0, 4.0),
    "gain_knee_luminance": (-6.0, 4.0),
    "gain_exponent": (0.0, 2.0),
    "peak_freq_max": (-1.0, 1.5),
    "freq_knee_luminance": (-6.0, 5.0),
    "freq_exponent": (0.0, 2.0),
    "bandwidth_oct": (0.5, 12.0),
    "low_freq_floor_log10": (-3.0, 1.0),
    "area_max_deg2": (-2.0, 5.0),
    "n_cycles": (-1.0, 3.0),
}
_FIT_TOL = 1e-12
_FIT_MAX_NFEV = 20000

# --------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------


def _theta_to_coeffs(theta: Sequence[float]) -> dict[str, float]:
    return {
        n: float(10.0**t) if _FIT_LOG[n] else float(t)
        for n, t in zip(CASTLE_FIT_PARAM_NAMES, theta, strict=True)
    }


def fit_settings() -> dict[str, Any]:
    return {
        "form": (
            "S = S_inf (1 + L_s/L)^-gamma_s * P(f) * (1 + A_c(f)/A)^-1/2; "
            "f_p = f_inf (1 + L_f/L)^-gamma_f; q = log10(2) (2 log2(f/f_p)/b)^2; "
            "log10 P = -q for f >= f_p, -delta (1 - exp(-q/delta)) for f < f_p; "
            "A_c = 1/(1/A_max + f^2/N_c^2)"
        ),
        "residual": "log10(model) - log10(sensitivity), one per row, equal weights",
        "solver": "scipy.optimize.least_squares",
        "method": "trf",
        "loss": "linear",
        "xtol": _FIT_TOL,
        "ftol": _FIT_TOL,
        "gtol": _FIT_TOL,
        "max_nfev": _FIT_MAX_NFEV,
        "log10_parametrised": [n for n in CASTLE_FIT_PARAM_NAMES if _FIT_LOG[n]],
        "x0": {n: _FIT_X0[n] for n in CASTLE_FIT_PARAM_NAMES},
        "bounds": {n: list(_FIT_BOUNDS[n]) for n in CASTLE_FIT_PARAM_NAMES},
    }


def fit_castle_coeffs(data: Mapping[str, np.ndarray]) -> tuple[dict[str, float], dict[str, Any]]:
    f, lum, area = data["frequency"], data["luminance"], data["area"]
    target = np.log10(data["sensitivity"])

    def residual(theta: np.ndarray) -> np.ndarray:
        return castle_log10(f, lum, area, _theta_to_coeffs(theta)) - target

    x0 = np.array([_FIT_X0[n] for n in CASTLE_FIT_PARAM_NAMES])
    lo = np.array([_FIT_BOUNDS[n][0] for n in CASTLE_FIT_PARAM_NAMES])
    hi = np.array([_FIT_BOUNDS[n][1] for n in CASTLE_FIT_PARAM_NAMES])
    with np.errstate(all="ignore"):
        res = least_squares(
            residual,
            x0,
            bounds=(lo, hi),
            method="trf",
            loss="linear",
            xtol=_FIT_TOL,
            ftol=_FIT_TOL,
            gtol=_FIT_TOL,
            max_nfev=_FIT_MAX_NFEV,
        )
    if not res.success or not np.all(np.isfinite(res.fun)):
        raise RuntimeError(f"castle_fit did not converge: {res.message}")
    coeffs = _theta_to_coeffs(res.x)
    info = {
        "rmse_log10": float(np.sqrt(np.mean(res.fun**2))),
        "n_rows": int(f.size),
        "nfev": int(res.nfev),
        "status": int(res.status),
        "message": str(res.message),
        "at_bound": [
            n
            for n, t, a, b in zip(CASTLE_FIT_PARAM_NAMES, res.x, lo, hi, strict=True)
            if abs(t - a) < 1e-6 or abs(t - b) < 1e-6
        ],
    }
    return coeffs, info


def predict_at_rows(model: CSFModel, data: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate ``model`` at every row, at the row's own luminance and size if it takes them."""
    params = dict(model.params)
    if "luminance" in params:
        params["luminance"] = data["luminance"]
    if "field_size_deg" in params:
        params["field_size_deg"] = data["field_size_deg"]
    if "area_deg2" in params:
        params["area_deg2"] = data["area"]
    return evaluate_formula(model.name, data["frequency"], **params)
