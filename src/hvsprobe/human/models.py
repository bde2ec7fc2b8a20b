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

The formulas live in :mod:`.mannos_sakrison`, :mod:`.barten` and :mod:`.castle_fit`; this
module holds :class:`CSFModel`, a CSF with fixed parameters, and the registry behind
:func:`get_csf`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_choice, check_positive
from .barten import BARTEN_DEFAULTS, barten
from .castle_fit import CASTLE_NONNEG, castle_defaults, castle_fit_csf
from .mannos_sakrison import mannos_sakrison, mannos_sakrison_v1

__all__ = ["DEFAULT_PEAK_RANGE", "CSFModel", "evaluate_formula", "get_csf", "list_csfs"]

#: Default frequency range (cpd) searched for the peak of a CSF.
DEFAULT_PEAK_RANGE: tuple[float, float] = (0.05, 60.0)


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
        castle_defaults,
        True,
        "log-parabola CSF fitted to the castleCSF static foveal achromatic data",
        nonneg=frozenset(CASTLE_NONNEG),
    ),
}


#: ``1 / golden ratio``: the share of the interval kept by each golden-section step.
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def _golden_max(func: Callable[[float], float], a: float, b: float, *, xatol: float) -> float:
    """A maximiser of ``func`` on ``[a, b]`` by golden-section search, to within ``xatol``.

    ``func`` must be unimodal on ``[a, b]``; each step keeps the ``1 / phi`` of the
    interval that holds the better of two inner points and evaluates ``func`` once.
    Where the function is flat to rounding (within about ``sqrt(eps)`` of the maximum in
    relative terms) the comparisons stop being informative, as for any maximiser that
    compares values.

    Examples
    --------
    >>> round(_golden_max(lambda t: -((t - 0.3) ** 2), 0.0, 1.0, xatol=1e-10), 6)
    0.3
    """
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = func(c), func(d)
    while b - a > xatol:
        if fc >= fd:  # the maximum lies in [a, d]
            b, d, fd = d, c, fc
            c = b - _INV_PHI * (b - a)
            fc = func(c)
        else:  # in [c, b]
            a, c, fc = c, d, fd
            d = a + _INV_PHI * (b - a)
            fd = func(d)
    return c if fc >= fd else d


def list_csfs() -> list[str]:
    """Return the names accepted by :func:`get_csf`.

    Returns
    -------
    list of str
        ``['mannos_sakrison', 'mannos_sakrison_v1', 'barten', 'castle_fit']``.
    """
    return list(_REGISTRY)


def evaluate_formula(name: str, frequency_cpd: ArrayLike, **params: Any) -> np.ndarray:
    """The formula of CSF ``name`` with ``params`` as given: no defaults, no checks.

    For callers that pass one parameter value per row (arrays of luminance or area, as
    :func:`hvsprobe.human.fitting.predict_at_rows` does); :class:`CSFModel` checks its
    scalar parameters once and calls the same formula.

    Examples
    --------
    >>> m = get_csf("barten")
    >>> float(evaluate_formula("barten", 4.0, **m.params)) == float(m(4.0))
    True
    """
    return _REGISTRY[name].func(frequency_cpd, **params)


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

        A log-spaced grid brackets the maximum, then a golden-section search in log
        frequency refines it (no scipy: evaluating a CSF and its peak stays light). A
        maximum at an end of the range returns that end.

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
        t_opt = _golden_max(
            lambda t: float(np.log(self(math.exp(t)))), math.log(a), math.log(b), xatol=1e-10
        )
        f_opt = min(max(math.exp(t_opt), lo), hi)
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
