"""Any PyTorch CNN as a backbone: wrap, list_layers, load_model, the CLI, identity, metrics."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import hvsprobe
from conftest import fan_ins, rounding_atol
from hvsprobe.analyze import analyze
from hvsprobe.backbones import Backbone, get_backbone, state_dict_sha256
from hvsprobe.cli import main
from hvsprobe.metrics import PerceptualDistance
from hvsprobe.probe import probe, probe_paper_protocol
from hvsprobe.selection import Selection
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning

MODEL_FILE = Path(__file__).parent / "data" / "resnet_tiny.py"
LAYERS = ["layer1.bn1", "layer2"]
GRID_ARGS = ["--size", "32", "--ppd", "16", "--n-frequencies", "3", "--n-orientations", "2"]
GRID_ARGS += ["--n-phases", "2", "--no-progress"]


def tiny_grid() -> StimulusGrid:
    """The grid GRID_ARGS describes: 12 stimuli of 32 x 32 px."""
    return StimulusGrid.default(ppd=16, size=32, n_frequencies=3, n_orientations=2, n_phases=2)


def build(width: int = 4, seed: int = 0) -> nn.Module:
    """ResNetTiny from the model file, imported independently of hvsprobe's loader."""
    spec = importlib.util.spec_from_file_location("resnet_tiny_for_tests", MODEL_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build(width=width, seed=seed)


def _one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str], pattern: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert re.search(pattern, err), err


# -- the command line and the Python route -----------------------------------------------------


def test_cli_analysis_of_a_residual_file_equals_the_python_route(tmp_path, capsys, monkeypatch):
    out = tmp_path / "cli"
    argv = ["analyze", "--model", f"{MODEL_FILE}:build", "--model-arg", "width=4"]
    assert main([*argv, "--layers", *LAYERS, "--out", str(out), *GRID_ARGS]) == 0
    cli = Tuning.load(out)
    bb = hvsprobe.wrap(build(width=4), name="resnet_tiny")
    py = probe(bb, tiny_grid(), LAYERS, progress=False)
    assert cli.layers == py.layers == LAYERS
    for layer in LAYERS:
        assert np.array_equal(cli.responses[layer], py.responses[layer])
    assert cli.weights_sha256 == bb.weights_sha256 == state_dict_sha256(bb.model.state_dict())
    assert cli.responses["layer2"].shape == (8, 3, 2, 2, 1)
    # the default results folder is named after the model
    capsys.readouterr()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main([*argv, "--layers", "layer2", *GRID_ARGS]) == 0
    assert (work / "hvsprobe-results" / "resnet_tiny.build-custom" / "tuning.json").exists()


