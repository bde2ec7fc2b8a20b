"""castleCSF data: finding the files and selecting the static, foveal, achromatic rows.

The castleCSF measurements (Ashraf, Mantiuk, Chapiro & Wuerger 2024, "castleCSF — A
contrast sensitivity function of color, area, spatiotemporal frequency, luminance and
eccentricity", J. Vision 24(4):5) aggregate 18 psychophysical datasets.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._io import DATA_ENV_VAR, read_csv_rows, resolve_data_root, sha256_file

__all__ = [
    "ACHROMATIC_MAX_ANGLE_DEG",
    "ENV_VAR",
    "castle_data_dir",
    "load_achromatic_rows",
    "load_castle_achromatic",
]

#: Environment variable naming the data folder (the one that holds ``psychophysics/``).
ENV_VAR = DATA_ENV_VAR
#: Largest angle (deg) between a colour direction and the background in LMS space for
#: the direction to count as achromatic (observed: achromatic <= 2.3, others >= 7.9).
ACHROMATIC_MAX_ANGLE_DEG = 5.0

_FILES = ("data_aggregated.csv", "color_directions.csv", "backgrounds.csv")
_DATA_COLUMNS = (
    "luminance",
    "s_frequency",
    "col_dir_id",
    "bkg_id",
    "area",
    "dataset",
    "t_frequency",
    "eccentricity",
    "stimulus",
    "sensitivity",
)


def castle_data_dir(data_root: str | os.PathLike[str] | None = None) -> Path:
    """Return the folder that holds the castleCSF CSV files.

    Parameters
    ----------
    data_root : path-like or None
        The data folder holding ``psychophysics/castleCSF/`` (the castleCSF folder itself
        is accepted too). ``None`` reads the environment variable ``HVSPROBE_DATA``.

    Returns
    -------
    pathlib.Path
        The castleCSF folder.

    Raises
    ------
    FileNotFoundError
        If neither ``data_root`` nor ``HVSPROBE_DATA`` is given, or the files are missing.
    """
    root, source = resolve_data_root(data_root, holds="psychophysics/castleCSF/")
    for cand in (root / "psychophysics" / "castleCSF", root / "castleCSF", root):
        if all((cand / name).is_file() for name in _FILES):
            return cand
    raise FileNotFoundError(
        f"castleCSF files ({', '.join(_FILES)}) not found in "
        f"{root / 'psychophysics' / 'castleCSF'} (from {source}); pass --data-root (data_root=... in Python) or set "
        f"{ENV_VAR} to the folder that holds psychophysics/castleCSF/"
    )


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two 3-vectors, ignoring sign (a modulation is +/- symmetric)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not (na > 0 and nb > 0) or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return math.nan
    cos = min(1.0, abs(float(a @ b)) / (na * nb))
    return math.degrees(math.acos(cos))


_COLUMNS = (
    "frequency",
    "sensitivity",
    "luminance",
    "area",
    "dataset",
    "stimulus",
    "col_dir_id",
    "bkg_id",
    "t_frequency",
    "eccentricity",
    "achromatic_angle_deg",
)


def _read_tables(
    folder: Path,
) -> tuple[list[dict[str, str]], dict[tuple[str, str], np.ndarray], dict[str, np.ndarray]]:
    """Data rows, colour directions by ``(col_dir_id, dataset)`` and backgrounds by id."""
    rows = read_csv_rows(folder / "data_aggregated.csv", _DATA_COLUMNS)
    dirs = read_csv_rows(
        folder / "color_directions.csv", ("col_dir_id", "L_delta", "M_delta", "S_delta", "dataset")
    )
    bkgs = read_csv_rows(folder / "backgrounds.csv", ("bkg_id", "L", "M", "S"))
    # colour-direction ids are not unique across datasets (110, 111 reappear in
    # hansen2009), so directions are joined on (col_dir_id, dataset)
    dir_by_key: dict[tuple[str, str], np.ndarray] = {}
    for r in dirs:
        vec = np.array(
            [_float_or_nan(r["L_delta"]), _float_or_nan(r["M_delta"]), _float_or_nan(r["S_delta"])]
        )
        dir_by_key[(r["col_dir_id"], r["dataset"])] = vec
    bkg_by_id = {
        r["bkg_id"]: np.array([_float_or_nan(r["L"]), _float_or_nan(r["M"]), _float_or_nan(r["S"])])
        for r in bkgs
    }
    return rows, dir_by_key, bkg_by_id


def _select_rows(
    rows: list[dict[str, str]],
    dir_by_key: dict[tuple[str, str], np.ndarray],
    bkg_by_id: dict[str, np.ndarray],
) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """The static, foveal, achromatic rows as columns, and how many rows each rule dropped."""
    cols: dict[str, list[Any]] = {k: [] for k in _COLUMNS}
    counts = {"rows": len(rows), "not_static": 0, "not_foveal": 0, "no_spatial_frequency": 0}
    counts.update({"not_achromatic": 0, "bad_sensitivity": 0})
    for r in rows:
        ds = r["dataset"]
        key = (r["col_dir_id"], ds)
        if key not in dir_by_key:
            raise ValueError(f"colour direction {key} of a data row is not in color_directions.csv")
        bkg_id = r["bkg_id"]
        if bkg_id not in bkg_by_id:
            raise ValueError(f"background {bkg_id!r} of a data row is not in backgrounds.csv")
        tf, ecc, sf = (
            _float_or_nan(r["t_frequency"]),
            _float_or_nan(r["eccentricity"]),
            _float_or_nan(r["s_frequency"]),
        )
        sens = _float_or_nan(r["sensitivity"])
        angle = _angle_deg(dir_by_key[key], bkg_by_id[bkg_id])
        if tf != 0:
            counts["not_static"] += 1
            continue
        if ecc != 0:
            counts["not_foveal"] += 1
            continue
        if not (math.isfinite(sf) and sf > 0):
            counts["no_spatial_frequency"] += 1
            continue
        if not angle <= ACHROMATIC_MAX_ANGLE_DEG:
            counts["not_achromatic"] += 1
            continue
        area, lum = _float_or_nan(r["area"]), _float_or_nan(r["luminance"])
        if not all(math.isfinite(v) and v > 0 for v in (sens, area, lum)):
            counts["bad_sensitivity"] += 1
            continue
        for name, value in zip(
            _COLUMNS,
            (
                sf,
                sens,
                lum,
                area,
                ds,
                r["stimulus"],
                int(float(r["col_dir_id"])),
                int(float(bkg_id)),
                tf,
                ecc,
                angle,
            ),
            strict=True,
        ):
            cols[name].append(value)
    return cols, counts


def _as_arrays(cols: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Columns as arrays (text, int64 ids, floats) plus ``field_size_deg`` and log10 sensitivity."""
    data: dict[str, np.ndarray] = {}
    for k, v in cols.items():
        if k in ("dataset", "stimulus"):
            data[k] = np.array(v, dtype=str)
        elif k in ("col_dir_id", "bkg_id"):
            data[k] = np.array(v, dtype=np.int64)
        else:
            data[k] = np.array(v, dtype=float)
    data["field_size_deg"] = np.sqrt(data["area"])
    data["log10_sensitivity"] = np.log10(data["sensitivity"])
    return data


