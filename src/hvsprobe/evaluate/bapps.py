"""BAPPS (Zhang et al., CVPR 2018): 2AFC agreement and JND mean average precision.

Layout (as distributed with LPIPS)::

    <root>/2afc/{train,val}/<subset>/{ref,p0,p1}/<id>.png
    <root>/2afc/{train,val}/<subset>/judge/<id>.npy     fraction of humans preferring p1
    <root>/jnd/val/<subset>/{p0,p1}/<id>.png
    <root>/jnd/val/<subset>/same/<id>.npy               fraction judging p0 and p1 "same"

2AFC subsets: ``traditional, cnn, superres, deblur, color, frameinterp`` (val) and
``traditional, cnn, mix`` (train); JND subsets: ``traditional, cnn``.  Any subset folder
found is read.

Metrics are used as distances: values of a metric with ``higher_is_better=True`` are negated.
"""

from __future__ import annotations

import math
import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .._io import write_json_atomic
from .iqa import IQAPair, compute_metric_values
from .metric_interface import Metric, as_distance, resolve_metric

__all__ = [
    "JNDPair",
    "JNDResult",
    "TwoAFCResult",
    "TwoAFCTriplet",
    "average_precision",
    "evaluate_2afc",
    "evaluate_jnd",
    "jnd_map",
    "read_2afc",
    "read_jnd",
    "score_2afc",
]

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")


class TwoAFCTriplet(NamedTuple):
    """One 2AFC judgement: which of ``p0`` and ``p1`` is closer to ``ref``.

    Attributes
    ----------
    ref, p0, p1 : pathlib.Path
        Image files.
    judge : float
        Fraction of humans who chose ``p1`` as closer, in [0, 1].
    subset : str
        Subset folder name.
    """

    ref: Path
    p0: Path
    p1: Path
    judge: float
    subset: str


class JNDPair(NamedTuple):
    """One JND judgement: are ``p0`` and ``p1`` the same?

    Attributes
    ----------
    p0, p1 : pathlib.Path
        Image files.
    same : float
        Fraction of humans who judged the pair "same", in [0, 1].
    subset : str
        Subset folder name.
    """

    p0: Path
    p1: Path
    same: float
    subset: str


def _bapps_dir(root: str | os.PathLike[str], *parts: str) -> Path:
    base = Path(root).expanduser()
    # accept the BAPPS root itself or a folder that holds "dataset/"
    for cand in (base, base / "dataset"):
        if (cand.joinpath(*parts)).is_dir():
            return cand.joinpath(*parts)
    raise FileNotFoundError(f"BAPPS folder {base.joinpath(*parts)} not found")


def _read_fraction(path: Path) -> float:
    arr = np.load(path, allow_pickle=False)
    if arr.size != 1:
        raise ValueError(f"{path}: expected one value, got shape {arr.shape}")
    v = float(arr.reshape(-1)[0])
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{path}: fraction {v} is outside [0, 1]")
    return v


def _images(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.suffix.lower() in _IMAGE_EXTS}


def _subset_dirs(base: Path, subsets: Sequence[str] | None) -> list[Path]:
    if subsets is None:
        found = sorted(p for p in base.iterdir() if p.is_dir())
        if not found:
            raise FileNotFoundError(f"no subset folders in {base}")
        return found
    out = []
    for s in subsets:
        if not (base / s).is_dir():
            avail = sorted(p.name for p in base.iterdir() if p.is_dir())
            raise FileNotFoundError(f"subset {s!r} not found in {base}; available: {avail}")
        out.append(base / s)
    return out