def test_layers_command_lists_channels_and_strides(capsys):
    assert main(["layers", "--model", f"{MODEL_FILE}:build", "--size", "32"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    # name, module, kind, channels, size, stride
    assert rows["stem"][2:] == ["Conv2d", "4", "32x32", "1"]
    assert rows["layer2.conv1"][2:] == ["Conv2d", "8", "16x16", "2"]
    assert rows["layer2"][2:] == ["Block", "8", "16x16", "2"]
    assert "layer1.relu" not in rows  # runs twice per pass: not recordable
    assert "fc" not in rows  # not a feature map
    assert main(["layers", "alexnet"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[2:]}
    assert rows["relu1"][1:4] == ["features.1", "ReLU", "64"]
    assert rows["pool5"][4] == "6x6"


def test_cli_errors_are_one_line_with_status_2(capsys, tmp_path):
    spec = f"{MODEL_FILE}:build"
    _one_error_line(capsys, ["layers", "--model", "no_such_module_xyz:build"], "cannot import")
    _one_error_line(capsys, ["layers", "--model", str(tmp_path / "x.py:build")], "does not exist")
    _one_error_line(capsys, ["layers", "--model", f"{MODEL_FILE}:nope"], "no function 'nope'")
    _one_error_line(capsys, ["layers", "--model", spec, "--model-arg", "depth=3"], "depth")
    _one_error_line(capsys, ["layers", "--model", spec, "--model-arg", "depth"], "KEY=VALUE")
    _one_error_line(
        capsys, ["analyze", "--model", spec, "--layers", "layer9", *GRID_ARGS], "no layer"
    )
    _one_error_line(
        capsys,
        ["analyze", "--model", spec, "--layers", "fc", *GRID_ARGS],
        r"'fc' \(fc, Linear\) produced a tensor of shape \(1, 10\), not an N x C x H x W",
    )
    _one_error_line(capsys, ["analyze", *GRID_ARGS], "either a registered backbone")
    _one_error_line(capsys, ["analyze", "vgg16", "--model", spec], "either")
    _one_error_line(capsys, ["analyze", "--model", spec, "--weights", "x"], "--checkpoint")
    if importlib.util.find_spec("torchvision") is None:
        _one_error_line(capsys, ["layers", "--model", "tv:resnet18"], "needs torchvision")


def test_checkpoint_loading_is_restricted_and_sets_the_identity(tmp_path, capsys):
    ckpt = tmp_path / "seed1.pt"
    torch.save({"state_dict": build(seed=1).state_dict()}, ckpt)
    bb = hvsprobe.load_model(f"{MODEL_FILE}:build", checkpoint=ckpt)
    assert bb.weights == "seed1"
    assert bb.weights_sha256 == hvsprobe.wrap(build(seed=1)).weights_sha256
    assert bb.weights_sha256 != hvsprobe.wrap(build(seed=0)).weights_sha256
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": build().state_dict(), "extra": Path("x")}, evil)  # not a tensor type
    _one_error_line(
        capsys,
        ["layers", "--model", f"{MODEL_FILE}:build", "--checkpoint", str(evil)],
        "restricted loading",
    )
    wrong = tmp_path / "wrong.pt"
    torch.save(build(width=8).state_dict(), wrong)
    _one_error_line(
        capsys,
        ["layers", "--model", f"{MODEL_FILE}:build", "--checkpoint", str(wrong)],
        "does not fit",
    )


@pytest.mark.zoo  # the model-zoo environment of .ci/run
@pytest.mark.parametrize("spec", ["tv:resnet18", "timm:resnet18"])
def test_optional_integrations_build_when_installed(spec):
    bb = hvsprobe.load_model(spec)  # random:0 by default: nothing is downloaded
    assert bb.channels["layer2"] == 128


# -- the mechanism ------------------------------------------------------------------------------


def test_graph_with_skips_early_stop_and_inplace_outputs():
    net = build()
    bb = hvsprobe.wrap(net)
    ran: list[str] = []
    for name, m in net.named_modules():
        if name:
            m.register_forward_hook(lambda *_a, name=name: ran.append(name))
    x = torch.rand(2, 3, 20, 20)
    acts = bb.extract(x, ["layer1.bn1", "layer1"])
    assert list(acts) == ["layer1.bn1", "layer1"]
    assert ran[-1] == "layer1" and not any(n.startswith("layer2") for n in ran)
    # bn1's output is changed in place by the ReLU after it: the recorded copy is not
    with torch.no_grad():
        h = net.stem(bb.normalize(x))
        bn1 = net.layer1.bn1(net.layer1.conv1(h))
    assert (bn1 < 0).any() and torch.equal(acts["layer1.bn1"], bn1)
    assert torch.equal(acts["layer1"], net.layer1(h))
    ran.clear()
    full = bb.extract(x, ["layer1.bn1"], full=True)
    assert "fc" in ran and torch.equal(full["layer1.bn1"], bn1)
    means = dict(bb.iter_layers(x, ["layer1.bn1", "layer2"], reduce=lambda a: a.mean((2, 3))))
    assert torch.equal(means["layer1.bn1"], bn1.mean((2, 3)))


def test_default_layers_and_clear_refusals():
    bb = hvsprobe.wrap(build(), name="tiny")
    assert bb.default_layers == ["stem", "layer1", "layer2"]  # its ReLUs run twice
    with pytest.raises(ValueError, match=r"'layer1.relu' \(layer1.relu, ReLU\) runs 2 times"):
        bb.check_layers(["layer1.relu"])
    with pytest.raises(ValueError, match=r"tiny has no layer\(s\) \['nope'\]; available: stem"):
        bb.check_layers(["nope"])
    seq = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.GELU()))
    assert seq.default_layers == ["1", "3"] and seq.channels["3"] == 4
    assert hvsprobe.wrap(build(), ["layer2", "stem"]).default_layers == ["stem", "layer2"]
    with pytest.raises(TypeError, match="Backbone"):
        probe("vgg16", tiny_grid(), progress=False)
    with pytest.raises(ValueError, match="weights_sha256 is computed"):
        Backbone("flat", nn.Sequential(nn.Conv2d(3, 2, 1)), ["conv"], weights_sha256="x")


def test_describe_layers_strides_of_a_builtin_network():
    vgg = get_backbone("vgg16", "random:0")
    info = {i.name: i for i in vgg.describe_layers(["relu1_2", "relu3_3", "pool5"])}
    assert (info["relu3_3"].module, info["relu3_3"].channels) == ("features.15", 256)
    assert [info[n].stride for n in ("relu1_2", "relu3_3", "pool5")] == [1.0, 4.0, 32.0]
    assert vgg.layer_info("features.15", size=64).height == 16
    assert vgg.channels["features.15"] == vgg.channels["relu3_3"] == 256


def test_input_normalisation_is_configurable_and_part_of_the_identity():
    net = build()
    x = torch.rand(1, 3, 16, 16)
    default = hvsprobe.wrap(net)
    same = hvsprobe.wrap(net, input_norm=((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
    none = hvsprobe.wrap(net, input_norm="none")
    custom = hvsprobe.wrap(net, input_norm=((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)))
    func = hvsprobe.wrap(net, input_norm=lambda t: (t - 0.5) / 0.25)
    assert default.weights_sha256 == same.weights_sha256 == state_dict_sha256(net.state_dict())
    shas = {b.weights_sha256 for b in (default, none, custom, func)}
    assert len(shas) == 4
    assert torch.equal(none.normalize(x), x)
    a = custom.extract(x, ["stem"])["stem"]
    b = func.extract(x, ["stem"])["stem"]
    torch.testing.assert_close(a, b)
    assert not torch.allclose(default.extract(x, ["stem"])["stem"], a)
    with pytest.raises(ValueError, match="input_norm"):
        hvsprobe.wrap(net, input_norm="imagenet21k")


# -- identity and caches ------------------------------------------------------------------------


def test_changing_one_weight_changes_identity_and_invalidates_the_tuning(tmp_path):
    net = build()
    bb = hvsprobe.wrap(net, name="mynet")
    first = analyze(bb, layers=["layer2"], grid=tiny_grid(), out=tmp_path, progress=False)
    again = analyze(bb, layers=["layer2"], grid=tiny_grid(), out=tmp_path, progress=False)
    assert not first.reused_tuning and again.reused_tuning
    before = bb.weights_sha256
    with torch.no_grad():
        net.layer2.conv2.weight[0, 0, 0, 0] += 0.5
    assert bb.weights_sha256 != before
    assert bb.weights_sha256 == state_dict_sha256(net.state_dict())
    third = analyze(bb, layers=["layer2"], grid=tiny_grid(), out=tmp_path, progress=False)
    assert not third.reused_tuning
    assert not np.array_equal(third.tuning.responses["layer2"], first.tuning.responses["layer2"])


def test_same_display_name_different_shapes_get_their_own_minimum_sizes():
    small = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), name="mynet")
    big = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 4, 33), nn.ReLU()), name="mynet")
    assert small.min_input_size(["1"]) == 3
    assert big.min_input_size(["1"]) == 33
    with pytest.raises(ValueError, match="smaller"):
        big.extract(torch.rand(1, 3, 8, 8), ["1"])
    # parameter-free networks share a weights hash; the architecture keeps them apart
    p3 = hvsprobe.wrap(nn.Sequential(nn.MaxPool2d(3)), name="pool")
    p9 = hvsprobe.wrap(nn.Sequential(nn.MaxPool2d(9)), name="pool")
    assert (p3.min_input_size("0"), p9.min_input_size("0")) == (3, 9)