def load_achromatic_rows(
    data_root: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """:func:`load_castle_achromatic` and where the rows came from.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.

    Returns
    -------
    (dict of str to numpy.ndarray, dict)
        The columns, and ``folder``, ``sha256`` (of the three files) and ``counts`` (rows
        read, dropped by each rule, selected).
    """
    folder = castle_data_dir(data_root)
    cols, counts = _select_rows(*_read_tables(folder))
    data = _as_arrays(cols)
    counts["selected"] = int(data["frequency"].size)
    meta = {
        "folder": str(folder),
        "sha256": {name: sha256_file(folder / name) for name in _FILES},
        "counts": counts,
    }
    return data, meta


def load_castle_achromatic(
    data_root: str | os.PathLike[str] | None = None,
) -> dict[str, np.ndarray]:
    """Static, foveal, achromatic grating/Gabor rows of the castleCSF data.

    A row is kept when ``t_frequency == 0`` (static), ``eccentricity == 0`` (foveal),
    ``s_frequency > 0`` (a grating or Gabor; discs have no spatial frequency), its colour
    direction is achromatic and its sensitivity, luminance and area are positive.
    *Achromatic* means that the direction's cone-excitation change
    ``(dL, dM, dS)`` (``color_directions.csv``, joined on ``col_dir_id`` *and* ``dataset``
    because ids are reused) is parallel to the background's ``(L, M, S)``
    (``backgrounds.csv``) within :data:`ACHROMATIC_MAX_ANGLE_DEG` degrees, i.e. the
    stimulus scales all cone excitations alike: a pure luminance modulation.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.

    Returns
    -------
    dict of str to numpy.ndarray
        Equal-length columns: ``frequency`` (cpd), ``sensitivity`` (1 / threshold
        contrast), ``log10_sensitivity``, ``luminance`` (cd/m^2), ``area`` (deg^2),
        ``field_size_deg`` (``sqrt(area)``), ``dataset``, ``stimulus``, ``col_dir_id``,
        ``bkg_id``, ``t_frequency``, ``eccentricity`` and ``achromatic_angle_deg``.

    Raises
    ------
    FileNotFoundError
        If the data folder is not given or the files are missing.
    """
    return load_achromatic_rows(data_root)[0]
