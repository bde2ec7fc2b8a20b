"""LIVE IQA Release 2 as distributed -> the ``labels.csv`` layout :func:`read_live` reads.

The release holds ``dmos_realigned.mat`` (``dmos_new``, ``orgs``: 1 x 982),
``refnames_all.mat`` (``refnames_all``: the reference file of each of the 982 images),
``refimgs/`` and five folders whose images ``img1.bmp ...`` are numbered in the order of
the arrays: ``jp2k`` (227), ``jpeg`` (233), ``wn``, ``gblur``, ``fastfading`` (174 each).
Entries with ``orgs == 1`` are the references themselves and are left out, leaving 779
rated distorted images.  Byte-identical distorted files (LIVE rated a few JPEGs twice) share
a ``duplicate_group``, as in the shared LIVE subset.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .._io import atomic_path, sha256_file

__all__ = ["LIVE_FOLDERS", "is_live_release", "write_live_labels"]

#: Distortion folders of LIVE Release 2 and their image counts, in the order of the arrays.
LIVE_FOLDERS: tuple[tuple[str, int], ...] = (
    ("jp2k", 227),
    ("jpeg", 233),
    ("wn", 174),
    ("gblur", 174),
    ("fastfading", 174),
)


def is_live_release(folder: str | os.PathLike[str]) -> bool:
    """Whether ``folder`` looks like the LIVE Release 2 distribution (``.mat`` files).

    Examples
    --------
    >>> is_live_release("/nonexistent")
    False
    """
    f = Path(folder)
    return (f / "dmos_realigned.mat").is_file() and (f / "refnames_all.mat").is_file()


def _flat_strings(cell) -> list[str]:
    import numpy as np

    out = []
    for item in np.asarray(cell, dtype=object).reshape(-1):
        while isinstance(item, np.ndarray):
            item = item.reshape(-1)[0]
        out.append(str(item))
    return out


def write_live_labels(
    release: str | os.PathLike[str], out_csv: str | os.PathLike[str]
) -> tuple[Path, int]:
    """Write a ``labels.csv`` for the LIVE Release 2 distribution in ``release``.

    Paths in the CSV are absolute, so it may live outside the (unchanged) release folder.

    Parameters
    ----------
    release : path-like
        The unpacked release (``dmos_realigned.mat``, ``refnames_all.mat``, image folders).
    out_csv : path-like
        The ``labels.csv`` to write (atomically).

    Returns
    -------
    (pathlib.Path, int)
        The CSV and its number of rows (779 for the complete release).

    Raises
    ------
    ValueError
        If the arrays do not have 982 entries or an image file is missing.

    Examples
    --------
    >>> write_live_labels("databaserelease2", "labels.csv")  # doctest: +SKIP
    """
    import numpy as np
    from scipy.io import loadmat

    src = Path(release).expanduser().resolve()
    mat = loadmat(src / "dmos_realigned.mat")
    dmos = np.asarray(mat["dmos_new"], dtype=np.float64).reshape(-1)
    orgs = np.asarray(mat["orgs"]).reshape(-1).astype(bool)
    refs = _flat_strings(loadmat(src / "refnames_all.mat")["refnames_all"])
    n = sum(c for _, c in LIVE_FOLDERS)
    if not (dmos.size == orgs.size == len(refs) == n):
        raise ValueError(
            f"{src}: expected {n} entries in dmos_new, orgs and refnames_all, found "
            f"{dmos.size}, {orgs.size}, {len(refs)}"
        )
    rows, digests = [], {}
    i = 0
    for folder, count in LIVE_FOLDERS:
        for k in range(1, count + 1):
            dist, ref = src / folder / f"img{k}.bmp", src / "refimgs" / refs[i]
            if not orgs[i]:
                for p in (dist, ref):
                    if not p.is_file():
                        raise ValueError(f"LIVE release {src}: {p} not found")
                digest = sha256_file(dist)
                digests.setdefault(digest, []).append(len(rows))
                rows.append([str(dist), str(ref), folder, repr(float(dmos[i])), f"{folder}/img{k}"])
            i += 1
    group = {}
    for gid, members in enumerate((m for m in digests.values() if len(m) > 1), start=1):
        group.update(dict.fromkeys(members, str(gid)))
    header = ["dis_img_path", "ref_img_path", "dis_type", "dmos", "live_id", "duplicate_group"]
    with atomic_path(out_csv) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for j, row in enumerate(rows):
            writer.writerow([*row, group.get(j, "")])
    return Path(out_csv), len(rows)
