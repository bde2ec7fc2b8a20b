"""Per-channel distances of many image pairs: streamed in chunks, cached by content, parallel.

A claim-1 metric is a weighted sum of per-channel distances (:mod:`hvsprobe.metrics.decompose`),
so one pass of every image through a backbone serves every channel subset.  On a data set of
10,000 images that pass is hours of CPU time, so it is

* **chunked** — the rows (image pairs) are ordered by their first image (the reference) and cut
  into chunks of ``chunk_rows`` rows; the plan depends only on the pair list, so every run, with
  any number of workers, makes the same chunks;
* **cached by content** — a chunk's file is named by the sha256 of its pairs' image bytes and of
  the configuration (backbone weights, layers, precision, hvsprobe version); it holds a
  ``rows x channels`` float32 array (the LPIPS layers' channels side by side) and is written
  atomically, so a killed run loses at most the chunks in flight and a rerun continues;
* **bounded in memory** — a chunk is computed from one reference's features and batches of
  its distorted images, and the results are read back chunk by chunk
  (:meth:`ChannelDistances.combine`): no array holds the whole data set's distances;
* **parallel** — ``workers=N`` runs chunks in ``N`` local processes, each chunk on one torch
  thread wherever it runs (:func:`one_thread`: a convolution's bits can depend on the thread
  count); ``ray_address`` runs the same chunk function as Ray tasks on a cluster.  The
  workers return arrays and this process writes them, so the cache's bytes do not depend on
  who computed a chunk (``tests/test_extract.py`` checks one process, two workers and a local
  two-CPU Ray cluster give identical files).

Hand-made rather than a framework: the chunk files are the whole protocol (content name,
``numpy.save`` bytes); Ray is used where there is a cluster, :mod:`concurrent.futures` here.

Examples
--------
>>> plan_chunks(["a", "b", "a", "c"], chunk_rows=2)
[[0, 2], [1, 3]]
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import atomic_path

__all__ = [
    "ChannelDistances",
    "ExtractionSpec",
    "chunk_distances",
    "extract_channel_distances",
    "mean_square_diff_",
    "plan_chunks",
    "unit_normalize_",
]

#: Bumped when the bytes a chunk holds would change for the same inputs.
CHUNK_FORMAT = 1


def unit_normalize_(f: torch.Tensor) -> torch.Tensor:
    """``f / sqrt(sum_c f^2 + eps)`` with one full-size allocation (``f`` is left alone).

    The same values as :func:`hvsprobe.metrics.perceptual.unit_normalize`; ``vector_norm``
    reduces over the channels (contiguous in ``channels_last``) to an ``N x 1 x H x W`` scale.

    Examples
    --------
    >>> f = torch.full((1, 4, 2, 2), 3.0)
    >>> unit_normalize_(f)[0, :, 0, 0].tolist()  # 3 / sqrt(4 * 9)
    [0.5, 0.5, 0.5, 0.5]
    """
    from ..metrics.perceptual import DEFAULT_EPS

    scale = torch.linalg.vector_norm(f, dim=1, keepdim=True).square_().add_(DEFAULT_EPS).rsqrt_()
    out: torch.Tensor = f * scale
    return out


def mean_square_diff_(f: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``mean_hw (f - ref)^2`` per image and channel (``N x C``, ``f``'s dtype); overwrites ``f``.

    Examples
    --------
    >>> mean_square_diff_(torch.ones(2, 3, 4, 4), torch.zeros(1, 3, 4, 4)).shape
    torch.Size([2, 3])
    """
    return f.sub_(ref).square_().mean(dim=(2, 3))


def plan_chunks(firsts: Sequence[Any], chunk_rows: int = 64) -> list[list[int]]:
    """Row indices of every chunk: rows grouped by their first image, cut every ``chunk_rows``.

    Groups keep the order of their first appearance and rows their order within a group, so
    the plan depends only on the list of first images.

    Examples
    --------
    >>> plan_chunks(["r1", "r2", "r1", "r1"], chunk_rows=2)
    [[0, 2], [3, 1]]
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(firsts):
        groups.setdefault(str(f), []).append(i)
    order = [i for rows in groups.values() for i in rows]
    return [order[s : s + chunk_rows] for s in range(0, len(order), chunk_rows)]


@dataclass(frozen=True)
class ExtractionSpec:
    """What a worker needs to rebuild the network: backbone name, weights, layers, precision.

    Attributes
    ----------
    backbone : str
        Registered backbone name (:func:`hvsprobe.backbones.get_backbone`).
    weights : str
        ``'imagenet'`` or ``'random:SEED'``.
    layers : tuple of str
        Layers whose channels are measured, in this order.
    batch_size : int
        Distorted images per forward pass.
    dtype : str
        ``'float32'`` or ``'bfloat16'`` (autocast on the CPU; see docs/performance.md).
    """

    backbone: str
    weights: str
    layers: tuple[str, ...]
    batch_size: int = 4
    dtype: str = "float32"

    def key(self, weights_sha256: str) -> dict[str, Any]:
        """The configuration part of every chunk's content key."""
        from .. import __version__

        return {
            "backbone": self.backbone,
            "sha": weights_sha256,
            "layers": list(self.layers),
            "dtype": self.dtype,
            "format": CHUNK_FORMAT,
            "v": __version__,
        }


