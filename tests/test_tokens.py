"""Token models (vision transformers) read as maps, and the torus route's translation check."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest
import torch

import hvsprobe
import hvsprobe.analyze
import hvsprobe.stimuli
from hvsprobe.cli import main
from hvsprobe.response import TorusError, check_torus, torus_unit, translation_suspects

VIT_FILE = Path(__file__).parent / "data" / "vit_tiny.py"
GRID = ["--size", "32", "--ppd", "16", "--n-frequencies", "3", "--n-orientations", "4"]
GRID += ["--n-phases", "2", "--no-progress"]


def build_vit(**kwargs):
    """The TinyViT of the model file, imported independently of hvsprobe's loader."""
    spec = importlib.util.spec_from_file_location("vit_tiny_for_tests", VIT_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(**kwargs)


def _one_error_line(capsys, argv, pattern):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err
    return err


def test_vit_from_a_file_gives_maps_with_its_embedding_width(tmp_path):
    out = tmp_path / "vit"
    argv = ["analyze", "--model", f"{VIT_FILE}:build", "--model-arg", "dim=20"]
    argv += ["--layers", "blocks.0", "blocks.1", "--response", "whole_map", "--out", str(out)]
    assert main([*argv, *GRID]) == 0
    with open(out / "scores.csv", newline="") as fh:
        per_layer = Counter(row["layer"] for row in csv.DictReader(fh))
    assert per_layer == {"blocks.0": 20, "blocks.1": 20}  # the builder's embedding width
    cfg = json.loads((out / "tuning.json").read_text())["config"]
    assert cfg["token_layers"] == {
        "blocks.0": {"extra_tokens_dropped": 1},
        "blocks.1": {"extra_tokens_dropped": 1},
    }
    assert cfg["fixed_input_size"] == 32
    assert cfg["field_of_view_deg"] == 32 / 16  # --size 32 at --ppd 16


def test_token_map_holds_the_patch_tokens_in_row_major_order():
    net = build_vit()
    bb = hvsprobe.wrap(net, input_norm="none")  # its dry run first, then our hook
    seen = {}
    net.blocks[0].register_forward_hook(lambda _m, _i, y: seen.setdefault("t", y.detach()))
    x = torch.rand(2, 3, 32, 32)
    m = bb.extract(x, ["blocks.0"])["blocks.0"]
    tokens = seen["t"]  # 2 x (1 + 4 * 4) x 24, from the model's own forward
    assert m.shape == (2, 24, 4, 4)
    for i in range(4):
        for j in range(4):
            torch.testing.assert_close(m[:, :, i, j], tokens[:, 1 + 4 * i + j, :])


def test_vit_on_the_torus_is_one_line_naming_the_position_embedding(tmp_path, capsys):
    out = tmp_path / "vit"
    argv = ["analyze", "--model", f"{VIT_FILE}:build", "--layers", "blocks.1", "--out", str(out)]
    err = _one_error_line(capsys, [*argv, *GRID], r"pos_embed \(an absolute position embedding\)")
    assert "--response whole_map" in err
    assert not out.exists() and not list(tmp_path.iterdir())  # nothing half-written
    _one_error_line(
        capsys,
        ["analyze", "--model", f"{VIT_FILE}:build", "--response", "whole_map", *GRID[2:]],
        r"takes only 32 x 32 px inputs.*--size 32",
    )  # the default 224 px grid


def test_translation_check_catches_a_resized_position_embedding():
    """A ViT that runs at any size (its position embedding resized) fails the shift test."""
    bb = hvsprobe.wrap(build_vit(dynamic=True), input_norm="none", name="dyn")
    unit = torus_unit(bb, ["blocks.0"])
    assert unit == 8  # the patch stride
    with pytest.raises(TorusError, match=r"dyn does not commute.*suspected: pos_embed"):
        check_torus(bb, ["blocks.0"], unit)
    same = hvsprobe.wrap(build_vit(dynamic=True), input_norm="none")
    with torch.no_grad():
        same.model.pos_embed.zero_()  # without a position embedding it commutes
    check_torus(same, ["blocks.0"], unit)


def test_a_missing_model_library_is_one_line_naming_the_extra(capsys):
    if importlib.util.find_spec("timm") is not None:
        pytest.skip("timm is installed here (the model-zoo environment)")
    _one_error_line(
        capsys,
        ["layers", "--model", "timm:resnet18"],
        r"needs timm.*pip install hvsprobe\[timm\]",
    )


def doc_blocks(section: str, lang: str) -> list[str]:
    """The ``lang`` code blocks of ``## section`` in docs/models.md."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    body = doc.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{lang}\n(.*?)```", body, flags=re.S)


def test_the_vision_transformer_example_of_docs_models_md(tmp_path, monkeypatch, capsys):
    lines = doc_blocks("A vision transformer", "bash")[0].strip().splitlines()
    line = lines[0].replace("tests/data/", f"{VIT_FILE.parent}/")
    argv = shlex.split(line)[1:]
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0
    assert (tmp_path / "zoo" / "vit_tiny" / "scores.csv").is_file()
    capsys.readouterr()
    torus = [a for a in argv if a != "whole_map" and a != "--response"]
    torus[torus.index("--out") + 1] = "zoo/torus"
    assert main(torus) == 2
    expected = doc_blocks("A vision transformer", "text")[0].strip()
    assert capsys.readouterr().err.strip() == expected


class AddsAMap(torch.nn.Module):
    """A CNN that adds a learned 32 x 32 map to its input: fixed size, not shift-equivariant."""

    def __init__(self) -> None:
        super().__init__()
        self.bias_map = torch.nn.Parameter(torch.randn(1, 3, 32, 32))
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x + self.bias_map))


def test_a_fixed_size_map_added_to_the_input_is_named(tmp_path, capsys):
    bb = hvsprobe.wrap(AddsAMap(), ["act"], name="adds")
    assert bb.fixed_input_size(["act"]) == 32
    grid = hvsprobe.stimuli.StimulusGrid.default(ppd=16, size=32, n_frequencies=3)
    with pytest.raises(TorusError, match=r"suspected: bias_map \(a fixed-size parameter added"):
        hvsprobe.analyze.analyze(bb, grid=grid, out=tmp_path / "x", progress=False)
    assert not list(tmp_path.iterdir())
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 12))
    assert translation_suspects(flat) == [("1", "a Linear over the flattened map")]


def test_layers_of_a_fixed_size_vit_are_listed_at_its_own_size(capsys):
    assert main(["layers", "--model", f"{VIT_FILE}:build", "--model-arg", "dim=20"]) == 0
    out = capsys.readouterr().out
    assert "sizes and strides for a 32 x 32 input" in out
    row = next(line.split() for line in out.splitlines() if line.startswith("blocks.1 "))
    assert row[2:] == ["Block", "20", "4x4", "8"]  # width 20, 32 px / patch 8 = 4 x 4 tokens
