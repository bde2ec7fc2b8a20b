"""Reading IQA data sets from their own folder layouts: LIVE, TID2013, KADID-10k, CSIQ, CSV."""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..._io import resolve_data_root
from ..._validation import check_choice
from .data import (
    CSIQ_TYPES,
    DATASETS,
    DEFAULT_FOLDERS,
    KADID_TYPES,
    TID2013_TYPES,
    IQADataset,
    IQAPair,
)

__all__ = [
    "load_iqa_dataset",
    "read_csiq",
    "read_csv_dataset",
    "read_kadid10k",
    "read_live",
    "read_tid2013",
]


def _read_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"label file {path} not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        missing = [c for c in required if c not in fields]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(fields)}"
            )
        rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return rows


def _float(text: str, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{path}, row {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{path}, row {line}: {column} {text!r} is not finite")
    return v


class _CaseInsensitiveDir:
    """Find files in a folder ignoring the case of their names (TID2013 mixes I01.BMP/i01)."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"folder {folder} not found")
        self.folder = folder
        self._names = {p.name.lower(): p for p in folder.iterdir()}

    def find(self, name: str) -> Path:
        hit = self._names.get(name.lower())
        if hit is None:
            raise FileNotFoundError(f"{name} not found in {self.folder}")
        return hit


def _resolve_root(name: str, root: str | os.PathLike[str] | None, data_root: Any) -> Path:
    if root is not None:
        return Path(root).expanduser()
    base = resolve_data_root(data_root)[0] / "iqa"
    for folder in DEFAULT_FOLDERS[name]:
        if (base / folder).is_dir():
            return base / folder
    from ...datasets.store import moved_registration

    moved = moved_registration(base.parent, name)
    if moved is not None:
        raise FileNotFoundError(moved)
    raise FileNotFoundError(
        f"no {name} folder under {base} (tried {', '.join(DEFAULT_FOLDERS[name])}); point --data-root "
        "(data_root=... in Python, or HVSPROBE_DATA) at the folder that holds iqa/, or pass "
        "root=... in Python"
    )


def read_live(
    root: str | os.PathLike[str] | None = None,
    *,
    merge_duplicates: bool = False,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read a LIVE IQA (Release 2) folder with a ``labels.csv``.

    Layout: ``labels.csv`` with columns ``dis_img_path, ref_img_path, dis_type, dmos, live_id,
    duplicate_group`` (paths relative to the folder), the images in ``refimgs/`` and one
    folder per distortion.  DMOS is LIVE's realigned DMOS: **higher = worse**.  The reference
    id is the reference file's stem.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/LIVE_subset`` (or ``LIVE``).
    merge_duplicates : bool
        LIVE rated a few byte-identical images more than once (rows sharing a non-empty
        ``duplicate_group``).  ``False`` (the standard protocol) keeps every row; ``True``
        keeps the first row of each group with the mean DMOS of the group.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted; default ``HVSPROBE_DATA``.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("live", root, data_root)
    path = folder / "labels.csv"
    rows = _read_rows(path, ("dis_img_path", "ref_img_path", "dis_type", "dmos"))
    pairs: list[IQAPair] = []
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows, start=2):
        ref = folder / r["ref_img_path"]
        pairs.append(
            IQAPair(
                ref,
                folder / r["dis_img_path"],
                _float(r["dmos"], path, i, "dmos"),
                r["dis_type"],
                Path(r["ref_img_path"]).stem,
            )
        )
        group = r.get("duplicate_group", "")
        if group:
            groups.setdefault(group, []).append(len(pairs) - 1)
    notes: list[str] = []
    if merge_duplicates and groups:
        drop: set[int] = set()
        for members in groups.values():
            first = members[0]
            mean = float(np.mean([pairs[k].score for k in members]))
            pairs[first] = pairs[first]._replace(score=mean)
            drop.update(members[1:])
        pairs = [p for k, p in enumerate(pairs) if k not in drop]
        notes.append(
            f"merged {len(groups)} duplicate group(s): {len(drop)} row(s) dropped, DMOS averaged"
        )
    elif groups:
        notes.append(f"{len(groups)} duplicate group(s) kept as separate rows (LIVE protocol)")
    return IQADataset("LIVE", pairs, False, "DMOS", folder, notes)


_TID_NAME = re.compile(r"^i(\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def read_tid2013(
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read TID2013 in its distributed layout.

    Layout: ``mos_with_names.txt`` (one ``<MOS> <file name>`` per line, e.g.
    ``5.51429 i01_01_1.bmp``), ``reference_images/I01.BMP ...`` and
    ``distorted_images/i01_01_1.bmp ...`` (file names are matched ignoring case).  MOS:
    **higher = better**.  The distortion type is ``YY`` of ``iXX_YY_Z`` mapped through
    :data:`TID2013_TYPES`; the reference id is ``IXX``.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/TID2013``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("tid2013", root, data_root)
    path = folder / "mos_with_names.txt"
    if not path.is_file():
        raise FileNotFoundError(f"TID2013 score file {path} not found")
    refs = _CaseInsensitiveDir(folder / "reference_images")
    dists = _CaseInsensitiveDir(folder / "distorted_images")
    pairs: list[IQAPair] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}, line {line_no}: expected '<MOS> <file name>', got {line!r}")
        mos = _float(parts[0], path, line_no, "MOS")
        m = _TID_NAME.match(parts[1])
        if m is None:
            raise ValueError(f"{path}, line {line_no}: file name {parts[1]!r} is not iXX_YY_Z.ext")
        ref_num, type_num = int(m.group(1)), int(m.group(2))
        if type_num not in TID2013_TYPES:
            raise ValueError(f"{path}, line {line_no}: unknown TID2013 distortion {type_num}")
        ref_id = f"I{ref_num:02d}"
        ref_path = refs.find(f"{ref_id}.bmp")
        pairs.append(IQAPair(ref_path, dists.find(parts[1]), mos, TID2013_TYPES[type_num], ref_id))
    if not pairs:
        raise ValueError(f"{path}: no scores")
    return IQADataset("TID2013", pairs, True, "MOS", folder)


_KADID_NAME = re.compile(r"^(i\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def read_kadid10k(
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read KADID-10k in its distributed layout.

    Layout: ``dmos.csv`` with columns ``dist_img, ref_img, dmos, var`` and all images in
    ``images/`` (``I01.png``, ``I01_01_01.png``, ...).  Despite its name the ``dmos`` column
    is a mean opinion score on 1..5: **higher = better**.  The distortion type is ``YY`` of
    ``IXX_YY_ZZ`` mapped through :data:`KADID_TYPES`; the reference id is the reference's stem.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/KADID-10k``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("kadid10k", root, data_root)
    path = folder / "dmos.csv"
    rows = _read_rows(path, ("dist_img", "ref_img", "dmos"))
    images = folder / "images"
    pairs: list[IQAPair] = []
    for i, r in enumerate(rows, start=2):
        m = _KADID_NAME.match(r["dist_img"])
        if m is None:
            raise ValueError(f"{path}, row {i}: dist_img {r['dist_img']!r} is not IXX_YY_ZZ.ext")
        type_num = int(m.group(2))
        if type_num not in KADID_TYPES:
            raise ValueError(f"{path}, row {i}: unknown KADID-10k distortion {type_num}")
        pairs.append(
            IQAPair(
                images / r["ref_img"],
                images / r["dist_img"],
                _float(r["dmos"], path, i, "dmos"),
                KADID_TYPES[type_num],
                Path(r["ref_img"]).stem,
            )
        )
    return IQADataset("KADID-10k", pairs, True, "MOS", folder)


def _csiq_type(text: str) -> tuple[str, str, str]:
    key = re.sub(r"[\s_\-]", "", text.lower())
    if key not in CSIQ_TYPES:
        raise ValueError(
            f"unknown CSIQ distortion {text!r}; expected one of noise/awgn, jpeg, jpeg 2000, "
            "f noise, blur, contrast"
        )
    return CSIQ_TYPES[key]


def read_csiq(
    root: str | os.PathLike[str] | None = None,
    *,
    labels: str = "csiq.DMOS.csv",
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read CSIQ: the original image folders plus the DMOS sheet exported to CSV.

    Layout (the original distribution, with ``csiq.DMOS.xlsx``'s ``all_by_image`` sheet
    saved as CSV)::

        CSIQ/
          csiq.DMOS.csv          columns image, dst_idx, dst_type, dst_lev, dmos_std, dmos
          src_imgs/1600.png
          dst_imgs/awgn/1600.AWGN.1.png      (dst_type 'noise')
          dst_imgs/jpeg/1600.JPEG.1.png      ('jpeg')
          dst_imgs/jpeg2000/1600.jpeg2000.1.png  ('jpeg 2000')
          dst_imgs/fnoise/1600.fnoise.1.png  ('f noise')
          dst_imgs/blur/1600.BLUR.1.png      ('blur')
          dst_imgs/contrast/1600.contrast.1.png  ('contrast')

    The distorted file is ``dst_imgs/<folder>/<image>.<tag>.<dst_lev>.png``, matched
    ignoring case.  Only the columns ``image``, ``dst_type``, ``dst_lev`` and ``dmos`` are
    used; extra columns and leading blank columns are ignored.  DMOS is on 0..1:
    **higher = worse**.  The reference id is ``image``.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/CSIQ``.
    labels : str
        Name of the CSV inside ``root``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("csiq", root, data_root)
    path = folder / labels
    rows = _read_rows(path, ("image", "dst_type", "dst_lev", "dmos"))
    srcs = _CaseInsensitiveDir(folder / "src_imgs")
    dst_dirs: dict[str, _CaseInsensitiveDir] = {}
    pairs: list[IQAPair] = []
    for i, r in enumerate(rows, start=2):
        if not r["image"]:
            continue  # blank lines of the exported sheet
        dist_type, sub, tag = _csiq_type(r["dst_type"])
        if sub not in dst_dirs:
            dst_dirs[sub] = _CaseInsensitiveDir(folder / "dst_imgs" / sub)
        level = int(_float(r["dst_lev"], path, i, "dst_lev"))
        image = r["image"]
        pairs.append(
            IQAPair(
                srcs.find(f"{image}.png"),
                dst_dirs[sub].find(f"{image}.{tag}.{level}.png"),
                _float(r["dmos"], path, i, "dmos"),
                dist_type,
                image,
            )
        )
    return IQADataset("CSIQ", pairs, False, "DMOS", folder)


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _refuse_duplicates(path: Path, rows: list[dict[str, str]]) -> None:
    """Refuse a CSV that rates the same (ref, dist) pair in several rows, naming the rows.

    A repeated row would be counted twice in every correlation and weigh its reference image
    more in the bootstrap; whether repeats are separate ratings to average or a copy-paste
    slip is the data's owner's call, so it is not guessed here.
    """
    seen: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows, start=2):
        seen.setdefault((r["ref"], r["dist"]), []).append(i)
    dupes = [(k, v) for k, v in seen.items() if len(v) > 1]
    if dupes:
        (ref, dist), lines = dupes[0]
        more = f" (and {len(dupes) - 1} more repeated pair(s))" if len(dupes) > 1 else ""
        raise ValueError(
            f"{path}: rows {', '.join(map(str, lines))} rate the same pair ({ref}, {dist}){more}; "
            "keep one row per pair (average repeated ratings into one score)"
        )


def read_csv_dataset(path: str | os.PathLike[str], *, name: str | None = None) -> IQADataset:
    """Read any IQA dataset described by a CSV file.

    Columns: ``ref``, ``dist`` (paths, relative to the CSV's folder unless absolute),
    ``score``, ``higher_is_better`` (``true``/``false``/``1``/``0``, the same in every row)
    and optionally ``dist_type`` (default ``'all'``) and ``ref_id`` (default: the ``ref``
    path as written).

    Parameters
    ----------
    path : path-like
        The CSV file.
    name : str, optional
        Dataset name; default the file's stem.

    Returns
    -------
    IQADataset
    """
    p = Path(path).expanduser()
    required = ("ref", "dist", "score", "higher_is_better")
    rows = _read_rows(p, required)
    for i, r in enumerate(rows, start=2):  # row 1 is the header
        empty = [c for c in required if not r.get(c)]
        if empty:
            raise ValueError(
                f"{p}, row {i}: the {', '.join(empty)} cell{'s are' if len(empty) > 1 else ' is'} "
                "empty; fill it in or remove the row"
            )
    _refuse_duplicates(p, rows)
    hib_values = {r["higher_is_better"].lower() for r in rows}
    if len(hib_values) != 1 or not hib_values <= (_TRUE | _FALSE):
        raise ValueError(
            f"{p}: higher_is_better must be the same true/false value in every row, got "
            f"{sorted(hib_values)}"
        )
    hib = hib_values.pop() in _TRUE
    pairs = [
        IQAPair(
            p.parent / r["ref"],
            p.parent / r["dist"],
            _float(r["score"], p, i, "score"),
            r.get("dist_type") or "all",
            r.get("ref_id") or r["ref"],
        )
        for i, r in enumerate(rows, start=2)
    ]
    return IQADataset(name or p.stem, pairs, hib, "score", p.parent)


def load_iqa_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> IQADataset:
    """Read a dataset by name: ``'live'``, ``'tid2013'``, ``'kadid10k'``, ``'csiq'``, ``'csv'``.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : path-like, optional
        The dataset folder (the CSV file for ``'csv'``, where it is required); default
        ``<data_root>/iqa/<standard folder name>``.
    data_root : path-like, optional
        Data folder; default ``HVSPROBE_DATA``.
    **kwargs
        Passed to the reader (e.g. ``merge_duplicates`` for LIVE).

    Returns
    -------
    IQADataset
    """
    check_choice(name, "IQA dataset", DATASETS)
    if name == "csv":
        if root is None:
            raise ValueError("load_iqa_dataset('csv', ...) needs the CSV file as root")
        return read_csv_dataset(root, **kwargs)
    reader = {
        "live": read_live,
        "tid2013": read_tid2013,
        "kadid10k": read_kadid10k,
        "csiq": read_csiq,
    }[name]
    return reader(root, data_root=data_root, **kwargs)
