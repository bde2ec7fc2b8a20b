"""``hvsprobe report`` loads neither torch nor scipy: importing, building and the CLI.

And the process that writes the pages loads no matplotlib: the forked workers draw.

Each check runs in a fresh interpreter (this one has torch loaded already) on the package
under test, and lists the torch and scipy modules it ended with.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hvsprobe
from test_report_views import _folder  # noqa: I001  (tests/ is on sys.path under pytest)

_SRC = Path(hvsprobe.__file__).resolve().parents[1]
_HEAVY = (
    "import sys; "
    "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {packages!r}); "
    "print('HEAVY', heavy)"
)


def _heavy_after(
    code: str, *args: str, packages: tuple[str, ...] = ("torch", "scipy")
) -> list[str]:
    """Run ``code`` in a fresh interpreter; the modules of ``packages`` loaded by its end."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_SRC), env.get("PYTHONPATH")]))
    check = _HEAVY.format(packages=packages)
    res = subprocess.run(
        [sys.executable, "-c", f"{code}\n{check}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY "), res.stdout
    return list(ast.literal_eval(last[len("HEAVY ") :]))


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("light"), seed=3)


def test_the_check_sees_loaded_modules() -> None:
    """The check itself can fail: loaded torch or scipy modules are reported."""
    code = (
        "import sys, types; sys.modules['torch'] = sys.modules['scipy.x'] = types.ModuleType('m')"
    )
    assert _heavy_after(code) == ["scipy.x", "torch"]


def test_importing_the_report_loads_no_torch_or_scipy() -> None:
    assert _heavy_after("import hvsprobe.report, hvsprobe.report.compare") == []


def test_building_a_report_loads_no_torch_or_scipy(results: Path, tmp_path: Path) -> None:
    """With one worker every figure (the stimuli, the CSF curve) is drawn in this process."""
    code = (
        "import sys; from hvsprobe.report import build_report; "
        "build_report(sys.argv[1], sys.argv[2], workers=1)"
    )
    out = tmp_path / "report"
    assert _heavy_after(code, str(results), str(out)) == []
    assert (out / "report.html").is_file()
    assert (out / "figures" / "stimuli.png").is_file()


def test_the_report_command_loads_no_torch_or_scipy(results: Path, tmp_path: Path) -> None:
    """``hvsprobe report`` (results-folder checks, forked figure workers) in the parent."""
    code = (
        "import sys; from hvsprobe.cli import main; "
        "assert main(['report', sys.argv[1], '--out', sys.argv[2]]) == 0"
    )
    out = tmp_path / "cli"
    assert _heavy_after(code, str(results), str(out)) == []
    assert (out / "report.html").is_file()


@pytest.mark.skipif(
    "fork" not in __import__("multiprocessing").get_all_start_methods(),
    reason="figures are drawn in the calling process where fork does not exist",
)
def test_the_page_writing_process_loads_no_matplotlib(results: Path, tmp_path: Path) -> None:
    """The figures are drawn by forked workers, which import matplotlib themselves."""
    assert _heavy_after("import hvsprobe.report", packages=("matplotlib",)) == []
    code = (
        "import sys; from hvsprobe.report import build_report; "
        "build_report(sys.argv[1], sys.argv[2], workers=2); "  # cold: figures drawn
        "build_report(sys.argv[1], sys.argv[2], workers=2)"  # warm: figures reused
    )
    out = tmp_path / "parallel"
    assert _heavy_after(code, str(results), str(out), packages=("matplotlib",)) == []
    assert len(list((out / "figures").glob("*.png"))) >= 7
