"""The one formatter of numbers for tables, summaries and results pages.

Every page that shows a number goes through :func:`format_number`, so a missing value looks
the same everywhere (a dash) and a page's digits are chosen by its caller, not by a private
helper. The options reproduce the page formats this project has always written, byte for
byte, so switching a page to this function never changes its output.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

__all__ = ["DASH", "EN_DASH", "format_number"]

#: The missing-value mark of the results pages (U+2014 EM DASH).
DASH = "—"
#: The missing-value mark of the CSF tables (U+2013 EN DASH).
EN_DASH = "–"

Style = Literal["f", "g", "repr"]
NonFinite = Literal["missing", "nan", "text", "symbol"]


def format_number(
    x: float | int | None,
    digits: int = 3,
    *,
    style: Style = "f",
    missing: str = DASH,
    nonfinite: NonFinite = "missing",
) -> str:
    """Text for one number in a table: fixed decimals, significant digits or round-trip.

    Parameters
    ----------
    x : float, int or None
        The value (Python or NumPy real number). ``None`` is always shown as ``missing``.
    digits : int
        Decimals for ``style='f'``, significant digits for ``style='g'``; ignored for
        ``'repr'``.
    style : {'f', 'g', 'repr'}
        ``'f'``: ``f"{x:.{digits}f}"``; ``'g'``: ``f"{x:.{digits}g}"``; ``'repr'``: the
        shortest text that reads back as the same float (``repr(float(x))``), for CSV files.
    missing : str
        The mark for a missing value (default an em dash; the CSF tables use
        :data:`EN_DASH`).
    nonfinite : {'missing', 'nan', 'text', 'symbol'}
        How NaN and infinities are shown. ``'missing'``: both as ``missing``; ``'nan'``: NaN
        as ``missing``, infinities as Python writes them (``inf``, ``-inf``); ``'text'``: as
        Python writes them (``nan``, ``inf``); ``'symbol'``: NaN as ``missing``, infinities as
        ``∞`` and ``−∞`` (U+2212 minus).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown ``style`` or ``nonfinite``.

    Examples
    --------
    >>> format_number(0.123456), format_number(31.4159, 2), format_number(None)
    ('0.123', '31.42', '—')
    >>> format_number(0.000123456, 4, style="g"), format_number(float("nan"), style="g")
    ('0.0001235', '—')
    >>> format_number(float("inf")), format_number(float("inf"), nonfinite="nan")
    ('—', 'inf')
    >>> format_number(-float("inf"), 4, style="g", nonfinite="symbol")
    '−∞'
    >>> format_number(0.1 + 0.2, style="repr"), format_number(float("nan"), style="repr", nonfinite="text")
    ('0.30000000000000004', 'nan')
    >>> format_number(None, missing=EN_DASH)
    '–'
    """
    if style not in ("f", "g", "repr"):
        raise ValueError(f"style must be 'f', 'g' or 'repr', got {style!r}")
    if nonfinite not in ("missing", "nan", "text", "symbol"):
        raise ValueError(
            f"nonfinite must be 'missing', 'nan', 'text' or 'symbol', got {nonfinite!r}"
        )
    if x is None:
        return missing
    # float/int first: the ABC check alone costs more than the formatting
    real = isinstance(x, float | int) or isinstance(x, numbers.Real)
    if real and not math.isfinite(x) and nonfinite != "text":
        if nonfinite == "missing" or math.isnan(x):
            return missing
        if nonfinite == "symbol":
            return "∞" if x > 0 else "−∞"
    if style == "repr":
        return repr(float(x))
    return f"{x:.{digits}{style}}"
