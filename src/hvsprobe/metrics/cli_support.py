"""The body of ``hvsprobe distance REF DIST [--metric ...]``."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .._format import format_number
from .._io import atomic_path
from ..image_io import load_image
from ..selection import Selection
from .registry import get_metric, metric_info

__all__ = ["IMAGE_SUFFIXES", "check_selection_used", "distance_command", "image_pairs"]

#: Files treated as images in folders (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _images_in(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    dupes: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES:
            if p.stem in found:
                dupes.append(f"{found[p.stem].name} / {p.name}")
            found[p.stem] = p
    if dupes:
        raise ValueError(f"{folder}: several images share a name: {'; '.join(dupes)}")
    return found


def image_pairs(
    ref: str | os.PathLike[str], dist: str | os.PathLike[str]
) -> list[tuple[str, Path, Path]]:
    """``(pair name, ref path, dist path)`` for two files or two folders.

    Folders are paired by file name without extension (``a.png`` with ``a.bmp``); hidden and
    non-image files are ignored, sub-folders are not searched.

    Raises
    ------
    FileNotFoundError
        A path does not exist.
    ValueError
        One file and one folder, an empty folder, names found in only one folder (all listed),
        or two images with the same name in one folder.
    """
    r, d = Path(ref), Path(dist)
    for p in (r, d):
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist")
    if r.is_file() and d.is_file():
        return [(d.stem, r, d)]
    if r.is_dir() != d.is_dir():
        raise ValueError(f"give two image files or two folders, got {r} and {d}")
    ri, di = _images_in(r), _images_in(d)
    if not ri or not di:
        raise ValueError(f"no images found in {r if not ri else d}")
    only_r, only_d = sorted(set(ri) - set(di)), sorted(set(di) - set(ri))
    if only_r or only_d:
        parts = []
        if only_r:
            parts.append(f"only in {r}: {', '.join(only_r)}")
        if only_d:
            parts.append(f"only in {d}: {', '.join(only_d)}")
        raise ValueError("unmatched image names; " + "; ".join(parts))
    return [(name, ri[name], di[name]) for name in sorted(ri)]


def check_selection_used(selection: object, names: Sequence[object]) -> None:
    """Refuse a selection given with metrics none of which uses it (it would be ignored).

    Examples
    --------
    >>> check_selection_used("s.json", ["selected", "psnr"])
    >>> check_selection_used("s.json", ["psnr"])
    Traceback (most recent call last):
    ...
    ValueError: --selection s.json is used only by the metric 'selected', which is not among the metrics asked for (psnr); drop --selection or add the metric selected
    """
    if selection is None or "selected" in names:
        return
    shown = ", ".join(n if isinstance(n, str) else str(getattr(n, "name", n)) for n in names)
    where = selection if isinstance(selection, str | os.PathLike) else "(a Selection)"
    raise ValueError(
        f"--selection {where} is used only by the metric 'selected', which is not among the "
        f"metrics asked for ({shown}); drop --selection or add the metric selected"
    )


def _format(v: float) -> str:
    return format_number(v, style="repr", nonfinite="text")


def distance_command(
    ref: str | os.PathLike[str],
    dist: str | os.PathLike[str],
    metric_names: Sequence[str] = ("lpips-alex",),
    out_csv: str | os.PathLike[str] | None = None,
    *,
    selection: Selection | str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    progress: Callable[[str], None] | None = None,
    max_memory: float | None = None,
) -> list[dict[str, Any]]:
    """Compute metrics between two images or two folders of images and write a CSV.

    Parameters
    ----------
    ref, dist : path
        Two image files, or two folders paired by file name (see :func:`image_pairs`).
    metric_names : sequence of str
        Names from :func:`~hvsprobe.metrics.list_metrics`.
    out_csv : path, optional
        Written atomically with columns ``pair, ref, dist, <metric>...``; ``None``: no file.
    selection : Selection or path, optional
        Needed by the ``'selected'`` metric.
    device : str or torch.device, optional
        Where to compute (default CPU).
    progress : callable, optional
        Receives one line per pair.
    max_memory : float, optional
        Gigabytes a perceptual metric may use per pair (default: the memory available); a
        pair whose estimate is larger is refused before it runs (docs/metric.md).

    Returns
    -------
    list of dict
        One row per pair: ``pair``, ``ref``, ``dist`` (str) and a float per metric.

    Raises
    ------
    ValueError
        Unknown metric, ``'selected'`` without ``selection``, unmatched folders, a pair with
        different sizes or too small for a metric (the message names the pair).
    """
    names = list(dict.fromkeys(metric_names))
    if max_memory is not None and not (math.isfinite(max_memory) and max_memory > 0):
        raise ValueError(f"--max-memory: must be a positive number of GB, got {max_memory:g}")
    if not names:
        raise ValueError("give at least one metric name")
    for n in names:
        metric_info(n)
    check_selection_used(selection, names)
    pairs = image_pairs(ref, dist)
    dev = torch.device(device) if device is not None else torch.device("cpu")
    metrics = {}
    for n in names:
        kwargs: dict[str, Any] = {"selection": selection} if n == "selected" else {}
        metrics[n] = get_metric(n, **kwargs).to(dev)
        if max_memory is not None and hasattr(metrics[n], "max_memory"):
            setattr(metrics[n], "max_memory", max_memory)  # noqa: B010 - nn.Module typing
    rows: list[dict[str, Any]] = []
    with torch.no_grad():
        for pair, rp, dp in pairs:
            x, y = load_image(rp).to(dev), load_image(dp).to(dev)
            if x.shape != y.shape:
                raise ValueError(
                    f"{pair}: {rp.name} is {x.shape[-2]} x {x.shape[-1]} but {dp.name} is "
                    f"{y.shape[-2]} x {y.shape[-1]} pixels"
                )
            row: dict[str, Any] = {"pair": pair, "ref": str(rp), "dist": str(dp)}
            for n, m in metrics.items():
                try:
                    row[n] = float(m(x, y)[0])
                except ValueError as exc:
                    raise ValueError(f"{pair} ({rp} vs {dp}), metric {n}: {exc}") from exc
            rows.append(row)
            if progress is not None:
                progress(f"{pair}: " + ", ".join(f"{n}={row[n]:.4g}" for n in names))
    if out_csv is not None:
        with atomic_path(out_csv) as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["pair", "ref", "dist", *names])
                for row in rows:
                    w.writerow(
                        [row["pair"], row["ref"], row["dist"]] + [_format(row[n]) for n in names]
                    )
    return rows
