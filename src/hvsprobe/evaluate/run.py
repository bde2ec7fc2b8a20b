"""``hvsprobe evaluate``: metrics against a human-judgment data set, in one call.

:func:`evaluate_metrics` is the Python API behind the command: it reads the data set (LIVE,
TID2013, KADID-10k, CSIQ, a generic CSV, BAPPS 2AFC or JND), runs every metric with a
content-keyed value cache, and returns an :class:`Evaluation` that prints, and writes CSV and
JSON with the full configuration.  The command prints exactly the numbers this returns.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import atomic_path, resolve_data_root, write_json_atomic
from .bapps import JNDResult, TwoAFCResult, evaluate_2afc, evaluate_jnd
from .iqa import IQADataset, IQAResult, evaluate_iqa, load_iqa_dataset, read_csv_dataset
from .iqa.evaluation import per_type_rows
from .metric_interface import Metric, resolve_metric

__all__ = [
    "DATASET_CHOICES",
    "Evaluation",
    "default_cache_path",
    "evaluate_metrics",
    "load_dataset_for",
]

KIND = "hvsprobe_evaluate"
SCHEMA_VERSION = 1
IQA_CHOICES: tuple[str, ...] = ("live", "tid2013", "kadid10k", "csiq")
#: Data sets ``hvsprobe evaluate --dataset`` accepts (``--csv FILE`` for the generic layout).
DATASET_CHOICES: tuple[str, ...] = (*IQA_CHOICES, "bapps-2afc", "bapps-jnd")
CACHE_ENV_VAR = "HVSPROBE_CACHE"


def default_cache_path() -> Path:
    """``$HVSPROBE_CACHE/metric_values.json``, else ``~/.cache/hvsprobe/metric_values.json``.

    The cache is keyed by file content and metric identity, so one file serves every folder.

    Examples
    --------
    >>> default_cache_path().name
    'metric_values.json'
    """
    base = os.environ.get(CACHE_ENV_VAR)
    folder = Path(base).expanduser() if base else Path.home() / ".cache" / "hvsprobe"
    return folder / "metric_values.json"


def load_dataset_for(dataset: str, data_root: str | os.PathLike[str] | None = None) -> IQADataset:
    """Read an IQA data set from ``<data_root>/iqa/<standard folder>`` or ``data_root`` itself.

    Parameters
    ----------
    dataset : {'live', 'tid2013', 'kadid10k', 'csiq'}
        Data set name.
    data_root : path-like, optional
        The data folder holding ``iqa/`` (default ``$HVSPROBE_DATA``), or the data set's own
        folder.

    Returns
    -------
    IQADataset

    Raises
    ------
    FileNotFoundError
        Naming where it looked.
    """
    try:
        return load_iqa_dataset(dataset, data_root=data_root)
    except FileNotFoundError as first:
        if data_root is None:
            raise
        try:
            return load_iqa_dataset(dataset, root=data_root)
        except (FileNotFoundError, ValueError):
            raise first from None


def _bapps_root(data_root: str | os.PathLike[str] | None) -> Path:
    base = resolve_data_root(data_root)[0]
    for cand in (base / "bapps", base / "BAPPS", base):
        if (cand / "2afc").is_dir() or (cand / "jnd").is_dir() or (cand / "dataset").is_dir():
            return cand
    from ..datasets.registry import list_datasets
    from ..datasets.store import moved_registration

    for name in [n for n in list_datasets() if n.startswith("bapps")]:
        moved = moved_registration(base, name)
        if moved is not None:
            raise FileNotFoundError(moved)
    raise FileNotFoundError(
        f"no BAPPS folder under {base} (looked for bapps/, BAPPS/ or 2afc/ and jnd/ in it)"
    )


@dataclass
class Evaluation:
    """Results of :func:`evaluate_metrics`.

    Attributes
    ----------
    dataset : str
        Data set name (``'LIVE'``, ``'bapps-2afc'``, ...).
    results : dict
        Per metric name: :class:`~hvsprobe.evaluate.iqa.IQAResult`,
        :class:`~hvsprobe.evaluate.bapps.TwoAFCResult` or
        :class:`~hvsprobe.evaluate.bapps.JNDResult`.
    config : dict
        Everything that determines the numbers (metrics, data set, root, bootstrap, ...).
    n_rows : int
        Rated images / triplets / pairs read from the data.
    n_refs : int or None
        Reference images (IQA only).
    timings : dict
        Seconds per metric.
    """

    dataset: str
    results: dict[str, IQAResult | TwoAFCResult | JNDResult]
    config: dict[str, Any]
    n_rows: int
    n_refs: int | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per metric and subset (CSV columns)."""
        out: list[dict[str, Any]] = []
        for name, r in self.results.items():
            if isinstance(r, IQAResult):
                out += [{"metric": name, **row} for row in r.rows()]
            elif isinstance(r, TwoAFCResult):
                for subset, v in [*r.per_subset.items()]:
                    out.append({"metric": name, "subset": subset, **v})
                out.append(
                    {"metric": name, "subset": "mean_over_subsets", "score": r.mean_over_subsets}
                )
            else:
                for subset, v in r.per_subset.items():
                    out.append({"metric": name, "subset": subset, **v})
                out.append(
                    {"metric": name, "subset": "mean_over_subsets", "map": r.mean_over_subsets}
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable results with kind, schema version and configuration."""
        from .. import __version__

        res: dict[str, Any] = {}
        for name, r in self.results.items():
            res[name] = r.to_dict(include_pairs=True) if isinstance(r, IQAResult) else r.to_dict()
        return {
            "kind": KIND,
            "schema_version": SCHEMA_VERSION,
            "hvsprobe_version": __version__,
            "config": dict(self.config),
            "dataset": self.dataset,
            "n_rows": self.n_rows,
            "n_refs": self.n_refs,
            "timings": dict(self.timings),
            "results": res,
        }

    def write(self, out: str | os.PathLike[str]) -> list[Path]:
        """Write ``evaluate.json`` and ``evaluate.csv`` into the folder ``out`` (atomic)."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        js = write_json_atomic(folder / "evaluate.json", self.to_dict())
        rows = self.rows()
        cols = list(dict.fromkeys(k for r in rows for k in r))
        path = folder / "evaluate.csv"
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        return [js, path]

    def format(self) -> str:
        """The text the command prints."""
        lines: list[str] = []
        for name, r in self.results.items():
            if isinstance(r, IQAResult):
                lines += _format_iqa(name, r, self.n_refs)
            elif isinstance(r, TwoAFCResult):
                lines.append(f"{name} on BAPPS 2AFC ({r.split}), {len(r.scores)} triplets:")
                lines.append(f"  {'subset':16s} {'n':>6s}  2AFC score  human ceiling")
                for s, v in r.per_subset.items():
                    lines.append(f"  {s:16s} {v['n']:6d}  {v['score']:.4f}     {v['human']:.4f}")
                lines.append(f"  {'mean of subsets':16s} {'':6s}  {r.mean_over_subsets:.4f}")
            else:
                lines.append(f"{name} on BAPPS JND, {len(r.distances)} pairs:")
                lines.append(f"  {'subset':16s} {'n':>6s}  mAP")
                for s, v in r.per_subset.items():
                    lines.append(f"  {s:16s} {v['n']:6d}  {v['map']:.4f}")
                lines.append(f"  {'mean of subsets':16s} {'':6s}  {r.mean_over_subsets:.4f}")
            lines.append("")
        return "\n".join(lines).rstrip()


def _ci(r: IQAResult, subset: Any, stat: str) -> str:
    v = getattr(subset, stat)
    ci = subset.ci.get(stat)
    if not math.isfinite(v):
        return f"{'—':>21s}"
    if ci is None or not math.isfinite(ci.low):
        return f"{v:6.3f} {'':14s}"
    return f"{v:6.3f} [{ci.low:.3f}, {ci.high:.3f}]"


def _format_iqa(name: str, r: IQAResult, n_refs: int | None) -> list[str]:
    level = r.settings.get("level", 0.95)
    head = (
        f"{name} on {r.dataset}: {r.overall.n} rated images, {r.overall.n_groups} reference "
        f"images; {r.score_name}; both sides oriented higher = better; "
        f"{100 * level:g} % intervals resample reference images"
    )
    lines = [head, f"  {'subset':14s} {'n':>5s} {'refs':>4s}  {'SRCC':21s} {'KRCC':21s} PLCC"]
    for label, s in [("all", r.overall), *per_type_rows(r)]:
        lines.append(
            f"  {label:14s} {s.n:5d} {s.n_groups:4d}  {_ci(r, s, 'srcc')} {_ci(r, s, 'krcc')} "
            f"{_ci(r, s, 'plcc')}"
        )
    lines += [f"  note: {n}" for n in r.notes]
    return lines


def evaluate_metrics(
    metrics: Sequence[Metric | str],
    dataset: str | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    csv_path: str | os.PathLike[str] | None = None,
    selection: str | os.PathLike[str] | None = None,
    split: str = "val",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    batch_size: int = 8,
    device: str | None = None,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Evaluation:
    """Evaluate metrics on one human-judgment data set (the API of ``hvsprobe evaluate``).

    Parameters
    ----------
    metrics : sequence of Metric or str
        Metric objects or registered names (``'selected'`` needs ``selection``).
    dataset : str, optional
        One of :data:`DATASET_CHOICES`; omit it when ``csv_path`` is given.
    data_root : path-like, optional
        Folder holding ``iqa/`` (and ``bapps/``), default ``$HVSPROBE_DATA``; an IQA data
        set's own folder is accepted too.
    csv_path : path-like, optional
        A generic CSV (``ref, dist, score, higher_is_better[, dist_type, ref_id]``).
    selection : path-like, optional
        Selection JSON for the ``'selected'`` metric.
    split : str
        BAPPS 2AFC split.
    n_boot, seed, level : int, int, float
        Bootstrap over reference images (IQA).
    batch_size : int
        Image pairs per metric call.
    device : str, optional
        Torch device.
    cache : path-like, optional
        JSON file of metric values keyed by image content (``None``: no cache).
    progress : bool
        Show progress bars.

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        Bad data set name, both or neither of ``dataset`` and ``csv_path``, ``'selected'``
        without a selection.
    FileNotFoundError
        Missing data.

    Examples
    --------
    >>> ev = evaluate_metrics(["psnr"], "live", data_root="../shared/data")  # doctest: +SKIP
    >>> round(ev.results["psnr"].overall.srcc, 3)  # doctest: +SKIP
    """
    if (dataset is None) == (csv_path is None):
        raise ValueError("give either a data set name (--dataset) or a CSV file (--csv)")
    if dataset is not None and dataset not in DATASET_CHOICES:
        raise ValueError(f"unknown data set {dataset!r}; choose from {', '.join(DATASET_CHOICES)}")
    if not metrics:
        raise ValueError("name at least one metric (see `hvsprobe metrics`)")
    from ..metrics.cli_support import check_selection_used

    check_selection_used(selection, list(metrics))
    resolved = [_build_metric(m, selection) for m in metrics]
    config = {
        "metrics": [m.name for m in resolved],
        "dataset": dataset or "csv",
        "data_root": None if data_root is None else str(data_root),
        "csv": None if csv_path is None else str(csv_path),
        "selection": None if selection is None else str(selection),
        "split": split,
        "n_boot": n_boot,
        "seed": seed,
        "level": level,
        "batch_size": batch_size,
        "device": device,
        "cache": None if cache is None else str(cache),
    }
    run = {"batch_size": batch_size, "device": device, "progress": progress, "cache": cache}
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}
    if dataset in ("bapps-2afc", "bapps-jnd"):
        root = _bapps_root(data_root)
        config["root"] = str(root)
        for m in resolved:
            t0 = time.perf_counter()
            if dataset == "bapps-2afc":
                results[m.name] = evaluate_2afc(m, root, split=split, **run)
            else:
                results[m.name] = evaluate_jnd(m, root, **run)
            timings[m.name] = time.perf_counter() - t0
        first = next(iter(results.values()))
        n = len(first.scores) if isinstance(first, TwoAFCResult) else len(first.distances)
        return Evaluation(dataset, results, config, n, None, timings)
    ds = (
        read_csv_dataset(csv_path)
        if csv_path is not None
        else load_dataset_for(str(dataset), data_root)
    )
    ds.check_files()
    config["root"] = str(ds.root)
    for m in resolved:
        t0 = time.perf_counter()
        results[m.name] = evaluate_iqa(m, ds, n_boot=n_boot, seed=seed, level=level, **run)
        timings[m.name] = time.perf_counter() - t0
    return Evaluation(ds.name, results, config, len(ds), len(ds.ref_ids), timings)


def _build_metric(m: Metric | str, selection: str | os.PathLike[str] | None) -> Metric:
    if isinstance(m, str) and m == "selected":
        if selection is None:
            raise ValueError("metric 'selected' needs --selection FILE (a selection JSON)")
        from ..metrics import get_metric

        return resolve_metric(get_metric("selected", selection=selection))
    return resolve_metric(m)
