"""Does a folder hold a data set in the layout hvsprobe reads, and how many rows?

The IQA and BAPPS layouts are checked by reading the folder with the readers of
:mod:`hvsprobe.evaluate` (and checking that every image they name exists); PIPAL, which has
no reader there, by :func:`count_pipal` here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .registry import DatasetInfo, get_dataset_info

__all__ = ["LayoutError", "LayoutReport", "check_layout", "check_rows", "count_pipal"]


class LayoutError(ValueError):
    """A folder does not hold the expected layout or row count."""


@dataclass
class LayoutReport:
    """What :func:`check_layout` found.

    Attributes
    ----------
    name : str
        Data set name.
    path : pathlib.Path
        The folder checked.
    rows : int
        Rated rows (pairs, triplets) read.
    per_subset : dict of str to int
        Rows per distortion type / subset.
    """

    name: str
    path: Path
    rows: int
    per_subset: dict[str, int] = field(default_factory=dict)


def _count(items: list, key: Callable) -> dict[str, int]:
    out: dict[str, int] = {}
    for it in items:
        out[key(it)] = out.get(key(it), 0) + 1
    return out


def _iqa(reader_name: str) -> Callable[[Path], tuple[int, dict[str, int]]]:
    def run(path: Path) -> tuple[int, dict[str, int]]:
        from ..evaluate import iqa

        ds = getattr(iqa, reader_name)(path)
        ds.check_files()
        return len(ds), _count(ds.pairs, lambda p: p.dist_type)

    return run


def _bapps_2afc(path: Path) -> tuple[int, dict[str, int]]:
    from ..evaluate.bapps import read_2afc

    rows = read_2afc(path, split="val")
    return len(rows), _count(rows, lambda t: t.subset)


def _bapps_jnd(path: Path) -> tuple[int, dict[str, int]]:
    from ..evaluate.bapps import read_jnd

    rows = read_jnd(path)
    return len(rows), _count(rows, lambda t: t.subset)


def count_pipal(path: str | os.PathLike[str]) -> tuple[int, dict[str, int]]:
    """Check a PIPAL training-set folder and count its rated images.

    Layout: ``Train_Label/*.txt`` with one ``<distorted file>,<score>`` line per image
    (e.g. ``A0001_00_00.bmp,1456.0``), the references ``Train_Ref/<Axxxx>.bmp`` and the
    distorted files in any sub-folder (releases differ: ``Train_Dist/``,
    ``Distortion_1/`` ...).

    Parameters
    ----------
    path : path-like
        The folder.

    Returns
    -------
    (int, dict of str to int)
        Rows, and rows per distortion group (the ``NN`` of ``Axxxx_NN_MM``).

    Raises
    ------
    FileNotFoundError, ValueError
        On a missing folder or file, or a malformed line.

    Examples
    --------
    >>> count_pipal("/nonexistent")  # doctest: +SKIP
    """
    root = Path(path)
    labels, refs = root / "Train_Label", root / "Train_Ref"
    for folder in (labels, refs):
        if not folder.is_dir():
            raise FileNotFoundError(f"folder {folder} not found")
    files = {p.name.lower() for p in root.rglob("*") if p.is_file()}
    rows: dict[str, int] = {}
    n = 0
    for txt in sorted(labels.glob("*.txt")):
        for line_no, line in enumerate(txt.read_text(encoding="utf-8-sig").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split(",")
            if len(parts) != 2:
                raise ValueError(f"{txt}, line {line_no}: expected '<file>,<score>', got {line!r}")
            name = parts[0].strip()
            float(parts[1])
            ref = name.split("_", 1)[0] + Path(name).suffix
            for needed in (name, ref):
                if needed.lower() not in files:
                    raise FileNotFoundError(
                        f"{needed} (named in {txt.name}) not found under {root}"
                    )
            group = name.split("_")[1] if name.count("_") >= 2 else "all"
            rows[group] = rows.get(group, 0) + 1
            n += 1
    if n == 0:
        raise ValueError(f"no labels in {labels}/*.txt")
    return n, rows


_COUNTERS: dict[str, Callable[[Path], tuple[int, dict[str, int]]]] = {
    "live": _iqa("read_live"),
    "tid2013": _iqa("read_tid2013"),
    "kadid10k": _iqa("read_kadid10k"),
    "csiq": _iqa("read_csiq"),
    "bapps-2afc-val": _bapps_2afc,
    "bapps-jnd": _bapps_jnd,
    "pipal": lambda p: count_pipal(p),
}


def check_layout(name: str, path: str | os.PathLike[str]) -> LayoutReport:
    """Read a folder as data set ``name`` and count its rows.

    Parameters
    ----------
    name : str
        Registry name.
    path : path-like
        The folder.

    Returns
    -------
    LayoutReport

    Raises
    ------
    LayoutError
        One line naming the folder, what is wrong and the expected layout; also when a
        required sub-set (BAPPS) is missing.

    Examples
    --------
    >>> check_layout("kadid10k", "/nonexistent")  # doctest: +SKIP
    """
    info = get_dataset_info(name)
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise LayoutError(f"{name}: {folder} is not a folder")
    try:
        rows, per = _COUNTERS[name](folder)
    except (FileNotFoundError, ValueError, OSError) as exc:
        msg = str(exc).replace("\n", " ")
        raise LayoutError(
            f"{name}: {folder} does not hold the {info.title} layout ({msg}); expected "
            f"{info.layout}"
        ) from None
    missing = [s for s in info.subsets if s not in per]
    if missing:
        raise LayoutError(
            f"{name}: {folder} lacks the sub-set(s) {', '.join(missing)} (found "
            f"{', '.join(sorted(per))}); expected {info.layout}"
        )
    return LayoutReport(name, folder, rows, per)


def check_rows(info: DatasetInfo, rows: int, *, partial: bool = False) -> str:
    """Compare a row count with the complete data set's.

    Parameters
    ----------
    info : DatasetInfo
        The registry entry.
    rows : int
        Rows found.
    partial : bool
        Accept fewer rows than a complete copy (a known subset).

    Returns
    -------
    str
        ``''`` for a complete copy, else a warning stating the count.

    Raises
    ------
    LayoutError
        When the count differs and ``partial`` does not allow it.

    Examples
    --------
    >>> from hvsprobe.datasets import get_dataset_info
    >>> check_rows(get_dataset_info("live"), 79, partial=True)
    'partial copy: 79 of 779 rows (779 rated distorted images (Release 2))'
    """
    if info.rows is None:
        return f"{rows} rows ({info.rows_note})"
    if rows == info.rows:
        return ""
    if rows < info.rows and partial:
        return f"partial copy: {rows} of {info.rows} rows ({info.rows_note})"
    hint = "; pass --partial to register a known subset" if rows < info.rows else ""
    raise LayoutError(
        f"{info.name}: {rows} rows found, a complete copy has {info.rows} ({info.rows_note}){hint}"
    )