_NETS: dict[ExtractionSpec, Any] = {}


def _network(spec: ExtractionSpec) -> Any:
    """The backbone of ``spec``, built once per process."""
    if spec not in _NETS:
        from ..backbones import get_backbone

        _NETS[spec] = get_backbone(spec.backbone, spec.weights)
    return _NETS[spec]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread inside the block (restored after).

    A float32 convolution's bits can depend on the intra-op thread count: on a 2-core
    AVX-512/AMX CPU, chunks computed with 2 threads and with 1 differed in their last bits.
    Every chunk is therefore computed on one thread, wherever it runs (this process, a
    worker, a Ray task), so the cache's bytes do not depend on ``workers``; the machine is
    used through processes (``workers``) instead of threads.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def chunk_distances(
    spec: ExtractionSpec, pairs: Sequence[tuple[str, str]], backbone: Any = None
) -> np.ndarray:
    """``rows x channels`` float32 distances of one chunk's ``(first, second)`` image pairs.

    Each distinct first image is decoded and passed through the trunk once; its seconds go
    through ``spec.batch_size`` at a time as ``channels_last`` tensors, on one thread
    (:func:`one_thread`).
    """
    with one_thread():
        return _chunk_distances(spec, pairs, backbone)


def _chunk_distances(
    spec: ExtractionSpec, pairs: Sequence[tuple[str, str]], backbone: Any = None
) -> np.ndarray:
    from ..image_io import load_image

    bb = backbone if backbone is not None else _network(spec)
    layers = list(spec.layers)
    widths = [int(bb.channels[n]) for n in layers]
    offsets = np.concatenate([[0], np.cumsum(widths)])
    out = np.zeros((len(pairs), int(offsets[-1])), dtype=np.float32)
    autocast = spec.dtype == "bfloat16"

    def feats(x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return {n: unit_normalize_(f.float()) for n, f in bb.iter_layers(x, layers)}

    by_first: dict[str, list[int]] = {}
    for i, (a, _) in enumerate(pairs):
        by_first.setdefault(str(a), []).append(i)
    for first, idx in by_first.items():
        ref = load_image(first)
        nref = feats(ref)
        for s in range(0, len(idx), spec.batch_size):
            part = idx[s : s + spec.batch_size]
            imgs = [load_image(pairs[i][1]) for i in part]
            for i, im in zip(part, imgs, strict=True):
                if im.shape != ref.shape:
                    raise ValueError(
                        f"{pairs[i][1]}: size {tuple(im.shape[2:])} differs from {first} "
                        f"({tuple(ref.shape[2:])})"
                    )
            for j, (n, f) in enumerate(feats(torch.cat(imgs)).items()):
                d = mean_square_diff_(f, nref[n]).numpy()
                out[part, offsets[j] : offsets[j + 1]] = d
        del nref
    return out


@dataclass
class ChannelDistances:
    """The chunk files of one backbone on one data set, read back chunk by chunk.

    Attributes
    ----------
    chunks : list of list of int
        Row indices per chunk (:func:`plan_chunks`).
    files : list of pathlib.Path
        The chunk files, in chunk order.
    n_rows, n_channels : int
        Rows of the data set and channels of all layers together.
    widths : dict of str to int
        Channels per layer, in column order.
    """

    chunks: list[list[int]]
    files: list[Path]
    n_rows: int
    n_channels: int
    widths: dict[str, int]

    def iter_chunks(self) -> Iterator[tuple[list[int], np.ndarray]]:
        """``(row indices, rows x channels array)`` per chunk, one chunk in memory at a time."""
        for rows, path in zip(self.chunks, self.files, strict=True):
            yield rows, np.load(path, allow_pickle=False)

    def combine(self, weights: np.ndarray) -> np.ndarray:
        """``(n_rows, V)`` weighted sums ``d @ weights`` for a ``(channels, V)`` weight matrix.

        Computed chunk by chunk in float64.
        """
        w = np.asarray(weights, dtype=np.float64)
        out = np.zeros((self.n_rows, w.shape[1]))
        for rows, d in self.iter_chunks():
            out[rows] = d.astype(np.float64) @ w
        return out

    def layer_weights(self, per_layer: dict[str, np.ndarray]) -> np.ndarray:
        """Concatenate per-layer weight vectors into one column of the channel axis."""
        return np.concatenate([np.asarray(per_layer[n], dtype=np.float64) for n in self.widths])


def extract_channel_distances(
    spec: ExtractionSpec,
    pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
    cache_dir: str | os.PathLike[str],
    *,
    chunk_rows: int = 64,
    workers: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
    label: str = "",
    after_chunk: Callable[[int], None] | None = None,
    backbone: Any = None,
) -> ChannelDistances:
    """Compute (or find in ``cache_dir``) the per-channel distances of every pair.

    Parameters
    ----------
    spec : ExtractionSpec
        Backbone, layers, batch size, precision.
    pairs : sequence of (path, path)
        ``(first, second)`` image files per row; the first is the reference.
    cache_dir : path-like
        Folder of the chunk files (``<cache_dir>/<config hash>/<chunk hash>.npy``).
    chunk_rows : int
        Rows per chunk.
    workers : int
        Local processes (``1``: this process). Each chunk runs on one torch thread
        (:func:`one_thread`), so use about one worker per core to use the machine.
    ray_address : str, optional
        Run the chunks as Ray tasks on the cluster at this address (``'local'`` starts one).
    progress : bool
        Show a progress bar.
    label : str
        Progress bar label.
    after_chunk : callable, optional
        Called with the chunk number after each chunk file is written (tests use it to stop
        a run part-way).
    backbone : Backbone, optional
        The network of ``spec`` already built in this process (else built here); workers
        and Ray tasks build their own from ``spec``.

    Returns
    -------
    ChannelDistances
    """
    from tqdm.auto import tqdm

    from .._io import config_hash
    from .cache import file_digest

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    bb = backbone if backbone is not None else _network(spec)
    plist = [(str(a), str(b)) for a, b in pairs]
    chunks = plan_chunks([a for a, _ in plist], chunk_rows)
    folder = Path(cache_dir) / config_hash(spec.key(bb.weights_sha256))
    files = []
    for rows in chunks:
        h = hashlib.sha256()
        for i in rows:
            h.update(f"{file_digest(plist[i][0])}:{file_digest(plist[i][1])};".encode())
        files.append(folder / f"{h.hexdigest()[:32]}.npy")
    widths = {n: int(bb.channels[n]) for n in spec.layers}
    result = ChannelDistances(chunks, files, len(plist), sum(widths.values()), widths)
    todo = [k for k, f in enumerate(files) if not f.is_file()]
    if not todo:
        return result
    folder.mkdir(parents=True, exist_ok=True)
    bar = tqdm(
        total=len(chunks),
        initial=len(chunks) - len(todo),
        desc=label or spec.backbone,
        unit="chunk",
        disable=not progress,
    )

    def save(k: int, arr: np.ndarray) -> None:
        with atomic_path(files[k]) as tmp, open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(arr, dtype=np.float32), allow_pickle=False)
        bar.update(1)
        if after_chunk is not None:
            after_chunk(k)

    def task(k: int) -> list[tuple[str, str]]:
        return [plist[i] for i in chunks[k]]

    with bar:
        if ray_address is not None:
            _run_ray(spec, todo, task, save, ray_address)
        elif workers == 1:
            for k in todo:
                save(k, chunk_distances(spec, task(k), bb))
        else:
            _run_processes(spec, todo, task, save, workers)
    return result


def _run_processes(
    spec: ExtractionSpec,
    todo: list[int],
    task: Callable[[int], list[tuple[str, str]]],
    save: Callable[[int, np.ndarray], None],
    workers: int,
) -> None:
    """Chunks in ``workers`` spawned processes, at most ``2 x workers`` in flight."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(workers, ctx) as pool:  # chunk_distances pins one thread
        pending: dict[Future[np.ndarray], int] = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                k = queue.pop(0)
                pending[pool.submit(chunk_distances, spec, task(k))] = k
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: pending[f]):
                save(pending.pop(fut), fut.result())


def _run_ray(
    spec: ExtractionSpec,
    todo: list[int],
    task: Callable[[int], list[tuple[str, str]]],
    save: Callable[[int, np.ndarray], None],
    address: str,
) -> None:
    """The same chunks as Ray tasks; ``address='local'`` starts a local cluster."""
    try:
        import ray
    except ImportError:
        raise RuntimeError(
            "--ray needs Ray: pip install 'hvsprobe[ray]' (or pip install ray)"
        ) from None
    started = False
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(chunk_distances)
        refs = {remote.remote(spec, task(k)): k for k in todo}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for r in done:
                save(refs[r], ray.get(r))
    finally:
        if started:
            ray.shutdown()
