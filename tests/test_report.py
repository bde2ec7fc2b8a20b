"""The HTML report: files written, links valid, text escaped, optional sections, errors."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import matplotlib
import numpy as np
import pytest
from PIL import Image

from hvsprobe.analyze import analyze
from hvsprobe.report import DEFAULT_SECTIONS, Section, build_report
from hvsprobe.report import figures as figs
from hvsprobe.report.html import esc, json_to_html, markdown_to_html
from hvsprobe.scores import ChannelScores, compute_scores
from hvsprobe.selection import select_channels
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXTERNAL = ("http://", "https://", "mailto:")
CLAIM1 = """# Claim 1 <script>alert("x")</script>

Human-like channels *matter*: see `a<b` and [the scores](../scores.csv), [gone](missing.md),
[bad](javascript:alert(1)).

| metric | SRCC | note |
|:---|---:|:---:|
| all channels | 0.61 | base<line> |
| top 25 % PE | 0.74 | **best** |
"""


class _Collector(HTMLParser):
    """Every tag name and every src/href value of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[str] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href") and value is not None:
                self.refs.append(value)
            if key == "id" and value is not None:
                self.ids.append(value)


def _parse(path: Path) -> _Collector:
    c = _Collector()
    c.feed(path.read_text(encoding="utf-8"))
    return c


def _check_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size[0] >= 300 and im.size[1] >= 150, (path, im.size)


def _check_links(html_path: Path) -> list[Path]:
    """Every non-anchor, non-external src/href resolves to an existing file; returns them."""
    page = _parse(html_path)
    ids = set(page.ids)
    files = []
    for ref in page.refs:
        if ref.startswith("#"):
            assert ref[1:] in ids, f"anchor {ref} has no target"
            continue
        if ref.startswith(EXTERNAL):
            continue
        assert ":" not in ref.split("/")[0], f"unexpected scheme in {ref!r}"
        assert not ref.startswith("/"), f"absolute path {ref!r}"
        target = (html_path.parent / unquote(ref.split("#")[0])).resolve()
        assert target.is_file(), f"{html_path.name} references missing {ref!r}"
        files.append(target)
    return files


# ----------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real (random-weights) results folder, plus an extra selection and optional files."""
    out = tmp_path_factory.mktemp("analysed")
    grid = StimulusGrid.default(size=32, n_frequencies=6, n_orientations=4, n_phases=1)
    res = analyze(
        "vgg16",
        weights="random:0",
        layers=["relu1_1", "relu2_1"],
        grid=grid,
        out=out,
        progress=False,
    )
    select_channels(res.scores, bottom=True).save(out / "selection-bottom-0.25-pe-layer.json")
    (out / "claim1.md").write_text(CLAIM1, encoding="utf-8")
    bench = out / "benchmarks"
    bench.mkdir()
    (bench / "results.json").write_text(
        json.dumps([{"metric": "hvs<top>", "srcc": 0.7}, {"metric": "all", "srcc": 0.6}]),
        encoding="utf-8",
    )
    return out


@pytest.fixture(scope="module")
def report(analysed: Path) -> Path:
    return build_report(analysed)


def _synthetic(directory: Path) -> Path:
    """A results folder built by hand: hostile layer names, one all-dead layer, no selection."""
    grid = StimulusGrid.default(size=16, n_frequencies=5, n_orientations=4, n_phases=1)
    rng = np.random.default_rng(0)
    live = rng.random((6, 5, 4, 1, 1)).astype(np.float32)
    live[5] = 0.0  # one dead channel in a live layer
    responses = {"conv<1>&": live, "pool$2$": np.zeros((3, 5, 4, 1, 1), np.float32)}
    config = {
        "backbone": "toy<net>",
        "weights": "w<1>",
        "weights_sha256": "ab" * 32,
        "layers": list(responses),
        "grid": grid.to_dict(),
        "response": "spatial mean over the whole feature map",
        "precision": "fp32",
        "batch_size": 1,
        "hvsprobe_version": "test",
    }
    Tuning(responses=responses, grid=grid, config=config).save(directory)
    compute_scores(Tuning.load(directory)).save(directory)
    return directory


