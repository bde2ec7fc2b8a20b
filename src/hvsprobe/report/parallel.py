"""Drawing independent figures in forked worker processes.

Matplotlib draws in one thread, so several figures are drawn at once only by several
processes. Workers are forked: they inherit the imported modules and the data of the
moment, so starting them costs milliseconds and each computes exactly what the parent would
have (a job sets up what else it needs, such as the report's matplotlib style); only a
job's index goes to a worker and its return value comes back. Where ``fork`` is not available, or for one job or one worker, the jobs
run in the calling process.

>>> wait = run_jobs([lambda: 1, lambda: 2], workers=2)
>>> wait()
[1, 2]
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["default_workers", "run_jobs"]

#: The jobs of the batch being forked (read by the workers by index).
_JOBS: Sequence[Callable[[], Any]] = ()


def default_workers() -> int:
    """The CPUs this process may use (at most 8): the number of drawing processes."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def _run(index: int) -> Any:
    return _JOBS[index]()


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to its parent and dies quietly on SIGTERM.

    Forked workers inherit the parent's handlers, such as a command's SIGTERM-to-exception
    handler (:func:`hvsprobe.errors.sigterm_raises`), which would print a traceback from
    every worker when the pool is shut down.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_jobs(jobs: Sequence[Callable[[], Any]], workers: int) -> Callable[[], list[Any]]:
    """Start ``jobs``; return the call that waits and gives their results in order.

    Parameters
    ----------
    jobs : sequence of callables
        Independent jobs without arguments; their results must be picklable.
    workers : int
        Processes to use; 1 runs the jobs here, before this function returns.

    Returns
    -------
    callable
        Waits for the jobs and returns their results, in the order of ``jobs``. An
        exception raised by a job is raised there.
    """
    global _JOBS
    workers = min(int(workers), len(jobs))
    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        results = [job() for job in jobs]
        return lambda: results
    _JOBS = jobs
    try:
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_signals)
    finally:
        _JOBS = ()
    pending = pool.map_async(_run, range(len(jobs)), chunksize=1)
    pool.close()

    def wait() -> list[Any]:
        try:
            results = pending.get()
        except BaseException:
            pool.terminate()  # a job failed or the wait was interrupted: stop the others
            pool.join()
            raise
        pool.join()  # closed above: the workers exit once the queue is empty
        return results

    return wait
