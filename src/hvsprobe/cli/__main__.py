"""``python -m hvsprobe.cli``: the ``hvsprobe`` command."""

from .app import main

raise SystemExit(main())
