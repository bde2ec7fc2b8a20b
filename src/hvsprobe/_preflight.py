"""Cheap checks run before any model is built or any folder is created.

Each raises :class:`hvsprobe.errors.UserError` with one line naming the option at fault
and what to do. None of them creates anything that outlives the call.
"""

from __future__ import annotations

import errno
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:
    import torch

__all__ = [
    "MAX_STIMULI",
    "available_memory",
    "check_memory",
    "check_device",
    "check_finite",
    "check_output_dir",
    "check_output_file",
    "check_stimulus_budget",
]

#: Largest stimulus grid ``hvsprobe analyze`` runs without an explicit ``--max-stimuli``.
#: The default grid has 24 x 12 x 4 = 1,152 stimuli; 20,000 is about 17 times that (hours
#: for VGG-16 on a CPU), large enough for any documented study and small enough that a typo
#: such as ``--n-frequencies 100000`` is caught before work starts.
MAX_STIMULI = 20_000


def _shown(path: object, keep: int = 60) -> str:
    """``path`` for a message, its middle elided when it is very long."""
    text = str(path)
    text = text if len(text) <= 2 * keep else f"{text[:keep]}…{text[-keep:]}"
    return text if text.isprintable() else repr(text)  # a newline must not cut the line


def check_device(device: str | torch.device | None, option: str = "--device") -> None:
    """Refuse a device string torch does not know or this machine does not have.

    Examples
    --------
    >>> check_device("cpu")
    >>> check_device("bogus")
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: --device 'bogus': not a torch device; use cpu, cuda, cuda:N or mps
    """
    if device is None:
        return
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise UserError(
            f"{option} {str(device)!r}: not a torch device; use cpu, cuda, cuda:N or mps"
        ) from None
    if dev.type == "cpu":
        return
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(
                f"{option} {str(device)!r}: CUDA is not available here (torch "
                f"{torch.__version__}, {'no CUDA build' if torch.version.cuda is None else 'no GPU found'}); use --device cpu"
            )
        n = torch.cuda.device_count()
        if dev.index is not None and dev.index >= n:
            raise UserError(
                f"{option} {str(device)!r}: this machine has {n} CUDA device(s) (0..{n - 1})"
            )
        return
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"{option} {str(device)!r}: MPS is not available here; use cpu")
        return
    backend = getattr(torch, dev.type, None)
    available = getattr(backend, "is_available", None)
    if callable(available) and available():
        return
    raise UserError(f"{option} {str(device)!r}: this machine has no {dev.type} device; use cpu")


def check_finite(value: float, option: str, *, low: float | None = None) -> None:
    """Refuse NaN and infinity (and values below ``low``) for a numeric option.

    Examples
    --------
    >>> check_finite(0.5, "--value")
    >>> check_finite(float("nan"), "--value")
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: --value: must be a finite number, got nan
    """
    if not math.isfinite(value):
        raise UserError(f"{option}: must be a finite number, got {value}")
    if low is not None and value < low:
        raise UserError(f"{option}: must be >= {low:g}, got {value:g}")


def _existing_ancestor(path: Path, option: str) -> Path:
    """The nearest existing folder at or above ``path`` (``path`` itself excluded)."""
    _refuse_symlink_loop(path, option)
    probe = path.parent if str(path.parent) else Path(".")
    while True:
        try:
            if probe.exists():
                break
        except OSError as exc:  # ENAMETOOLONG and the like
            reason = (exc.strerror or str(exc)).lower()
            raise UserError(f"{option} {_shown(path)}: {reason}; choose a shorter path") from None
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(
            f"{option} {_shown(path)}: {_shown(probe)} is a file, not a folder; choose another path"
        )
    return probe


def _refuse_symlink_loop(path: Path, option: str) -> None:
    """Refuse a path through a symbolic link that points (eventually) at itself."""
    for part in (*reversed(path.parents), path):  # the outermost loop is the one to fix
        try:
            os.stat(part)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UserError(
                    f"{option} {_shown(path)}: {_shown(part)} is a loop of symbolic links; "
                    "remove or fix the link, or choose another path"
                ) from None