def read_2afc(
    root: str | os.PathLike[str],
    *,
    split: str = "val",
    subsets: Sequence[str] | None = None,
) -> list[TwoAFCTriplet]:
    """Read the 2AFC triplets of one split.

    Parameters
    ----------
    root : path-like
        BAPPS root (holding ``2afc/``) or its parent holding ``dataset/``.
    split : str
        ``'val'`` or ``'train'``.
    subsets : sequence of str, optional
        Subset folders to read; default all.

    Returns
    -------
    list of TwoAFCTriplet
        Sorted by subset, then file stem.

    Raises
    ------
    FileNotFoundError
        If a folder or one of the triplet's files is missing.
    """
    base = _bapps_dir(root, "2afc", split)
    out: list[TwoAFCTriplet] = []
    for sub in _subset_dirs(base, subsets):
        refs = _images(sub / "ref")
        p0s, p1s = _images(sub / "p0"), _images(sub / "p1")
        for stem, ref in refs.items():
            judge = sub / "judge" / f"{stem}.npy"
            for name, table in (("p0", p0s), ("p1", p1s)):
                if stem not in table:
                    raise FileNotFoundError(f"{sub / name} has no image {stem!r} for ref {ref}")
            if not judge.is_file():
                raise FileNotFoundError(f"judgement {judge} missing for ref {ref}")
            out.append(TwoAFCTriplet(ref, p0s[stem], p1s[stem], _read_fraction(judge), sub.name))
    if not out:
        raise FileNotFoundError(f"no 2AFC triplets under {base}")
    return out


def read_jnd(
    root: str | os.PathLike[str],
    *,
    subsets: Sequence[str] | None = None,
) -> list[JNDPair]:
    """Read the JND pairs (``jnd/val``).

    Parameters
    ----------
    root : path-like
        BAPPS root (holding ``jnd/``) or its parent holding ``dataset/``.
    subsets : sequence of str, optional
        Subset folders to read; default all.

    Returns
    -------
    list of JNDPair
    """
    base = _bapps_dir(root, "jnd", "val")
    out: list[JNDPair] = []
    for sub in _subset_dirs(base, subsets):
        p0s, p1s = _images(sub / "p0"), _images(sub / "p1")
        for stem, p0 in p0s.items():
            same = sub / "same" / f"{stem}.npy"
            if stem not in p1s:
                raise FileNotFoundError(f"{sub / 'p1'} has no image {stem!r} for {p0}")
            if not same.is_file():
                raise FileNotFoundError(f"judgement {same} missing for {p0}")
            out.append(JNDPair(p0, p1s[stem], _read_fraction(same), sub.name))
    if not out:
        raise FileNotFoundError(f"no JND pairs under {base}")
    return out


# --------------------------------------------------------------------------------------------
# scoring


def score_2afc(
    d0: Sequence[float] | np.ndarray,
    d1: Sequence[float] | np.ndarray,
    judge: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Soft 2AFC score of every triplet: the fraction of humans who agree with the metric.

    ``score = 1 - judge`` if ``d0 < d1`` (the metric finds p0 closer), ``judge`` if
    ``d1 < d0``, and ``0.5`` on a tie.

    Parameters
    ----------
    d0, d1 : array_like
        Distances ref-p0 and ref-p1.
    judge : array_like
        Fraction of humans preferring p1.

    Returns
    -------
    numpy.ndarray
        Scores in [0, 1]; their mean is the 2AFC score of LPIPS.
    """
    a, b, j = (np.asarray(v, dtype=np.float64).reshape(-1) for v in (d0, d1, judge))
    if not (a.shape == b.shape == j.shape):
        raise ValueError(
            f"d0, d1 and judge must have equal lengths, got {a.size}, {b.size}, {j.size}"
        )
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("distances contain NaN")
    return np.where(a < b, 1.0 - j, np.where(b < a, j, 0.5))


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision-recall curve with the monotone precision envelope.

    ``AP = sum_i (r_i - r_{i-1}) * max_{k >= i} p_k`` with ``r_0 = 0``: every step in recall
    is weighted by the best precision reached at that recall or beyond (the all-point
    interpolation of PASCAL VOC since 2010, also used by LPIPS).

    Parameters
    ----------
    recall : numpy.ndarray
        Non-decreasing recalls in [0, 1].
    precision : numpy.ndarray
        Precisions at the same cut-offs.

    Returns
    -------
    float
    """
    r = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    envelope = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum(np.diff(r) * envelope[1:]))


