"""Human contrast sensitivity functions (CSFs) in physical units.

Models: Mannos & Sakrison (1974) as published and as the v1 MATLAB code of Tariq et al.
(2020) computes it, Barten's (1999) physical model, and ``castle_fit``, a parametric CSF
fitted to the static foveal achromatic castleCSF data (Ashraf et al. 2024). See
``docs/human.md``.

>>> from hvsprobe.human import get_csf
>>> csf = get_csf("castle_fit", luminance=100.0, area_deg2=(224 / 60) ** 2)
>>> weights = csf.normalized([1.0, 4.0, 16.0])
"""

from __future__ import annotations

from typing import Any

from .barten import BARTEN_DEFAULTS, barten, barten_pupil_diameter, barten_retinal_illuminance
from .castle_data import castle_data_dir, load_castle_achromatic
from .castle_fit import castle_fit_csf, load_castle_fit_document
from .mannos_sakrison import mannos_sakrison, mannos_sakrison_v1
from .models import CSFModel, get_csf, list_csfs

# The castle and held-out functions load lazily so that ``python -m hvsprobe.human.castle`` does not
# import the module twice.
_CASTLE_NAMES = (
    "castle_fit_cross_validation",
    "csf_error_table",
    "fit_castle_csf",
    "write_castle_fit",
)
_HELDOUT_NAMES = ("best_heldout_model", "csf_heldout_table")

__all__ = [
    "BARTEN_DEFAULTS",
    "CSFModel",
    "barten",
    "barten_pupil_diameter",
    "barten_retinal_illuminance",
    "castle_data_dir",
    "castle_fit_csf",
    "get_csf",
    "list_csfs",
    "load_castle_achromatic",
    "load_castle_fit_document",
    "mannos_sakrison",
    "mannos_sakrison_v1",
    *_CASTLE_NAMES,
    *_HELDOUT_NAMES,
]


def __getattr__(name: str) -> Any:
    if name in _CASTLE_NAMES:
        from . import castle

        return getattr(castle, name)
    if name in _HELDOUT_NAMES:
        from . import heldout

        return getattr(heldout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CASTLE_NAMES) | set(_HELDOUT_NAMES))
