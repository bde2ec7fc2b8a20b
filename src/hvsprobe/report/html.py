"""HTML building blocks for the report: jinja2 templates, tables, figures, markdown.

The page structure lives in jinja2 templates (``templates/*.html.j2``, package data) rendered
with autoescaping on, so every piece of inserted text is escaped unless it is already
:class:`markupsafe.Markup`. Markdown files found in a results folder are converted with
markdown-it-py (CommonMark plus pipe tables, raw HTML disabled). Relative links and images
in markdown are resolved against the markdown file's folder; they become links only when the
target exists, and ``javascript:`` and other unknown schemes are never emitted. The page
loads nothing from the network (no external scripts, no web fonts).
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from .._format import format_number

__all__ = [
    "csv_to_html",
    "environment",
    "esc",
    "figure",
    "fmt_share",
    "fmt_value",
    "json_to_html",
    "kv_table",
    "markdown_to_html",
    "page",
    "rel_href",
    "render",
    "slug",
    "table",
]


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The report's jinja2 environment: package templates, autoescape, strict undefined.

    Examples
    --------
    >>> environment().get_template("base.html.j2").name
    'base.html.j2'
    """
    return jinja2.Environment(
        loader=jinja2.PackageLoader("hvsprobe.report", "templates"),
        autoescape=jinja2.select_autoescape(("html", "j2"), default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> str:
    """Render one of the package templates with ``context``.

    Examples
    --------
    >>> "<title>a &lt;b&gt;</title>" in render("base.html.j2", title="a <b>", body="")
    True
    """
    return environment().get_template(template).render(**context)


def _macro(name: str) -> Any:
    return getattr(environment().get_template("_macros.html.j2").module, name)


def esc(text: object) -> str:
    """HTML-escape ``str(text)``, quotes included, so it is safe in text and attributes."""
    return html.escape(str(text), quote=True)


def slug(text: str) -> str:
    """An ``id``-safe slug: lower-case ASCII letters, digits and ``-``."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s or "section"


def rel_href(target: str | os.PathLike[str], html_dir: str | os.PathLike[str]) -> str:
    """Relative URL (forward slashes, percent-encoded) from ``html_dir`` to ``target``."""
    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(html_dir))
    return quote(Path(rel).as_posix(), safe="/._-~")


def fmt_value(value: Any, digits: int = 4) -> str:
    """Short text form of a scalar: floats with ``digits`` significant digits, NaN as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format_number(value, digits, style="g", nonfinite="symbol")
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v, digits) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_value(v, digits)}" for k, v in value.items())
    return str(value)


def fmt_share(count: int, total: int) -> str:
    """``count`` of ``total`` as a percentage that is 0 or 100 only when it is exactly so.

    Two significant digits for small shares, whole percent from 10 % on.

    Examples
    --------
    >>> fmt_share(1, 250), fmt_share(0, 250), fmt_share(249, 250), fmt_share(137, 250)
    ('0.4 %', '0 %', '99.6 %', '55 %')
    """
    if total <= 0:
        return "—"
    if count == 0 or count == total:
        return f"{100 * count // total} %"
    pct = 100.0 * count / total
    decimals = 0 if pct >= 10 else max(0, 1 - math.floor(math.log10(pct)))
    text = f"{pct:.{decimals}f}"
    while float(text) in (0.0, 100.0):
        decimals += 1
        text = f"{pct:.{decimals}f}"
    if pct < 10 and "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def table(
    header: Sequence[str] | None,
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[bool] | None = None,
    css_class: str = "",
    raw: bool = False,
) -> Markup:
    """An HTML table; cells are formatted with :func:`fmt_value` and escaped.

    Parameters
    ----------
    header : sequence of str, optional
        Column titles.
    rows : iterable of sequences
        Cell values; :class:`markupsafe.Markup` cells are inserted as they are.
    numeric : sequence of bool, optional
        Columns to right-align; default: columns whose first cell is a number.
    css_class : str
        Class of the ``<table>``.
    raw : bool
        Every cell is already HTML (only for trusted, pre-escaped content).

    Examples
    --------
    >>> "<td>a&lt;b</td>" in table(["x"], [["a<b"]])
    True
    """
    rows = [list(r) for r in rows]
    ncol = max([len(header or [])] + [len(r) for r in rows]) if (rows or header) else 0
    if numeric is None:
        numeric = [bool(rows) and len(rows[0]) > j and _is_number(rows[0][j]) for j in range(ncol)]
    numeric = list(numeric) + [False] * max(0, ncol - len(numeric))

    def cell(v: Any) -> Any:
        if raw:
            return Markup(str(v))
        return v if isinstance(v, Markup) else fmt_value(v)

    body = [[cell(v) for v in r] for r in rows]
    return Markup(_macro("table")(list(header or []), body, numeric, css_class))


