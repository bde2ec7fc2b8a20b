"""The report in a real browser: headless Chromium loads the page and the channel browser.

Checks, from ``file://`` with no network, on the report and on the comparison page: every image decodes, every internal
link (anchor or file) resolves, the page does not overflow a 1280-px-wide window, and the
channel browser's script draws the channel named in the URL without a console error.
Skipped, with the reason, where no Chromium is installed (``apt-get install chromium``; the
CI script installs it when it can).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hvsprobe.report import build_report
from hvsprobe.tuning import Tuning
from test_report_views import _folder  # noqa: I001  (tests/ is on sys.path under pytest)

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium on PATH: install Debian's `chromium` package to run the browser checks",
)

HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="report.html" style="width:1280px;height:900px;border:0"></iframe>
<pre id="result">pending</pre>
<script>
var out = {images: 0, broken: [], missing: [], anchors: [], links: 0, width: 0};
var f = document.getElementById("f"), pending = 1;
function done() { if (--pending === 0) {
  document.getElementById("result").textContent = JSON.stringify(out); } }
f.onload = function () {
  var d = f.contentDocument;
  out.width = d.documentElement.scrollWidth;
  Array.prototype.forEach.call(d.images, function (im) {
    out.images++;
    if (!im.complete || im.naturalWidth === 0) { out.broken.push(im.getAttribute("src")); }
  });
  Array.prototype.forEach.call(d.querySelectorAll("a[href]"), function (a) {
    var h = a.getAttribute("href");
    if (/^(https?:|mailto:)/.test(h)) { return; }
    out.links++;
    var parts = h.split("#");
    if (parts[0] === "") {
      if (!d.getElementById(parts[1])) { out.anchors.push(h); }
      return;
    }
    pending++;
    var x = new XMLHttpRequest();
    x.open("GET", new URL(parts[0], f.contentWindow.location.href).href);
    x.onload = function () {
      if (parts[1] && x.responseText.indexOf('id="' + parts[1] + '"') < 0) {
        out.anchors.push(h); }
      done(); };
    x.onerror = function () { out.missing.push(h); done(); };
    x.send();
  });
  done();
};
</script></body></html>
"""


def _chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--allow-file-access-from-files",
        "--enable-logging=stderr",
        "--window-size=1280,900",
        "--virtual-time-budget=20000",
        *extra,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("browser-res"), 0)


@pytest.fixture(scope="module")
def report(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(results, tmp_path_factory.mktemp("browser-out"))


def _check_in_harness(page: Path, profile: Path) -> tuple[dict, subprocess.CompletedProcess[str]]:
    """Load ``page`` in the harness beside it; the harness's findings and Chromium's run."""
    harness = page.parent / "check.html"
    harness.write_text(HARNESS.replace('src="report.html"', f'src="{page.name}"'), "utf-8")
    run = _chromium(harness.as_uri(), profile, "--dump-dom")
    m = re.search(r'<pre id="result">(.*?)</pre>', run.stdout, re.S)
    assert m is not None and m.group(1) != "pending", run.stderr[-2000:]
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")), run


def test_report_in_chromium(report: Path, tmp_path: Path) -> None:
    res, _ = _check_in_harness(report, tmp_path / "profile")
    assert res["images"] >= 7 and res["broken"] == []
    assert res["links"] >= 10 and res["missing"] == [] and res["anchors"] == []
    assert res["width"] <= 1280, f"the page is {res['width']} px wide in a 1280-px window"
    shot = tmp_path / "report.png"  # kept out of the repository (pytest's tmp_path)
    _chromium(report.as_uri(), tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_channel_browser_in_chromium(report: Path, results: Path, tmp_path: Path) -> None:
    page = report.parent / "channels" / "00_conv1.html"
    run = _chromium(page.as_uri() + "#c4", tmp_path / "profile", "--dump-dom")
    assert 'id="detail-title">conv1, channel 4<' in run.stdout, run.stderr[-2000:]
    assert '<tr id="c4" class="current">' in run.stdout
    # the script's decoding of the packed responses gives the recorded peak back
    m = re.search(
        r'id="detail-peak">largest \|response\| in the map: (\S+) at (\S+) cpd', run.stdout
    )
    assert m is not None, run.stdout[-3000:]
    tuning = Tuning.load(results)
    r = tuning.responses["conv1"][4].mean(axis=2)[..., -1]
    f, _ = np.unravel_index(int(np.argmax(np.abs(r))), r.shape)
    assert float(m.group(1)) == pytest.approx(float(r.flat[np.argmax(np.abs(r))]), rel=5e-3)
    assert float(m.group(2)) == pytest.approx(float(tuning.grid.frequencies[f]), rel=1e-5)
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console


def test_comparison_page_in_chromium(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hvsprobe.report.compare import build_comparison

    folders = [
        _folder(tmp_path_factory.mktemp("cmp-a"), 0),
        _folder(tmp_path_factory.mktemp("cmp-b"), 1, layers=("a", "b", "c")),
    ]
    build_report(folders[0], folders[0])  # one folder with its report: the page links to it
    page = build_comparison(folders, tmp_path_factory.mktemp("cmp-out") / "cmp", n_boot=100)
    assert "report.html" in page.read_text(encoding="utf-8")
    res, run = _check_in_harness(page, tmp_path_factory.mktemp("cmp-profile"))
    assert res["images"] >= 3 and res["broken"] == []
    assert res["links"] >= 1 and res["missing"] == [] and res["anchors"] == []
    assert res["width"] <= 1280, f"the page is {res['width']} px wide in a 1280-px window"
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], console
