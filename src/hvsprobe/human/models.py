"""Achromatic contrast sensitivity functions (CSFs) in physical units.

Every model maps spatial frequency in cycles per degree (cpd) to contrast
sensitivity, the reciprocal of the Michelson contrast at detection threshold.

Models
------
``mannos_sakrison``
    Mannos & Sakrison (1974), IEEE Trans. Inf. Theory 20(4), 525-536, as published:
    ``A(f) = 2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1)``. A *relative* sensitivity
    (peak value about 0.98), not an absolute one.
``mannos_sakrison_v1``
    What the v1 MATLAB code of Tariq et al. (ECCV 2020) computes,
    ``2.6*(0.0192+0.114*f)*exp(-0.114*f)^1.1``, i.e. ``exp(-1.1 * 0.114 f)``: the
    exponent 1.1 is applied to the exponential, not to ``0.114 f``. Its peak lies at
    ``(1/1.1 - 0.0192) / 0.114 = 7.806`` cpd instead of 7.891 cpd.
``barten``
    Barten (1999), *Contrast Sensitivity of the Human Eye and its Effects on Image
    Quality*, SPIE Press, chapter 3: the full static, foveal, binocular model with
    optics, photon noise, neural noise, lateral inhibition and spatial integration.
``castle_fit``
    A log-parabola CSF with luminance-dependent peak and area summation, fitted to the
    static, foveal, achromatic rows of the castleCSF data (Ashraf, Mantiuk, Chapiro &
    Wuerger 2024, J. Vision 24(4):5); see :mod:`hvsprobe.human.castle`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import minimize_scalar

from .._io import check_schema, read_json
from .._validation import check_choice, check_positive

__all__ = [
    "BARTEN_DEFAULTS",
    "CASTLE_FIT_KIND",
    "CASTLE_FIT_PARAM_NAMES",
    "CASTLE_FIT_SCHEMA_VERSION",
    "CSFModel",
    "barten",
    "barten_pupil_diameter",
    "barten_retinal_illuminance",
    "castle_fit_csf",
    "get_csf",
    "list_csfs",
    "load_castle_fit_document",
    "mannos_sakrison",
    "mannos_sakrison_v1",
]

#: Default frequency range (cpd) searched for the peak of a CSF.
DEFAULT_PEAK_RANGE: tuple[float, float] = (0.05, 60.0)

# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------


def _check_frequency(frequency_cpd: ArrayLike, name: str = "frequency_cpd") -> np.ndarray:
    """Return ``frequency_cpd`` as a float array after checking it is finite and > 0."""
    try:
        f = np.asarray(frequency_cpd, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number or an array of numbers (cycles per degree), "
            f"got {type(frequency_cpd).__name__}"
        ) from None
    if f.size and not bool(np.all(np.isfinite(f))):
        raise ValueError(f"{name} must be finite; it contains NaN or infinite values")
    if f.size and bool(np.any(f <= 0)):
        raise ValueError(
            f"{name} must be > 0 cycles per degree, got minimum {float(np.min(f)):.6g}"
        )
    return f


def _check_positive_array(value: ArrayLike, name: str, *, allow_zero: bool = False) -> np.ndarray:
    """Return ``value`` as a float array after checking it is finite and positive."""
    try:
        v = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not bool(np.all(np.isfinite(v))):
        raise ValueError(f"{name} must be finite, got {value!r}")
    bad = v < 0 if allow_zero else v <= 0
    if bool(np.any(bad)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return v


# --------------------------------------------------------------------------------------
# Mannos & Sakrison (1974)
# --------------------------------------------------------------------------------------


def mannos_sakrison(frequency_cpd: ArrayLike) -> np.ndarray:
    """Mannos & Sakrison (1974) CSF, as published.

    ``A(f) = 2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1)``.

    Parameters
    ----------
    frequency_cpd : array_like
        Spatial frequency in cycles per degree, finite and > 0.

    Returns
    -------
    numpy.ndarray
        Relative sensitivity (peak about 0.981 at 7.891 cpd), same shape as the input.

    Raises
    ------
    ValueError
        If any frequency is <= 0, NaN or infinite.

    References
    ----------
    Mannos, J. L. & Sakrison, D. J. (1974). The effects of a visual fidelity criterion
    on the encoding of images. IEEE Trans. Inf. Theory 20(4), 525-536.
    """
    f = _check_frequency(frequency_cpd)
    return 2.6 * (0.0192 + 0.114 * f) * np.exp(-((0.114 * f) ** 1.1))


def mannos_sakrison_v1(frequency_cpd: ArrayLike) -> np.ndarray:
    """Mannos–Sakrison CSF exactly as the v1 MATLAB code of Tariq et al. (2020) computes it.

    The code reads ``2.6*(0.0192+0.114*f).*exp(-0.114*f).^1.1``. MATLAB (like NumPy)
    evaluates ``exp(-0.114*f)`` first and raises the result to 1.1, which equals
    ``exp(-1.1 * 0.114 f)``: an exponential, not a stretched exponential, high-frequency
    fall-off. This function keeps that operator precedence on purpose.

    Compared with :func:`mannos_sakrison` the peak moves from 7.891 to
    ``(1/1.1 - 0.0192) / 0.114 = 7.806`` cpd and drops from 0.981 to 0.888; the curve
    is lower below 22.75 cpd (by 3-10 % between 1 and 20 cpd), where
    ``(0.114 f)^0.1 = 1.1``, and higher above it (2.15 times at 60 cpd).

    Parameters
    ----------
    frequency_cpd : array_like
        Spatial frequency in cycles per degree, finite and > 0.

    Returns
    -------
    numpy.ndarray
        Relative sensitivity, same shape as the input.

    Raises
    ------
    ValueError
        If any frequency is <= 0, NaN or infinite.
    """
    f = _check_frequency(frequency_cpd)
    return 2.6 * (0.0192 + 0.114 * f) * np.exp(-0.114 * f) ** 1.1


# --------------------------------------------------------------------------------------
# Barten (1999)
# --------------------------------------------------------------------------------------

#: Barten's published constants for a standard observer (age 20-30, binocular viewing).
BARTEN_DEFAULTS: dict[str, float] = {
    "k": 3.0,  # signal-to-noise ratio at threshold
    "sigma0": 0.5,  # arcmin, optical line-spread at zero pupil
    "Cab": 0.08,  # arcmin / mm, growth of the line-spread with pupil diameter
    "T": 0.1,  # s, integration time
    "Xmax": 12.0,  # deg, maximum integration area (side)
    "Nmax": 15.0,  # cycles, maximum number of integrated cycles
    "eta": 0.03,  # quantum efficiency
    "p": 1.24e6,  # photons / (s deg^2 Td), photon conversion factor
    "Phi0": 3e-8,  # s deg^2, spectral density of the neural noise
    "u0": 7.0,  # cpd, frequency above which lateral inhibition ceases
}


def barten_pupil_diameter(luminance: ArrayLike, field_size_deg: ArrayLike) -> np.ndarray:
    """Pupil diameter in mm from Barten's formula.

    ``d = 5 - 3 tanh(0.4 log10(L X0^2 / 40^2))`` with ``L`` in cd/m^2 and the square
    field side ``X0`` in degrees (base-10 logarithm, as in Watson & Yellott 2012).

    Parameters
    ----------
    luminance : array_like
        Adapting luminance in cd/m^2, > 0.
    field_size_deg : array_like
        Side of the (square) adapting field in degrees, > 0.

    Returns
    -------
    numpy.ndarray
        Pupil diameter in mm (between 2 and 8).
    """
    lum = _check_positive_array(luminance, "luminance")
    x0 = _check_positive_array(field_size_deg, "field_size_deg")
    return 5.0 - 3.0 * np.tanh(0.4 * np.log10(lum * x0**2 / 40.0**2))


def barten_retinal_illuminance(luminance: ArrayLike, pupil_diameter_mm: ArrayLike) -> np.ndarray:
    """Retinal illuminance in trolands with Barten's Stiles–Crawford correction.

    ``E = (pi d^2 / 4) L (1 - (d/9.7)^2 + (d/12.4)^4)``.

    Parameters
    ----------
    luminance : array_like
        Luminance in cd/m^2, > 0.
    pupil_diameter_mm : array_like
        Pupil diameter in mm, > 0.

    Returns
    -------
    numpy.ndarray
        Retinal illuminance in Td.
    """
    lum = _check_positive_array(luminance, "luminance")
    d = _check_positive_array(pupil_diameter_mm, "pupil_diameter_mm")
    return np.pi * d**2 / 4.0 * lum * (1.0 - (d / 9.7) ** 2 + (d / 12.4) ** 4)


def barten(
    frequency_cpd: ArrayLike,
    *,
    luminance: ArrayLike = 100.0,
    field_size_deg: ArrayLike = 4.0,
    pupil_diameter_mm: float | None = None,
    k: float = BARTEN_DEFAULTS["k"],
    sigma0: float = BARTEN_DEFAULTS["sigma0"],
    Cab: float = BARTEN_DEFAULTS["Cab"],
    T: float = BARTEN_DEFAULTS["T"],
    Xmax: float = BARTEN_DEFAULTS["Xmax"],
    Nmax: float = BARTEN_DEFAULTS["Nmax"],
    eta: float = BARTEN_DEFAULTS["eta"],
    p: float = BARTEN_DEFAULTS["p"],
    Phi0: float = BARTEN_DEFAULTS["Phi0"],
    u0: float = BARTEN_DEFAULTS["u0"],
) -> np.ndarray:
    r"""Barten (1999) static foveal achromatic CSF (binocular, square field).

    .. math::

        S(u) = \frac{M_\mathrm{opt}(u) / k}
        {\sqrt{\frac{2}{T}\left(\frac{1}{X_0^2} + \frac{1}{X_\mathrm{max}^2}
        + \frac{u^2}{N_\mathrm{max}^2}\right)
        \left(\frac{1}{\eta p E} + \frac{\Phi_0}{1 - e^{-(u/u_0)^2}}\right)}}

    with the optical MTF :math:`M_\mathrm{opt}(u) = e^{-2\pi^2\sigma^2u^2}`,
    :math:`\sigma = \sqrt{\sigma_0^2 + (C_{ab} d)^2}`, the pupil diameter ``d`` from
    :func:`barten_pupil_diameter` (unless given) and the retinal illuminance ``E`` from
    :func:`barten_retinal_illuminance`.

    Parameters
    ----------
    frequency_cpd : array_like
        Spatial frequency ``u`` in cycles per degree, finite and > 0.
    luminance : array_like
        Mean luminance ``L`` in cd/m^2 (broadcast against ``frequency_cpd``).
    field_size_deg : array_like
        Side ``X0`` of the square stimulus field in degrees; it also sets the pupil.
    pupil_diameter_mm : float or None
        Override the pupil diameter (mm); ``None`` uses Barten's formula.
    k, sigma0, Cab, T, Xmax, Nmax, eta, p, Phi0, u0 : float
        Barten's constants (units in :data:`BARTEN_DEFAULTS`; ``sigma0`` in arcmin,
        ``Cab`` in arcmin/mm).

    Returns
    -------
    numpy.ndarray
        Contrast sensitivity (1 / threshold Michelson contrast), broadcast shape.

    Raises
    ------
    ValueError
        If a frequency, the luminance, the field size or a constant is not finite and > 0.

    Notes
    -----
    The formula holds for binocular viewing; monocular sensitivity is :math:`\sqrt{2}`
    lower (Barten 1999). It is a photopic model; below about 1 cd/m^2 it is an
    extrapolation.
    """
    f = _check_frequency(frequency_cpd)
    lum = _check_positive_array(luminance, "luminance")
    x0 = _check_positive_array(field_size_deg, "field_size_deg")
    consts = {
        "k": k,
        "sigma0": sigma0,
        "Cab": Cab,
        "T": T,
        "Xmax": Xmax,
        "Nmax": Nmax,
        "eta": eta,
        "p": p,
        "Phi0": Phi0,
        "u0": u0,
    }
    c = {
        name: check_positive(v, name, allow_zero=name in ("Cab", "Phi0"))
        for name, v in consts.items()
    }
    if pupil_diameter_mm is None:
        d = barten_pupil_diameter(lum, x0)
    else:
        d = np.asarray(check_positive(pupil_diameter_mm, "pupil_diameter_mm"))
    sigma_deg = np.sqrt(c["sigma0"] ** 2 + (c["Cab"] * d) ** 2) / 60.0
    m_opt = np.exp(-2.0 * np.pi**2 * sigma_deg**2 * f**2)
    e_td = barten_retinal_illuminance(lum, d)
    # lateral inhibition: M_lat^2 = 1 - exp(-(u/u0)^2); floor avoids 0 for tiny u
    x = np.maximum((f / c["u0"]) ** 2, np.finfo(float).tiny)
    m_lat2 = -np.expm1(-x)
    spatial = 1.0 / x0**2 + 1.0 / c["Xmax"] ** 2 + f**2 / c["Nmax"] ** 2
    noise = 1.0 / (c["eta"] * c["p"] * e_td) + c["Phi0"] / m_lat2
    return (m_opt / c["k"]) / np.sqrt(2.0 / c["T"] * spatial * noise)


# --------------------------------------------------------------------------------------
# castle_fit: parametric CSF fitted to the castleCSF achromatic data
# --------------------------------------------------------------------------------------

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

_CASTLE_NONNEG = {"gain_exponent", "freq_exponent"}
_LOG10_2 = math.log10(2.0)


def _castle_log10(
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


def _packaged_fit_path() -> Any:
    return resources.files("hvsprobe") / "data" / "castle_csf_fit.json"


@functools.lru_cache(maxsize=1)
def _cached_packaged_document() -> str:
    path = _packaged_fit_path()
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
        doc = json.loads(_cached_packaged_document())
        where: Any = _packaged_fit_path()
    else:
        doc = read_json(path)
        where = path
    check_schema(doc, CASTLE_FIT_KIND, CASTLE_FIT_SCHEMA_VERSION, where)
    params = doc.get("params", {})
    missing = [n for n in CASTLE_FIT_PARAM_NAMES if n not in params]
    if missing:
        raise ValueError(f"{where}: castle_fit parameters missing: {', '.join(missing)}")
    return doc


def _castle_defaults(given: Mapping[str, Any] | None = None) -> dict[str, Any]:
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
    f = _check_frequency(frequency_cpd)
    lum = _check_positive_array(luminance, "luminance")
    area = _check_positive_array(area_deg2, "area_deg2")
    unknown = sorted(set(coeffs) - set(CASTLE_FIT_PARAM_NAMES))
    if unknown:
        raise ValueError(
            f"unknown castle_fit coefficient(s) {unknown}; known: {', '.join(CASTLE_FIT_PARAM_NAMES)}"
        )
    full = {n: v for n, v in _castle_defaults(coeffs).items() if n in CASTLE_FIT_PARAM_NAMES}
    full.update(coeffs)
    checked = {n: check_positive(v, n, allow_zero=n in _CASTLE_NONNEG) for n, v in full.items()}
    return 10.0 ** _castle_log10(f, lum, area, checked)


# --------------------------------------------------------------------------------------
# registry and CSFModel
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    func: Callable[..., np.ndarray]
    defaults: Callable[[Mapping[str, Any]], dict[str, Any]]
    absolute: bool
    description: str
    nullable: frozenset[str] = frozenset()
    nonneg: frozenset[str] = frozenset()


_REGISTRY: dict[str, _Spec] = {
    "mannos_sakrison": _Spec(
        mannos_sakrison,
        lambda given: {},
        False,
        "Mannos & Sakrison (1974), published formula (relative sensitivity)",
    ),
    "mannos_sakrison_v1": _Spec(
        mannos_sakrison_v1,
        lambda given: {},
        False,
        "Mannos & Sakrison as computed by the v1 MATLAB code (exp(-0.114 f)^1.1)",
    ),
    "barten": _Spec(
        barten,
        lambda given: {
            "luminance": 100.0,
            "field_size_deg": 4.0,
            "pupil_diameter_mm": None,
            **BARTEN_DEFAULTS,
        },
        True,
        "Barten (1999) physical model, static foveal binocular",
        nullable=frozenset({"pupil_diameter_mm"}),
        nonneg=frozenset({"Cab", "Phi0"}),
    ),
    "castle_fit": _Spec(
        castle_fit_csf,
        _castle_defaults,
        True,
        "log-parabola CSF fitted to the castleCSF static foveal achromatic data",
        nonneg=frozenset(_CASTLE_NONNEG),
    ),
}


def list_csfs() -> list[str]:
    """Return the names accepted by :func:`get_csf`.

    Returns
    -------
    list of str
        ``['mannos_sakrison', 'mannos_sakrison_v1', 'barten', 'castle_fit']``.
    """
    return list(_REGISTRY)


def _complete_params(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    spec = _REGISTRY[name]
    defaults = spec.defaults(params)
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(defaults) if defaults else "none (it takes no parameters)"
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for CSF {name!r}; "
            f"allowed: {allowed}"
        )
    out = dict(defaults)
    for key, value in params.items():
        if value is None and key in spec.nullable:
            out[key] = None
            continue
        if isinstance(value, bool):
            raise TypeError(f"{key} must be a number, got {value!r}")
        out[key] = check_positive(value, key, allow_zero=key in spec.nonneg)
    return out


@dataclass(frozen=True)
class CSFModel:
    """A contrast sensitivity function with fixed parameters.

    Build one with :func:`get_csf`. Instances are immutable; ``params`` holds every
    parameter (defaults filled in) and is JSON-serialisable.

    Parameters
    ----------
    name : str
        One of :func:`list_csfs`.
    params : dict
        Parameters of that model; unknown names raise ``ValueError``.

    Examples
    --------
    >>> csf = get_csf("barten", luminance=100.0, field_size_deg=3.73)
    >>> round(csf.peak_frequency(), 1)
    4.7
    """

    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choice(self.name, "CSF", _REGISTRY)
        object.__setattr__(self, "params", _complete_params(self.name, dict(self.params)))

    def __hash__(self) -> int:
        return hash((self.name, json.dumps(self.params, sort_keys=True)))

    @property
    def is_absolute(self) -> bool:
        """``True`` if the model gives absolute sensitivity (Barten, castle_fit)."""
        return _REGISTRY[self.name].absolute

    @property
    def description(self) -> str:
        """One-line description of the model."""
        return _REGISTRY[self.name].description

    def __call__(self, frequency_cpd: ArrayLike) -> np.ndarray:
        """Evaluate the CSF.

        Parameters
        ----------
        frequency_cpd : array_like
            Spatial frequency in cycles per degree, finite and > 0.

        Returns
        -------
        numpy.ndarray
            Contrast sensitivity (linear); for the Mannos–Sakrison models the published
            relative values. Same shape as the input.

        Raises
        ------
        ValueError
            If any frequency is <= 0, NaN or infinite.
        """
        return _REGISTRY[self.name].func(frequency_cpd, **self.params)

    def peak_frequency(self, f_range: tuple[float, float] = DEFAULT_PEAK_RANGE) -> float:
        """Frequency (cpd) of maximum sensitivity within ``f_range``.

        A log-spaced grid brackets the maximum, then a bounded scalar optimisation in
        log frequency refines it. A maximum at an end of the range returns that end.

        Parameters
        ----------
        f_range : tuple of float
            ``(low, high)`` in cpd, ``0 < low < high``.

        Returns
        -------
        float
            Peak frequency in cycles per degree.
        """
        lo = check_positive(f_range[0], "f_range[0]")
        hi = check_positive(f_range[1], "f_range[1]")
        if not lo < hi:
            raise ValueError(f"f_range must satisfy low < high, got {tuple(f_range)!r}")
        grid = np.geomspace(lo, hi, 241)
        values = self(grid)
        i = int(np.argmax(values))
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
        res = minimize_scalar(
            lambda t: -float(np.log(self(math.exp(t)))),
            bounds=(math.log(a), math.log(b)),
            method="bounded",
            options={"xatol": 1e-10},
        )
        f_opt = min(max(math.exp(float(res.x)), lo), hi)
        return f_opt if float(self(f_opt)) >= float(values[i]) else float(grid[i])

    @functools.cached_property
    def _peak_value(self) -> float:
        return float(self(self.peak_frequency()))

    def peak_sensitivity(self) -> float:
        """Sensitivity at :meth:`peak_frequency` over the default range (0.05-60 cpd)."""
        return self._peak_value

    def normalized(self, frequency_cpd: ArrayLike) -> np.ndarray:
        """CSF divided by its peak value (peak searched in 0.05-60 cpd): ``S(f) / S(peak)``.

        Parameters
        ----------
        frequency_cpd : array_like
            Spatial frequency in cycles per degree, finite and > 0.

        Returns
        -------
        numpy.ndarray
            Weights equal to 1 at the peak and below 1 elsewhere in 0.05-60 cpd.
        """
        return self(frequency_cpd) / self._peak_value

    def to_dict(self) -> dict[str, Any]:
        """Return ``{'name': ..., 'params': {...}}`` (JSON-serialisable)."""
        return {"name": self.name, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CSFModel:
        """Rebuild a model from :meth:`to_dict` output."""
        return cls(str(data["name"]), dict(data.get("params", {})))


def get_csf(name: str = "mannos_sakrison", **params: Any) -> CSFModel:
    """Return the CSF model ``name`` with ``params`` overriding its defaults.

    Parameters
    ----------
    name : str
        One of :func:`list_csfs`.
    **params
        Model parameters: for ``'barten'`` ``luminance`` (cd/m^2), ``field_size_deg``,
        ``pupil_diameter_mm`` and Barten's constants; for ``'castle_fit'``
        ``luminance``, ``area_deg2`` and the fitted coefficients; none for the
        Mannos–Sakrison models.

    Returns
    -------
    CSFModel

    Raises
    ------
    ValueError
        For an unknown name (the message lists the names), an unknown parameter or a
        parameter that is not finite and positive.

    Examples
    --------
    >>> round(get_csf().peak_frequency(), 2)
    7.89
    """
    return CSFModel(name, params)