def kv_table(items: Iterable[tuple[str, Any]], *, mono: Iterable[str] = ()) -> Markup:
    """A two-column key/value table (keys as row headers); keys in ``mono`` get a fixed font."""
    pairs = [(k, v if isinstance(v, Markup) else fmt_value(v)) for k, v in items]
    return Markup(_macro("kv")(pairs, tuple(mono)))


def figure(src: str, alt: str, caption: str = "") -> Markup:
    """A ``<figure>`` with an image at relative URL ``src`` and an escaped caption."""
    return Markup(_macro("figure")(src, alt, caption))


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML5 document around ``body`` (trusted HTML)."""
    return render("base.html.j2", title=title, body=Markup(body))


# ----------------------------------------------------------------------------------------
# markdown

_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_ALIGN = {"text-align:right": "num", "text-align:center": "center", "text-align:left": ""}


class _Resolver:
    """Turns link targets in a markdown file into safe URLs relative to the HTML page."""

    def __init__(self, base_dir: Path | None, html_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.html_dir = html_dir
        self.used: set[Path] = set()

    def __call__(self, target: str) -> str | None:
        low = target.lower()
        if low.startswith(_SAFE_SCHEMES) or target.startswith("#"):
            return target
        if re.match(r"^[a-z][a-z0-9+.-]*:", low):  # javascript:, data:, file:, ...
            return None
        if self.base_dir is None or self.html_dir is None:
            return None
        path_part, _, frag = target.partition("#")
        path = (self.base_dir / unquote(path_part)).resolve()
        if not path.exists():
            return None
        self.used.add(path)
        href = rel_href(path, self.html_dir)
        return f"{href}#{frag}" if frag else href


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.validateLink = lambda url: True  # our resolver decides, after parsing
    return md


def _fix_inline(children: list[Any], resolve: _Resolver) -> list[Any]:
    """Resolve link/image targets in one inline token's children; unsafe ones become text."""
    from markdown_it.token import Token

    out: list[Any] = []
    drop_close = 0
    for tok in children:
        if tok.type == "link_open":
            url = resolve(str(tok.attrGet("href") or ""))
            if url is None:
                drop_close += 1
                continue
            tok.attrSet("href", url)
            if url.lower().startswith(_SAFE_SCHEMES):
                tok.attrSet("rel", "noopener noreferrer")
        elif tok.type == "link_close" and drop_close:
            drop_close -= 1
            continue
        elif tok.type == "image":
            url = resolve(str(tok.attrGet("src") or ""))
            if url is None or url.startswith("#"):
                label = tok.content or str(tok.attrGet("src") or "")
                out.append(Token("text", "", 0, content=f"[image: {label}]"))
                continue
            tok.attrSet("src", url)
        out.append(tok)
    return out


def markdown_to_html(
    text: str,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    html_dir: str | os.PathLike[str] | None = None,
    heading_offset: int = 0,
    used: set[Path] | None = None,
) -> Markup:
    """Convert markdown (CommonMark and pipe tables) to HTML with markdown-it-py.

    Parameters
    ----------
    text : str
        Markdown source. Raw HTML in it is escaped, never passed through.
    base_dir : path, optional
        Folder of the markdown file: relative links and images are resolved against it.
        Without it (or without ``html_dir``) relative links are rendered as plain text.
    html_dir : path, optional
        Folder of the HTML page; resolved targets are written relative to it.
    heading_offset : int
        Added to every header level (``#`` becomes ``<h{1 + offset}>``, at most ``<h6>``).
    used : set of Path, optional
        Receives the resolved paths of local files that were linked or embedded.

    Returns
    -------
    Markup
        HTML; every piece of source text is escaped. Tables are wrapped in a scrolling
        ``div`` and aligned columns carry the classes ``num`` / ``center``.

    Examples
    --------
    >>> print(markdown_to_html("# T <b>", heading_offset=1))
    <h2>T &lt;b&gt;</h2>
    <BLANKLINE>
    """
    resolve = _Resolver(
        Path(base_dir).resolve() if base_dir is not None else None,
        Path(html_dir) if html_dir is not None else None,
    )
    md = _parser()
    tokens = md.parse(text)
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            level = min(6, max(1, int(tok.tag[1]) + heading_offset))
            tok.tag = f"h{level}"
        elif tok.type in ("th_open", "td_open"):
            style = str(tok.attrGet("style") or "")
            if style:
                tok.attrs.pop("style", None)
                if _ALIGN.get(style):
                    tok.attrSet("class", _ALIGN[style])
        elif tok.type == "inline" and tok.children:
            tok.children = _fix_inline(tok.children, resolve)
    out = md.renderer.render(tokens, md.options, {})
    out = out.replace("<table>", '<div class="scroll"><table>').replace(
        "</table>", "</table></div>"
    )
    if used is not None:
        used.update(resolve.used)
    return Markup(out)


