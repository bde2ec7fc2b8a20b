"""Which failures are the user's to fix, and the one line that says how.

Every command of the ``hvsprobe`` CLI runs inside one error boundary
(:func:`hvsprobe.cli.main`). It asks :func:`describe_user_error` whether an exception was
caused by the user's input, files, environment or resources; if so it prints the one line
returned here on stderr and exits with status 2, otherwise (a bug) it shows the traceback
and asks for a report.

The classification is by kind, not by a list of call sites:

* :class:`UserError` (a ``ValueError``) and every ``ValueError`` the library raises at its
  public boundary: bad options, malformed files, inconsistent results folders;
* ``OSError`` (missing files, permissions, full disks, read-only file systems, over-long
  names, a directory where a file was expected, undecodable images), ``EOFError``;
* unpickling errors, ``NotImplementedError`` (an option this build does not provide),
  missing weights, running out of memory (``MemoryError``, ``torch.OutOfMemoryError`` and
  the allocators' ``RuntimeError`` saying so);
* decoding errors raised inside Pillow (a truncated or corrupt image).

Anything else (``TypeError``, ``KeyError``, ``AttributeError``, ...) is treated as a bug.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import signal
import sys
import threading
import traceback
import zlib
from collections.abc import Callable, Iterator
from types import TracebackType

__all__ = [
    "BUG_REPORT",
    "Interrupted",
    "ResultsFolderError",
    "UserError",
    "is_allocation_failure",
    "WeightsNotFoundError",
    "describe_user_error",
    "exit_status",
    "run_guarded",
    "sigterm_raises",
]

#: Where bugs are reported (printed under an unexpected traceback).
BUG_REPORT = "the hvsprobe issue tracker"


class WeightsNotFoundError(RuntimeError):
    """No route could provide verified weights; the message lists every route tried.

    Examples
    --------
    >>> issubclass(WeightsNotFoundError, RuntimeError)
    True
    """


class UserError(ValueError):
    """A failure the user can fix; its message names the thing at fault and what to do.

    It is a ``ValueError`` so code that catches ``ValueError`` keeps working.

    Examples
    --------
    >>> raise UserError("--max-stimuli: must be a positive integer, got -3")
    Traceback (most recent call last):
    ...
    hvsprobe.errors.UserError: --max-stimuli: must be a positive integer, got -3
    """


class ResultsFolderError(UserError):
    """A results folder that is incomplete, busy, or mixes two configurations."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM, carrying what was kept for a rerun.

    Parameters
    ----------
    signum : int
        The signal that stopped the run.
    kept : str, optional
        A true sentence about what was saved (e.g. the probe checkpoint), or ``None``.

    Examples
    --------
    >>> exc = Interrupted(signal.SIGTERM, "probe checkpoint saved")
    >>> exit_status(exc), exc.kept
    (143, 'probe checkpoint saved')
    """

    def __init__(self, signum: int = signal.SIGINT, kept: str | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)
        self.kept = kept


def exit_status(exc: BaseException) -> int:
    """The conventional shell status of an interruption: 128 + signal number (130, 143)."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


_OS_HINTS = {
    errno.ENOSPC: "free some space or write somewhere else",
    errno.EDQUOT: "free some space or write somewhere else",
    errno.EROFS: "choose a writable location",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.EACCES: "choose a location you may access",
    errno.EPERM: "choose a location you may access",
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.EISDIR: "give a file, not a folder",
    errno.EEXIST: "remove it or choose another name",
    errno.ENOTEMPTY: "remove it or choose another name",
    errno.EMFILE: "raise the limit (ulimit -n) or open fewer files",
    errno.EIO: "check the disk",
    errno.ELOOP: "check the path",
}


#: How torch's allocators say they ran out (CPU: ``DefaultCPUAllocator: not enough memory``,
#: ``can't allocate memory``; CUDA/MPS before torch.OutOfMemoryError existed: ``out of memory``).
_ALLOCATION_FAILURES = ("not enough memory", "can't allocate memory", "out of memory")