def _check_names(path: Path, option: str, base: Path) -> None:
    """Refuse components and paths longer than the file system allows."""
    try:
        name_max = os.pathconf(base, "PC_NAME_MAX")
        path_max = os.pathconf(base, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    long = [p for p in path.parts if len(os.fsencode(p)) > name_max]
    if long:
        raise UserError(
            f"{option}: the name {long[0][:40]}… is longer than the {name_max} bytes the file "
            "system allows; choose a shorter path"
        )
    if len(os.fsencode(str(path.absolute()))) >= path_max:
        raise UserError(
            f"{option}: the path is longer than the {path_max} bytes the file system allows; "
            "choose a shorter one"
        )


def _check_can_write_in(folder: Path, option: str, path: Path) -> None:
    """Create and remove a temporary file in ``folder`` (catches read-only file systems)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hvsprobe-write-test.", dir=folder)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise UserError(
            f"{option} {_shown(path)}: cannot write in {_shown(folder)} ({reason}); choose a "
            "writable location"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_dir(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check that ``path`` can become (or be replaced by) a results folder, creating nothing.

    ``path`` must not be a file, its name must fit the file system, and the folder that
    will hold it must be writable (it receives a temporary sibling that is renamed into
    place).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_dir(d / "new" / "results") == d / "new" / "results"
    True
    """
    path = Path(path).expanduser()
    if not str(path).strip():
        raise UserError(f"{option}: empty path")
    base = _existing_ancestor(path, option)
    _check_names(path, option, base)
    try:
        is_file = path.exists() and not path.is_dir()
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise UserError(f"{option} {_shown(path)}: {reason}; choose another path") from None
    if is_file:
        raise UserError(f"{option} {_shown(path)}: is a file, not a folder; give a folder path")
    _check_can_write_in(base, option, path)
    return path


def check_output_file(path: str | os.PathLike[str], option: str = "--out") -> Path:
    """Check that a single output file can be written at ``path``, creating nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_file(d)
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: --out ...: is a folder; give a file name (e.g. .../selection.json)
    """
    path = Path(path).expanduser()
    if not str(path).strip():
        raise UserError(f"{option}: empty path")
    base = _existing_ancestor(path, option)
    _check_names(path, option, base)
    if path.is_dir():
        raise UserError(
            f"{option} {_shown(path)}: is a folder; give a file name (e.g. "
            f"{_shown(path / 'selection.json')})"
        )
    _check_can_write_in(base, option, path)
    return path


def check_stimulus_budget(n_stimuli: int, max_stimuli: int | None) -> None:
    """Refuse a grid above :data:`MAX_STIMULI` unless ``max_stimuli`` explicitly allows it.

    Examples
    --------
    >>> check_stimulus_budget(1152, None)
    >>> check_stimulus_budget(200_000, None)
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: the grid has 200,000 stimuli, above the 20,000 run without asking; check --n-frequencies/--n-orientations/--n-phases, or pass --max-stimuli 200000 to run it
    """
    limit = MAX_STIMULI if max_stimuli is None else int(max_stimuli)
    if max_stimuli is not None and limit < 1:
        raise UserError(f"--max-stimuli: must be a positive integer, got {max_stimuli}")
    if n_stimuli > limit:
        allowed = "run without asking" if max_stimuli is None else "allowed by --max-stimuli"
        raise UserError(
            f"the grid has {n_stimuli:,} stimuli, above the {limit:,} {allowed}; check "
            f"--n-frequencies/--n-orientations/--n-phases, or pass --max-stimuli {n_stimuli} "
            "to run it"
        )


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or ``None`` if unknown.

    Read from ``/proc/meminfo`` (Linux: free memory plus reclaimable caches), else
    ``os.sysconf`` (free physical pages), without a dependency.

    Examples
    --------
    >>> n = available_memory()
    >>> n is None or n > 0
    True
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def check_memory(needed: float, what: str, lower: str, available: int | None = None) -> None:
    """Refuse work whose estimated memory (``needed`` bytes, a lower bound) exceeds what is free.

    ``what`` says what the estimate counts, ``lower`` which option lowers it; ``available``
    defaults to :func:`available_memory` (no check when unknown).

    Examples
    --------
    >>> check_memory(1e6, "one batch", "lower --size", available=10**9)
    >>> check_memory(8e10, "one batch (16 x 3 x 1000 x 1000 float32)", "lower --size", 10**10)
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: one batch (16 x 3 x 1000 x 1000 float32) needs at least 80 GB of memory, and 10 GB is available; lower --size
    """
    free = available_memory() if available is None else available
    if free is not None and needed > free:
        raise UserError(
            f"{what} needs at least {_bytes(needed)} of memory, and {_bytes(free)} is "
            f"available; {lower}"
        )
