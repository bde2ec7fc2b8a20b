"""Barten's (1999) physical CSF model: static, foveal, binocular.

Barten (1999), *Contrast Sensitivity of the Human Eye and its Effects on Image Quality*,
SPIE Press, chapter 3: optics, photon noise, neural noise, lateral inhibition and spatial
integration.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_frequency, check_positive, check_positive_array

__all__ = ["BARTEN_DEFAULTS", "barten", "barten_pupil_diameter", "barten_retinal_illuminance"]

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
    lum = check_positive_array(luminance, "luminance")
    x0 = check_positive_array(field_size_deg, "field_size_deg")
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
    lum = check_positive_array(luminance, "luminance")
    d = check_positive_array(pupil_diameter_mm, "pupil_diameter_mm")
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
    f = check_frequency(frequency_cpd)
    lum = check_positive_array(luminance, "luminance")
    x0 = check_positive_array(field_size_deg, "field_size_deg")
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
