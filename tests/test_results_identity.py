"""Results identity (checksums.json), metrics that never train their backbone, evaluate notes.

Checked against independent facts: the sha256 of the files on disk (hashlib, not hvsprobe's
helper), BatchNorm's running statistics before and after, a correlation that is undefined by
definition when one side is constant.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import hvsprobe
from hvsprobe.cli import main
from hvsprobe.errors import ResultsFolderError
from hvsprobe.metrics import PerceptualDistance
from hvsprobe.results_folder import (
    CHECKSUMS_FILE,
    OUTPUT_FILES,
    check_results_folder,
    load_scores,
    verify_checksums,
)
from hvsprobe.selection import Selection

TINY = ["--size", "32", "--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "1"]
AN = ["analyze", "vgg16", "--weights", "random:0", "--layers", "relu1_1", "--no-progress"]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("id") / "res"
    assert main([*AN, *TINY, "--out", str(out)]) == 0
    return out


def test_checksums_cover_every_output_file(results):
    doc = json.loads((results / CHECKSUMS_FILE).read_text())
    assert doc["kind"] == "checksums" and set(doc["files"]) == set(OUTPUT_FILES)
    for name, digest in doc["files"].items():
        assert hashlib.sha256((results / name).read_bytes()).hexdigest() == digest, name
    assert verify_checksums(results) is True


@pytest.mark.parametrize("name", ["scores.csv", "scores.json", "selection.json", "summary.json"])
def test_a_one_byte_change_is_refused_naming_the_file(results, tmp_path, name):
    folder = Path(shutil.copytree(results, tmp_path / "res"))
    data = (folder / name).read_bytes()
    # still well-formed, other bytes: one CRLF line end in the CSV, a space after the JSON
    data = data.replace(b"\n", b"\r\n", 1) if name.endswith(".csv") else data + b" "
    (folder / name).write_bytes(data)
    with pytest.raises(ResultsFolderError, match=f"{name} was changed after"):
        check_results_folder(folder)
    if name == "selection.json":
        with pytest.raises(ResultsFolderError, match="selection.json was changed after"):
            Selection.load(folder / name)


def test_a_selection_copied_out_of_the_folder_is_read_as_any_selection(results, tmp_path):
    copy = Path(shutil.copy(results / "selection.json", tmp_path / "mine.json"))
    assert Selection.load(copy).n_selected > 0


def test_a_folder_from_before_checksums_is_still_read(results, tmp_path):
    folder = Path(shutil.copytree(results, tmp_path / "res"))
    (folder / CHECKSUMS_FILE).unlink()
    assert verify_checksums(folder) is False
    assert len(load_scores(folder).layers) == 1
    assert main(["select", str(folder), "--strategy", "top_count", "--value", "1"]) == 0
    # rerunning analyze adds the checksums (the tuning is reused)
    assert main([*AN, *TINY, "--out", str(folder)]) == 0
    assert verify_checksums(folder) is True


def test_a_file_added_or_removed_after_analyze_is_refused(results, tmp_path):
    folder = Path(shutil.copytree(results, tmp_path / "res"))
    (folder / "summary.md").unlink()
    with pytest.raises(ResultsFolderError, match="summary.md is missing"):
        verify_checksums(folder)


def _bn_network() -> tuple[nn.Sequential, hvsprobe.Backbone]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
    with torch.no_grad():
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net, hvsprobe.wrap(net, ["2"], name="bn")


@pytest.mark.parametrize("who", ["metric", "network", "parent"])
def test_train_mode_never_updates_batchnorm_statistics(who):
    net, bb = _bn_network()
    metric = PerceptualDistance(bb, None)
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    y = x.flip(-1)
    expected = metric(x, y)  # evaluation mode: running statistics
    state = {k: v.clone() for k, v in net[1].state_dict().items()}
    if who == "metric":
        metric.train()
    elif who == "network":
        net.train()  # the wrapped network itself, from outside
    else:
        nn.ModuleList([metric]).train()
    got = metric(x, y)
    for k, v in net[1].state_dict().items():
        assert torch.equal(v, state[k]), k  # no running_mean/var/num_batches update
    # the same statistics were used: batch statistics would change the value
    assert torch.equal(got, expected)
    assert net[1].training == (who == "network")  # a flag set from outside is given back
    assert not metric.backbone.model[1].training or who == "network"


def _pairs(folder: Path, n: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        ref = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        dist = np.clip(ref + rng.normal(0, 5 * (i + 1), ref.shape), 0, 255).astype(np.uint8)
        Image.fromarray(ref).save(folder / f"r{i}.png")
        Image.fromarray(dist).save(folder / f"d{i}.png")
        out.append((f"r{i}.png", f"d{i}.png"))
    return out


def test_constant_human_scores_give_a_reason_and_all_is_printed_once(tmp_path, capsys):
    pairs = _pairs(tmp_path, 5)
    text = "ref,dist,score,higher_is_better\n" + "".join(f"{r},{d},5,false\n" for r, d in pairs)
    (tmp_path / "c.csv").write_text(text)
    args = ["evaluate", "psnr", "--csv", str(tmp_path / "c.csv"), "--no-cache", "--no-progress"]
    assert main([*args, "--n-boot", "0"]) == 0
    out = capsys.readouterr().out
    assert "the human scores are all 5 (a correlation needs them to vary)" in out
    assert sum(line.split()[0] == "all" for line in out.splitlines() if line.strip()) == 1


def test_vgg16_6000_pixels_estimate_matches_the_architecture():
    """The estimate from the dry run equals the count from VGG-16's published layout."""
    metric = PerceptualDistance("vgg16", None, weights="random:0")  # the five LPIPS layers
    # elements per input pixel up to relu5_3: the widest module has 64 channels at stride 1;
    # recorded: relu1_2 64/1 + relu2_2 128/4 + relu3_3 256/16 + relu4_3 512/64 + relu5_3 512/256
    used = 64 + 128 / 4 + 256 / 16 + 512 / 64 + 512 / 256
    expected = 4 * 2 * 6000 * 6000 * (2 * 64 + used)
    assert metric.memory_need((1, 3, 6000, 6000)) == pytest.approx(expected, rel=1e-12)
    assert expected / 1e9 == pytest.approx(72.0)


def test_a_call_over_the_limit_is_refused_before_any_feature(monkeypatch):
    from hvsprobe.metrics.memory import MemoryNeedError

    net, bb = _bn_network()
    sizes = []
    net[0].register_forward_hook(lambda _m, inputs, _o: sizes.append(inputs[0].shape[-1]))
    metric = PerceptualDistance(bb, None, max_memory=1e-4)  # 0.1 MB
    x = torch.rand(1, 3, 96, 96)
    # 8 channels at stride 1: 4 B x 2 x 96 x 96 x (2 x 8 + 8) = 1.77 MB
    with pytest.raises(MemoryNeedError, match="needs about 1.8 MB"):
        metric(x, x)
    assert 96 not in sizes  # only the small dry run that measures the strides ran
    metric.max_memory = None
    assert float(metric(x, x)) == 0.0


def test_an_allocation_failure_is_a_resource_error():
    from hvsprobe.metrics.memory import MemoryNeedError

    net, bb = _bn_network()

    def fail(*_a):
        raise RuntimeError(
            "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"
        )

    metric = PerceptualDistance(bb, None)
    x = torch.rand(1, 3, 32, 32)
    metric(x, x)  # the dry run that measures the network, before the allocator fails
    net[0].register_forward_hook(fail)
    with pytest.raises(MemoryNeedError, match="ran out of memory on 1 pair"):
        metric(x, torch.rand(1, 3, 32, 32))
