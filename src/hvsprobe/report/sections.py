"""Optional sections of the report: files found in a results folder (markdown, images, JSON,
CSV) shown under a title, and the feature-inversion section.

>>> DEFAULT_SECTIONS[0].title
'Claim 1'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._io import read_json
from .html import csv_to_html, esc, figure, json_to_html, markdown_to_html, rel_href, slug

__all__ = [
    "DEFAULT_SECTIONS",
    "INVERSION_SECTION",
    "Section",
    "inversion_section",
    "optional_section",
]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


@dataclass(frozen=True)
class Section:
    """An optional report section: shown only when one of ``globs`` matches a file.

    Attributes
    ----------
    title : str
        Section header.
    globs : tuple of str
        Patterns relative to the results folder, in display order. Markdown (``.md``) is
        converted to HTML, images are embedded, ``.json`` and ``.csv`` become tables, other
        files are linked.
    """

    title: str
    globs: tuple[str, ...]


#: Optional sections looked for in every results folder.
DEFAULT_SECTIONS: tuple[Section, ...] = (
    Section("Claim 1", ("claim1.md", "claim1/*.md", "claim1/*.png")),
    Section("Claim 2", ("claim2.md", "claim2/*.md", "claim2/*.png")),
    Section(
        "Benchmarks",
        ("benchmarks.md", "benchmarks/*.md", "benchmarks/results.json", "benchmarks/*.png"),
    ),
)
#: What ``build_report(..., inversion=DIR)`` shows from ``DIR`` (``hvsprobe invert`` output).
INVERSION_SECTION = Section("Feature inversion", ("inversion.md", "inversion*.png", "measures.csv"))


def _embed_file(path: Path, results: Path, html_dir: Path, used: set[Path]) -> str:
    """HTML for one file of an optional section."""
    rel = path.relative_to(results).as_posix()
    href = rel_href(path, html_dir)
    source = f'<p class="source">from <a href="{esc(href)}">{esc(rel)}</a></p>'
    suffix = path.suffix.lower()
    try:
        if suffix == ".md":
            body = markdown_to_html(
                path.read_text(encoding="utf-8"),
                base_dir=path.parent,
                html_dir=html_dir,
                heading_offset=2,
                used=used,
            )
        elif suffix in _IMAGE_SUFFIXES:
            return str(figure(href, rel, rel))
        elif suffix == ".json":
            body = json_to_html(read_json(path))
        elif suffix == ".csv":
            body = csv_to_html(path)
        else:
            return f"<p>{source}</p>"
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        body = f'<p class="note">could not be read: {esc(exc)}</p>'
    return f'<div class="embedded">{source}{body}</div>'


def optional_section(section: Section, results: Path, html_dir: Path) -> str | None:
    files: list[Path] = []
    for pattern in section.globs:
        for p in sorted(results.glob(pattern)):
            if p.is_file() and p not in files:
                files.append(p)
    if not files:
        return None
    used: set[Path] = set()
    parts = []
    # text first (it may embed some of the images), then the images it did not embed
    texts = [p for p in files if p.suffix.lower() not in _IMAGE_SUFFIXES]
    images = [p for p in files if p.suffix.lower() in _IMAGE_SUFFIXES]
    for p in texts:
        parts.append(_embed_file(p, results, html_dir, used))
    for p in images:
        if p.resolve() not in used:
            parts.append(_embed_file(p, results, html_dir, used))
    sid = "extra-" + slug(section.title)
    return (
        f'<section id="{esc(sid)}">\n<h2>{esc(section.title)}</h2>\n'
        + "\n".join(parts)
        + ("\n</section>")
    )


def inversion_section(folder: Path, html_dir: Path) -> str:
    """The feature-inversion section from a ``hvsprobe invert`` folder (which must hold a figure)."""
    if not folder.is_dir() or not any(folder.glob("inversion*.png")):
        raise FileNotFoundError(
            f"inversion folder {folder} holds no inversion*.png figure; make it with "
            f"`hvsprobe invert IMAGE --results RESULTS --out {folder}`"
        )
    html = optional_section(INVERSION_SECTION, folder, html_dir)
    assert html is not None
    return html