def is_allocation_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocator running out of memory (reported as a resource error).

    Examples
    --------
    >>> is_allocation_failure(RuntimeError("DefaultCPUAllocator: not enough memory: ..."))
    True
    >>> is_allocation_failure(RuntimeError("shape mismatch"))
    False
    """
    text = str(exc).lower()
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and any(m in text for m in _ALLOCATION_FAILURES)
    )


def _os_error_line(exc: OSError) -> str:
    """``'<path>: <what happened>; <what to do>'`` for an ``OSError``."""
    where = exc.filename
    if exc.filename2 is not None:
        where = f"{exc.filename} -> {exc.filename2}"
    if exc.strerror:  # raised by the OS: errno, strerror and usually the path
        what = exc.strerror[0].lower() + exc.strerror[1:]
        hint = _OS_HINTS.get(exc.errno or -1)
        what = f"{what}; {hint}" if hint else what
    else:  # raised by code with its own message (which may name the path already)
        what = str(exc) or type(exc).__name__
        if where is not None and str(where) in what:
            where = None
    return what if where is None else f"{where}: {what}"


def _raised_in(tb: TracebackType | None, prefix: str) -> bool:
    """Whether the innermost frame of ``tb`` belongs to a module named ``prefix...``."""
    last = tb
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    name = last.tb_frame.f_globals.get("__name__", "") if last is not None else ""
    return str(name).startswith(prefix)


def _file_being_read(tb: TracebackType | None) -> str | None:
    """The ``path`` argument of the innermost hvsprobe frame, if it has one."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if str(frame.f_globals.get("__name__", "")).startswith("hvsprobe"):
            value = frame.f_locals.get("path")
            if isinstance(value, str | os.PathLike):
                found = os.fspath(value)
        tb = tb.tb_next
    return found


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def describe_user_error(exc: BaseException) -> str | None:
    """One line for a failure caused by the user's input, files, environment or resources.

    Parameters
    ----------
    exc : BaseException
        The exception that ended a command.

    Returns
    -------
    str or None
        The message (without a ``hvsprobe CMD: error:`` prefix), or ``None`` when ``exc``
        looks like a bug in hvsprobe and deserves a traceback.

    Examples
    --------
    >>> describe_user_error(UserError("--csf: unknown CSF 'nope'"))
    "--csf: unknown CSF 'nope'"
    >>> import errno
    >>> describe_user_error(OSError(errno.ENOSPC, "No space left on device", "out/x.json"))
    'out/x.json: no space left on device; free some space or write somewhere else'
    >>> describe_user_error(KeyError("layers")) is None
    True
    """
    tb = exc.__traceback__
    if _raised_in(tb, "PIL") and isinstance(exc, OSError | SyntaxError | ValueError | zlib.error):
        path = _file_being_read(tb)
        where = f"{path}: " if path else ""
        return f"{where}cannot decode the image ({_first_line(str(exc))}); give a valid image file"
    if isinstance(exc, OSError):
        return _first_line(_os_error_line(exc))
    if isinstance(exc, pickle.UnpicklingError):
        path = _file_being_read(tb)
        where = f"{path}: " if path else ""
        return f"{where}cannot read the pickle ({_first_line(str(exc))})"
    if isinstance(exc, MemoryError):
        return "out of memory; use a smaller grid, batch size or image"
    if type(exc).__name__ == "OutOfMemoryError":  # torch.OutOfMemoryError (a RuntimeError)
        return f"the device ran out of memory ({_first_line(str(exc))}); use a smaller --batch-size"
    if isinstance(exc, RuntimeError) and str(exc).startswith("Symlink loop from"):
        return f"{_first_line(str(exc))}: a loop of symbolic links; fix the link or the path"
    if isinstance(exc, RuntimeError) and is_allocation_failure(exc):
        return (
            f"out of memory ({_first_line(str(exc))[:200]}); use a smaller grid, batch size "
            "(--batch-size) or image (--size)"
        )
    if isinstance(exc, ValueError | EOFError | NotImplementedError | WeightsNotFoundError):
        line = _first_line(str(exc))
        return line or f"{type(exc).__name__} (no message)"
    return None


def bug_report_line(command: str) -> str:
    """The line printed under the traceback of an unexpected exception."""
    from . import __version__

    return (
        f"hvsprobe {command}: internal error (a bug in hvsprobe {__version__}); please report "
        f"it, with the command and the traceback above, on {BUG_REPORT}"
    )


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Interrupted` (like Ctrl-C) in the main thread.

    Elsewhere than the main thread, or where signals cannot be set, the block runs unchanged.

    Examples
    --------
    >>> with sigterm_raises():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    except (ValueError, OSError):  # pragma: no cover - embedded interpreters
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _signal_name(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


def interrupted_line(command: str, exc: BaseException) -> str:
    """The one true line printed when a command is stopped by Ctrl-C or SIGTERM."""
    signum = int(getattr(exc, "signum", signal.SIGINT))
    kept = getattr(exc, "kept", None)
    head = f"hvsprobe {command}: stopped by {_signal_name(signum)}"
    if kept:
        return f"{head}; {kept}; rerun the same command to resume"
    if command == "analyze":
        return f"{head} before any checkpoint was saved; the results folder is unchanged"
    return head


def run_guarded(command: str, func: Callable[[], int], *, debug: bool = False) -> int:
    """Run one CLI command inside the error boundary; return its exit status.

    User-caused failures (see :func:`describe_user_error`) print ``hvsprobe COMMAND:
    error: ...`` on stderr and return 2; Ctrl-C and SIGTERM print what was kept and return
    130 / 143; anything else prints its traceback and a request for a bug report and
    returns 1. ``debug`` prints the traceback in every case.

    Examples
    --------
    >>> def bad() -> int:
    ...     raise UserError("--size: must be >= 1, got 0")
    >>> run_guarded("analyze", bad)
    2
    """
    try:
        with sigterm_raises():
            return func()
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        print(interrupted_line(command, exc), file=sys.stderr)
        return exit_status(exc)
    except Exception as exc:
        message = describe_user_error(exc)
        if message is None or debug:
            traceback.print_exc()
        if message is None:
            print(bug_report_line(command), file=sys.stderr)
            return 1
        print(f"hvsprobe {command}: error: {message}", file=sys.stderr)
        return 2
