"""The battery's human data: castleCSF detection rows, Foley (1994) masking, Georgeson &
Sullivan (1975) contrast matching. Selection rules are in ``docs/battery.md`` section 2."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .._io import read_csv_rows, resolve_data_root

__all__ = [
    "DETECTION_DIRECTIONS",
    "cone_direction",
    "detection_rows",
    "foley_masking",
    "georgeson_sullivan",
    "psychophysics_dir",
]

#: Detection test -> castleCSF ``col_dir_id`` of the hdr_csf data set.
DETECTION_DIRECTIONS: dict[str, int] = {
    "detection_achromatic": 9,
    "detection_red_green": 10,
    "detection_yellow_violet": 11,
}
_ACHROMATIC_ID = 9


def psychophysics_dir(data_root: str | os.PathLike[str] | None = None) -> Path:
    """``<data root>/psychophysics`` (``HVSPROBE_DATA`` when ``data_root`` is None)."""
    root, _ = resolve_data_root(data_root, holds="psychophysics/")
    folder = Path(root) / "psychophysics"
    if not folder.is_dir():
        raise FileNotFoundError(f"no psychophysics/ folder in the data root {root}")
    return folder


def cone_direction(col_dir_id: int, data_root: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Cone-contrast direction of a castleCSF colour direction (unit RMS).

    castleCSF gives ``dLMS`` directions; cone contrast divides them by the background's LMS,
    whose direction is that of the achromatic ``col_dir_id`` 9 (hdr_csf "C1").
    """
    rows = read_csv_rows(
        psychophysics_dir(data_root) / "castleCSF" / "color_directions.csv",
        ["col_dir_id", "L_delta", "M_delta", "S_delta"],
    )
    by_id = {
        int(r["col_dir_id"]): np.array([float(r[k]) for k in ("L_delta", "M_delta", "S_delta")])
        for r in rows
    }
    if col_dir_id not in by_id:
        raise ValueError(f"castleCSF has no col_dir_id {col_dir_id}")
    d = by_id[col_dir_id] / by_id[_ACHROMATIC_ID]
    return d / np.sqrt(np.mean(d * d))


def detection_rows(
    col_dir_id: int,
    *,
    max_luminance: float,
    max_sigma: float = 0.5,
    max_frequency: float,
    data_root: str | os.PathLike[str] | None = None,
) -> dict[str, np.ndarray]:
    """hdr_csf Gabor rows of one colour direction that the display can show.

    Returns columns ``frequency`` (cpd), ``sigma`` (deg), ``luminance`` (cd/m²) and
    ``threshold`` (1 / sensitivity), sorted by luminance, sigma, frequency.
    """
    rows = read_csv_rows(
        psychophysics_dir(data_root) / "castleCSF" / "data_aggregated.csv",
        ["dataset", "col_dir_id", "luminance", "s_frequency", "ge_sigma", "sensitivity"],
    )
    keep = []
    for r in rows:
        if r["dataset"] != "hdr_csf" or int(r["col_dir_id"]) != col_dir_id:
            continue
        lum, f, s = float(r["luminance"]), float(r["s_frequency"]), float(r["ge_sigma"])
        if lum <= max_luminance and s <= max_sigma + 1e-9 and f < max_frequency:
            keep.append((lum, s, f, 1.0 / float(r["sensitivity"])))
    keep.sort()
    a = np.array(keep, dtype=np.float64).reshape(-1, 4)
    return {"luminance": a[:, 0], "sigma": a[:, 1], "frequency": a[:, 2], "threshold": a[:, 3]}


def foley_masking(data_root: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """Foley (1994): ``mask_contrast`` and the target's ``threshold`` on each mask."""
    rows = read_csv_rows(
        psychophysics_dir(data_root) / "suprathreshold" / "foley1994_masking.csv",
        ["mask_contrast", "test_threshold_contrast"],
    )
    return {
        "mask_contrast": np.array([float(r["mask_contrast"]) for r in rows]),
        "threshold": np.array([float(r["test_threshold_contrast"]) for r in rows]),
    }


def georgeson_sullivan(data_root: str | os.PathLike[str] | None = None) -> dict[str, np.ndarray]:
    """Georgeson & Sullivan (1975): ``reference`` contrast (5 cpd), test ``frequency``, human
    ``match``."""
    rows = read_csv_rows(
        psychophysics_dir(data_root) / "suprathreshold" / "georgeson_sullivan1975_constancy.csv",
        ["reference_contrast_5cpd", "test_frequency_cpd", "matching_contrast"],
    )
    return {
        "reference": np.array([float(r["reference_contrast_5cpd"]) for r in rows]),
        "frequency": np.array([float(r["test_frequency_cpd"]) for r in rows]),
        "match": np.array([float(r["matching_contrast"]) for r in rows]),
    }
