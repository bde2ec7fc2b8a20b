"""Results folders that are all-or-nothing, and the check that refuses mixed ones.

Design: :func:`hvsprobe.analyze.analyze` never writes into the results folder itself. It
builds the complete folder in a work folder beside it and renames it into place at the end::

    PARENT/
      NAME/                      the results folder (only ever a complete run)
      .NAME.hvsprobe-run/        work folder, locked by the running process
        probe.partial.npz        the probe checkpoint (found again by a rerun)
        new/                     the results being written; renamed to PARENT/NAME when done
        old/                     the previous results during the swap, then removed

This was chosen over stamping every file with a run identifier because it needs nothing
from the readers: ``select``, ``report``, the Python loaders and tools that know nothing of
hvsprobe (a spreadsheet opening ``scores.csv``) can never see a half-written or mixed
folder, whatever the failure (a typo found late, kill -9, a full disk). The cost is one
extra folder while a run is in progress and a copy of the previous tuning when it is
reused. Identifiers would still leave mixed files on disk and rely on every reader checking.

Resuming still works: the checkpoint lives in the work folder, which a rerun with the same
``--out`` finds; a tuning finished by an interrupted run stays in ``new/`` and is reused; the
previous folder's tuning is copied into ``new/`` when its configuration matches. An
``fcntl`` lock on the work folder stops a second process writing the same folder.

Folders written by older versions, or edited by hand, are checked by
:func:`check_results_folder`: files that disagree about the configuration are refused.

Identity of the files: :meth:`ResultsWriter.commit` writes ``checksums.json`` (the sha256 of
every file of :data:`OUTPUT_FILES`) into the finished folder just before it is renamed into
place, and :func:`verify_checksums` (called by :func:`check_results_folder`,
:func:`load_scores`, the report and :meth:`hvsprobe.selection.Selection.load` for a
``selection.json`` inside a results folder) refuses a folder whose scores, selection,
summary or tuning changed afterwards, in one line naming the file. The configuration checks
alone cannot see a changed number (``pe`` 0.0049 -> 9.99 in ``scores.csv``) or a renamed
column. Folders from before this file existed have no ``checksums.json``: they are still read,
with the configuration checks and ``tuning.npz``'s own checksum only (rerunning ``analyze``
adds the file; the tuning is reused, so that takes seconds).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, the rest works
    fcntl = None  # type: ignore[assignment]

from ._io import check_schema, read_json, sha256_file, write_json_atomic
from ._preflight import check_output_dir
from .checkpoint import CHECKPOINT_NAME
from .errors import Interrupted, ResultsFolderError

__all__ = [
    "CHECKSUMS_FILE",
    "OUTPUT_FILES",
    "ResultsWriter",
    "check_replaceable",
    "check_results_folder",
    "load_scores",
    "verify_checksums",
    "work_folder",
    "write_checksums",
]

#: Files ``analyze`` writes (``summary.json`` last).
OUTPUT_FILES = (
    "tuning.npz",
    "tuning.json",
    "scores.csv",
    "scores.json",
    "selection.json",
    "summary.json",
    "summary.md",
)
#: The sha256 of every file of :data:`OUTPUT_FILES` in the folder, written last.
CHECKSUMS_FILE = "checksums.json"
CHECKSUMS_SCHEMA = 1
#: Files other commands derive from a results folder (``select``, ``report``).
_DERIVED_GLOBS = ("selection-*.json", "*.html", "figures", "channels")
#: Work subfolders that may hold a finished results folder during a swap (analyze, report).
_NEW_NAMES = ("new", "report-new")
#: Left inside results folders by hvsprobe <= 0.1.0 (checkpoint in the folder itself).
_LEGACY_GLOBS = ("probe.partial*.npz",)


def work_folder(target: str | os.PathLike[str]) -> Path:
    """The work folder of results folder ``target``: ``.NAME.hvsprobe-run`` beside it.

    Examples
    --------
    >>> work_folder("hvsprobe-results/vgg16-imagenet").as_posix()
    'hvsprobe-results/.vgg16-imagenet.hvsprobe-run'
    """
    target = Path(target)
    return target.parent / f".{target.name}.hvsprobe-run"


def _is_derived(p: Path) -> bool:
    return any(p.match(g) for g in _DERIVED_GLOBS)


def check_replaceable(
    target: str | os.PathLike[str],
    option: str = "--out",
    *,
    keep_others: bool = False,
    what: str = "results folder",
) -> Path:
    """Refuse an ``--out`` that cannot hold a results folder; create nothing.

    ``target`` may be new, empty, or an earlier results folder (which a finished run
    replaces). A folder holding other files is refused, so that no user file is ever
    replaced. ``keep_others=True`` (a report, which carries every other entry into the new
    folder unchanged) also accepts a results folder holding other files (an experiment's
    ``claim1.md``, ``benchmarks/``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_replaceable(d / "res") == d / "res"
    True
    """
    target = check_output_dir(target, option)
    if target.is_symlink():  # replace the folder it points to, not the link
        target = target.resolve()
    here, there = Path.cwd().resolve(), Path(os.path.abspath(target))
    if there == here or there in here.parents or not there.name:
        raise ResultsFolderError(
            f"{option} {target}: is the current folder or contains it (the {what} is "
            f"replaced as a whole); give a subfolder such as {what.split()[0]}s/"
        )
    target = there
    if target.is_dir():
        foreign = sorted(
            p.name
            for p in target.iterdir()
            if p.name not in OUTPUT_FILES
            and p.name != CHECKSUMS_FILE
            and not _is_derived(p)
            and not any(p.match(g) for g in _LEGACY_GLOBS)
            and not (p.name.startswith(".") and p.name.endswith(".tmp"))
        )
        if foreign and keep_others and (target / "scores.json").is_file():
            foreign = []
        if foreign:
            shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
            raise ResultsFolderError(
                f"{option} {target}: the folder holds files hvsprobe did not write ({shown}); "
                "choose a new or empty folder"
            )
    work = work_folder(target)
    if work.exists() and not work.is_dir():
        raise ResultsFolderError(f"{work} is a file; remove it or choose another {option}")
    return target


def _link_or_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    try:
        os.link(src, dst)
    except OSError:  # no hard links here (another file system, FAT, some network shares)
        shutil.copy2(src, dst)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


class ResultsWriter:
    """Build a results folder in its work folder and rename it into place on :meth:`commit`.

    Use as a context manager; on leaving without :meth:`commit` nothing under ``target``
    changes, and the work folder is kept only if it holds something a rerun can use (a
    checkpoint or a finished tuning).

    Parameters
    ----------
    target : path
        The results folder.
    log : callable, optional
        Receives one-line notes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "res"
    >>> with ResultsWriter(target) as w:
    ...     _ = (w.new / "summary.json").write_text("{}")
    ...     _ = w.commit()
    >>> sorted(p.name for p in target.iterdir()), w.work.exists()
    (['checksums.json', 'summary.json'], False)
    """

    def __init__(
        self,
        target: str | os.PathLike[str],
        log: Callable[[str], None] | None = None,
        *,
        new_name: str = "new",
        keep_partial: bool = True,
        what: str = "results folder",
    ) -> None:
        self.target = Path(target)
        self.work = work_folder(self.target)
        self.new = self.work / new_name
        self.old = self.work / "old"
        self.log = log or (lambda _m: None)
        # analyze keeps a finished tuning in new/ for a rerun; a report keeps nothing
        self.keep_partial = keep_partial
        self.what = what
        self._fd: int | None = None
        self._made_parents: list[Path] = []  # folders this run creates, deepest first
        parent = self.target.parent
        while not parent.exists() and parent.parent != parent:
            self._made_parents.append(parent)
            parent = parent.parent
        self.committed = False

    # -- locking and recovery ------------------------------------------------------

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            self.work.mkdir(parents=True, exist_ok=True)
            return
        for _ in range(5):
            self.work.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.work, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise ResultsFolderError(
                        f"{self.target}: another hvsprobe process is writing this "
                        f"{self.what} (lock on {self.work}); wait for it to finish or choose "
                        "another --out"
                    ) from None
                raise
            try:
                same = os.fstat(fd).st_ino == os.stat(self.work).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)  # the folder was removed by a finishing run: take the new one
        raise ResultsFolderError(f"{self.work}: could not lock the work folder; try again")

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _recover(self) -> None:
        """Finish or undo a swap that a crash interrupted."""
        if not self.old.exists():
            return
        if not self.target.exists():
            done = [self.work / n for n in _NEW_NAMES if (self.work / n / "summary.json").exists()]
            if done:  # a finished results folder (from analyze or a report build)
                os.rename(done[0], self.target)
                self.log(f"completed the interrupted replacement of {self.target}")
            else:  # a report folder, or nothing finished: the previous folder is whole
                os.rename(self.old, self.target)
                self.log(f"restored {self.target} after an interrupted replacement")
        if self.old.exists():
            shutil.rmtree(self.old)

    def recover(self) -> None:
        """Finish or undo an interrupted swap now (under the lock), then release the lock."""
        self._lock()
        try:
            self._recover()
            with contextlib.suppress(OSError):
                self.work.rmdir()  # only when empty
        finally:
            self._unlock()

    def __enter__(self) -> ResultsWriter:
        self._lock()
        try:
            self._recover()
            if not self.keep_partial and self.new.exists():  # left by a killed build
                shutil.rmtree(self.new)
            stale = self.work / "report-new"  # a killed report build's; analyze has no use
            if stale != self.new and stale.exists():
                shutil.rmtree(stale)
            self.new.mkdir(exist_ok=True)
        except BaseException:
            self._cleanup()
            raise
        return self

    # -- what a run needs ----------------------------------------------------------

    @property
    def checkpoint_dir(self) -> Path:
        """Where the probe keeps its checkpoint (the work folder)."""
        return self.work

    def seed_tuning(self, identity: Callable[[dict[str, Any]], str], wanted: str) -> bool:
        """Copy the previous folder's tuning into ``new/`` if its configuration matches.

        ``identity`` maps a tuning config to its cache key; ``wanted`` is this run's key.
        Returns whether a tuning was copied.
        """
        if (self.new / "tuning.json").exists():
            return False
        src_meta, src_npz = self.target / "tuning.json", self.target / "tuning.npz"
        if not (src_meta.is_file() and src_npz.is_file()):
            return False
        try:
            cfg = read_json(src_meta)["config"]
            if identity(cfg) != wanted:
                return False
        except (OSError, ValueError, KeyError, TypeError):
            return False
        shutil.copyfile(src_npz, self.new / "tuning.npz")
        shutil.copyfile(src_meta, self.new / "tuning.json")
        return True

    # -- finishing -----------------------------------------------------------------

    def _carry_derived(self) -> None:
        """Keep the previous folder's derived files when its scores are unchanged."""
        derived = [p for p in self.target.iterdir() if _is_derived(p)]
        if not derived:
            return
        same = all(
            _same_bytes(self.target / f, self.new / f) for f in ("scores.csv", "scores.json")
        )
        if same:
            for p in derived:
                if p.match("selection-*.json"):
                    shutil.copyfile(p, self.new / p.name)
        dropped = [p.name for p in derived if not (same and p.match("selection-*.json"))]
        if dropped:
            self.log(
                f"dropped {len(dropped)} file(s) made from the previous results "
                f"({', '.join(sorted(dropped)[:3])}{' ...' if len(dropped) > 3 else ''})"
            )

    def carry_entries(self, keep: Callable[[Path], bool]) -> list[str]:
        """Hard-link the entries of the current folder that ``keep`` accepts into ``new/``.

        For commands that rebuild only some entries of a folder (the report: ``report.html``,
        ``channels/``): everything else reappears in the new folder unchanged, as the same
        files (a copy where the file system has no hard links). hvsprobe replaces files by
        renaming a new file onto them (:func:`hvsprobe._io.atomic_path`), never by writing
        into them, so a file linked here is never changed through the other name.
        Returns the names carried.
        """
        if not self.target.is_dir():
            return []
        carried = []
        for p in sorted(self.target.iterdir()):
            if not keep(p):
                continue
            dst = self.new / p.name
            if p.is_dir() and not p.is_symlink():
                shutil.copytree(p, dst, symlinks=True, copy_function=_link_or_copy)
            elif p.is_symlink():
                os.symlink(os.readlink(p), dst)
            else:
                _link_or_copy(p, dst)
            carried.append(p.name)
        return carried

    def commit(self, *, results: bool = True) -> Path:
        """Rename the finished folder into place (replacing the previous one).

        ``results=False`` is for a folder whose results files were carried unchanged
        (:meth:`carry_entries`): their ``checksums.json`` is kept as it is and nothing is
        dropped as derived.
        """
        if results:
            write_checksums(self.new)  # before the swap: a folder in place always has it
        if self.target.exists():
            if results:
                self._carry_derived()
            os.rename(self.target, self.old)
        os.rename(self.new, self.target)
        self.committed = True
        shutil.rmtree(self.old, ignore_errors=True)
        return self.target

    def _keeps_something(self) -> bool:
        if not self.keep_partial:
            return False
        return (self.work / CHECKPOINT_NAME).exists() or (self.new / "tuning.json").exists()

    def _cleanup(self) -> None:
        """Remove what a rerun cannot use; release the lock."""
        try:
            useful = self.keep_partial and (self.new / "tuning.json").exists()
            if self.new.exists() and not useful:
                shutil.rmtree(self.new, ignore_errors=True)
            with contextlib.suppress(OSError):
                self.work.rmdir()  # only when empty: checkpoints and set-aside files stay
            if not self.committed:  # parents this run made, if left empty
                for parent in self._made_parents:
                    with contextlib.suppress(OSError):
                        parent.rmdir()
        finally:
            self._unlock()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        keeps = self._keeps_something() if not self.committed else False
        self._cleanup()
        if isinstance(exc, KeyboardInterrupt) and getattr(exc, "kept", None) is None and keeps:
            signum = getattr(exc, "signum", 2)
            what = (
                "the finished probe"
                if (self.new / "tuning.json").exists()
                else "the probe checkpoint"
            )
            raise Interrupted(
                signum, f"{what} is kept in {self.work}; {self.target} is unchanged"
            ) from None


# ----------------------------------------------------------------------------------------
# reading: refuse incomplete and mixed folders


def _meta(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / name
    if not path.is_file():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise ResultsFolderError(f"{path}: not a hvsprobe {name} file (not a JSON object)")
    return data


def _probe_identity(cfg: Any) -> Any:
    if not isinstance(cfg, dict):
        return None
    return {k: cfg.get(k) for k in ("backbone", "weights_sha256", "layers", "grid", "precision")}


def check_results_folder(
    folder: str | os.PathLike[str], *, checksums: bool = True
) -> dict[str, Any]:
    """Refuse a results folder that is incomplete, mixes two configurations or was changed.

    The probe configuration is compared between ``tuning.json``, ``scores.json`` and
    ``summary.json``; the weights between those and ``selection.json``; the score settings
    between ``scores.json`` and ``summary.json``. Files that are absent are not compared,
    but ``scores.json`` must be there. Then every file is compared with the checksums
    written with the folder (:func:`verify_checksums`).

    Parameters
    ----------
    folder : path
        A results folder written by ``hvsprobe analyze``.
    checksums : bool
        Verify ``checksums.json`` too (:func:`load_scores` does it after parsing the
        scores, so that a malformed file is named as such).

    Returns
    -------
    dict
        The ``scores.json`` metadata.

    Raises
    ------
    ResultsFolderError
        Naming the two files that disagree and what to do.

    Examples
    --------
    >>> check_results_folder("/nonexistent")
    Traceback (most recent call last):
    ...
    hvsprobe.errors.ResultsFolderError: results folder /nonexistent does not exist; make it with `hvsprobe analyze BACKBONE --out /nonexistent`
    """
    folder = Path(folder)
    rerun = f"rerun `hvsprobe analyze ... --out {folder}`"
    if not folder.exists() and (work_folder(folder) / "old").is_dir():
        ResultsWriter(folder).recover()  # a swap killed between its two renames
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ResultsFolderError(
            f"results folder {folder} {what}; make it with `hvsprobe analyze BACKBONE --out {folder}`"
        )
    scores = _meta(folder, "scores.json")
    if scores is None:
        raise ResultsFolderError(
            f"{folder} has no scores.json (not a complete results folder); {rerun}"
        )
    from .scores import SCHEMA_VERSION as SCORES_SCHEMA

    check_schema(scores, "scores", SCORES_SCHEMA, folder / "scores.json")
    s_cfg = scores.get("config", {})
    tuning, summary, sel = (
        _meta(folder, n) for n in ("tuning.json", "summary.json", "selection.json")
    )
    probe_s = _probe_identity(s_cfg.get("probe"))
    pairs = []
    if tuning is not None:
        pairs.append(("tuning.json", _probe_identity(tuning.get("config")), "probe configuration"))
    if summary is not None:
        pairs.append(
            ("summary.json", _probe_identity(summary.get("probe_config")), "probe configuration")
        )
    for name, other, what in pairs:
        if other != probe_s:
            raise ResultsFolderError(
                f"{folder} mixes two configurations: {name} and scores.json disagree on the "
                f"{what}; {rerun}"
            )
    if summary is not None and summary.get("score_config") != s_cfg.get("score"):
        raise ResultsFolderError(
            f"{folder} mixes two configurations: summary.json and scores.json disagree on the "
            f"score settings; {rerun}"
        )
    if sel is not None and sel.get("weights_sha256") != s_cfg.get("weights_sha256"):
        raise ResultsFolderError(
            f"{folder} mixes two configurations: selection.json and scores.json were made "
            f"from different weights; {rerun}"
        )
    if checksums:
        verify_checksums(folder)
    return scores


def load_scores(folder: str | os.PathLike[str]) -> Any:
    """The :class:`~hvsprobe.scores.ChannelScores` of a checked results folder.

    Refuses incomplete and mixed folders (:func:`check_results_folder`) and reports a
    malformed ``scores.csv`` in one line naming it.

    Examples
    --------
    >>> load_scores("/nonexistent")
    Traceback (most recent call last):
    ...
    hvsprobe.errors.ResultsFolderError: results folder /nonexistent does not exist; make it with `hvsprobe analyze BACKBONE --out /nonexistent`
    """
    from .scores import ChannelScores

    folder = Path(folder)
    check_results_folder(folder, checksums=False)
    try:
        scores = ChannelScores.load(folder)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        detail = f"missing column {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ResultsFolderError(
            f"{folder / 'scores.csv'} is malformed ({detail.splitlines()[0] if detail else exc!r}); "
            f"rerun `hvsprobe analyze ... --out {folder}`"
        ) from None
    verify_checksums(folder)  # a well-formed file changed after analyze (a number, a column)
    return scores


def write_checksums(folder: str | os.PathLike[str]) -> Path:
    """Write ``checksums.json``: the sha256 of each file of :data:`OUTPUT_FILES` in ``folder``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "scores.csv").write_text("layer,channel\\n")
    >>> sorted(read_json(write_checksums(d))["files"])
    ['scores.csv']
    """
    folder = Path(folder)
    files = {n: sha256_file(folder / n) for n in OUTPUT_FILES if (folder / n).is_file()}
    doc = {"kind": "checksums", "schema_version": CHECKSUMS_SCHEMA, "files": files}
    return write_json_atomic(folder / CHECKSUMS_FILE, doc)


def verify_checksums(folder: str | os.PathLike[str], names: tuple[str, ...] | None = None) -> bool:
    """Refuse files of a results folder that changed after ``analyze`` wrote them.

    Parameters
    ----------
    folder : path
        The results folder.
    names : tuple of str, optional
        Check only these files (default: every file of :data:`OUTPUT_FILES`).

    Returns
    -------
    bool
        ``True`` when the folder has ``checksums.json`` and the files match; ``False`` for a
        folder without one (written before hvsprobe recorded checksums: read as before).

    Raises
    ------
    ResultsFolderError
        One line naming the changed, missing or added file and what to do.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "scores.csv").write_text("pe\\n0.0049\\n")
    >>> _ = write_checksums(d)
    >>> verify_checksums(d)
    True
    >>> _ = (d / "scores.csv").write_text("pe\\n9.99\\n")
    >>> verify_checksums(d)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hvsprobe.errors.ResultsFolderError: .../scores.csv was changed after `hvsprobe analyze` wrote it ...
    """
    folder = Path(folder)
    path = folder / CHECKSUMS_FILE
    rerun = f"rerun `hvsprobe analyze ... --out {folder}` to remake the folder"
    if not path.exists():
        return False
    try:
        doc = read_json(path)
        check_schema(doc, "checksums", CHECKSUMS_SCHEMA, path)
        recorded = doc["files"]
        if not isinstance(recorded, dict) or not all(isinstance(v, str) for v in recorded.values()):
            raise ValueError(f"{path}: 'files' must map file names to sha256 strings")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsFolderError(f"{path} is unreadable ({detail}); {rerun}") from None
    for name in names if names is not None else OUTPUT_FILES:
        p = folder / name
        if name not in recorded:
            if p.is_file():
                raise ResultsFolderError(
                    f"{p} was added after `hvsprobe analyze` wrote the folder (not in "
                    f"{CHECKSUMS_FILE}); {rerun}"
                )
            continue
        if not p.is_file():
            raise ResultsFolderError(f"{p} is missing (it is listed in {CHECKSUMS_FILE}); {rerun}")
        if sha256_file(p) != recorded[name]:
            raise ResultsFolderError(
                f"{p} was changed after `hvsprobe analyze` wrote it (its sha256 differs from "
                f"the one in {CHECKSUMS_FILE}); {rerun}"
            )
    return True
