"""Reuse of unchanged report figures between builds, keyed by a hash of their inputs.

A figure is redrawn only when its key (a SHA-256 over the results files it is drawn from,
the figure code, matplotlib's version and the figure's own arguments) differs from the key
recorded when the PNG on disk was written, or when that PNG's bytes changed since. The
record is ``figures/.cache.json`` beside the figures; delete it to force a full redraw.

>>> import tempfile
>>> d = Path(tempfile.mkdtemp())
>>> cache = FigureCache(d, salt="x")
>>> calls = []
>>> draw = lambda p: (calls.append(p), p.write_bytes(b"png"))[-1] and p
>>> _ = cache.figure("a.png", ("arg", 1), draw); _ = cache.figure("a.png", ("arg", 1), draw)
>>> len(calls)
1
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .._io import write_json_atomic

__all__ = ["FigureCache", "file_digest"]

_RECORD = ".cache.json"


def file_digest(paths: Iterable[str | os.PathLike[str]]) -> str:
    """SHA-256 over the names and bytes of ``paths`` (missing files count as empty).

    Examples
    --------
    >>> len(file_digest([]))
    64
    """
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        h.update(p.name.encode() + b"\0")
        if p.is_file():
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        h.update(b"\1")
    return h.hexdigest()


class FigureCache:
    """Draw a figure only when its inputs changed since the PNG on disk was drawn.

    Parameters
    ----------
    fig_dir : Path
        Folder of the figures.
    salt : str
        Digest of everything every figure depends on (results files, code, versions).
    """

    def __init__(self, fig_dir: Path, salt: str) -> None:
        self.fig_dir = Path(fig_dir)
        self.salt = salt
        self.record: dict[str, dict[str, str]] = {}
        #: Facts about the inputs kept with the figures (read back when all are reused).
        self.meta: dict[str, Any] = {}
        self.drawn: list[str] = []
        self.reused: list[str] = []
        path = self.fig_dir / _RECORD
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("figures"), dict):
                self.record = data["figures"]
                if data.get("salt") == salt and isinstance(data.get("meta"), dict):
                    self.meta = data["meta"]
        except (OSError, ValueError):
            self.record = {}

    def _key(self, name: str, args: Any) -> str:
        return hashlib.sha256(f"{self.salt}\0{name}\0{args!r}".encode()).hexdigest()

    def figure(self, name: str, args: Any, draw: Callable[[Path], Path]) -> Path:
        """``fig_dir/name``, drawn by ``draw(path)`` unless an identical one is on disk.

        ``args`` are the figure's own arguments (their ``repr`` enters the key).
        """
        path = self.fig_dir / name
        key = self._key(name, args)
        old = self.record.get(name)
        if old is not None and old.get("key") == key and path.is_file():
            if old.get("sha256") == file_digest([path]):
                self.reused.append(name)
                return path
        out = Path(draw(path))
        self.record[name] = {"key": key, "sha256": file_digest([out])}
        self.drawn.append(name)
        return out

    def save(self, keep: Iterable[str]) -> None:
        """Write the record, forgetting figures not in ``keep``."""
        names = set(keep)
        figures = {k: v for k, v in sorted(self.record.items()) if k in names}
        write_json_atomic(
            self.fig_dir / _RECORD,
            {
                "kind": "hvsprobe.report.figure_cache",
                "schema_version": 1,
                "salt": self.salt,
                "meta": self.meta,
                "figures": figures,
            },
        )