# ----------------------------------------------------------------------------------------
# JSON and CSV files

_MAX_ROWS = 500
_MAX_PRE = 20000


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _flat_row(d: Mapping[str, Any]) -> bool:
    return all(
        _scalar(v) or (isinstance(v, list) and all(_scalar(x) for x in v)) for v in d.values()
    )


def _numeric_column(values: Sequence[Any]) -> bool:
    return any(_is_number(v) for v in values) and all(_is_number(v) or v is None for v in values)


def _records_table(records: Sequence[Mapping[str, Any]]) -> str:
    keys: list[str] = []
    for r in records:
        for k in r:
            if k not in keys:
                keys.append(k)
    rows = [[r.get(k) for k in keys] for r in records[:_MAX_ROWS]]
    numeric = [_numeric_column([r.get(k) for r in records]) for k in keys]
    more = (
        f'<p class="muted">{len(records) - _MAX_ROWS} more rows not shown.</p>'
        if len(records) > _MAX_ROWS
        else ""
    )
    return str(table(keys, rows, numeric=numeric)) + more


def _pre(obj: Any) -> str:
    text = json.dumps(obj, indent=2, default=str, allow_nan=True)
    if len(text) > _MAX_PRE:
        text = text[:_MAX_PRE] + "\n… (truncated)"
    return f"<pre><code>{esc(text)}</code></pre>"


def json_to_html(obj: Any, *, heading_level: int = 4, depth: int = 0) -> str:
    """Render parsed JSON as tables where its shape allows, else as indented text.

    A list of flat objects becomes one table (a row per object); an object of flat objects
    becomes a table with the keys as first column; an object of scalars a key/value table;
    other objects are rendered key by key, two levels deep, then as text.
    """
    if isinstance(obj, list):
        if obj and all(isinstance(r, dict) and _flat_row(r) for r in obj):
            return _records_table(obj)
        if all(_scalar(v) for v in obj):
            return f"<p>{esc(fmt_value(obj))}</p>"
        return _pre(obj)
    if isinstance(obj, dict):
        if obj and all(isinstance(v, dict) and v and _flat_row(v) for v in obj.values()):
            return _records_table_keyed(list(obj.items()))
        if _flat_row(obj):
            return str(kv_table(obj.items()))
        if depth >= 2:
            return _pre(obj)
        parts = []
        scalars = [(k, v) for k, v in obj.items() if _scalar(v)]
        if scalars:
            parts.append(str(kv_table(scalars)))
        level = min(6, heading_level)
        for k, v in obj.items():
            if _scalar(v):
                continue
            parts.append(f"<h{level}>{esc(k)}</h{level}>")
            parts.append(json_to_html(v, heading_level=heading_level + 1, depth=depth + 1))
        return "\n".join(parts)
    return f"<p>{esc(fmt_value(obj))}</p>"


def _records_table_keyed(items: list[tuple[str, Mapping[str, Any]]]) -> str:
    keys: list[str] = []
    for _, r in items:
        for k in r:
            if k not in keys:
                keys.append(k)
    rows = [[name] + [r.get(k) for k in keys] for name, r in items[:_MAX_ROWS]]
    numeric = [False] + [_numeric_column([r.get(k) for _, r in items]) for k in keys]
    return str(table([""] + keys, rows, numeric=numeric))


def csv_to_html(path: str | os.PathLike[str]) -> str:
    """A CSV file as a table (first row = header; at most 500 rows shown)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return '<p class="muted">(empty file)</p>'
    header, body = rows[0], rows[1:]

    def num(s: str) -> bool:
        try:
            float(s)
        except ValueError:
            return False
        return True

    numeric = [
        bool(body) and all(num(r[j]) or r[j] == "" for r in body if j < len(r))
        for j in range(len(header))
    ]
    more = (
        f'<p class="muted">{len(body) - _MAX_ROWS} more rows not shown.</p>'
        if len(body) > _MAX_ROWS
        else ""
    )
    return str(table(header, body[:_MAX_ROWS], numeric=numeric)) + more
