"""Every ```python block of README.md runs as it stands.

The blocks run in README order, each in its own namespace, all in one temporary working
folder (a later block may read a file an earlier one wrote, as a reader following the README
would). They use the real ImageNet weights with ``HVSPROBE_OFFLINE=1``: nothing is
downloaded, and the test skips, saying which block and why, when the weights are not
already on this machine (``hvsprobe analyze vgg16`` or the ``weights`` tests fetch them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[str]:
    """The contents of the ```python fenced blocks of a Markdown text, in order."""
    return [m.group(1) for m in FENCE.finditer(text)]


def test_python_blocks_are_found():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 2


@pytest.mark.weights
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    from hvsprobe.backbones.weights import WeightsNotFoundError

    monkeypatch.setenv("HVSPROBE_OFFLINE", "1")  # never download from a test
    monkeypatch.chdir(tmp_path)
    for i, code in enumerate(python_blocks(README.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), {"__name__": "__readme__"})
        except WeightsNotFoundError as exc:
            pytest.skip(
                f"README python block {i} needs pretrained weights not on this machine "
                f"(fetch them once with `hvsprobe analyze vgg16` or the weights tests): "
                f"{str(exc).splitlines()[0]}"
            )
