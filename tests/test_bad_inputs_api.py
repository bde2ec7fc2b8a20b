"""Table of bad inputs across the Python API: each raises one clear exception.

Every row names the call, the exception type and a fragment of the message that says what is
wrong (and usually what to do). Everything runs on the hand-built toy network of
``conftest.py`` and tiny tensors; no real weights are needed. Rows once marked ``xfail`` were known
gaps in modules this table does not own (``strict=True``: they fail loudly once fixed, so the
mark is removed then).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import hvsprobe
from conftest import make_toy_backbone
from hvsprobe.analyze import check_analysis
from hvsprobe.backbones import get_backbone
from hvsprobe.backbones.custom import load_model, parse_input_norm
from hvsprobe.backbones.safe_pickle import load_numpy_pickle
from hvsprobe.backbones.weights import load_checkpoint, load_lpips_linear, read_weights_file
from hvsprobe.errors import UserError
from hvsprobe.metrics import (
    LPIPS,
    PSNR,
    SSIM,
    PerceptualDistance,
    get_metric,
    lpips,
    ms_ssim,
    perceptual_distance,
    psnr,
    ssim,
)
from hvsprobe.probe import probe
from hvsprobe.scores import ChannelScores, ScoreConfig
from hvsprobe.selection import Selection, select_channels
from hvsprobe.stimuli import StimulusGrid, gabor, grating

TOY = make_toy_backbone()
SIZE = 32  # the toy network needs 31 x 31
G = torch.Generator().manual_seed(0)
X = torch.rand(1, 3, SIZE, SIZE, generator=G)
Y = torch.rand(1, 3, SIZE, SIZE, generator=G)
GRID = StimulusGrid.default(ppd=32.0, size=40, n_frequencies=2, n_orientations=2, n_phases=1)


@dataclass
class Ctx:
    """What a row may use: a scratch folder and a metric on the toy network."""

    tmp: Path

    @property
    def metric(self) -> PerceptualDistance:
        return PerceptualDistance(TOY, None)

    def selection_file(self, change: Callable[[dict[str, Any]], Any] | None = None) -> Path:
        """A valid selection JSON for the toy network, after ``change`` edits its dict."""
        doc: dict[str, Any] = {
            "kind": "selection",
            "schema_version": 1,
            "backbone": "toy",
            "weights_sha256": TOY.weights_sha256,
            "score": "pe",
            "layers": {"relu1": {"channels": [0, 3], "weights": [1.0, 0.5], "n_channels": 7}},
        }
        if change is not None:
            change(doc)
        path = self.tmp / "sel.json"
        path.write_text(json.dumps(doc), encoding="utf-8")  # NaN is written as NaN
        return path

    def text_file(self, name: str, text: str | bytes) -> Path:
        path = self.tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path


def _layer(doc: dict[str, Any], **entry: Any) -> None:
    doc["layers"]["relu1"].update(entry)


def _drop(doc: dict[str, Any], *keys: str) -> None:
    for k in keys:
        doc.pop(k)


def _load(ctx: Ctx, change: Callable[[dict[str, Any]], Any]) -> Selection:
    return Selection.load(ctx.selection_file(change))


def _scores_folder(ctx: Ctx, meta: str, csv_text: str) -> Path:
    folder = ctx.tmp / "scores"
    folder.mkdir()
    (folder / "scores.json").write_text(meta, encoding="utf-8")
    (folder / "scores.csv").write_text(csv_text, encoding="utf-8")
    return folder


def _flat(v: float) -> torch.Tensor:
    return torch.full((1, 3, SIZE, SIZE), v)


def _ramp(lo: float, hi: float) -> torch.Tensor:
    return torch.linspace(lo, hi, 3 * SIZE * SIZE).view(1, 3, SIZE, SIZE)


ARGPARSE_AT_IMPORT = """import argparse
p = argparse.ArgumentParser()
p.add_argument("--data", required=True)
args = p.parse_args()
"""
BUILDER_TYPEERROR = "from torch import nn\ndef build():\n    return nn.Conv2d(3, 4, 3, paddin=1)\n"
BUILDER_EXIT = "import sys\ndef build():\n    sys.exit('no')\n"


class TwoInputs(torch.nn.Module):
    """A model whose forward() wants two arguments: its TypeError is the user's."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 2, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(x) + y


