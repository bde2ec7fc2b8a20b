"""``castle_fit``: a parametric CSF fitted to the castleCSF achromatic data, and its parameter file.

A log-parabola CSF with luminance-dependent peak and area summation, fitted to the static,
foveal, achromatic rows of the castleCSF data (Ashraf, Mantiuk, Chapiro & Wuerger 2024,
J. Vision 24(4):5) by :mod:`hvsprobe.human.castle`; the fitted coefficients ship as
``hvsprobe/data/castle_csf_fit.json``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._io import check_schema, read_json
from .._validation import check_frequency, check_positive, check_positive_array

__all__ = [
    "CASTLE_FIT_KIND",
    "CASTLE_FIT_PARAM_NAMES",
    "CASTLE_FIT_SCHEMA_VERSION",
    "castle_fit_csf",
    "load_castle_fit_document",
]

CASTLE_FIT_KIND = "castle_csf_fit"
CASTLE_FIT_SCHEMA_VERSION = 1

#: Coefficients of the castle_fit form, in the order used by the fit.
CASTLE_FIT_PARAM_NAMES: tuple[str, ...] = (
    "peak_gain_max",  # S_inf: peak sensitivity at high luminance
    "gain_knee_luminance",  # L_s (cd/m^2)
    "gain_exponent",  # gamma_s
    "peak_freq_max",  # f_inf (cpd): peak frequency at high luminance
    "freq_knee_luminance",  # L_f (cd/m^2)
    "freq_exponent",  # gamma_f
    "bandwidth_oct",  # b: full width at half maximum of the log-parabola, octaves
    "low_freq_floor_log10",  # delta: asymptotic log10 drop below the peak at low frequency
    "area_max_deg2",  # A_max: largest summation area (deg^2)
    "n_cycles",  # N_c: side of the critical area in cycles
)

CASTLE_NONNEG = {"gain_exponent", "freq_exponent"}
_LOG10_2 = math.log10(2.0)


def castle_log10(
    f: np.ndarray, lum: np.ndarray, area: np.ndarray, coeffs: Mapping[str, float]
) -> np.ndarray:
    """log10 sensitivity of the castle_fit form (no input checks; broadcasts)."""
    s_peak = coeffs["peak_gain_max"] * (1.0 + coeffs["gain_knee_luminance"] / lum) ** (
        -coeffs["gain_exponent"]
    )
    f_peak = coeffs["peak_freq_max"] * (1.0 + coeffs["freq_knee_luminance"] / lum) ** (
        -coeffs["freq_exponent"]
    )
    octaves = np.log2(f / f_peak)
    drop = _LOG10_2 * (2.0 * octaves / coeffs["bandwidth_oct"]) ** 2
    # below the peak the parabola saturates smoothly at -delta (soft truncation)
    delta = coeffs["low_freq_floor_log10"]
    soft = delta * -np.expm1(-drop / delta)
    log_shape = -np.where(octaves < 0, soft, drop)
    crit_area = 1.0 / (1.0 / coeffs["area_max_deg2"] + f**2 / coeffs["n_cycles"] ** 2)
    return np.log10(s_peak) + log_shape - 0.5 * np.log10(1.0 + crit_area / area)


def packaged_fit_path() -> Any:
    return resources.files("hvsprobe") / "data" / "castle_csf_fit.json"


@functools.lru_cache(maxsize=1)
def cached_packaged_document() -> str:
    path = packaged_fit_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the packaged castle_fit parameters are missing ({path}); regenerate them with "
            "`python -m hvsprobe.human.castle --data-root <folder holding psychophysics/>`"
        ) from None
    return text


def load_castle_fit_document(path: Any = None) -> dict[str, Any]:
    """Read a castle_fit parameter file (default: the one shipped inside the package).

    Parameters
    ----------
    path : path-like or None
        JSON file written by :func:`hvsprobe.human.castle.write_castle_fit`; ``None``
        reads ``hvsprobe/data/castle_csf_fit.json``.

    Returns
    -------
    dict
        The document (``kind``, ``schema_version``, ``params``, ``data``, ``fit`` ...).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a supported castle_fit document.
    """
    if path is None:
        doc = json.loads(cached_packaged_document())
        where: Any = packaged_fit_path()
    else:
        doc = read_json(path)
        where = path
    check_schema(doc, CASTLE_FIT_KIND, CASTLE_FIT_SCHEMA_VERSION, where)
    params = doc.get("params", {})
    missing = [n for n in CASTLE_FIT_PARAM_NAMES if n not in params]
    if missing:
        raise ValueError(f"{where}: castle_fit parameters missing: {', '.join(missing)}")
    return doc


def castle_defaults(given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults of the castle_fit model; reads the packaged fit only when needed."""
    out: dict[str, Any] = {"luminance": 100.0, "area_deg2": 16.0}
    if given is not None and all(n in given for n in CASTLE_FIT_PARAM_NAMES):
        out.update({n: given[n] for n in CASTLE_FIT_PARAM_NAMES})
        return out
    params = load_castle_fit_document()["params"]
    out.update({n: float(params[n]) for n in CASTLE_FIT_PARAM_NAMES})
    return out


def castle_fit_csf(
    frequency_cpd: ArrayLike,
    *,
    luminance: ArrayLike = 100.0,
    area_deg2: ArrayLike = 16.0,
    **coeffs: float,
) -> np.ndarray:
    r"""The castle_fit CSF: a log-parabola with luminance-dependent peak and area summation.

    .. math::

        S(f; L, A) = S_p(L)\,P(f; f_p(L))\,\bigl[1 + A_c(f)/A\bigr]^{-1/2}

    with :math:`S_p(L) = S_\infty (1 + L_s/L)^{-\gamma_s}`,
    :math:`f_p(L) = f_\infty (1 + L_f/L)^{-\gamma_f}`,
    :math:`\log_{10} P = -q` with :math:`q = \log_{10}2\,(2\log_2(f/f_p)/b)^2` at and
    above the peak frequency and :math:`\log_{10} P = -\delta(1 - e^{-q/\delta})` below
    it (a log-parabola softly truncated at :math:`-\delta`), and the critical area
    :math:`A_c(f) = (1/A_\mathrm{max} + f^2/N_c^2)^{-1}`.

    Parameters
    ----------
    frequency_cpd : array_like
        Spatial frequency in cycles per degree, finite and > 0.
    luminance : array_like
        Mean luminance in cd/m^2 (broadcast against ``frequency_cpd``).
    area_deg2 : array_like
        Stimulus area in square degrees.
    **coeffs : float
        Any of :data:`CASTLE_FIT_PARAM_NAMES`; missing ones come from the packaged fit.

    Returns
    -------
    numpy.ndarray
        Contrast sensitivity (1 / threshold Michelson contrast).

    Raises
    ------
    ValueError
        For invalid inputs or unknown coefficient names.
    """
    f = check_frequency(frequency_cpd)
    lum = check_positive_array(luminance, "luminance")
    area = check_positive_array(area_deg2, "area_deg2")
    unknown = sorted(set(coeffs) - set(CASTLE_FIT_PARAM_NAMES))
    if unknown:
        raise ValueError(
            f"unknown castle_fit coefficient(s) {unknown}; known: {', '.join(CASTLE_FIT_PARAM_NAMES)}"
        )
    full = {n: v for n, v in castle_defaults(coeffs).items() if n in CASTLE_FIT_PARAM_NAMES}
    full.update(coeffs)
    checked = {n: check_positive(v, n, allow_zero=n in CASTLE_NONNEG) for n, v in full.items()}
    return 10.0 ** castle_log10(f, lum, area, checked)
