"""The argument parser every ``hvsprobe`` command uses: lazy, one-line errors, defaults shown.

A command's options are added the first time its parser is used (parsing, ``--help`` or a
usage error), so ``hvsprobe --help`` and building the parser import no model code.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

__all__ = ["CommandParser", "HelpFormatter"]


def _default_text(default: Any) -> str:
    if isinstance(default, list | tuple):
        return " ".join(str(v) for v in default)
    return str(default)


class HelpFormatter(argparse.HelpFormatter):
    """Help with each option's default; texts with line breaks kept as written.

    A description or epilog of one paragraph is wrapped to the terminal; one with line
    breaks (a table, examples) is printed as written. An option's default is added when
    its help does not mention one. Flags (``store_true``), required options and options
    whose default is ``None`` or empty are left as written: their help says what happens
    when they are not given.

    Examples
    --------
    >>> p = argparse.ArgumentParser(prog="demo", formatter_class=HelpFormatter)
    >>> _ = p.add_argument("--n", type=int, default=3, help="how many")
    >>> "how many (default: 3)" in p.format_help()
    True
    """

    def add_argument(self, action: argparse.Action) -> None:
        # argparse measures sub-command names one indent short: the longest would wrap
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            for sub in getattr(action, "_get_subactions", list)():
                width = len(self._format_action_invocation(sub)) + self._current_indent
                width += self._indent_increment
                self._action_max_length = max(self._action_max_length, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" not in text.strip("\n"):
            return super()._fill_text(text, width, indent)
        return "".join(indent + line for line in text.splitlines(keepends=True))

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or action.required
            or "default" in text.lower()
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or (isinstance(default, list | tuple) and not default)
        ):
            return text
        return f"{text} (default: {_default_text(default).replace('%', '%%')})"


class CommandParser(argparse.ArgumentParser):
    """An argument parser with one-line usage errors (exit status 2) and lazy options.

    Parameters
    ----------
    build : callable, optional
        Called with the parser the first time it parses, formats help or reports an error;
        it adds the command's options (and sub-commands). ``None``: nothing deferred.
    **kwargs
        As for :class:`argparse.ArgumentParser`; ``formatter_class`` defaults to
        :class:`HelpFormatter`. Sub-parsers are of this class too.

    Examples
    --------
    >>> p = CommandParser(prog="demo", build=lambda p: p.add_argument("--n", type=int, default=3))
    >>> p.parse_args([]).n
    3
    """

    def __init__(
        self,
        *args: Any,
        build: Callable[[argparse.ArgumentParser], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self._build = build

    def populate(self) -> CommandParser:
        """Add the deferred options now (idempotent); returns the parser."""
        build, self._build = self._build, None
        if build is not None:
            build(self)
        return self

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.populate()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.populate()
        return super().format_usage()

    def format_help(self) -> str:
        self.populate()
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
