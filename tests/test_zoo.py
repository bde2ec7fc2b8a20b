"""torchvision and timm models by name: run in the model-zoo environment (`.ci/run`).

Every test here is marked ``zoo``: the default run deselects them, and `.ci/run` runs them
with ``-m zoo`` in a second environment that has torchvision and timm (README.md).
"""

from __future__ import annotations

import csv
import json
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest
import torch

import hvsprobe
from hvsprobe.backbones import get_backbone
from hvsprobe.cli import main

pytestmark = pytest.mark.zoo

GRID = ["--n-frequencies", "3", "--n-orientations", "4", "--n-phases", "1", "--no-progress"]


def _counts(folder):
    with open(folder / "scores.csv", newline="") as fh:
        return Counter(row["layer"] for row in csv.DictReader(fh))


def test_torchvision_resnet18_by_name(tmp_path):
    out = tmp_path / "r18"
    argv = ["analyze", "--model", "torchvision:resnet18", "--weights", "random:0"]
    argv += ["--layers", "layer1", "layer2.0.conv1", "--out", str(out), *GRID]
    assert main([*argv, "--size", "64", "--ppd", "32"]) == 0
    assert _counts(out) == {"layer1": 64, "layer2.0.conv1": 128}  # ResNet-18's widths (He 2016)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weights"] == "random:0"
    assert "torch seed 0" in summary["weights_origin"]
    cfg = json.loads((out / "tuning.json").read_text())["config"]
    assert cfg["input_norm"] == "imagenet"  # torchvision records none for random weights


def test_timm_vit_tiny_whole_map_and_its_torus_refusal(tmp_path, capsys):
    out = tmp_path / "vit"
    argv = ["analyze", "--model", "timm:vit_tiny_patch16_224", "--weights", "random:0"]
    assert (
        main([*argv, "--response", "whole_map", "--layers", "blocks.3", "--out", str(out), *GRID])
        == 0
    )
    assert _counts(out) == {"blocks.3": 192}  # ViT-Ti's embedding width (Touvron 2021)
    cfg = json.loads((out / "tuning.json").read_text())["config"]
    assert cfg["token_layers"] == {"blocks.3": {"extra_tokens_dropped": 1}}  # the class token
    assert cfg["fixed_input_size"] == 224
    import timm

    pcfg = timm.create_model("vit_tiny_patch16_224").pretrained_cfg
    mean, std = [float(v) for v in pcfg["mean"]], [float(v) for v in pcfg["std"]]
    assert cfg["input_norm"] == f"mean={mean},std={std}"  # timm's own, not ImageNet's
    capsys.readouterr()
    assert main([*argv, "--layers", "blocks.3", "--out", str(tmp_path / "t"), *GRID]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(r"pos_embed \(an absolute position embedding\).*--response whole_map", err)


def test_random_seeds_and_checkpoints_set_the_identity(tmp_path):
    a = get_backbone("timm:resnet18", "random:0")
    b = hvsprobe.load_model("timm:resnet18", weights="random:0")
    c = get_backbone("timm:resnet18", "random:1")
    assert a.weights_sha256 == b.weights_sha256 != c.weights_sha256
    ckpt = tmp_path / "r18.pt"
    torch.save({"state_dict": c.model.state_dict()}, ckpt)
    d = hvsprobe.load_model("tv:resnet18", checkpoint=ckpt)  # torchvision's layout is timm's
    assert d.weights == "r18"
    assert torch.equal(d.model.layer1[0].conv1.weight, c.model.layer1[0].conv1.weight)


def test_torchvision_vit_tokens_and_refusal(tmp_path):
    bb = get_backbone("torchvision:vit_b_16", "random:0")
    assert bb.channels["encoder.layers.encoder_layer_1"] == 768
    assert bb.token_layers(["encoder.layers.encoder_layer_1"]) == {
        "encoder.layers.encoder_layer_1": 1
    }


def _doc_lines(section: str) -> list[str]:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    body = doc.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", body, flags=re.S)[0]
    return [line for line in block.strip().splitlines() if line.startswith("hvsprobe ")]


def test_the_model_by_name_examples_of_docs_models_md(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lines = _doc_lines("A model by name") + _doc_lines("A vision transformer")[1:]
    assert len(lines) == 3
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, line
    assert _counts(tmp_path / "zoo" / "resnet18-random0") == {"layer1": 64, "layer2.0.conv1": 128}
    assert _counts(tmp_path / "zoo" / "vit_tiny_patch16_224") == {"blocks.3": 192}
    assert "stages.0" in capsys.readouterr().out  # the layers of ConvNeXt-atto


def test_a_sweep_of_library_models_with_all_blocks(tmp_path):
    from hvsprobe.sweep import run_sweep

    spec = tmp_path / "models.toml"
    spec.write_text(
        '[analysis]\nn_frequencies = 3\nn_orientations = 2\nn_phases = 1\nresponse = "whole_map"\n'
        '[[model]]\nmodel = "timm:vit_tiny_patch16_224"\nweights = "random:0"\nlayers = "all"\n'
        '[[model]]\nmodel = "torchvision:resnet18"\nweights = "random:0"\nlayers = "all"\n'
    )
    results = run_sweep(spec, tmp_path / "out")
    assert [r["status"] for r in results] == ["done", "done"], results
    vit = _counts(tmp_path / "out" / "vit_tiny_patch16_224-random0")
    assert vit == {f"blocks.{i}": 192 for i in range(12)}  # ViT-Ti: 12 blocks of width 192
    r18 = _counts(tmp_path / "out" / "resnet18-random0")
    widths = {"layer1": 64, "layer2": 128, "layer3": 256, "layer4": 512}
    assert r18 == {f"{s}.{b}": w for s, w in widths.items() for b in (0, 1)}  # 8 BasicBlocks
    assert (tmp_path / "out" / "leaderboard.html").is_file()
