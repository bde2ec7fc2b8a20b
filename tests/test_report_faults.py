"""Fault injection for reports: kill -9 mid-build, two builds at once, a full disk.

A report over an existing one is built from another results folder (other weights, so every
page's title says which run made it). Whatever happens, the folder the reader opens holds one
report whole: every ``href``/``src`` of every page points to an existing file, every page
comes from the same run, and every figure is the one that run's figure cache recorded
(:func:`check_report`).

The builds that are killed run in a subprocess that patches one step of the build to
``SIGKILL`` itself at a known point (while drawing the figures, after the channel pages,
after the page is written, between the two renames of the swap).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from hvsprobe.cli import main
from hvsprobe.report.cache import file_digest
from hvsprobe.results_folder import work_folder

TINY = ["--size", "32", "--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "1"]
AN = ["analyze", "vgg16", "--layers", "relu1_1", "--no-progress", *TINY]

# patches one step of the build, then builds RESULTS into OUT (argv: point, results, out)
SCRIPT = r"""
import os, signal, sys, time
import hvsprobe.report.build as build
import hvsprobe.report.figures as figures
import hvsprobe.results_folder as rf

point, results, out = sys.argv[1], sys.argv[2], sys.argv[3]

def die():
    print("KILLED", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

if point == "figures":  # the third figure written
    write_png, n = figures._write_png, {"n": 0}
    def patched(fig, path):
        n["n"] += 1
        if n["n"] == 3:
            die()
        return write_png(fig, path)
    figures._write_png = patched
elif point == "channels":  # the channel pages written, the page not yet
    pages = build.write_channel_pages
    def patched(*a, **k):
        pages(*a, **k)
        die()
    build.write_channel_pages = patched
elif point == "page":  # the page written in the work folder, not yet renamed into place
    write = build.write_text_atomic
    def patched(path, text):
        write(path, text)
        die()
    build.write_text_atomic = patched
elif point == "swap":  # the old folder renamed away, the new one not yet renamed into place
    rename = os.rename
    def patched(src, dst):
        rename(src, dst)
        if str(dst).endswith(os.sep + "old"):
            die()
    rf.os = type(sys)("os_patched")
    rf.os.__dict__.update(os.__dict__)
    rf.os.rename = patched
elif point == "slow":  # every figure takes 0.3 s (for the concurrent builds)
    write_png = figures._write_png
    def patched(fig, path):
        time.sleep(0.3)
        return write_png(fig, path)
    figures._write_png = patched

if point == "slow":
    build.default_workers = lambda: 1
    from hvsprobe.cli import main
    sys.exit(main(["report", results, "--out", out]))
build.build_report(results, out, workers=1)
print("DONE", flush=True)
"""


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = tag == "title"
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def check_report(folder: Path, labels: tuple[str, ...]) -> str:
    """Assert ``folder`` holds one whole report; return the label of the run that made it.

    Every ``href``/``src`` of every page resolves to an existing file; every page's title
    names the same run (one of ``labels``); every figure has the digest the figure cache of
    that build recorded.
    """
    pages = sorted(folder.rglob("*.html"))
    assert pages, f"no page in {folder}"
    runs = set()
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        found = [label for label in labels if label in parser.title]
        assert len(found) == 1, f"{page}: title {parser.title!r}"
        runs.add(found[0])
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("#") or not parts.path:
                continue
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.exists(), f"{page.name}: {link} points to a missing file"
    assert len(runs) == 1, f"pages from several runs: {runs}"
    cache = json.loads((folder / "figures" / ".cache.json").read_text())
    for name, entry in cache["figures"].items():
        png = folder / "figures" / name
        assert file_digest([png]) == entry["sha256"], name  # the cache's digest of the file
    return runs.pop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two results folders of the same network with other weights, and a report of the first."""
    d = tmp_path_factory.mktemp("runs")
    out = {}
    for seed in ("0", "1"):
        out[seed] = d / f"res{seed}"
        assert main([*AN, "--weights", f"random:{seed}", "--out", str(out[seed])]) == 0
    out["report"] = d / "report0"
    assert main(["report", str(out["0"]), "--out", str(out["report"])]) == 0
    assert check_report(out["report"], LABELS) == "(random:0)"
    return out


LABELS = ("(random:0)", "(random:1)")


def _child(point: str, results: Path, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, point, str(results), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _old_report(runs: dict[str, Path], tmp_path: Path) -> Path:
    import shutil

    # beside the results folders, so that the report's links to their files still resolve
    return Path(shutil.copytree(runs["report"], runs["0"].parent / f"rep-{tmp_path.name}"))


@pytest.mark.parametrize("point", ["figures", "channels", "page"])
def test_kill_mid_build_leaves_the_old_report_whole(runs, tmp_path, point):
    out = _old_report(runs, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = _child(point, runs["1"], out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, stderr
    assert "KILLED" in stdout
    assert check_report(out, LABELS) == "(random:0)"
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    if point == "figures":  # the next build clears the killed one's work folder, replaces
        assert main(["report", str(runs["1"]), "--out", str(out)]) == 0
        assert check_report(out, LABELS) == "(random:1)"
        assert not work_folder(out).exists()


def test_kill_between_the_renames_is_repaired_by_the_next_command(runs, tmp_path):
    out = _old_report(runs, tmp_path)
    proc = _child("swap", runs["1"], out)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, stderr
    # the one instant where neither is in place: the old report waits in the work folder
    assert not out.exists() and (work_folder(out) / "old" / "report.html").is_file()
    assert main(["report", str(runs["1"]), "--out", str(out)]) == 0
    assert check_report(out, LABELS) == "(random:1)"
    assert not work_folder(out).exists()


def test_kill_of_a_report_inside_a_results_folder_keeps_the_results(runs, tmp_path):
    import shutil

    res = tmp_path / "res"
    shutil.copytree(runs["0"], res)
    assert main(["report", str(res)]) == 0
    results_before = {p.name: p.read_bytes() for p in res.iterdir() if p.is_file()}
    proc = _child("channels", res, res / "report.html")
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in res.iterdir() if p.is_file()} == results_before
    assert check_report(res, LABELS) == "(random:0)"
    assert main(["select", str(res), "--strategy", "top_count", "--value", "1"]) == 0


def test_two_concurrent_builds_never_mix(runs, tmp_path, capsys):
    out = _old_report(runs, tmp_path)
    first = _child("slow", runs["1"], out)
    try:
        deadline = time.monotonic() + 120
        while not (work_folder(out) / "report-new").exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # the first build holds the lock from here on
        assert main(["report", str(runs["0"]), "--out", str(out)]) == 2  # the second build
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert len(lines) == 1, err
        assert "another hvsprobe process is writing this report folder" in lines[0]
        assert check_report(out, LABELS) == "(random:0)"  # meanwhile: the old one, whole
        _, err1 = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, err1
    assert check_report(out, LABELS) == "(random:1)"


def test_full_disk_during_a_report_leaves_the_old_one(runs, tmp_path, monkeypatch, capsys):
    import hvsprobe.report.channels as channels

    out = _old_report(runs, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def full(path, _text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(channels, "write_text_atomic", full)
    assert main(["report", str(runs["1"]), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no space left on device" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not work_folder(out).exists()


def test_comparison_is_replaced_whole(runs, tmp_path, monkeypatch, capsys):
    import hvsprobe.report.compare as compare

    out = tmp_path / "cmp"
    assert compare.build_comparison([runs["0"], runs["1"]], out, n_boot=20) == out / "compare.html"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert (out / "compare.html").is_file() and (out / "figures" / "compare_scores.png").is_file()

    def broken(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "figures"))

    monkeypatch.setattr(compare, "shares_figure", broken)
    with pytest.raises(OSError, match="No space left"):
        compare.build_comparison([runs["1"], runs["0"]], out, n_boot=20)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not work_folder(out).exists()


def test_a_report_swap_killed_inside_a_results_folder_is_repaired_by_select(runs, tmp_path):
    import shutil

    res = Path(shutil.copytree(runs["0"], tmp_path / "res"))
    proc = _child("swap", res, res / "report.html")
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert not res.exists()  # between the renames
    # a reader finishes the swap (the new folder is complete: same results, new report)
    assert main(["select", str(res), "--strategy", "top_count", "--value", "1"]) == 0
    assert check_report(res, LABELS) == "(random:0)" and not work_folder(res).exists()
    for name in ("scores.csv", "tuning.npz", "checksums.json"):
        assert (res / name).read_bytes() == (runs["0"] / name).read_bytes()