def jnd_map(distances: Sequence[float] | np.ndarray, same: Sequence[float] | np.ndarray) -> float:
    """JND mean average precision: how well small distances retrieve "same" pairs.

    Pairs are sorted by distance, ascending (stable sort: ties keep their input order).
    With soft labels ``s_i`` (fraction judging "same"), after the first ``k`` pairs
    ``TP_k = sum_{i<=k} s_i``, ``FP_k = k - TP_k``, precision ``TP_k / k`` and recall
    ``TP_k / sum_i s_i``; the result is :func:`average_precision` of that curve.

    Parameters
    ----------
    distances : array_like
        Metric distance of every pair.
    same : array_like
        Fraction of humans judging the pair "same".

    Returns
    -------
    float
        In [0, 1]; NaN if no pair was ever judged "same".
    """
    d = np.asarray(distances, dtype=np.float64).reshape(-1)
    s = np.asarray(same, dtype=np.float64).reshape(-1)
    if d.shape != s.shape or d.size == 0:
        raise ValueError(
            f"distances and same must be non-empty and equal-length, got {d.size}, {s.size}"
        )
    if np.isnan(d).any():
        raise ValueError("distances contain NaN")
    total = float(s.sum())
    if total <= 0:
        return math.nan
    order = np.argsort(d, kind="stable")
    tp = np.cumsum(s[order])
    k = np.arange(1, d.size + 1, dtype=np.float64)
    return average_precision(tp / total, tp / k)


# --------------------------------------------------------------------------------------------
# running a metric


def _distances(
    metric: Metric,
    firsts: Sequence[Path],
    seconds: Sequence[Path],
    batch_size: int,
    device: torch.device | str | None,
    progress: bool,
    desc: str,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
) -> np.ndarray:
    """``metric(first, second)`` per pair as a distance, batched by image size and cached.

    Runs through :func:`hvsprobe.evaluate.iqa.compute_metric_values` (pairs of one size
    share batches; values cached by file content when ``cache`` is given).
    """
    del desc  # the progress bar is labelled with the metric name
    pairs = [IQAPair(Path(a), Path(b), 0.0, "", "") for a, b in zip(firsts, seconds, strict=True)]
    vals = compute_metric_values(
        metric, pairs, batch_size=batch_size, device=device, progress=progress, cache=cache
    )
    if np.isnan(vals).any():
        raise ValueError(
            f"metric {metric.name!r} returned NaN for {int(np.isnan(vals).sum())} pair(s)"
        )
    return as_distance(metric, vals)


