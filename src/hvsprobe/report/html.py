"""HTML building blocks for the report: escaping, tables, figures, a tiny markdown converter.

Everything here returns strings of HTML in which every piece of inserted text has passed
through :func:`esc`. No third-party template or markdown package is used, and the page
loads nothing from the network (no scripts, no web fonts).

The markdown converter understands what hvsprobe's own result files contain: ATX headers
(``#`` … ``######``), pipe tables (with ``:---:`` alignment), paragraphs, ``-``/``*``/``1.``
lists, fenced code blocks, block quotes, horizontal rules, and inline ``code``,
``**bold**``, ``*italic*``, links and images. Relative links and images are resolved
against the markdown file's folder; they become links only when the target exists, and
``javascript:`` and other unknown schemes are never emitted.
"""

from __future__ import annotations

import csv
import html
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "CSS",
    "csv_to_html",
    "esc",
    "figure",
    "fmt_value",
    "json_to_html",
    "markdown_to_html",
    "page",
    "rel_href",
    "slug",
    "table",
]

#: The page's style sheet (inline; system fonts only).
CSS = """
:root { --fg: #1d232b; --muted: #5b6470; --line: #d5dae1; --band: #f4f6f9; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.7em; margin: 0.2em 0 0.3em; }
h2 { font-size: 1.35em; margin: 2.2em 0 0.6em; padding-bottom: 0.2em;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 1.12em; margin: 1.6em 0 0.4em; }
h4, h5, h6 { font-size: 1em; margin: 1.2em 0 0.3em; }
p { margin: 0.5em 0; }
.muted, figcaption { color: var(--muted); }
.mono, code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
                   font-size: 0.9em; }
code { background: var(--band); padding: 0 3px; border-radius: 3px; }
pre { background: var(--band); padding: 10px 12px; overflow-x: auto; border-radius: 4px; }
pre code { background: none; padding: 0; }
a { color: var(--accent); }
nav.toc { background: var(--band); padding: 8px 14px; border-radius: 6px; margin: 12px 0 4px; }
nav.toc a { margin-right: 16px; white-space: nowrap; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid var(--line); padding: 4px 9px; vertical-align: top; }
th { background: var(--band); text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.center, th.center { text-align: center; }
table.kv { width: 100%; }
table.kv th { width: 38%; font-weight: 600; }
table.kv td { overflow-wrap: anywhere; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
        gap: 0 36px; align-items: start; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0 1.6em; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 0.92em; margin-top: 0.4em; max-width: 70em; }
blockquote { margin: 0.6em 0; padding: 0.1em 1em; border-left: 4px solid var(--line);
             color: var(--muted); }
.note { background: #fff7e0; border: 1px solid #f0d48a; padding: 6px 10px; border-radius: 4px; }
.embedded { border-left: 3px solid var(--line); padding-left: 14px; margin: 0.8em 0 1.4em; }
.embedded table.kv { width: auto; min-width: 24em; }
.source { font-size: 0.85em; color: var(--muted); margin: 0.2em 0 0.4em; }
footer { margin-top: 3em; font-size: 0.85em; color: var(--muted); }
"""


def esc(text: object) -> str:
    """HTML-escape ``str(text)``, quotes included, so it is safe in text and attributes."""
    return html.escape(str(text), quote=True)


