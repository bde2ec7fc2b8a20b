"""Provenance of a generated results page: when, by which command, how long, on what machine.

Every study's ``main`` builds its record with :func:`run_meta` (or the two pieces it is made
of, :func:`command_line` and :func:`utc_now`), so the pages state these facts the same way.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

__all__ = ["command_line", "run_meta", "utc_now"]


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DD HH:MM UTC``.

    Examples
    --------
    >>> utc_now().endswith(" UTC")
    True
    """
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reruns ``python -m hvsprobe.experiments.MODULE`` with ``argv``.

    ``argv`` ``None`` (or empty) means the process's own arguments (``sys.argv[1:]``).

    Examples
    --------
    >>> command_line("ppd_study", ["a b", "--out", "p.md"])
    "python -m hvsprobe.experiments.ppd_study 'a b' --out p.md"
    """
    return f"python -m hvsprobe.experiments.{module} " + shlex.join(argv or sys.argv[1:])


def run_meta(
    module: str,
    argv: Sequence[str] | None,
    t0: float,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Date, command, ``extra`` entries, wall time since ``t0``, machine and CPU count.

    Parameters
    ----------
    module : str
        Module name under :mod:`hvsprobe.experiments` (``border_study``).
    argv : sequence of str or None
        The arguments the study was run with (see :func:`command_line`).
    t0 : float
        ``time.perf_counter()`` at the start of the work.
    extra : dict, optional
        Entries placed after ``command``.

    Returns
    -------
    dict
        ``date``, ``command``, the ``extra`` keys, ``wall_s``, ``machine``, ``cpus``.

    Examples
    --------
    >>> m = run_meta("ppd_study", ["x"], time.perf_counter())
    >>> list(m)
    ['date', 'command', 'wall_s', 'machine', 'cpus']
    """
    return {
        "date": utc_now(),
        "command": command_line(module, argv),
        **(extra or {}),
        "wall_s": time.perf_counter() - t0,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
