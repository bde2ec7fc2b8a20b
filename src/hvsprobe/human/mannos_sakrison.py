"""Mannos & Sakrison (1974), as published and as the v1 MATLAB code of Tariq et al. computes it.

Mannos & Sakrison (1974), IEEE Trans. Inf. Theory 20(4), 525-536:
``A(f) = 2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1)``, a *relative* sensitivity (peak value
about 0.98).  The v1 MATLAB code of Tariq et al. (ECCV 2020) computes
``2.6*(0.0192+0.114*f)*exp(-0.114*f)^1.1``, i.e. ``exp(-1.1 * 0.114 f)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_frequency

__all__ = ["mannos_sakrison", "mannos_sakrison_v1"]


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
    f = check_frequency(frequency_cpd)
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
    f = check_frequency(frequency_cpd)
    return 2.6 * (0.0192 + 0.114 * f) * np.exp(-0.114 * f) ** 1.1
