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
from functools import partial
from pathlib import Path
from typing import Any

from .._io import write_json_atomic
from .parallel import run_jobs

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


def _split(batch: list[Any], workers: int) -> list[list[Any]]:
    """``batch`` in up to ``workers - 1`` consecutive parts of near-equal length (>= 1 part).

    >>> _split(list(range(5)), 4)
    [[0, 1], [2, 3], [4]]
    >>> _split(list(range(5)), 2)
    [[0, 1, 2, 3, 4]]
    """
    parts = max(1, min(len(batch), int(workers) - 1))
    size = -(-len(batch) // parts)
    return [batch[i : i + size] for i in range(0, len(batch), size)]


def _draw_batch(fig_dir: Path, batch: list[tuple[str, str, Callable[[Path], Path]]]) -> list[Path]:
    """Draw the figures of one job in order; their paths."""
    return [draw(fig_dir / name) for name, _, draw in batch]


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
        self._pending: list[tuple[str, str, Callable[[Path], Path], str | None]] = []
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

    def _current(self, name: str, key: str) -> bool:
        """Whether ``name`` on disk was drawn with ``key`` and is unchanged since."""
        path = self.fig_dir / name
        old = self.record.get(name)
        if old is None or old.get("key") != key or not path.is_file():
            return False
        return old.get("sha256") == file_digest([path])

    def _drew(self, name: str, key: str, out: str | os.PathLike[str]) -> Path:
        self.record[name] = {"key": key, "sha256": file_digest([out])}
        self.drawn.append(name)
        return Path(out)

    def figure(self, name: str, args: Any, draw: Callable[[Path], Path]) -> Path:
        """``fig_dir/name``, drawn by ``draw(path)`` now unless an identical one is on disk.

        ``args`` are the figure's own arguments (their ``repr`` enters the key).
        """
        key = self._key(name, args)
        if self._current(name, key):
            self.reused.append(name)
            return self.fig_dir / name
        return self._drew(name, key, draw(self.fig_dir / name))

    def defer(
        self, name: str, args: Any, draw: Callable[[Path], Path], *, group: str | None = None
    ) -> Path:
        """As :meth:`figure`, but a figure to draw waits for :meth:`draw_pending`.

        Figures deferred with the same ``group`` are drawn one after another by the same
        process (figures that share costly drawing state, such as a blitted background).
        """
        key = self._key(name, args)
        if self._current(name, key):
            self.reused.append(name)
        else:
            self._pending.append((name, key, draw, group))
        return self.fig_dir / name

    @property
    def pending(self) -> list[str]:
        """Names of the deferred figures not drawn yet."""
        return [p[0] for p in self._pending]

    def draw_pending(self, workers: int = 1) -> Callable[[], None]:
        """Start drawing the deferred figures; return the call that waits for them.

        With ``workers`` > 1 (and the ``fork`` start method) they are drawn by that many
        forked processes while the caller goes on; else they are drawn here, now. A group of figures is one job (with
        more than 2 workers, up to ``workers - 1`` jobs, since the other figures need a
        process too), and groups go first (they are the longest jobs). The returned call
        records them.
        """
        pending, self._pending = self._pending, []
        batches: dict[str, list[tuple[str, str, Callable[[Path], Path]]]] = {}
        singles = []
        for name, key, draw, group in pending:
            if group is None:
                singles.append([(name, key, draw)])
            else:
                batches.setdefault(group, []).append((name, key, draw))
        jobs = [part for batch in batches.values() for part in _split(batch, workers)]
        jobs += singles
        wait = run_jobs([partial(_draw_batch, self.fig_dir, batch) for batch in jobs], workers)

        def finish() -> None:
            for batch, outs in zip(jobs, wait(), strict=True):
                for (name, key, _), out in zip(batch, outs, strict=True):
                    self._drew(name, key, out)

        return finish

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
