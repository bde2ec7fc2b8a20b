"""``python -m hvsprobe.experiments.NAME``: an experiment's own options, the CLI's error boundary.

Each study module defines its options once (``add_arguments(parser)``) and its work
(``run(args, argv) -> int``, raising :class:`hvsprobe.errors.UserError` for what the user
can fix). :mod:`hvsprobe.cli.experiment` mounts them as ``hvsprobe experiment NAME``; the
module's ``main`` runs the same through :func:`experiment_main`. Both run inside
:func:`hvsprobe.errors.run_guarded`, the one error boundary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

__all__ = ["experiment_main"]


def experiment_main(
    name: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], object],
    run: Callable[[argparse.Namespace, list[str]], int],
    argv: Sequence[str] | None = None,
) -> int:
    """Parse ``argv`` with the experiment's options and run it; the exit status.

    Examples
    --------
    >>> def add(p):
    ...     p.add_argument("--n", type=int, required=True, help="a number")
    >>> def run(args, argv):
    ...     if args.n < 0:
    ...         raise ValueError(f"--n must be >= 0, got {args.n}")
    ...     return 0
    >>> experiment_main("demo", "a demo", add, run, ["--n", "3"])
    0
    >>> experiment_main("demo", "a demo", add, run, ["--n", "-1"])  # one line on stderr
    2
    """
    from ..errors import run_guarded

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=f"python -m hvsprobe.experiments.{name}", description=description
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_guarded(f"experiment {name}", lambda: run(args, argv))
