"""The CLI explains itself: every command's ``--help`` renders, every option has help that
states its default, and every ``--option`` a help text or a CLI message names exists.

Commands are found by walking the argparse tree of :func:`hvsprobe.cli.app.build_parser`,
not from a hand-written list, so a new command or option is checked without editing this file.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hvsprobe.cli
from hvsprobe.cli import main
from hvsprobe.cli.app import build_parser

_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
_SPAN = re.compile(r"`([^`]*)`")
_SRC = Path(hvsprobe.cli.__file__).parents[1]


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator:
    """``(command path, parser)`` for ``parser`` and every sub-command below it."""
    parser.format_usage()  # a CommandParser adds its options on first use
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


@pytest.fixture(scope="module")
def tree() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    return dict(_walk(build_parser()))


def _command_paths() -> list[tuple[str, ...]]:
    return list(dict(_walk(build_parser())))


def _texts(parser: argparse.ArgumentParser) -> Iterator[tuple[str, str | None]]:
    """``(text, child command)`` for every help text of ``parser``; child for sub-command lines."""
    for text in (parser.description, parser.epilog):
        if text:
            yield text, None
    for action in parser._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            yield action.help, None
        for choice in getattr(action, "_choices_actions", []):
            if choice.help:
                yield choice.help, choice.dest


def _unknown_options(text: str, path: tuple[str, ...], tree: dict) -> list[str]:
    """Options ``text`` names that do not exist where it points (`hvsprobe CMD --x`: in CMD)."""
    bad = []

    def check(fragment: str, where: tuple[str, ...]) -> None:
        known = tree[where]._option_string_actions
        bad.extend(
            f"{' '.join(where) or 'hvsprobe'} {o}"
            for o in _OPTION.findall(fragment)
            if o not in known
        )

    for span in _SPAN.findall(text):
        words = span.split()
        if words[:1] == ["hvsprobe"]:
            target: tuple[str, ...] = ()
            for word in words[1:]:
                if (*target, word) not in tree:
                    break
                target = (*target, word)
            check(span, target)
    check(_SPAN.sub(" ", text), path)
    return bad


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "hvsprobe")
def test_every_command_renders_its_help(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*path, "--help"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"usage: {' '.join(('hvsprobe', *path))}"), out[:200]
    assert len(out.splitlines()) > 3 and err == ""


def test_the_walk_finds_every_command(tree):
    names = {p for p in tree if p}
    for expected in [("analyze",), ("report",), ("experiment", "claim1"), ("experiment", "claim2")]:
        assert expected in names
    assert {("sr", "train"), ("sr", "eval"), ("data", "list"), ("data", "fetch")} <= names


def test_every_option_has_help_and_states_its_default(tree):
    missing, no_default = [], []
    for path, parser in tree.items():
        formatter = parser._get_formatter()
        for action in parser._actions:
            name = f"{' '.join(path) or 'hvsprobe'} {action.option_strings or action.dest}"
            if not (action.help or "").strip() or action.help is argparse.SUPPRESS:
                missing.append(name)
            takes_value = action.option_strings and action.nargs != 0
            text = formatter._get_help_string(action).lower()
            if takes_value and not action.required and "default" not in text:
                if "required" not in text:
                    no_default.append(name)
    assert not missing, f"options without help: {missing}"
    assert not no_default, f"options whose help states no default: {no_default}"


def test_every_option_named_in_a_help_text_exists(tree):
    bad = []
    for path, parser in tree.items():
        for text, child in _texts(parser):
            where = path if child is None else (*path, child)
            bad += _unknown_options(text, where, tree)
    assert not bad, f"help texts name options that do not exist: {bad}"


def test_the_unknown_option_check_can_fail(tree):
    assert _unknown_options("see --list-metrics", ("distance",), tree) == [
        "distance --list-metrics"
    ]
    assert _unknown_options("(see `hvsprobe report --out`)", ("distance",), tree) == []
    assert _unknown_options("`hvsprobe metrics --out`", ("analyze",), tree) == ["metrics --out"]


def _messages(path: Path) -> Iterator[tuple[int, str]]:
    """Non-docstring string constants of a module (error messages, help fragments)."""
    module = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(module):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            docstrings.add(id(body[0].value))
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value


def test_every_option_named_in_a_cli_message_exists(tree):
    known = set().union(*(p._option_string_actions for p in tree.values()))
    files = [
        *sorted((_SRC / "cli").glob("*.py")),
        _SRC / "sr" / "cli.py",
        _SRC / "datasets" / "cli.py",
    ]
    bad = [
        f"{f.relative_to(_SRC)}:{line} {option}"
        for f in files
        for line, text in _messages(f)
        for option in _OPTION.findall(text)
        if option not in known
    ]
    assert not bad, f"messages name options no command has: {bad}"


def test_top_level_help_lists_each_command_on_one_line(tree, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for (name,) in [p for p in tree if len(p) == 1]:
        assert any(re.match(rf"\s+{name}\s{{2,}}\S", line) for line in lines), name
    assert any("hvsprobe analyze vgg16" in line for line in lines)


def test_building_the_parser_loads_no_model_code():
    code = (
        "import sys; from hvsprobe.cli import main; rc = main(['--help']); "
        "heavy = [m for m in ('torch', 'scipy', 'numpy') if m in sys.modules]; "
        "print(rc, heavy, file=sys.stderr)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stderr.strip().splitlines()[-1] == "0 []", res.stderr