@dataclass
class TwoAFCResult:
    """Result of :func:`evaluate_2afc`.

    Attributes
    ----------
    metric : str
        Metric name.
    split : str
        BAPPS split.
    per_subset : dict of str to dict
        ``{'n', 'score', 'human'}`` per subset: mean soft 2AFC score of the metric and the
        human ceiling ``mean(p^2 + (1 - p)^2)`` (agreement of a random human with the others).
    mean_over_subsets : float
        Unweighted mean of the subset scores (how LPIPS tables average).
    mean_over_triplets : float
        Mean score over all triplets.
    d0, d1, scores : numpy.ndarray
        Per-triplet distances and scores.
    triplets : list of TwoAFCTriplet
    """

    metric: str
    split: str
    per_subset: dict[str, dict[str, float]]
    mean_over_subsets: float
    mean_over_triplets: float
    d0: np.ndarray
    d1: np.ndarray
    scores: np.ndarray
    triplets: list[TwoAFCTriplet] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (no per-triplet arrays)."""
        return {
            "kind": "bapps_2afc_evaluation",
            "schema_version": 1,
            "metric": self.metric,
            "split": self.split,
            "per_subset": self.per_subset,
            "mean_over_subsets": self.mean_over_subsets,
            "mean_over_triplets": self.mean_over_triplets,
        }

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict())


@dataclass
class JNDResult:
    """Result of :func:`evaluate_jnd`.

    Attributes
    ----------
    metric : str
        Metric name.
    per_subset : dict of str to dict
        ``{'n', 'map'}`` per subset.
    mean_over_subsets : float
        Unweighted mean of the subset mAPs.
    distances : numpy.ndarray
        Per-pair distances.
    pairs : list of JNDPair
    """

    metric: str
    per_subset: dict[str, dict[str, float]]
    mean_over_subsets: float
    distances: np.ndarray
    pairs: list[JNDPair] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "kind": "bapps_jnd_evaluation",
            "schema_version": 1,
            "metric": self.metric,
            "per_subset": self.per_subset,
            "mean_over_subsets": self.mean_over_subsets,
        }

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict())


def evaluate_2afc(
    metric: Metric | str,
    root: str | os.PathLike[str],
    *,
    split: str = "val",
    subsets: Sequence[str] | None = None,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
) -> TwoAFCResult:
    """2AFC score of a metric on BAPPS: mean fraction of humans agreeing with it.

    Parameters
    ----------
    metric : Metric or str
        The metric (distances ``metric(ref, p0)``, ``metric(ref, p1)``).
    root : path-like
        BAPPS root.
    split : str
        ``'val'`` (default) or ``'train'``.
    subsets : sequence of str, optional
        Subsets to evaluate; default all found.
    batch_size : int
        Pairs per metric call.
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar.
    cache : path-like or mutable mapping, optional
        Metric values by content (see :func:`hvsprobe.evaluate.iqa.compute_metric_values`).

    Returns
    -------
    TwoAFCResult
    """
    m = resolve_metric(metric)
    triplets = read_2afc(root, split=split, subsets=subsets)
    refs = [t.ref for t in triplets]
    p0s, p1s = [t.p0 for t in triplets], [t.p1 for t in triplets]
    d0 = _distances(m, refs, p0s, batch_size, device, progress, "2afc d0", cache)
    d1 = _distances(m, refs, p1s, batch_size, device, progress, "2afc d1", cache)
    judge = np.array([t.judge for t in triplets])
    scores = score_2afc(d0, d1, judge)
    names = np.array([t.subset for t in triplets])
    per: dict[str, dict[str, float]] = {}
    for s in dict.fromkeys(names.tolist()):
        mask = names == s
        j = judge[mask]
        per[s] = {
            "n": int(mask.sum()),
            "score": float(scores[mask].mean()),
            "human": float(np.mean(j**2 + (1 - j) ** 2)),
        }
    return TwoAFCResult(
        m.name,
        split,
        per,
        float(np.mean([v["score"] for v in per.values()])),
        float(scores.mean()),
        d0,
        d1,
        scores,
        triplets,
    )


def evaluate_jnd(
    metric: Metric | str,
    root: str | os.PathLike[str],
    *,
    subsets: Sequence[str] | None = None,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
) -> JNDResult:
    """JND mAP of a metric on BAPPS (per subset, see :func:`jnd_map`).

    Parameters
    ----------
    metric : Metric or str
        The metric (distance ``metric(p0, p1)``).
    root : path-like
        BAPPS root.
    subsets : sequence of str, optional
        Subsets to evaluate; default all found.
    batch_size : int
        Pairs per metric call.
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar.
    cache : path-like or mutable mapping, optional
        Metric values by content (see :func:`hvsprobe.evaluate.iqa.compute_metric_values`).

    Returns
    -------
    JNDResult
    """
    m = resolve_metric(metric)
    pairs = read_jnd(root, subsets=subsets)
    d = _distances(
        m, [p.p0 for p in pairs], [p.p1 for p in pairs], batch_size, device, progress, "jnd", cache
    )
    same = np.array([p.same for p in pairs])
    names = np.array([p.subset for p in pairs])
    per: dict[str, dict[str, float]] = {}
    for s in dict.fromkeys(names.tolist()):
        mask = names == s
        per[s] = {"n": int(mask.sum()), "map": jnd_map(d[mask], same[mask])}
    return JNDResult(m.name, per, float(np.mean([v["map"] for v in per.values()])), d, pairs)
