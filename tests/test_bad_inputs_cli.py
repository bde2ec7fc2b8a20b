"""Bad command lines: each one exits with status 2 and one line naming the fault, and leaves
nothing behind (no folder, no file, no checkpoint).

The CLI runs in-process (``hvsprobe.cli.main``); the files it reads are made once per module
in ``files``. After every case the whole fixture tree (and the working directory) must be
exactly as before.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hvsprobe.cli import main

TINY = ["--size", "32", "--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "1"]
AN = ["analyze", "vgg16", "--weights", "random:0", "--layers", "relu1_1", "--no-progress"]
MODEL = ["analyze", "--no-progress", "--model"]


def _snapshot(root: Path) -> dict[str, int]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()  # a symlink loop has no target to stat
            out[str(p.relative_to(root))] = st.st_size if stat.S_ISREG(st.st_mode) else -1
    return out


#: model files that misbehave at import or when built (``--model FILE.py:build``)
MODEL_FILES = {
    "exit0.py": "import sys\nsys.exit(0)\n",
    "exitmsg.py": "import sys\nsys.exit('bye from the model file')\n",
    "argv.py": (
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--data', required=True)\n"
        "args = p.parse_args()\n"
    ),
    "typeerr.py": "from torch import nn\ndef build():\n    return nn.Conv2d(3, 4, 3, paddin=1)\n",
    "gray.py": (
        "from torch import nn\ndef build():\n"
        "    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())\n"
    ),
    "net.py": (
        "from torch import nn\ndef build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())\n"
    ),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    img = Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8))
    img.save(d / "a.png")
    img.save(d / "b.png")
    raw = (d / "a.png").read_bytes()
    (d / "truncated.png").write_bytes(raw[: len(raw) // 2])
    (d / "text.png").write_text("not an image")
    (d / "weights.txt").write_text("not weights")
    (d / "notes.pth").write_text("some notes here\n")  # torch's unpickler: IndexError
    (d / "noise.pth").write_bytes(bytes(range(7, 200)))
    for name, text in MODEL_FILES.items():
        (d / name).write_text(text)
    (d / "loops").mkdir()
    (d / "loops" / "a").symlink_to("b")
    (d / "loops" / "b").symlink_to("a")
    (d / "file\nx").write_text("a file with a newline in its name")
    (d / "empty.pt").write_bytes(b"")
    (d / "folder").mkdir()
    (d / "foreign").mkdir()
    (d / "foreign" / "notes.txt").write_text("mine")
    (d / "file.txt").write_text("a file")
    (d / "bad.json").write_text("{not json")
    (d / "list.json").write_text("[1, 2]")
    # evaluate: CSVs with an empty cell and a repeated pair; a registered data set moved away
    head = "ref,dist,score,higher_is_better\n"
    (d / "ev_empty.csv").write_text(head + "a.png,b.png,1,false\na.png,a.png,,false\n")
    (d / "ev_dupes.csv").write_text(head + "a.png,b.png,1,false\nb.png,a.png,2,false\n" * 2)
    (d / "data" / "iqa").mkdir(parents=True)
    (d / "data" / "iqa" / "LIVE").symlink_to(d / "moved-live", target_is_directory=True)
    registry = {"kind": "hvsprobe_data_registry", "schema_version": 1, "hashes": {}}
    registry["datasets"] = {"live": {"path": str(d / "moved-live"), "source": "add"}}
    (d / "data" / "hvsprobe-data.json").write_text(json.dumps(registry))
    # one real results folder (tiny grid, one layer) and broken copies of it
    res = d / "res"
    assert main([*AN, *TINY, "--out", str(res)]) == 0
    for name, edit in {
        "badjson": lambda f: (f / "scores.json").write_text("{"),
        "wrongkind": lambda f: _edit_json(f / "scores.json", kind="tuning"),
        "nocolumn": lambda f: _edit_csv(f / "scores.csv", "mu1", "mux"),
        "badnumber": lambda f: _edit_csv(f / "scores.csv", "0.", "zz"),
        "mixed": lambda f: _edit_json(f / "tuning.json", grid_size=[48, 48]),
        "mixedscore": lambda f: _edit_json(f / "summary.json", score_csf="mannos_sakrison"),
        "mixedsel": lambda f: _edit_json(f / "selection.json", weights_sha256="0" * 64),
        "noscores": lambda f: (f / "scores.json").unlink(),
        # well-formed edits that only the checksums written with the folder can see
        "tamperpe": lambda f: _edit_csv(f / "scores.csv", "pe", "pe"),
        "renamedcol": lambda f: _rename_column(f / "scores.json", "pe", "pe_x"),
        "tampersummary": lambda f: _edit_json(f / "summary.json", n_stimuli=1),
        "tampersel": lambda f: _edit_json(f / "selection.json", score="mu1"),
    }.items():
        shutil.copytree(res, d / name)
        edit(d / name)
    return d


def _edit_json(path: Path, **change: object) -> None:
    data = json.loads(path.read_text())
    for key, value in change.items():
        if key == "grid_size":
            data["config"]["grid"]["size"] = value
        elif key == "score_csf":
            data["score_config"]["csf"] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))


def _edit_csv(path: Path, old: str, new: str) -> None:
    if old == "pe":  # the first channel's PE becomes 9.99 (the 0.0049 -> 9.99)
        head, first, *rest = path.read_text().split("\n")
        i = head.split(",").index("pe")
        cells = first.split(",")
        assert cells[i] != "9.99"
        cells[i] = "9.99"
        path.write_text("\n".join([head, ",".join(cells), *rest]))
        return
    text = path.read_text()
    path.write_text(text.replace(old, new, 1) if old == "mu1" else text.replace(old, new))


def _rename_column(path: Path, old: str, new: str) -> None:
    data = json.loads(path.read_text())
    data["columns"] = [new if c == old else c for c in data["columns"]]
    path.write_text(json.dumps(data))


LONG = "x" * 300
DEEP = "/".join(["y" * 200] * 25)

#: (id, argv with {d} for the fixture folder, fragment of the one-line message)
CASES = [
    # analyze: names, weights, devices
    ("unknown-backbone", ["analyze", "nonet", "--weights", "random", *TINY], "unknown backbone"),
    ("weights-text-file", [*AN, "--weights", "{d}/weights.txt", *TINY], "not a weights file"),
    ("weights-notes-pth", [*AN, "--weights", "{d}/notes.pth", *TINY], "not a weights file"),
    ("weights-noise", [*AN, "--weights", "{d}/noise.pth", *TINY], "not a weights file"),
    ("weights-empty-file", [*AN, "--weights", "{d}/empty.pt", *TINY], "not a weights file"),
    ("weights-folder", [*AN, "--weights", "{d}/folder", *TINY], "is a folder"),
    ("weights-missing", [*AN, "--weights", "{d}/none.pth", *TINY], "does not exist"),
    ("weights-bad-seed", [*AN, "--weights", "random:abc", *TINY], "random seed"),
    ("device-cuda", [*AN, "--device", "cuda", *TINY], "--device 'cuda'"),
    ("device-cuda-index", [*AN, "--device", "cuda:7", *TINY], "--device 'cuda:7'"),
    ("device-bogus", [*AN, "--device", "bogus", *TINY], "not a torch device"),
    ("device-empty", [*AN, "--device", "", *TINY], "not a torch device"),
    # analyze: output folder
    ("out-is-file", [*AN, *TINY, "--out", "{d}/file.txt"], "is a file, not a folder"),
    ("out-below-file", [*AN, *TINY, "--out", "{d}/file.txt/res"], "is a file, not a folder"),
    ("out-unwritable", [*AN, *TINY, "--out", "/sys/hvsprobe-test"], "cannot write in"),
    ("out-long-name", [*AN, *TINY, "--out", "{d}/" + LONG], "longer than"),
    ("out-long-path", [*AN, *TINY, "--out", "{d}/" + DEEP], "too long"),
    ("out-current-folder", [*AN, *TINY, "--out", "."], "is the current folder"),
    ("out-foreign-files", [*AN, *TINY, "--out", "{d}/foreign"], "did not write (notes.txt)"),
    ("out-symlink-loop", [*AN, *TINY, "--out", "{d}/loops/a"], "loop of symbolic links"),
    ("out-below-loop", [*AN, *TINY, "--out", "{d}/loops/a/res"], "loop of symbolic links"),
    ("out-newline-file", [*AN, *TINY, "--out", "{d}/file\nx"], "file\\nx'"),
    # analyze --model: the model file's own failures, each named as the user's
    ("model-exit-0", [*MODEL, "{d}/exit0.py:build", *TINY], "called sys.exit()"),
    ("model-exit-msg", [*MODEL, "{d}/exitmsg.py:build", *TINY], "(bye from the model file)"),
    ("model-argv", [*MODEL, "{d}/argv.py:build", *TINY], "the following arguments are required"),
    ("model-typeerror", [*MODEL, "{d}/typeerr.py:build", *TINY], "model builder"),
    ("model-folder", [*MODEL, "{d}/folder:build", *TINY], "is a directory"),
    ("model-gray", [*MODEL, "{d}/gray.py:build", *TINY], "expects 1 input channel"),
    (
        "model-input-norm-nan",
        [*MODEL, "{d}/net.py:build", "--input-norm", "nan,0,0/1,1,1", *TINY],
        "standard deviations finite and > 0",
    ),  # fmt: skip
    # analyze: resources and the torus, before any model is built
    ("size-huge", [*AN, *TINY[:-2], "--n-phases", "4", "--size", "100000"], "lower --size"),
    (
        "size-huge-batch",
        [*AN, *TINY[2:], "--size", "20000", "--response", "whole_map", "--batch-size", "64"],
        "lower --size or --batch-size",
    ),  # fmt: skip
    ("ppd-huge", [*AN, *TINY, "--ppd", "1e9"], "lower --ppd"),
    ("ppd-negative", [*AN, *TINY, "--ppd", "-1"], "--ppd: must be > 0"),
    # analyze: scores, grid and numbers, all before any model is built
    ("csf-unknown", [*AN, *TINY, "--csf", "nope"], "nope"),
    ("mu1-two-frequencies", [*AN, *TINY, "--n-frequencies", "2"], "at least 3 frequencies"),
    ("grid-huge", [*AN, "--n-frequencies", "100000"], "--max-stimuli 4800000"),
    ("max-stimuli-small", [*AN, *TINY, "--max-stimuli", "10"], "above the 10 allowed"),
    ("max-stimuli-zero", [*AN, *TINY, "--max-stimuli", "0"], "positive integer"),
    ("size-zero", [*AN, *TINY[2:], "--size", "0"], "--size: must be >= 1"),
    ("orientations-zero", [*AN, *TINY, "--n-orientations", "0"], "--n-orientations: must be"),
    ("phases-negative", [*AN, *TINY, "--n-phases", "-1"], "--n-phases: must be >= 1"),
    ("ppd-nan", [*AN, *TINY, "--ppd", "nan"], "--ppd: must be a finite number"),
    ("ppd-inf", [*AN, *TINY, "--ppd", "inf"], "--ppd: must be a finite number"),
    ("ppd-zero", [*AN, *TINY, "--ppd", "0"], "--ppd: must be > 0"),
    ("f-max-above-nyquist", [*AN, *TINY, "--f-max", "40"], "Nyquist"),
    ("f-min-nan", [*AN, *TINY, "--f-min", "nan"], "--f-min: must be a finite number"),
    ("batch-size-zero", [*AN, *TINY, "--batch-size", "0"], "--batch-size: must be >= 1"),
    ("checkpoint-negative", [*AN, *TINY, "--checkpoint-every", "-1"], "--checkpoint-every"),
    ("checkpoint-nan", [*AN, *TINY, "--checkpoint-every", "nan"], "--checkpoint-every"),
    ("layer-unknown", [*AN, *TINY, "--layers", "relu9_9"], "no layer"),
    ("grid-too-small", [*AN, *TINY[2:], "--size", "8", "--layers", "relu5_3"], "needs images"),
    ("size-not-int", [*AN, "--size", "big"], "invalid int value"),
    ("mu1-unknown", [*AN, *TINY, "--mu1", "bogus"], "invalid choice"),
    ("precision-unknown", [*AN, *TINY, "--precision", "fp8"], "invalid choice"),
    # select
    ("select-missing", ["select", "{d}/nothing"], "does not exist"),
    ("select-file", ["select", "{d}/file.txt"], "is a file, not a folder"),
    ("select-empty-folder", ["select", "{d}/folder"], "no scores.json"),
    ("select-no-scores", ["select", "{d}/noscores"], "no scores.json"),
    ("select-bad-json", ["select", "{d}/badjson"], "scores.json is not valid JSON"),
    ("select-wrong-kind", ["select", "{d}/wrongkind"], "expected a hvsprobe 'scores' file"),
    ("select-missing-column", ["select", "{d}/nocolumn"], "scores.csv is malformed"),
    ("select-bad-number", ["select", "{d}/badnumber"], "scores.csv is malformed"),
    ("select-mixed-probe", ["select", "{d}/mixed"], "mixes two configurations"),
    ("select-mixed-scores", ["select", "{d}/mixedscore"], "mixes two configurations"),
    ("select-mixed-weights", ["select", "{d}/mixedsel"], "mixes two configurations"),
    ("select-value-nan", ["select", "{d}/res", "--value", "nan"], "--value: must be a finite"),
    ("select-value-inf", ["select", "{d}/res", "--value", "inf"], "--value: must be a finite"),
    ("select-out-folder", ["select", "{d}/res", "--out", "{d}/folder"], "is a folder"),
    ("select-out-below-file", ["select", "{d}/res", "--out", "{d}/file.txt/s.json"], "is a file"),
    ("select-out-long", ["select", "{d}/res", "--out", "{d}/" + LONG + ".json"], "longer than"),
    ("select-strategy", ["select", "{d}/res", "--strategy", "bogus"], "invalid choice"),
    ("select-value-text", ["select", "{d}/res", "--value", "many"], "invalid float value"),
    # report
    ("report-missing", ["report", "{d}/nothing"], "does not exist"),
    ("report-mixed", ["report", "{d}/mixed"], "mixes two configurations"),
    (
        "report-out-current-folder",
        ["report", "{d}/res", "--out", "page.html"],
        "is the current folder or contains it (the report folder is replaced as a whole)",
    ),  # fmt: skip
    ("report-out-foreign", ["report", "{d}/res", "--out", "{d}/foreign"], "did not write (notes"),
    # distance
    (
        "distance-truncated",
        ["distance", "{d}/a.png", "{d}/truncated.png", "--metric", "psnr"],
        "truncated.png: cannot decode the image",
    ),  # fmt: skip
    (
        "distance-not-image",
        ["distance", "{d}/a.png", "{d}/text.png", "--metric", "psnr"],
        "text.png: cannot decode the image",
    ),  # fmt: skip
    (
        "distance-missing",
        ["distance", "{d}/a.png", "{d}/none.png", "--metric", "psnr"],
        "does not exist",
    ),  # fmt: skip
    (
        "distance-metric",
        ["distance", "{d}/a.png", "{d}/b.png", "--metric", "nope"],
        "unknown metric 'nope'",
    ),  # fmt: skip
    (
        "distance-device",
        ["distance", "{d}/a.png", "{d}/b.png", "--device", "bogus"],
        "not a torch device",
    ),  # fmt: skip
    (
        "distance-out-folder",
        ["distance", "{d}/a.png", "{d}/b.png", "--metric", "psnr", "--out", "{d}/folder"],
        "is a folder",
    ),  # fmt: skip
    (
        "distance-selection-folder",
        ["distance", "{d}/a.png", "{d}/b.png", "--metric", "selected", "--selection", "{d}/folder"],
        "folder",
    ),  # fmt: skip
    (
        "distance-selection-not-json",
        [
            "distance",
            "{d}/a.png",
            "{d}/b.png",
            "--metric",
            "selected",
            "--selection",
            "{d}/bad.json",
        ],
        "bad.json is not valid JSON",
    ),  # fmt: skip
    # results identity: files changed after analyze wrote them (checksums.json)
    ("select-tampered-pe", ["select", "{d}/tamperpe"], "scores.csv was changed after"),
    ("select-renamed-column", ["select", "{d}/renamedcol"], "scores.json was changed after"),
    ("select-tampered-summary", ["select", "{d}/tampersummary"], "summary.json was changed"),
    ("report-tampered-pe", ["report", "{d}/tamperpe"], "scores.csv was changed after"),
    ("report-renamed-column", ["report", "{d}/renamedcol"], "scores.json was changed after"),
    ("report-tampered-selection", ["report", "{d}/tampersel"], "selection.json was changed"),
    (
        "distance-tampered-selection",
        [
            "distance",
            "{d}/a.png",
            "{d}/b.png",
            "--metric",
            "selected",
            "--selection",
            "{d}/tampersel/selection.json",
        ],
        "selection.json was changed after",
    ),  # fmt: skip
    (
        "invert-tampered-scores",
        ["invert", "{d}/a.png", "--results", "{d}/tamperpe", "--out", "{d}/inv"],
        "scores.csv was changed after",
    ),  # fmt: skip
    # a request that would select nothing, an option that would be ignored, option names
    (
        "select-threshold-above-all",
        ["select", "{d}/res", "--strategy", "threshold", "--value", "5"],
        "selects no channel: the largest pe among the selectable channels is",
    ),  # fmt: skip
    (
        "distance-selection-unused",
        [
            "distance",
            "{d}/a.png",
            "{d}/b.png",
            "--metric",
            "psnr",
            "--selection",
            "{d}/res/selection.json",
        ],
        "is used only by the metric 'selected'",
    ),  # fmt: skip
    (
        "invert-fraction-zero",
        ["invert", "{d}/a.png", "--results", "{d}/res", "--fraction", "0", "--out", "{d}/inv"],
        "--fraction: must be > 0 and <= 1",
    ),  # fmt: skip
    (
        "distance-memory-estimate",
        [
            "distance",
            "{d}/a.png",
            "{d}/b.png",
            "--metric",
            "selected",
            "--selection",
            "{d}/res/selection.json",
            "--max-memory",
            "0.000001",
        ],
        # VGG-16 up to relu1_1: 4 B x 2 images x 32 x 32 x (2 x 64 + 64) = 1.57 MB
        "32 x 32 images needs about 1.6 MB of features, more than the --max-memory",
    ),  # fmt: skip
    (
        "distance-memory-zero",
        ["distance", "{d}/a.png", "{d}/b.png", "--metric", "psnr", "--max-memory", "0"],
        "--max-memory: must be a positive number of GB",
    ),  # fmt: skip
    # evaluate
    (
        "evaluate-empty-cell",
        ["evaluate", "psnr", "--csv", "{d}/ev_empty.csv", "--no-cache", "--no-progress"],
        "row 3: the score cell is empty",
    ),  # fmt: skip
    (
        "evaluate-repeated-pair",
        ["evaluate", "psnr", "--csv", "{d}/ev_dupes.csv", "--no-cache", "--no-progress"],
        "rows 2, 4 rate the same pair (a.png, b.png)",
    ),  # fmt: skip
    (
        "evaluate-moved-dataset",
        [
            "evaluate",
            "psnr",
            "--dataset",
            "live",
            "--data-root",
            "{d}/data",
            "--no-cache",
            "--no-progress",
        ],
        "moved-live, which no longer exists (moved or deleted?); the link",
    ),  # fmt: skip
    # csf, experiment, parser
    ("csf-data-root", ["csf", "--data-root", "{d}/nothing"], "--data-root"),
    (
        "claim1-data-root",
        [
            "experiment",
            "claim1",
            "--data-root",
            "{d}/nothing",
            "--live-only",
            "--out",
            "{d}/claim1",
            "--doc",
            "",
        ],
        "--data-root",
    ),  # fmt: skip
    ("no-command", [], "required"),
    ("unknown-command", ["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("argv, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_leaves_nothing(
    argv, fragment, files, tmp_path, monkeypatch, capsys
):
    before = _snapshot(files)
    monkeypatch.chdir(tmp_path)  # a default --out would land here
    argv = [a.replace("{d}", str(files)) for a in argv]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "error" in lines[0] and fragment in lines[0], lines[0]
    assert _snapshot(files) == before
    assert list(tmp_path.iterdir()) == []


def test_the_table_is_large_enough():
    assert len(CASES) >= 45
    assert len({c[0] for c in CASES}) == len(CASES)


def test_a_bug_still_shows_its_traceback(monkeypatch, capsys):
    import hvsprobe.cli.app as cli

    def broken(_args):
        raise KeyError("an internal slip")

    monkeypatch.setitem(cli._COMMANDS, "metrics", broken)
    assert main(["metrics"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and "bug in hvsprobe" in err


def test_debug_shows_the_traceback_of_a_user_error(files, capsys):
    assert main(["--debug", "select", str(files / "nothing")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "does not exist" in err.splitlines()[-1]
    assert main(["select", str(files / "nothing"), "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_a_read_only_file_system_is_found_before_any_work(files, tmp_path, monkeypatch, capsys):
    import errno
    import tempfile

    def read_only(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert main([*AN, *TINY, "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot write in" in err and "read-only file system" in err
    assert list(tmp_path.iterdir()) == []


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - we want the traceback attached
        return caught


@pytest.mark.parametrize(
    "exc, fragment",
    [
        (OSError(28, "No space left on device", "out/x.json"), "out/x.json: no space left"),
        (OSError(30, "Read-only file system", "/ro"), "/ro: read-only file system; choose"),
        (OSError(36, "File name too long", "a" * 10), "file name too long; choose a shorter"),
        (IsADirectoryError(21, "Is a directory", "d"), "d: is a directory; give a file"),
        (PermissionError(13, "Permission denied", "p"), "p: permission denied; choose"),
        (__import__("pickle").UnpicklingError("bad opcode"), "cannot read the pickle"),
        (json.JSONDecodeError("x.json is not valid JSON (Expecting value)", "", 0), "x.json"),
        (MemoryError(), "out of memory"),
        (EOFError("Ran out of input"), "Ran out of input"),
        (NotImplementedError("fp8 is not provided"), "fp8"),
    ],
)
def test_user_errors_are_one_line(exc, fragment):
    from hvsprobe.errors import describe_user_error

    line = describe_user_error(_raised(exc))
    assert line is not None and "\n" not in line and fragment in line, line


@pytest.mark.parametrize(
    "exc", [KeyError("x"), TypeError("bad"), AttributeError("a"), RuntimeError("r")]
)
def test_unexpected_errors_are_bugs(exc):
    from hvsprobe.errors import describe_user_error

    assert describe_user_error(_raised(exc)) is None
