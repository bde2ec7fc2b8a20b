"""The human-judgment data sets of claim 1: what each row is, its statistic, its resampling unit.

Each data set is read with the reader ``hvsprobe evaluate`` uses and becomes a
:class:`PairSet` (rated images and BAPPS: statistics of image-pair distances) or is one of the
two threshold sets (ModelFest, castleCSF: read by :mod:`.claim1_data`).

=============  ======================================  ===========================================
name           statistic (of every channel subset)     bootstrap unit (rows that move together)
=============  ======================================  ===========================================
live, tid2013  SRCC against the human score            reference image (its distorted versions
kadid10k,                                              share its content)
csiq, csv
bapps-2afc     2AFC agreement with the human votes,    reference patch (each triplet has its own;
               mean over the source sets (LPIPS)       the source set is kept as the stratum)
bapps-jnd      JND mAP, mean over the source sets      the pair (its first patch is the reference)
modelfest      RMSE in log10 sensitivity               stimulus
castlecsf      RMSE in log10 sensitivity               stimulus (rows sharing one move together)
=============  ======================================  ===========================================
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ALL_DATASETS",
    "DEFAULT_DATASETS",
    "PairSet",
    "how_to_get",
    "load_pair_set",
    "pair_statistic",
]

#: Every data set claim 1 accepts, in page order (also the order of the bootstrap seeds).
ALL_DATASETS: tuple[str, ...] = (
    "live",
    "tid2013",
    "kadid10k",
    "csiq",
    "csv",
    "bapps-2afc",
    "bapps-jnd",
    "modelfest",
    "castlecsf",
)
#: What runs with no ``--datasets``: the data sets the project's shared data folder holds.
DEFAULT_DATASETS: tuple[str, ...] = ("live", "modelfest", "castlecsf")
IQA_SETS = ("live", "tid2013", "kadid10k", "csiq", "csv")

_HOW = {
    "live": "register a copy with `hvsprobe data add live DIR` (LIVE is behind a request form)",
    "tid2013": "`hvsprobe data fetch tid2013`",
    "kadid10k": "`hvsprobe data fetch kadid10k`",
    "csiq": "register a copy with `hvsprobe data add csiq DIR` (CSIQ is behind a request form)",
    "csv": "pass `--csv FILE` (columns ref, dist, score, higher_is_better)",
    "bapps-2afc": "`hvsprobe data fetch bapps-2afc-val`",
    "bapps-jnd": "`hvsprobe data fetch bapps-jnd`",
    "modelfest": "point `--data-root` at the folder holding psychophysics/modelfest/",
    "castlecsf": "point `--data-root` at the folder holding psychophysics/castleCSF/",
}


def how_to_get(name: str) -> str:
    """The command (or step) that makes data set ``name`` available.

    Examples
    --------
    >>> how_to_get("kadid10k")
    '`hvsprobe data fetch kadid10k`'
    """
    return _HOW[name]


@dataclass
class PairSet:
    """A data set scored from distances of image pairs (rated images, BAPPS 2AFC or JND).

    Attributes
    ----------
    name : str
        Claim-1 name (``'kadid10k'``, ``'bapps-2afc'``, ...).
    title : str
        Printed name.
    kind : str
        ``'iqa'``, ``'2afc'`` or ``'jnd'``.
    pairs : list of (str, str)
        The ``(first, second)`` image files whose per-channel distances are needed; for 2AFC
        the ``(ref, p0)`` pairs of all triplets, then their ``(ref, p1)`` pairs.
    human : numpy.ndarray
        Per row: the score oriented so that higher = better quality (IQA), the fraction
        preferring p1 (2AFC) or judging "same" (JND).
    groups : numpy.ndarray
        Bootstrap unit per row.
    subsets : numpy.ndarray
        Source set per row (BAPPS; one set for IQA).
    info : dict
        Counts and folder for the page.
    """

    name: str
    title: str
    kind: str
    pairs: list[tuple[str, str]]
    human: np.ndarray
    groups: np.ndarray
    subsets: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    dataset: Any = None

    @property
    def n_rows(self) -> int:
        """Rated images, triplets or pairs."""
        return int(self.human.size)

    @property
    def key(self) -> str:
        """Column prefix of the data set (``'live'``, ``'bapps_2afc'``, ...)."""
        return self.name.replace("-", "_")

    @property
    def statistic(self) -> str:
        """``'srcc'``, ``'2afc'`` or ``'map'``."""
        return {"iqa": "srcc", "2afc": "2afc", "jnd": "map"}[self.kind]


def _missing(name: str, err: Exception) -> FileNotFoundError:
    return FileNotFoundError(f"data set {name} not found ({err}); get it: {how_to_get(name)}")


def load_pair_set(
    name: str, data_root: str | os.PathLike[str] | None, csv_path: str | None = None
) -> PairSet:
    """Read a rated-image or BAPPS data set (files checked); a missing one says how to get it.

    Raises
    ------
    FileNotFoundError
        One line: what is missing and the command that adds it.
    """
    if name in IQA_SETS:
        return _iqa_set(name, data_root, csv_path)
    from .._io import resolve_data_root
    from ..evaluate.bapps import read_2afc, read_jnd

    try:
        base = resolve_data_root(data_root)[0]
        root = next(
            (
                c
                for c in (base / "bapps", base / "BAPPS", base)
                if (c / "2afc").is_dir() or (c / "jnd").is_dir() or (c / "dataset").is_dir()
            ),
            None,
        )
        if root is None:
            raise FileNotFoundError(f"no bapps/ folder under {base}")
        if name == "bapps-2afc":
            trip = read_2afc(root, split="val")
            n = len(trip)
            pairs = [(str(t.ref), str(t.p0)) for t in trip] + [
                (str(t.ref), str(t.p1)) for t in trip
            ]
            human = np.array([t.judge for t in trip])
            groups = np.array([f"{t.subset}/{Path(t.ref).name}" for t in trip])
            subsets = np.array([t.subset for t in trip])
            title = "BAPPS 2AFC (val)"
        else:
            jnd = read_jnd(root)
            n = len(jnd)
            pairs = [(str(p.p0), str(p.p1)) for p in jnd]
            human = np.array([p.same for p in jnd])
            groups = np.array([f"{p.subset}/{Path(p.p0).name}" for p in jnd])
            subsets = np.array([p.subset for p in jnd])
            title = "BAPPS JND (val)"
    except FileNotFoundError as err:
        raise _missing(name, err) from None
    info = {
        "root": str(root),
        "rows": n,
        "units": len(set(groups.tolist())),
        "unit": "reference patches" if name == "bapps-2afc" else "pairs",
        "subsets": sorted(set(subsets.tolist())),
    }
    kind = "2afc" if name == "bapps-2afc" else "jnd"
    return PairSet(name, title, kind, pairs, human, groups, subsets, info)


def _iqa_set(name: str, data_root: Any, csv_path: str | None) -> PairSet:
    from ..evaluate.iqa import load_iqa_dataset, read_csv_dataset

    try:
        if name == "csv":
            if csv_path is None:
                raise FileNotFoundError("no --csv FILE given")
            ds = read_csv_dataset(csv_path)
        else:
            ds = load_iqa_dataset(name, data_root=data_root)
        ds.check_files()
    except FileNotFoundError as err:
        raise _missing(name, err) from None
    sign = 1.0 if ds.higher_is_better else -1.0
    human = np.array([p.score for p in ds.pairs]) * sign
    groups = np.array([p.ref_id for p in ds.pairs])
    info = {
        "root": str(ds.root),
        "rows": len(ds.pairs),
        "units": len(ds.ref_ids),
        "unit": "reference images",
        "types": ds.dist_types,
        "score": ds.score_name,
    }
    pairs = [(str(p.ref_path), str(p.dist_path)) for p in ds.pairs]
    title = "LIVE" if name == "live" else ds.name
    subsets = np.zeros(len(pairs), dtype=int).astype(str)
    return PairSet(name, title, "iqa", pairs, human, groups, subsets, info, ds)


def _subset_mean(
    per_row: Callable[[np.ndarray], np.ndarray], subsets: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Mean over source sets of a per-set statistic (the way LPIPS's tables average)."""
    names = sorted(set(subsets.tolist()))

    def stat(rows: np.ndarray) -> np.ndarray:
        vals = []
        for s in names:
            r = rows[subsets[rows] == s]
            if r.size:
                vals.append(per_row(r))
        return np.asarray(np.mean(vals, axis=0), dtype=np.float64)

    return stat


