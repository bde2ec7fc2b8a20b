"""Alias of :mod:`hvsprobe.metrics` (the implementation lives in that package)."""

from .metrics import *  # noqa: F403
from .metrics import __all__  # noqa: F401
