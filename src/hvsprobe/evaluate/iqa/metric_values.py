"""Running a metric over rated pairs: same-size batches and a content-keyed value cache."""

from __future__ import annotations

import math
import os
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..._io import read_json, write_json_atomic
from ...image_io import image_size, load_image
from ..cache import metric_cache_key, pair_key
from ..metric_interface import Metric, metric_values, resolve_metric
from .data import IQAPair

__all__ = ["compute_metric_values"]


_CACHE_KIND = "iqa_metric_cache"
# 2: pairs keyed by the sha256 of the image files (1 keyed them by absolute path)
_CACHE_SCHEMA = 2


def _pair_key(pair: IQAPair) -> str:
    return pair_key(pair.ref_path, pair.dist_path)


class _Cache:
    """Metric values by pair, in a dict or a JSON file ``{metric name: {pair key: value}}``."""

    def __init__(self, cache: str | os.PathLike[str] | MutableMapping[str, Any] | None) -> None:
        self.path: Path | None = None
        self.store: MutableMapping[str, Any]
        if cache is None:
            self.store = {}
        elif isinstance(cache, MutableMapping):
            self.store = cache
        else:
            self.path = Path(cache).expanduser()
            self.store = {}
            if self.path.is_file():
                doc = read_json(self.path)
                if doc.get("kind") != _CACHE_KIND:
                    raise ValueError(
                        f"{self.path} is not a hvsprobe IQA metric cache; pass another cache file"
                    )
                # an older schema keyed pairs by path: its values cannot be matched, start anew
                if doc.get("schema_version") == _CACHE_SCHEMA:
                    self.store = doc["values"]
        self.dirty = False

    def get(self, metric: str, key: str) -> float | None:
        v = self.store.get(metric, {}).get(key)
        return None if v is None else float(v)

    def put(self, metric: str, key: str, value: float) -> None:
        self.store.setdefault(metric, {})[key] = float(value)
        self.dirty = True

    def flush(self) -> None:
        if self.path is not None and self.dirty:
            doc = {"kind": _CACHE_KIND, "schema_version": _CACHE_SCHEMA, "values": self.store}
            write_json_atomic(self.path, doc)
            self.dirty = False


def compute_metric_values(
    metric: Metric | str,
    pairs: Sequence[IQAPair],
    *,
    batch_size: int = 8,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
) -> np.ndarray:
    """Run ``metric(ref, dist)`` over pairs, batching pairs whose images have the same size.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    pairs : sequence of IQAPair
        The pairs.
    batch_size : int
        Largest number of pairs per metric call.
    device : torch.device or str, optional
        Device the images are moved to.
    progress : bool
        Show a tqdm progress bar.
    cache : path-like or mutable mapping, optional
        Metric values already computed, keyed by the metric's identity
        (:func:`~hvsprobe.evaluate.cache.metric_cache_key`: name, parameters, hvsprobe
        version) and the sha256 of both image files, so copies of the same images in another
        folder hit it; a path names a JSON file that is read first and rewritten atomically
        (also after an error, so finished batches are kept).

    Returns
    -------
    numpy.ndarray
        One float64 value per pair, in order.
    """
    m = resolve_metric(metric)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    store = _Cache(cache)
    mkey = metric_cache_key(m) if cache is not None else m.name
    values = np.full(len(pairs), np.nan)
    todo: dict[tuple[int, int], list[int]] = {}
    for i, pair in enumerate(pairs):
        hit = store.get(mkey, _pair_key(pair)) if cache is not None else None
        if hit is not None:
            values[i] = hit
            continue
        size = image_size(Path(pair.ref_path))
        dsize = image_size(Path(pair.dist_path))
        if size != dsize:
            raise ValueError(
                f"reference {pair.ref_path} is {size[0]} x {size[1]} but distorted "
                f"{pair.dist_path} is {dsize[0]} x {dsize[1]}"
            )
        todo.setdefault(size, []).append(i)
    from tqdm.auto import tqdm

    n_todo = sum(len(v) for v in todo.values())
    bar = tqdm(total=n_todo, disable=not progress or n_todo == 0, unit="pair", desc=m.name)
    ref_cache: dict[str, torch.Tensor] = {}
    try:
        for indices in todo.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                refs, dists = [], []
                for i in chunk:
                    key = str(pairs[i].ref_path)
                    if key not in ref_cache:
                        if len(ref_cache) > 16:
                            ref_cache.clear()
                        ref_cache[key] = load_image(pairs[i].ref_path)
                    refs.append(ref_cache[key])
                    dists.append(load_image(pairs[i].dist_path))
                out = metric_values(m, torch.cat(refs), torch.cat(dists), device=device)
                for i, v in zip(chunk, out, strict=True):
                    values[i] = v
                    if cache is not None and not math.isnan(float(v)):
                        store.put(mkey, _pair_key(pairs[i]), float(v))
                bar.update(len(chunk))
    finally:
        bar.close()
        store.flush()
    return values