class NaNGate(torch.nn.Module):
    """NaN for every image of the batch with a value above 0.9 (every full-contrast grating)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bright = x.amax((1, 2, 3)) > 0.9
        return torch.where(bright[:, None, None, None], torch.nan, x)


def nan_for_bright() -> torch.nn.Module:
    """NaN gate on the input, then conv + ReLU: layer "2" is NaN for bright stimuli."""
    torch.manual_seed(0)
    return torch.nn.Sequential(NaNGate(), torch.nn.Conv2d(3, 2, 3), torch.nn.ReLU())


Row = tuple[str, Callable[[Ctx], Any], type[BaseException], str]
GAP = "known gap outside the metric/selection modules (issue 13)"

ROWS: list[Any] = [
    # ---- metric inputs
    ("metric-numpy", lambda c: c.metric(X.numpy(), Y), TypeError, "must be a torch.Tensor"),
    ("metric-uint8", lambda c: c.metric((X * 255).byte(), Y), TypeError, "x.float() / 255"),
    ("metric-3d", lambda c: c.metric(X[0], Y[0]), ValueError, "N x 3 x H x W"),
    ("metric-1-channel", lambda c: c.metric(X[:, :1], Y[:, :1]), ValueError, "3 (RGB) channels"),
    ("metric-nan", lambda c: c.metric(X * math.nan, Y), ValueError, "NaN or infinite"),
    ("metric-inf", lambda c: c.metric(X, Y + math.inf), ValueError, "y contains NaN or infinite"),
    ("metric-undershoot", lambda c: c.metric(_ramp(-0.01, 1), Y), ValueError, "x.clamp(0, 1)"),
    ("metric-overshoot", lambda c: c.metric(X, _ramp(0, 1.02)), ValueError, "x.clamp(0, 1)"),
    ("metric-minus1-1", lambda c: c.metric(X * 2 - 1, Y), ValueError, "input_range=(-1, 1)"),
    ("metric-0-255", lambda c: c.metric(X * 255, Y), ValueError, "divide by 255"),
    (
        "metric-range-option",
        lambda c: PerceptualDistance(TOY, input_range=(-1, 1))(_ramp(-1.05, 1), Y),
        ValueError,
        "x.clamp(-1, 1)",
    ),
    ("metric-shape", lambda c: c.metric(X, torch.rand(1, 3, 33, 33)), ValueError, "same shape"),
    ("metric-dtype", lambda c: c.metric(X, Y.double()), TypeError, "same dtype"),
    ("metric-small", lambda c: c.metric(X[..., :20, :20], Y[..., :20, :20]), ValueError, "31 x 31"),
    ("metric-empty", lambda c: c.metric(X[:0], Y[:0]), ValueError, "empty"),
    # ---- metric options
    (
        "metric-memory-estimate",
        lambda c: PerceptualDistance(TOY, None, max_memory=1e-6)(X, Y),
        __import__("hvsprobe.metrics.memory").metrics.memory.MemoryNeedError,
        # 7 channels, 34 x 34 of them from the 64-pixel dry run (31-pixel kernel, no padding):
        # 4 B x 2 images x 32 x 32 x (2 + 1) x 7 x (34 / 64)^2 = 48552 B
        "needs about 0.049 MB of features, more than the --max-memory / max_memory limit",
    ),
    (
        "metric-memory-negative",
        lambda c: PerceptualDistance(TOY, None, max_memory=-1.0),
        ValueError,
        "max_memory",
    ),
    ("opt-spatial-str", lambda c: PerceptualDistance(TOY, spatial="no"), TypeError, "spatial"),
    (
        "opt-spatial-compute",
        lambda c: c.metric.compute(X, Y, spatial="False", reduction="none"),
        TypeError,
        "spatial must be True or False",
    ),
    ("opt-reduction", lambda c: PerceptualDistance(TOY, reduction="avg"), ValueError, "'mean'"),
    ("opt-upsample", lambda c: PerceptualDistance(TOY, upsample="nearest"), ValueError, "'box'"),
    ("opt-eps-zero", lambda c: PerceptualDistance(TOY, eps=0), ValueError, "eps must be finite"),
    ("opt-eps-str", lambda c: PerceptualDistance(TOY, eps="small"), TypeError, "eps must be a"),
    (
        "opt-input-range-255",
        lambda c: PerceptualDistance(TOY, input_range=(0, 255)),
        ValueError,
        "input_range must be (0, 1) or (-1, 1)",
    ),
    (
        "opt-input-range-str",
        lambda c: perceptual_distance(X, Y, backbone=TOY, input_range="-1,1"),
        ValueError,
        "input_range must be",
    ),
    (
        "opt-compute-range",
        lambda c: c.metric.compute(X, Y, spatial=False, reduction="none", input_range=(0, 2)),
        ValueError,
        "input_range",
    ),
    (
        "opt-channels-last",
        lambda c: PerceptualDistance(TOY, channels_last="yes"),
        TypeError,
        "None",
    ),
    (
        "opt-backbone-type",
        lambda c: PerceptualDistance(42),
        TypeError,
        "a Backbone or an nn.Module",
    ),
    (
        "opt-weights-with-instance",
        lambda c: PerceptualDistance(TOY, weights="random:0"),
        ValueError,
        "already carries its weights",
    ),
    ("sel-map-layer", lambda c: PerceptualDistance(TOY, {"fc7": [1.0]}), ValueError, "no layer"),
    (
        "sel-map-count",
        lambda c: PerceptualDistance(TOY, {"relu1": np.ones(3)}),
        ValueError,
        "7 channels, but 3 weights",
    ),
    (
        "sel-map-negative",
        lambda c: PerceptualDistance(TOY, {"relu1": -np.ones(7)}),
        ValueError,
        "finite and >= 0",
    ),
    (
        "sel-map-zero",
        lambda c: PerceptualDistance(TOY, {"relu1": np.zeros(7)}),
        ValueError,
        "no channel with a positive weight",
    ),
    ("sel-type", lambda c: PerceptualDistance(TOY, 42), TypeError, "selection must be None"),
    ("lpips-net", lambda c: LPIPS("resnet"), ValueError, "unknown LPIPS net 'resnet'"),
    ("lpips-fn-net", lambda c: lpips(X, Y, net=3), ValueError, "unknown LPIPS net 3"),
    ("lpips-backbone", lambda c: LPIPS("alex", backbone=TOY), ValueError, "needs alexnet"),
    ("registry-name", lambda c: get_metric("dists"), ValueError, "unknown metric 'dists'"),
    ("registry-selected", lambda c: get_metric("selected"), ValueError, "needs selection="),
    (
        "registry-selection-type",
        lambda c: get_metric("selected", selection=42),
        TypeError,
        "a Selection or a path",
    ),
    ("registry-baseline", lambda c: get_metric("baseline-alex", backbone=TOY), ValueError, "runs"),
    # ---- baselines
    ("psnr-0-255", lambda c: psnr(X * 255, Y), ValueError, "data_range=255"),
    ("psnr-data-range", lambda c: psnr(X, Y, data_range=0), ValueError, "data_range"),
    (
        "psnr-range-conflict",
        lambda c: psnr(X * 255, Y * 255, data_range=255, input_range=(-1, 1)),
        ValueError,
        "needs data_range=1",
    ),
    (
        "psnr-module-range",
        lambda c: PSNR(input_range=(0, 255)),
        ValueError,
        "input_range must be (0, 1) or (-1, 1)",
    ),
    ("ssim-quantize", lambda c: ssim(X, Y, quantize="no"), TypeError, "quantize must be True"),
    ("ssim-downsample", lambda c: SSIM(downsample="yes"), TypeError, "downsample must be True"),
    ("ssim-color", lambda c: ssim(X, Y, color="lab"), ValueError, "unknown color 'lab'"),
    ("ssim-small", lambda c: ssim(X[..., :8, :8], Y[..., :8, :8]), ValueError, "11 x 11"),
    ("ms-ssim-small", lambda c: ms_ssim(X, Y), ValueError, "161 x 161"),
    ("ssim-minus1-1", lambda c: ssim(X * 2 - 1, Y), ValueError, "input_range=(-1, 1)"),
    # ---- selection files
    (
        "file-malformed-json",
        lambda c: Selection.load(c.text_file("s.json", '{"kind": "selection",')),
        ValueError,
        "s.json: not valid JSON",
    ),
    (
        "file-binary",
        lambda c: Selection.load(c.text_file("s.json", b"\xff\xfe\x00garbage")),
        ValueError,
        "not UTF-8",
    ),
    (
        "file-top-level-list",
        lambda c: Selection.load(c.text_file("s.json", "[1, 2]")),
        ValueError,
        "s.json: expected a JSON object",
    ),
    (
        "file-missing",
        lambda c: Selection.load(c.tmp / "absent.json"),
        FileNotFoundError,
        "absent.json",
    ),
    (
        "file-kind",
        lambda c: _load(c, lambda d: d.update(kind="tuning")),
        ValueError,
        "expected a hvsprobe 'selection' file, found kind 'tuning'",
    ),
    (
        "file-schema",
        lambda c: _load(c, lambda d: d.update(schema_version=99)),
        ValueError,
        "schema version 99 is not supported",
    ),
    (
        "file-no-backbone",
        lambda c: _load(c, lambda d: _drop(d, "backbone")),
        ValueError,
        "sel.json: missing key 'backbone'",
    ),
    (
        "file-no-sha",
        lambda c: _load(c, lambda d: _drop(d, "weights_sha256")),
        ValueError,
        "missing key 'weights_sha256'",
    ),
    (
        "file-backbone-type",
        lambda c: _load(c, lambda d: d.update(backbone=16)),
        ValueError,
        "backbone must be a string",
    ),
    (
        "file-layers-list",
        lambda c: _load(c, lambda d: d.update(layers=[{"channels": [0]}])),
        ValueError,
        "layers must be an object",
    ),
    (
        "file-entry-type",
        lambda c: _load(c, lambda d: d["layers"].update(relu1=[0, 1])),
        ValueError,
        "layers.relu1 must be an object",
    ),
    (
        "file-duplicates",
        lambda c: _load(c, lambda d: _layer(d, channels=[3, 3], weights=[1.0, 1.0])),
        ValueError,
        "layers.relu1.channels lists channels more than once: [3]",
    ),
    (
        "file-fraction",
        lambda c: _load(c, lambda d: _layer(d, channels=[0, 5.7])),
        ValueError,
        "layers.relu1.channels must be integers, got 5.7",
    ),
    (
        "file-bool-index",
        lambda c: _load(c, lambda d: _layer(d, channels=[True, 2])),
        ValueError,
        "must be integers, got True",
    ),
    (
        "file-negative",
        lambda c: _load(c, lambda d: _layer(d, channels=[-1, 2])),
        ValueError,
        "indices outside 0..6: [-1]",
    ),
    (
        "file-out-of-range",
        lambda c: _load(c, lambda d: _layer(d, channels=[0, 7])),
        ValueError,
        "indices outside 0..6: [7]",
    ),
    (
        "file-nan-weight",
        lambda c: _load(c, lambda d: _layer(d, weights=[1.0, math.nan])),
        ValueError,
        "layers.relu1.weights must be finite numbers >= 0, got nan",
    ),
    (
        "file-negative-weight",
        lambda c: _load(c, lambda d: _layer(d, weights=[1.0, -0.5])),
        ValueError,
        "weights must be finite numbers >= 0",
    ),
    (
        "file-string-weight",
        lambda c: _load(c, lambda d: _layer(d, weights=[1.0, "0.5"])),
        ValueError,
        "got '0.5'",
    ),
    (
        "file-lengths",
        lambda c: _load(c, lambda d: _layer(d, weights=[1.0])),
        ValueError,
        "same length, got 2 and 1",
    ),
    (
        "file-no-n-channels",
        lambda c: _load(c, lambda d: d["layers"]["relu1"].pop("n_channels")),
        ValueError,
        "layers.relu1: missing key 'n_channels'",
    ),
    (
        "file-n-channels-str",
        lambda c: _load(c, lambda d: _layer(d, n_channels="7")),
        ValueError,
        "n_channels must be a positive integer",
    ),
    (
        "file-channels-str",
        lambda c: _load(c, lambda d: _layer(d, channels="0,3")),
        ValueError,
        "channels must be a list",
    ),
    (
        "file-strategy-type",
        lambda c: _load(c, lambda d: d.update(strategy="top")),
        ValueError,
        "strategy must be an object",
    ),
    (
        "file-other-backbone",
        lambda c: PerceptualDistance(
            TOY, c.selection_file(lambda d: d.update(backbone="vgg16", weights_sha256="0" * 64))
        ),
        ValueError,
        "selection was made on backbone 'vgg16'",
    ),
    (
        "file-wrong-n-channels",
        lambda c: PerceptualDistance(TOY, c.selection_file(lambda d: _layer(d, n_channels=9))),
        ValueError,
        "selection layer relu1 has 9 channels, the backbone's has 7",
    ),
    (
        "direct-duplicates",
        lambda c: Selection(
            "toy", "", {"relu1": {"channels": [1, 1], "weights": [1, 1], "n_channels": 7}}
        ),  # fmt: skip
        ValueError,
        "Selection: layers.relu1.channels lists channels more than once",
    ),
    # ---- backbones
    ("bb-name", lambda c: get_backbone("resnet9"), ValueError, "unknown backbone 'resnet9'"),
    ("bb-seed", lambda c: get_backbone("alexnet", "random:x"), ValueError, "random:INT"),
    (
        "bb-weights-file",
        lambda c: get_backbone("alexnet", c.tmp / "absent.pth"),
        FileNotFoundError,
        "absent.pth does not exist",
    ),
    ("bb-layer", lambda c: TOY.check_layers(["fc7"]), ValueError, "toy has no layer(s) ['fc7']"),
    (
        "bb-extract-range",
        lambda c: TOY.extract(X * 2 - 1, ["relu1"]),
        ValueError,
        "input_range=(-1, 1)",
    ),
    # ---- stimuli
    ("stim-size", lambda c: grating(0, 1.0), ValueError, "size must be an int"),
    ("stim-nyquist", lambda c: grating(32, 40.0, ppd=60.0), ValueError, "Nyquist"),
    ("stim-contrast", lambda c: grating(32, 1.0, contrast=2.0), ValueError, "Michelson contrast"),
    ("stim-mean", lambda c: grating(32, 1.0, mean=1.5), ValueError, "mean luminance"),
    ("stim-dtype", lambda c: grating(32, 1.0, dtype=torch.int64), TypeError, "floating-point"),
    ("stim-nan", lambda c: grating(32, math.nan), ValueError, "frequency must be finite"),
    ("stim-sigma", lambda c: gabor(32, 2.0, sigma_deg=-1.0, ppd=32.0), ValueError, "sigma_deg"),
    (
        "grid-frequencies",
        lambda c: StimulusGrid.default(ppd=32.0, size=40, n_frequencies=0),
        ValueError,
        "n_frequencies must be an int >= 1",
    ),
    # ---- scores and selection strategies
    ("score-mu1", lambda c: ScoreConfig(mu1="bogus"), ValueError, "unknown mu1 variant"),
    ("score-osi", lambda c: ScoreConfig(selective_osi=2.0), ValueError, "selective_osi"),
    (
        "scores-folder-missing",
        lambda c: ChannelScores.load(c.tmp / "nothing"),
        FileNotFoundError,
        "scores.json",
    ),
    pytest.param(
        "scores-malformed-json",
        lambda c: ChannelScores.load(_scores_folder(c, "{oops", "")),
        json.JSONDecodeError,  # a ValueError that names the file (hvsprobe._io.read_json)
        "scores.json",
    ),
    ("select-strategy", lambda c: select_channels(_table(), strategy="best"), ValueError, "best"),
    (
        "select-fraction",
        lambda c: select_channels(_table(), strategy="top_fraction", value=0.0),
        ValueError,
        "0 < value <= 1",
    ),
    (
        "select-layers",
        lambda c: select_channels(_table(), layers=["zz"]),
        ValueError,
        "not in the scores",
    ),
    # ---- weights files: every unpickling failure is "not a weights file"
    (
        "weights-text-pth",
        lambda c: read_weights_file(c.text_file("notes.pth", "some notes here\n"), "vgg16"),
        UserError,
        "not a weights file",
    ),
    (
        "weights-noise-pth",
        lambda c: read_weights_file(c.text_file("n.pth", bytes(range(7, 200))), "vgg16"),
        UserError,
        "not a weights file",
    ),
    (
        "weights-text-ckpt",
        lambda c: read_weights_file(c.text_file("notes.ckpt", "some notes"), "vgg16"),
        UserError,
        "not a weights file",
    ),
    (
        "checkpoint-text",
        lambda c: load_checkpoint(torch.nn.Conv2d(3, 4, 3), c.text_file("c.pt", "notes")),
        UserError,
        "not a weights file",
    ),
    (
        "lpips-linear-text",
        lambda c: load_lpips_linear("alexnet", c.text_file("l.ckpt", "notes")),
        UserError,
        "not a weights file",
    ),
    (
        "numpy-pickle-text",
        lambda c: load_numpy_pickle(b""),
        pickle.UnpicklingError,
        "not a pickle of numpy arrays",
    ),
    # ---- models from files: their code runs, its failures are the user's
    (
        "model-file-exit",
        lambda c: load_model(f"{c.text_file('m.py', 'import sys; sys.exit(3)')}:build"),
        UserError,
        "called sys.exit() while being imported (status 3)",
    ),
    (
        "model-file-argparse",
        lambda c: load_model(f"{c.text_file('m.py', ARGPARSE_AT_IMPORT)}:build"),
        UserError,
        "m.py: error: the following arguments are required: --data",
    ),
    (
        "model-builder-typeerror",
        lambda c: load_model(f"{c.text_file('m.py', BUILDER_TYPEERROR)}:build"),
        UserError,
        "model builder",
    ),
    (
        "model-builder-exit",
        lambda c: load_model(f"{c.text_file('m.py', BUILDER_EXIT)}:build"),
        UserError,
        "called sys.exit('no')",
    ),
    ("model-folder", lambda c: load_model(f"{c.tmp}:build"), UserError, "is a directory"),
    (
        "model-gray-input",
        lambda c: hvsprobe.wrap(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())),
        UserError,
        "expects 1 input channel",
    ),
    (
        "model-forward-typeerror",
        lambda c: hvsprobe.wrap(TwoInputs()),
        UserError,
        "the model's forward() failed",
    ),
    ("input-norm-nan", lambda c: parse_input_norm("nan,0,0/1,1,1"), UserError, "finite"),
    ("input-norm-std-0", lambda c: parse_input_norm("0,0,0/0,1,1"), UserError, "> 0"),
    (
        "wrap-input-norm-nan",
        lambda c: hvsprobe.wrap(torch.nn.ReLU(), input_norm=([math.nan, 0, 0], [1, 1, 1])),
        ValueError,
        "3 finite values each",
    ),
    (
        "probe-nan-responses",
        lambda c: probe(hvsprobe.wrap(nan_for_bright(), ["2"], input_norm="none"), GRID),
        UserError,
        "layer '2' gave NaN or infinite responses to 4 of 4 stimuli",
    ),
    # ---- resources and the torus, before any model is built
    (
        "analysis-memory",
        lambda c: check_analysis(StimulusGrid.default(size=100_000, n_frequencies=3)),
        UserError,
        "needs at least",
    ),
    (
        "analysis-torus-ppd",
        lambda c: check_analysis(StimulusGrid.default(ppd=1e9, size=32, n_frequencies=3)),
        UserError,
        "lower --ppd",
    ),
    (
        "select-threshold-above-all",
        lambda c: select_channels(_table(), strategy="threshold", value=5.0),
        ValueError,
        "the largest pe among the selectable channels is 0.9, so no channel has pe >= 5",
    ),
    (
        "select-bottom-threshold-below-all",
        lambda c: select_channels(_table(), strategy="threshold", value=0.1, bottom=True),
        ValueError,
        "the smallest pe among the selectable channels is 0.5",
    ),
    (
        "distance-selection-unused",
        lambda c: __import__("hvsprobe.metrics.cli_support").metrics.cli_support.distance_command(
            c.tmp, c.tmp, ["psnr"], selection=c.selection_file()
        ),
        ValueError,
        "is used only by the metric 'selected'",
    ),
    (
        "evaluate-selection-unused",
        lambda c: __import__("hvsprobe.evaluate.run").evaluate.run.evaluate_metrics(
            ["psnr"], csv_path=c.tmp / "none.csv", selection=c.selection_file()
        ),
        ValueError,
        "is used only by the metric 'selected'",
    ),
    (
        "invert-fraction-zero",
        lambda c: __import__("hvsprobe.invert").invert.default_selections(_table(), fraction=0),
        ValueError,
        "fraction must be > 0 and <= 1",
    ),
    # ---- probe arguments
    ("probe-precision", lambda c: probe(TOY, GRID, precision="fp8"), ValueError, "'fp32'"),
    ("probe-layers", lambda c: probe(TOY, GRID, ["zz"]), ValueError, "no layer(s) ['zz']"),
    ("probe-batch", lambda c: probe(TOY, GRID, batch_size=0), ValueError, "batch_size"),
    pytest.param(
        "probe-device",
        lambda c: probe(TOY, GRID, device="bogus"),
        ValueError,
        "bogus",
    ),
    pytest.param(
        "probe-channels-last-str",
        lambda c: probe(TOY, GRID, channels_last="yes"),
        TypeError,
        "channels_last",
    ),
    pytest.param(
        "probe-grid-type",
        lambda c: probe(TOY, "grid"),
        TypeError,
        "StimulusGrid",
    ),
]


def _table() -> Any:
    from hvsprobe.scores import COLUMNS

    cols = {c: np.zeros(2) for c in COLUMNS}
    cols["layer"] = np.array(["relu1", "relu1"], dtype=object)
    cols["channel"] = np.array([0, 1])
    cols["pe"] = np.array([0.5, 0.9])
    cols["dead"] = np.zeros(2, dtype=bool)
    for c in ("orientation_selective", "bandwidth_censored"):
        cols[c] = np.zeros(2, dtype=bool)
    return ChannelScores(cols, {"backbone": "toy", "weights_sha256": TOY.weights_sha256})


def _id(row: Any) -> str:
    return row.values[0] if hasattr(row, "values") else row[0]


@pytest.mark.parametrize(("name", "call", "error", "fragment"), ROWS, ids=[_id(r) for r in ROWS])
def test_bad_input(tmp_path, name, call, error, fragment):
    with pytest.raises(error) as info:
        call(Ctx(tmp_path))
    assert type(info.value) is error, f"{name}: {type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert fragment in message, f"{name}: {message!r} lacks {fragment!r}"
    assert "\n" not in message.strip(), f"{name}: the message is not one line"


def test_table_is_large_enough():
    assert len(ROWS) >= 40
    assert len({_id(r) for r in ROWS}) == len(ROWS)
