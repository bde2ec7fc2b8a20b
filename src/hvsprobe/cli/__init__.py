"""The ``hvsprobe`` command line: a thin layer over the library (parse, call, print).

``hvsprobe --help`` lists the commands; ``hvsprobe COMMAND --help`` a command's options
with their defaults. The parser and the dispatch are in :mod:`hvsprobe.cli.app`.
"""

from .app import main

__all__ = ["main"]
