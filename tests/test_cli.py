"""The command line end to end on tiny grids; errors exit with status 2 and a clear message."""

from __future__ import annotations

import json

import pytest

from hvsprobe.cli import main
from hvsprobe.selection import Selection

TINY = [
    "--size",
    "32",
    "--n-frequencies",
    "4",
    "--n-orientations",
    "4",
    "--n-phases",
    "1",
    "--no-progress",
]


def test_backbones_lists(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "alexnet" in out and "mobilenet_v2" in out


def test_analyze_then_select(tmp_path, capsys):
    out = tmp_path / "res"
    rc = main(
        [
            "analyze",
            "vgg16",
            "--weights",
            "random:0",
            "--layers",
            "relu1_1",
            "relu2_1",
            "--out",
            str(out),
            *TINY,
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "relu1_1" in text and "orientation selective" in text.lower()
    for name in (
        "tuning.npz",
        "tuning.json",
        "scores.csv",
        "scores.json",
        "selection.json",
        "summary.json",
        "summary.md",
    ):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 1 and summary["layers"] == ["relu1_1", "relu2_1"]
    assert summary["probe_config"]["grid"]["n_stimuli"] == 16
    # rerun: the tuning comes from the cache
    assert (
        main(
            [
                "analyze",
                "vgg16",
                "--weights",
                "random:0",
                "--layers",
                "relu1_1",
                "relu2_1",
                "--out",
                str(out),
                *TINY,
            ]
        )
        == 0
    )
    assert "(cached)" in capsys.readouterr().out
    assert (
        main(["select", str(out), "--strategy", "top_count", "--value", "3", "--score", "mu2"]) == 0
    )
    sel = Selection.load(out / "selection-top_count-3-mu2-layer.json")
    assert [len(v["channels"]) for v in sel.layers.values()] == [3, 3]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyze", "nonet", "--weights", "random", *TINY], "unknown backbone"),
        (["analyze", "vgg16", "--weights", "random", "--f-max", "40", *TINY], "Nyquist"),
        (["analyze", "vgg16", "--weights", "random", "--layers", "relu9_9", *TINY], "no layer"),
        (["analyze", "vgg16", "--weights", "random", "--csf", "nope", *TINY], "nope"),
        (["select", "/nonexistent/folder"], "does not exist"),
    ],
)
def test_errors_exit_2_with_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and message in err
