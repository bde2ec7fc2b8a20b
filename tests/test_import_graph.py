"""The import graph of ``src/hvsprobe``: no cycles, no private name used across modules.

Every ``import`` and ``from ... import`` counts, at module level and inside functions
(a function-level import is still a dependency, only a later one); imports under
``if TYPE_CHECKING:`` do not, as they never run. ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``. A private name is one starting with a
single underscore; importing a private *module* (``hvsprobe._io``) is fine, using a private
name defined in another module (``from .x import _y``, ``x._y``) is not.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Known exceptions: none. An entry would need its reason beside it, and
# test_allow_lists_are_current fails on an entry that no longer occurs.
ALLOWED_EDGES: set[tuple[str, str]] = set()
ALLOWED_PRIVATE: set[tuple[str, str, str]] = set()


def _modules(src: Path = SRC) -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted((src / "hvsprobe").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _is_main_guard(node: ast.If) -> bool:
    t = node.test
    return (
        isinstance(t, ast.Compare)
        and isinstance(t.left, ast.Name)
        and t.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in t.comparators)
    )


def _walk(node: ast.AST):
    """Every node below ``node`` except the bodies of ``if TYPE_CHECKING:`` and of
    ``if __name__ == "__main__":`` (that body runs only in ``python -m``'s ``__main__``
    module, a second module object, so its imports cannot close a cycle)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and (_is_type_checking(child) or _is_main_guard(child)):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@functools.cache
def _scan(src: Path) -> tuple[dict[str, frozenset[str]], frozenset[tuple[str, str, str]]]:
    edges, private = _scan_uncached(src)
    return {k: frozenset(v) for k, v in edges.items()}, frozenset(private)


def scan(src: Path = SRC) -> tuple[dict[str, set[str]], set[tuple[str, str, str]]]:
    """The import edges between hvsprobe modules and the private names used across them
    (one walk per source tree; the caller gets its own copy)."""
    edges, private = _scan(src)
    return {k: set(v) for k, v in edges.items()}, set(private)


def _scan_uncached(src: Path) -> tuple[dict[str, set[str]], set[tuple[str, str, str]]]:
    mods = _modules(src)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    private: set[tuple[str, str, str]] = set()
    for mod, (path, is_pkg) in mods.items():
        module_aliases: dict[str, str] = {}  # local name -> hvsprobe module
        nodes = list(_walk(ast.parse(path.read_text(encoding="utf-8"))))
        for node in nodes:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods:
                        edges[mod].add(a.name)
                        if a.asname:
                            module_aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                if target not in mods:
                    continue
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in mods:
                        edges[mod].add(sub)
                        module_aliases[a.asname or a.name] = sub
                    else:
                        edges[mod].add(target)
                        if _private(a.name) and target != mod:
                            private.add((mod, target, a.name))
        for node in nodes:
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in module_aliases
                and _private(node.attr)
                and module_aliases[node.value.id] != mod
            ):
                private.add((mod, module_aliases[node.value.id], node.attr))
    for mod in edges:
        edges[mod].discard(mod)
    return edges, private


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_scan_finds_a_cycle_and_a_private_import(tmp_path: Path) -> None:
    # the checker itself, on a hand-made package: a <-> b (b's import inside a function,
    # a's under TYPE_CHECKING does not count, its module-level one does), c uses b._x
    pkg = tmp_path / "hvsprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\nfrom .b import f\n"
    )
    (pkg / "b.py").write_text("def f():\n    from .a import g\n_x = 1\n")
    (pkg / "c.py").write_text("from . import b\nfrom .b import _x\nprint(b._x)\n")
    edges, private = scan(tmp_path)
    assert cycles(edges) == [["hvsprobe.a", "hvsprobe.b"]]
    assert "hvsprobe.c" not in edges["hvsprobe.a"]
    assert private == {("hvsprobe.c", "hvsprobe.b", "_x")}


def test_no_import_cycles() -> None:
    edges, _ = scan()
    for a, b in ALLOWED_EDGES:
        edges[a].discard(b)
    assert cycles(edges) == []


def test_no_private_names_across_modules() -> None:
    _, private = scan()
    assert sorted(private - ALLOWED_PRIVATE) == []


def test_allow_lists_are_current() -> None:
    edges, private = scan()
    assert sorted(ALLOWED_PRIVATE - private) == []
    assert sorted((a, b) for a, b in ALLOWED_EDGES if b not in edges[a]) == []


def test_experiments_never_import_the_cli() -> None:
    edges, _ = scan()
    bad = {
        (a, b)
        for a, targets in edges.items()
        if a.startswith("hvsprobe.experiments")
        for b in targets
        if (b == "hvsprobe.cli" or b.startswith("hvsprobe.cli.") or b.endswith(".cli"))
        and (a, b) not in ALLOWED_EDGES
    }
    assert sorted(bad) == []
