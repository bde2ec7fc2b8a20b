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
    spaces = []
    for i, code in enumerate(python_blocks(README.read_text(encoding="utf-8")), start=1):
        spaces.append({"__name__": "__readme__"})
        try:
            exec(compile(code, f"README.md python block {i}", "exec"), spaces[-1])
        except WeightsNotFoundError as exc:
            pytest.skip(
                f"README python block {i} needs pretrained weights not on this machine "
                f"(fetch them once with `hvsprobe analyze vgg16` or the weights tests): "
                f"{str(exc).splitlines()[0]}"
            )
    check_first_example(spaces[0], tmp_path)


def check_first_example(ns: dict, folder: Path) -> None:
    """The three-line example's numbers, recomputed from its tuning by docs/method.md."""
    import math

    import numpy as np
    import torch

    from hvsprobe.selection import Selection
    from test_api import method_md_scores  # tests/ is on sys.path under pytest

    result = ns["result"]
    assert result.out is None and result.scores.layers == ["relu1_2", "relu2_2"]
    for layer in result.scores.layers:
        want = method_md_scores(result, layer)
        got = result.scores.layer(layer)
        for col in ("mu1", "mu2", "pe"):
            np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-12, equal_nan=True)
        ok = want["selectable"]
        k = math.ceil(0.25 * int(ok.sum()))
        top = np.argsort(-np.where(ok, want["pe"], -np.inf), kind="stable")[:k]
        assert sorted(result.selection.layers[layer]["channels"]) == sorted(top.tolist())
    assert Selection.load(folder / "selection.json").layers == result.selection.layers
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    d = ns["metric"](x, x.flip(0))
    assert d.shape == (2,) and bool((d > 0).all()) and float(ns["metric"](x, x).max()) == 0.0