@pytest.fixture(scope="module")
def synthetic_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synthetic(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def synthetic_report(synthetic_results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written to another folder than the results (``out=``)."""
    return build_report(synthetic_results, tmp_path_factory.mktemp("elsewhere"))


# ----------------------------------------------------------------------------------------
# the real folder


def test_report_files_exist_and_are_pngs(report: Path, analysed: Path) -> None:
    assert report == analysed / "report.html"
    assert report.is_file()
    fig_dir = analysed / "figures"
    pngs = sorted(fig_dir.glob("*.png"))
    names = {p.name for p in pngs}
    expected = {
        "stimuli.png",
        "score_distributions.png",
        "layer_shares.png",
        "best_frequency.png",
        "mu1_mu2_scatter.png",
        "selection.png",
        "tuning_00_relu1_1.png",
        "tuning_01_relu2_1.png",
    }
    assert expected <= names
    # no temporary files left; the only hidden file is the figure cache's record
    assert [p.name for p in fig_dir.glob(".*")] == [".cache.json"]
    for p in pngs:
        _check_png(p)
    referenced = {p.name for p in _check_links(report)}
    assert expected <= referenced


def test_report_links_resolve_and_page_is_offline(report: Path) -> None:
    files = _check_links(report)
    assert any(p.name == "scores.csv" for p in files)
    page = _parse(report)
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    assert not [r for r in page.refs if r.startswith(EXTERNAL)]
    text = report.read_text(encoding="utf-8")
    assert "@import" not in text and "url(" not in text
    assert matplotlib._pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_report_header_and_tables(report: Path, analysed: Path) -> None:
    text = report.read_text(encoding="utf-8")
    summary = json.loads((analysed / "summary.json").read_text())
    assert "vgg16" in text and summary["weights_sha256"] in text
    assert "random:0" in text
    score_cfg = ChannelScores.load(analysed).config["score"]
    for key in ("csf", "mu1", "pe"):  # the score configuration, whatever its defaults
        assert f">{score_cfg[key]}<" in text
    assert "probe" in text and " s<" in text  # timings
    assert ">24<" in text  # number of stimuli: 6 x 4 x 1 x 1
    for layer in ("relu1_1", "relu2_1"):
        assert f"<td>{layer}</td>" in text
    assert "selection-bottom-0.25-pe-layer.json" in text


def test_optional_sections_only_when_present(report: Path) -> None:
    page = _parse(report)
    text = report.read_text(encoding="utf-8")
    assert "extra-claim-1" in page.ids and "extra-benchmarks" in page.ids
    assert "extra-claim-2" not in page.ids  # no claim2 files
    # markdown converted and escaped: table, header text, code span, no script element
    assert '<th class="num">SRCC</th>' in text and '<td class="num">0.74</td>' in text
    assert "&lt;script&gt;" in text and "<strong>best</strong>" in text
    assert "<code>a&lt;b</code>" in text and "base&lt;line&gt;" in text
    assert "javascript:" not in text
    # benchmarks/results.json rendered as a table, its text escaped, its source linked
    assert "hvs&lt;top&gt;" in text and 'href="benchmarks/results.json"' in text


def test_optional_section_absent_without_files(synthetic_report: Path) -> None:
    ids = _parse(synthetic_report).ids
    assert not [i for i in ids if i.startswith("extra-")]
    text = synthetic_report.read_text(encoding="utf-8")
    for s in DEFAULT_SECTIONS:
        assert f"<h2>{s.title}</h2>" not in text


def test_custom_sections(report: Path, tmp_path: Path) -> None:
    from hvsprobe.report.sections import optional_section

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("## Title & more\n\ntext ![plot](p.png)\n", encoding="utf-8")
    (notes / "table.csv").write_text("x,y\n1,<2>\n", encoding="utf-8")
    (notes / "other.txt").write_text("x", encoding="utf-8")
    shutil.copy(report.parent / "figures" / "layer_shares.png", notes / "p.png")
    shutil.copy(report.parent / "figures" / "layer_shares.png", notes / "q.png")
    section = Section("My <notes>", ("notes/*.md", "notes/*.png", "notes/*.csv", "notes/*.txt"))
    html = optional_section(section, tmp_path, tmp_path)
    assert html is not None
    assert "<h2>My &lt;notes&gt;</h2>" in html and "<h4>Title &amp; more</h4>" in html
    assert html.count('src="notes/p.png"') == 1  # embedded by the markdown, not repeated
    assert 'src="notes/q.png"' in html
    assert "&lt;2&gt;" in html and 'href="notes/other.txt"' in html
    assert optional_section(Section("none", ("nothing/*.md",)), tmp_path, tmp_path) is None


# ----------------------------------------------------------------------------------------
# the synthetic folder: escaping, dead layers, no selection, determinism, out=


def test_text_is_escaped(synthetic_report: Path, synthetic_results: Path) -> None:
    text = synthetic_report.read_text(encoding="utf-8")
    assert "conv<1>" not in text and "toy<net>" not in text and "w<1>" not in text
    assert "conv&lt;1&gt;&amp;" in text and "toy&lt;net&gt;" in text
    assert "pool$2$" in text
    page = _parse(synthetic_report)
    assert set(page.tags) <= {
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "nav",
        "a", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "figure", "img",
        "figcaption", "code", "footer", "em", "span",
    }  # fmt: skip
    _check_links(synthetic_report)
    fig_dir = synthetic_report.parent / "figures"
    assert (fig_dir / "tuning_00_conv_1.png").is_file()
    assert (fig_dir / "tuning_01_pool_2.png").is_file()  # an all-dead layer still gets a figure
    assert not (fig_dir / "selection.png").exists()
    assert "No selection file" in text
    for p in fig_dir.glob("*.png"):
        _check_png(p)


def test_out_folder(synthetic_report: Path, synthetic_results: Path) -> None:
    assert synthetic_report.name == "report.html"
    assert synthetic_report.parent != synthetic_results
    assert not (synthetic_results / "report.html").exists()
    assert not (synthetic_results / "figures").exists()
    files = _check_links(synthetic_report)
    assert synthetic_results.resolve() / "scores.csv" in files


def test_figures_are_deterministic(synthetic_report: Path, synthetic_results: Path) -> None:
    scores = ChannelScores.load(synthetic_results)
    grid = Tuning.load(synthetic_results).grid
    built = synthetic_report.parent / "figures"
    with figs.report_style():
        a = figs.layer_shares(scores, built.parent / "again_shares.png")
        b = figs.stimulus_examples(grid, built.parent / "again_stimuli.png")
    assert a.read_bytes() == (built / "layer_shares.png").read_bytes()
    assert b.read_bytes() == (built / "stimuli.png").read_bytes()
    assert b"Software" not in a.read_bytes()


# ----------------------------------------------------------------------------------------
# errors


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist.*hvsprobe analyze"):
        build_report(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        build_report(tmp_path / "file")


def test_missing_inputs_are_named(synthetic_results: Path, tmp_path: Path) -> None:
    results = synthetic_results
    with pytest.raises(FileNotFoundError, match=r"tuning\.json.*hvsprobe analyze"):
        build_report(tmp_path)
    for name in ("tuning.json", "tuning.npz"):
        shutil.copy(results / name, tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"lacks scores\.json, scores\.csv") as info:
        build_report(tmp_path)
    assert "hvsprobe analyze" in str(info.value)
    assert not (tmp_path / "report.html").exists()


def test_mismatched_scores_refused(synthetic_results: Path, tmp_path: Path) -> None:
    results = synthetic_results
    for name in ("tuning.json", "tuning.npz", "scores.csv"):
        shutil.copy(results / name, tmp_path / name)
    meta = json.loads((results / "scores.json").read_text())
    meta["config"]["weights_sha256"] = "cd" * 32
    (tmp_path / "scores.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="different|weights"):
        build_report(tmp_path)


# ----------------------------------------------------------------------------------------
# html helpers


def test_markdown_converter(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x")
    md = (
        "# Top\n\nfirst line\nsecond <b>line</b>\n\n"
        "| a | b |\n|---|:-:|\n| 1 \\| 2 | `x|y` |\n\n"
        "- one\n- two [link](there.md) [ext](https://example.org) [no](absent.md)\n\n"
        "![gone](absent.png) [bad](javascript:alert(1))\n\n"
        "```\n<raw> & code\n```\n"
    )
    html = markdown_to_html(md, base_dir=tmp_path, html_dir=tmp_path, heading_offset=1)
    assert "<h2>Top</h2>" in html
    assert "<p>first line\nsecond &lt;b&gt;line&lt;/b&gt;</p>" in html  # raw HTML escaped
    assert "<td>1 | 2</td>" in html and '<th class="center">b</th>' in html
    assert '<div class="scroll"><table>' in html and "</table></div>" in html
    assert "<li>one</li>" in html and '<li>two <a href="there.md">link</a>' in html
    assert 'href="https://example.org" rel="noopener noreferrer"' in html
    assert "absent.md" not in html and "no" in html  # a missing target: text only
    assert "<pre><code>&lt;raw&gt; &amp; code\n</code></pre>" in html
    assert "[image: gone]" in html and "<img" not in html and "javascript" not in html
    # without a base folder, relative links are plain text
    assert "<a " not in markdown_to_html("[x](there.md)")


def test_json_and_escape_helpers() -> None:
    assert esc('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    rec = json_to_html([{"name": "a<b", "v": 1.23456789}, {"name": "c", "v": float("nan")}])
    assert "<table>" in rec and "a&lt;b" in rec and "1.235" in rec and "—" in rec
    keyed = json_to_html({"m1": {"srcc": 0.5}, "m2": {"srcc": 0.6}})
    assert "<td>m1</td>" in keyed
    nested = json_to_html({"name": "x", "runs": {"a": [1, 2], "b": {"c": {"d": {"e": 1}}}}})
    assert "<h4>runs</h4>" in nested


def test_figures_leave_no_pyplot_state(tmp_path: Path) -> None:
    backend = matplotlib.get_backend()
    grid = StimulusGrid.default(size=16, n_frequencies=4, n_orientations=12, n_phases=2)
    with figs.report_style():
        p = figs.stimulus_examples(grid, tmp_path / "s.png")
    _check_png(p)
    assert matplotlib.get_backend() == backend
    assert matplotlib._pylab_helpers.Gcf.get_num_fig_managers() == 0
    assert figs._spread(12, 4, periodic=True) == [0, 3, 6, 9]  # 0, 45, 90, 135 degrees
    assert figs._spread(24, 4) == [0, 8, 15, 23]