# -- everywhere a backbone is accepted --------------------------------------------------------


def test_probe_accepts_a_plain_module_and_the_paper_protocol_runs_the_whole_network():
    grid = tiny_grid()
    net = build()
    plain = probe(net, grid, ["layer2"], progress=False)
    wrapped = probe(hvsprobe.wrap(net), grid, ["layer2"], progress=False)
    assert np.array_equal(plain.responses["layer2"], wrapped.responses["layer2"])
    ref = probe_paper_protocol(net, grid, ["layer1.bn1"], indices=[0, 5, 11])
    got = probe(net, grid, ["layer1.bn1"], response="whole_map", progress=False).responses[
        "layer1.bn1"
    ]
    want = ref["layer1.bn1"]  # one stimulus per pass vs batches: float32 summation order
    atol = 2 * rounding_atol(float(np.abs(want).max()), fan_ins(net, "layer1.bn1"))
    np.testing.assert_allclose(want, got.reshape(4, -1)[:, [0, 5, 11]], rtol=0, atol=atol)


def test_perceptual_distance_on_a_wrapped_model_and_its_selection(tmp_path):
    bb = hvsprobe.wrap(build(seed=0), name="resnet_tiny")
    res = analyze(bb, layers=LAYERS, grid=tiny_grid(), out=tmp_path, progress=False)
    sel = Selection.load(tmp_path / "selection.json")
    assert sel.weights_sha256 == bb.weights_sha256
    metric = PerceptualDistance(bb, sel)
    x, y = torch.rand(2, 3, 24, 24), torch.rand(2, 3, 24, 24)
    d = metric(x, y)
    assert d.shape == (2,) and torch.all(d > 0) and torch.all(metric(x, x) == 0)
    assert metric.layers == [n for n in LAYERS if n in sel.used_layers()]
    # the same weights under another display name are the same model
    renamed = hvsprobe.wrap(build(seed=0), name="another-name")
    torch.testing.assert_close(PerceptualDistance(renamed, sel)(x, y), d)
    other = hvsprobe.wrap(build(seed=1), name="resnet_tiny")  # same name, other weights
    with pytest.raises(ValueError, match="selection was made on backbone 'resnet_tiny'"):
        PerceptualDistance(other, sel)
    assert res.selection.n_selected >= 1


def test_the_example_in_docs_models_md_runs(tmp_path, monkeypatch):
    doc = Path(__file__).resolve().parents[1] / "docs" / "models.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert blocks, "docs/models.md has no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "docs_models_example"}
    exec(compile("\n".join(blocks), str(doc), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "hvsprobe-results").is_dir()
