"""Resumable probe runs: a checksummed partial-results file, saved on a timer and on signals.

:func:`hvsprobe.probe.probe` keeps one ``probe.partial.npz`` in its checkpoint folder. The
file holds the per-channel sums of every finished stimulus, the number of finished stimuli,
the run's configuration key, the probe seconds spent so far, how often the run was resumed
and a sha256 over all of that. It is written atomically (temp file + rename):

* every ``checkpoint_every`` seconds,
* when the run is stopped by Ctrl-C (SIGINT) or SIGTERM, before the exception leaves
  :meth:`ProbeCheckpoint.guard` (which re-raises it as :class:`hvsprobe.errors.Interrupted`
  saying what was saved).

On the next call with the same configuration the probe continues from it. A file that cannot
be read or whose checksum does not match is reported in one line, renamed to
``probe.partial.corrupt-<time>.npz`` (kept for inspection) and the probe starts again; a file
for another configuration is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_path
from .errors import Interrupted, sigterm_raises

__all__ = ["CHECKPOINT_NAME", "ProbeCheckpoint", "ProbeRunStats"]

CHECKPOINT_NAME = "probe.partial.npz"
#: Version of the checkpoint layout (1: the unchecksummed file of hvsprobe <= 0.1.0).
CHECKPOINT_FORMAT = 2


@dataclass
class ProbeRunStats:
    """How a probe run went: resumes and probe time over all its sessions.

    Attributes
    ----------
    resumes : int
        How many times the run continued from a checkpoint.
    start_stimulus : int
        Stimuli already done when this session started.
    probe_s_total : float
        Probe seconds over every session of the run (this one included).
    probe_s_session : float
        Probe seconds of this session.
    set_aside : str or None
        Where a corrupt checkpoint was moved, if one was found.
    border_pass_s : float
        Seconds of the border-free probe's border pass (each channel's whole-map response to
        its best stimulus), part of this session's time after the main pass.
    """

    resumes: int = 0
    start_stimulus: int = 0
    probe_s_total: float = 0.0
    probe_s_session: float = 0.0
    set_aside: str | None = None
    border_pass_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (for ``summary.json``)."""
        return {
            "resumes": self.resumes,
            "resumed": self.resumes > 0,
            "start_stimulus": self.start_stimulus,
            "probe_s_total": round(self.probe_s_total, 3),
            "probe_s_this_run": round(self.probe_s_session, 3),
            "border_pass_s": round(self.border_pass_s, 3),
            "corrupt_checkpoint_set_aside": self.set_aside,
        }