def slug(text: str) -> str:
    """An ``id``-safe slug: lower-case ASCII letters, digits and ``-``."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s or "section"


def rel_href(target: str | os.PathLike[str], html_dir: str | os.PathLike[str]) -> str:
    """Relative URL (forward slashes, percent-encoded) from ``html_dir`` to ``target``."""
    from urllib.parse import quote

    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(html_dir))
    return quote(Path(rel).as_posix(), safe="/._-~")


def fmt_value(value: Any, digits: int = 4) -> str:
    """Short text form of a scalar: floats with ``digits`` significant digits, NaN as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt_value(v, digits) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={fmt_value(v, digits)}" for k, v in value.items())
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def table(
    header: Sequence[str] | None,
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Sequence[bool] | None = None,
    css_class: str = "",
    raw: bool = False,
) -> str:
    """An HTML table; cells are formatted with :func:`fmt_value` and escaped.

    Parameters
    ----------
    header : sequence of str, optional
        Column titles.
    rows : iterable of sequences
        Cell values.
    numeric : sequence of bool, optional
        Columns to right-align; default: columns whose first cell is a number.
    css_class : str
        Class of the ``<table>``.
    raw : bool
        Cells are already HTML (only for trusted, pre-escaped content).
    """
    rows = [list(r) for r in rows]
    ncol = max([len(header or [])] + [len(r) for r in rows]) if (rows or header) else 0
    if numeric is None:
        numeric = [bool(rows) and len(rows[0]) > j and _is_number(rows[0][j]) for j in range(ncol)]
    cls = f' class="{esc(css_class)}"' if css_class else ""
    out = [f'<div class="scroll"><table{cls}>']
    if header:
        num_attr = ' class="num"'
        cells = "".join(
            f"<th{num_attr if j < len(numeric) and numeric[j] else ''}>{esc(h)}</th>"
            for j, h in enumerate(header)
        )
        out.append(f"<thead><tr>{cells}</tr></thead>")
    out.append("<tbody>")
    for r in rows:
        tds = []
        for j, v in enumerate(r):
            text = str(v) if raw else esc(fmt_value(v))
            num = ' class="num"' if j < len(numeric) and numeric[j] else ""
            tds.append(f"<td{num}>{text}</td>")
        out.append("<tr>" + "".join(tds) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def kv_table(items: Iterable[tuple[str, Any]], *, mono: Iterable[str] = ()) -> str:
    """A two-column key/value table (keys as row headers); keys in ``mono`` get a fixed font."""
    fixed = set(mono)
    mono_attr = ' class="mono"'
    rows = "".join(
        f"<tr><th>{esc(k)}</th><td{mono_attr if k in fixed else ''}>{esc(fmt_value(v))}</td></tr>"
        for k, v in items
    )
    return f'<div class="scroll"><table class="kv"><tbody>{rows}</tbody></table></div>'


def figure(src: str, alt: str, caption: str = "", *, caption_html: str | None = None) -> str:
    """An ``<figure>`` with an image at relative URL ``src`` and an escaped caption."""
    cap = caption_html if caption_html is not None else esc(caption)
    fc = f"<figcaption>{cap}</figcaption>" if cap else ""
    return f'<figure><img src="{esc(src)}" alt="{esc(alt)}">{fc}</figure>'


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML5 document."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )


# ----------------------------------------------------------------------------------------
# markdown

_HEADER = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
_ULIST = re.compile(r"^\s*[-*+]\s+(.*)$")
_OLIST = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```+|~~~+)")
_HRULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


class _Resolver:
    """Turns link targets in a markdown file into safe URLs relative to the HTML page."""

    def __init__(self, base_dir: Path | None, html_dir: Path | None) -> None:
        self.base_dir = base_dir
        self.html_dir = html_dir
        self.used: set[Path] = set()

    def __call__(self, target: str) -> str | None:
        low = target.lower()
        if low.startswith(_SAFE_SCHEMES):
            return target
        if target.startswith("#"):
            return target
        if re.match(r"^[a-z][a-z0-9+.-]*:", low):  # javascript:, data:, file:, ...
            return None
        if self.base_dir is None or self.html_dir is None:
            return None
        path_part, _, frag = target.partition("#")
        from urllib.parse import unquote

        path = (self.base_dir / unquote(path_part)).resolve()
        if not path.exists():
            return None
        self.used.add(path)
        href = rel_href(path, self.html_dir)
        return f"{href}#{frag}" if frag else href


def _emphasis(escaped: str) -> str:
    escaped = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", escaped)


def _inline_text(text: str, resolve: _Resolver) -> str:
    """Links/images, then emphasis, on text that contains no code spans."""
    out: list[str] = []
    pos = 0
    for m in _LINK.finditer(text):
        out.append(_emphasis(esc(text[pos : m.start()])))
        bang, label, target = m.groups()
        url = resolve(target)
        if bang:
            if url is not None and not url.startswith("#"):
                out.append(f'<img src="{esc(url)}" alt="{esc(label)}">')
            else:
                out.append(esc(f"[image: {label or target}]"))
        elif url is not None:
            ext = url.lower().startswith(_SAFE_SCHEMES)
            rel = ' rel="noopener noreferrer"' if ext else ""
            out.append(f'<a href="{esc(url)}"{rel}>{_emphasis(esc(label))}</a>')
        else:
            out.append(_emphasis(esc(label)))
        pos = m.end()
    out.append(_emphasis(esc(text[pos:])))
    return "".join(out)


def _inline(text: str, resolve: _Resolver) -> str:
    """Inline markdown of one block's text: code spans are kept literal."""
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_inline_text(text[pos : m.start()], resolve))
        out.append(f"<code>{esc(m.group(2).strip())}</code>")
        pos = m.end()
    out.append(_inline_text(text[pos:], resolve))
    return "".join(out)


def _split_row(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    cells = re.split(r"(?<!\\)\|", s)
    return [c.strip().replace("\\|", "|") for c in cells]


def _alignments(sep: str) -> list[str]:
    out = []
    for cell in _split_row(sep):
        left, right = cell.startswith(":"), cell.endswith(":")
        out.append("center" if left and right else "num" if right else "")
    return out


def _md_table(lines: list[str], resolve: _Resolver) -> str:
    head = _split_row(lines[0])
    align = _alignments(lines[1])
    n = len(head)

    def cls(j: int) -> str:
        return f' class="{align[j]}"' if j < len(align) and align[j] else ""

    out = ['<div class="scroll"><table>', "<thead><tr>"]
    out += [f"<th{cls(j)}>{_inline(h, resolve)}</th>" for j, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for line in lines[2:]:
        cells = _split_row(line)
        cells = (cells + [""] * n)[: max(n, 1)]
        out.append(
            "<tr>"
            + "".join(f"<td{cls(j)}>{_inline(c, resolve)}</td>" for j, c in enumerate(cells))
            + "</tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def markdown_to_html(
    text: str,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    html_dir: str | os.PathLike[str] | None = None,
    heading_offset: int = 0,
    used: set[Path] | None = None,
) -> str:
    """Convert a small markdown subset to HTML (see the module docstring).

    Parameters
    ----------
    text : str
        Markdown source.
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
    str
        HTML; every piece of source text is escaped.
    """
    resolve = _Resolver(
        Path(base_dir).resolve() if base_dir is not None else None,
        Path(html_dir) if html_dir is not None else None,
    )
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    i = 0

    def flush() -> None:
        if para:
            out.append(f"<p>{_inline(' '.join(s.strip() for s in para), resolve)}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            flush()
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end of the text)
            out.append(f"<pre><code>{esc(chr(10).join(body))}</code></pre>")
            continue
        if not line.strip():
            flush()
            i += 1
            continue
        head = _HEADER.match(line)
        if head:
            flush()
            level = min(6, max(1, len(head.group(1)) + heading_offset))
            out.append(f"<h{level}>{_inline(head.group(2), resolve)}</h{level}>")
            i += 1
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEP.match(lines[i + 1]):
            flush()
            block = [line, lines[i + 1]]
            i += 2
            while i < len(lines) and lines[i].strip() and "|" in lines[i]:
                block.append(lines[i])
                i += 1
            out.append(_md_table(block, resolve))
            continue
        if _HRULE.match(line) and not para:
            out.append("<hr>")
            i += 1
            continue
        if _ULIST.match(line) or _OLIST.match(line):
            flush()
            ordered = _ULIST.match(line) is None
            pattern = _OLIST if ordered else _ULIST
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                m = pattern.match(lines[i])
                if m:
                    items.append(m.group(1))
                elif items and lines[i].startswith((" ", "\t")):
                    items[-1] += " " + lines[i].strip()  # continuation line
                else:
                    break
                i += 1
            tag = "ol" if ordered else "ul"
            lis = "".join(f"<li>{_inline(it, resolve)}</li>" for it in items)
            out.append(f"<{tag}>{lis}</{tag}>")
            continue
        if line.lstrip().startswith(">"):
            flush()
            quote: list[str] = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quote.append(lines[i].lstrip()[1:].strip())
                i += 1
            out.append(f"<blockquote><p>{_inline(' '.join(quote), resolve)}</p></blockquote>")
            continue
        para.append(line)
        i += 1
    flush()
    if used is not None:
        used.update(resolve.used)
    return "\n".join(out)


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
    return table(keys, rows, numeric=numeric) + more


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
            return kv_table(obj.items())
        if depth >= 2:
            return _pre(obj)
        parts = []
        scalars = [(k, v) for k, v in obj.items() if _scalar(v)]
        if scalars:
            parts.append(kv_table(scalars))
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
    return table([""] + keys, rows, numeric=numeric)


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
    return table(header, body[:_MAX_ROWS], numeric=numeric) + more
