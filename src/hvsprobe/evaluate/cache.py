"""Cache keys by content: image files by their sha256, metrics by their parameters.

A cached metric value is valid for *these pixels* and *this metric*, wherever the files lie:
the same images copied to another folder hit the cache, and a changed image (same path, new
content) misses it.  File digests are remembered per process by (path, size, modification
time), so a file is read once per run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["file_digest", "metric_cache_key", "pair_key"]

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 (hex) of a file's bytes, remembered per (path, size, mtime) in this process.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
    ...     _ = fh.write(b"abc")
    >>> file_digest(fh.name)[:12]
    'ba7816bf8f01'
    """
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), int(st.st_size), int(st.st_mtime_ns))
    digest = _DIGESTS.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = _DIGESTS[key] = h.hexdigest()
    return digest


def pair_key(ref: str | os.PathLike[str], dist: str | os.PathLike[str]) -> str:
    """Cache key of an image pair: ``'<sha256 ref>:<sha256 dist>'``."""
    return f"{file_digest(ref)}:{file_digest(dist)}"


def metric_cache_key(metric: Any) -> str:
    """Identity of a metric for caching: its name, class, parameters and hvsprobe version.

    A metric may define ``cache_key`` itself.  Otherwise, for a :class:`torch.nn.Module` the
    bytes of every parameter and buffer (channel indices and weights of a selection, LPIPS
    linear weights, the trunk) enter a sha256, with the settings ``eps``, ``upsample``,
    ``spatial``, ``reduction`` where present, so two ``selected`` metrics with different
    selections never share cached values.

    Examples
    --------
    >>> class M:
    ...     name = "toy"
    >>> metric_cache_key(M()).startswith("toy@")
    True
    """
    own = getattr(metric, "cache_key", None)
    if isinstance(own, str) and own:
        return own
    from .. import __version__

    h = hashlib.sha256()
    h.update(type(metric).__qualname__.encode())
    for attr in ("eps", "upsample", "spatial", "reduction", "data_range", "downsample"):
        if hasattr(metric, attr):
            h.update(f"{attr}={getattr(metric, attr)!r};".encode())
    named = getattr(metric, "named_parameters", None)
    if callable(named):
        tensors = [*metric.named_parameters(), *metric.named_buffers()]
        for name, t in sorted(tensors, key=lambda nt: nt[0]):
            arr = np.ascontiguousarray(t.detach().to("cpu").numpy())
            h.update(f"{name}:{arr.dtype}:{arr.shape};".encode())
            h.update(arr.tobytes())
    return f"{metric.name}@{__version__}:{h.hexdigest()[:16]}"