def _digest(key: str, done: int, elapsed: float, resumes: int, sums: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(f"{CHECKPOINT_FORMAT}|{key}|{done}|{elapsed!r}|{resumes}".encode())
    for name in sorted(sums):
        arr = np.ascontiguousarray(sums[name], dtype=np.float32)
        h.update(f"|{name}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


class ProbeCheckpoint:
    """The partial results of one probe run, kept in ``folder / probe.partial.npz``.

    Parameters
    ----------
    folder : path or None
        Where the checkpoint lives; ``None`` keeps nothing (but still times the run).
    key : str
        Configuration key; a checkpoint with another key is not resumed.
    sums : dict of str to numpy.ndarray
        The arrays being filled (``channels x stimuli`` per layer). Restored in place.
    n_stimuli : int
        Grid size (for messages and checks).
    every : float
        Seconds between timed saves (``0`` saves after every batch).
    log : callable, optional
        Receives one-line notes (a corrupt file set aside, a resume).

    Examples
    --------
    >>> import tempfile
    >>> sums = {"relu1": np.zeros((2, 4), np.float32)}
    >>> ck = ProbeCheckpoint(tempfile.mkdtemp(), "k", sums, 4, every=0.0)
    >>> ck.restore()
    0
    >>> sums["relu1"][:, :2] = 1.0
    >>> ck.after_batch(2)
    >>> sums2 = {"relu1": np.zeros((2, 4), np.float32)}
    >>> ProbeCheckpoint(ck.folder, "k", sums2, 4, every=0.0).restore()
    2
    """

    def __init__(
        self,
        folder: str | Path | None,
        key: str,
        sums: dict[str, np.ndarray],
        n_stimuli: int,
        *,
        every: float = 60.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not every >= 0.0:  # also refuses NaN
            raise ValueError(f"checkpoint_every must be >= 0 seconds, got {every}")
        self.folder = Path(folder) if folder is not None else None
        self.key = key
        self.sums = sums
        self.n = int(n_stimuli)
        self.every = float(every)
        self.log = log or (lambda _m: None)
        self.done = 0
        self.stats = ProbeRunStats()
        self._earlier_s = 0.0
        self._t0 = time.monotonic()
        self._last_save = self._t0

    @property
    def path(self) -> Path | None:
        """The checkpoint file, or ``None``."""
        return self.folder / CHECKPOINT_NAME if self.folder is not None else None

    # -- reading -------------------------------------------------------------------

    def _read(self, path: Path) -> dict[str, Any]:
        """Load and verify; raise ``ValueError`` saying what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as data:
                entries = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(f"unreadable ({type(exc).__name__}: {exc})") from None
        if "sha256" not in entries or int(entries.get("format", 1)) != CHECKPOINT_FORMAT:
            raise ValueError("no checksum (written by an older hvsprobe)")
        try:
            key, done = str(entries["key"]), int(entries["done"])
            elapsed, resumes = float(entries["elapsed_s"]), int(entries["resumes"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"missing field {exc}") from None
        sums = {k[len("layer/") :]: v for k, v in entries.items() if k.startswith("layer/")}
        if str(entries["sha256"]) != _digest(key, done, elapsed, resumes, sums):
            raise ValueError("checksum mismatch")
        return {"key": key, "done": done, "elapsed": elapsed, "resumes": resumes, "sums": sums}

    def _set_aside(self, path: Path, reason: str) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"probe.partial.corrupt-{stamp}.npz")
        path.replace(target)
        self.stats.set_aside = str(target)
        self.log(
            f"probe checkpoint {path} is corrupt ({reason}); set aside as {target.name}, "
            "the probe starts again"
        )

    def restore(self) -> int:
        """Load a matching checkpoint into ``sums``; return the first stimulus still to do."""
        path = self.path
        if path is None or not path.exists():
            return 0
        try:
            got = self._read(path)
        except ValueError as exc:
            self._set_aside(path, str(exc))
            return 0
        if got["key"] != self.key:
            self.log(f"probe checkpoint {path} is for another configuration; starting afresh")
            return 0
        shapes_ok = set(got["sums"]) == set(self.sums) and all(
            got["sums"][k].shape == v.shape for k, v in self.sums.items()
        )
        if not shapes_ok or not 0 <= got["done"] <= self.n:
            self._set_aside(path, "its arrays do not fit this run's layers and grid")
            return 0
        for name in self.sums:
            self.sums[name] = got["sums"][name].astype(np.float32, copy=True)
        self.done = got["done"]
        self._earlier_s = got["elapsed"]
        self.stats.resumes = got["resumes"] + 1
        self.stats.start_stimulus = self.done
        self.log(f"resuming the probe at stimulus {self.done} of {self.n} from {path}")
        return self.done

    # -- writing -------------------------------------------------------------------

    def elapsed(self) -> float:
        """Probe seconds over all sessions so far."""
        return self._earlier_s + (time.monotonic() - self._t0)

    def save(self) -> None:
        """Write the checkpoint now (atomically)."""
        if self.path is None:
            return
        elapsed, resumes = self.elapsed(), self.stats.resumes
        digest = _digest(self.key, self.done, elapsed, resumes, self.sums)
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                format=CHECKPOINT_FORMAT,
                key=self.key,
                done=self.done,
                elapsed_s=elapsed,
                resumes=resumes,
                sha256=digest,
                **{f"layer/{k}": v for k, v in self.sums.items()},
            )
        self._last_save = time.monotonic()

    def after_batch(self, done: int) -> None:
        """Record that stimuli ``< done`` are finished; save if the interval has passed."""
        self.done = int(done)
        if self.path is not None and time.monotonic() - self._last_save >= self.every:
            self.save()

    @contextlib.contextmanager
    def guard(self) -> Iterator[None]:
        """Save on Ctrl-C or SIGTERM, then re-raise as :class:`Interrupted` saying so."""
        try:
            with sigterm_raises():
                yield
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", signal.SIGINT)
            kept = None
            if self.path is not None and self.done > 0:
                with contextlib.suppress(OSError):
                    self.save()
                    kept = (
                        f"probe checkpoint saved ({self.done} of {self.n} stimuli done) in "
                        f"{self.path}"
                    )
            raise Interrupted(signum, kept) from None

    def finish(self) -> ProbeRunStats:
        """The run completed: remove the checkpoint and return the run's statistics."""
        if self.path is not None and self.path.exists():
            self.path.unlink()
        self.stats.probe_s_total = self.elapsed()
        self.stats.probe_s_session = time.monotonic() - self._t0
        return self.stats