def pair_statistic(ps: PairSet, distances: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``stat(rows) -> (V,)``: the data set's statistic of ``V`` variants on rows ``rows``.

    ``distances`` is ``(pairs, V)``: each variant's distance for every pair of ``ps.pairs``.
    Used for the point values (all rows) and inside the bootstrap (drawn rows); for IQA the
    SRCC is computed by :func:`hvsprobe.evaluate.paired.bootstrap_srcc` instead.

    Examples
    --------
    >>> ps = PairSet("bapps-jnd", "JND", "jnd", [("a", "b")] * 4, np.array([1., 1, 0, 0]),
    ...              np.arange(4), np.zeros(4).astype(str))
    >>> pair_statistic(ps, np.array([[0.1], [0.2], [0.3], [0.4]]))(np.arange(4))
    array([1.])
    """
    from ..evaluate.bapps import jnd_map, score_2afc

    d = np.asarray(distances, dtype=np.float64)
    if ps.kind == "2afc":
        n = ps.n_rows
        scores = np.stack(
            [score_2afc(d[:n, v], d[n:, v], ps.human) for v in range(d.shape[1])], axis=1
        )
        return _subset_mean(lambda r: scores[r].mean(axis=0), ps.subsets)
    if ps.kind == "jnd":
        same = ps.human

        def maps(r: np.ndarray) -> np.ndarray:
            return np.array([jnd_map(d[r, v], same[r]) for v in range(d.shape[1])])

        return _subset_mean(maps, ps.subsets)
    raise ValueError(f"{ps.name}: rated images use the SRCC (bootstrap_srcc)")
