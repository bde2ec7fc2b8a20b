"""Fault injection: kill -9, Ctrl-C, SIGTERM, a corrupt checkpoint, a full disk, two writers.

Whatever happens, the results folder is either the previous complete one or the new complete
one, and a rerun of the same command gives files byte-identical to an uninterrupted run.

The subprocess runs ``hvsprobe analyze`` on a tiny grid with a pause after every probe
batch (and optionally before scoring), printing ``BATCH i`` / ``SCORING`` so the test can
strike at a known point.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hvsprobe
from hvsprobe.checkpoint import CHECKPOINT_NAME, ProbeCheckpoint
from hvsprobe.cli import main
from hvsprobe.results_folder import check_results_folder, work_folder

ARGS = [
    "analyze", "vgg16", "--weights", "random:0", "--layers", "relu1_1", "relu2_1",
    "--size", "32", "--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "2",
    "--batch-size", "4", "--checkpoint-every", "0", "--no-progress",
]  # fmt: skip
#: 32 stimuli in 8 batches of 4
RESULT_FILES = ("tuning.npz", "tuning.json", "scores.csv", "scores.json", "selection.json")

SCRIPT = r"""
import sys, time
import hvsprobe.analyze as an
from hvsprobe.checkpoint import ProbeCheckpoint
from hvsprobe.cli import main

delay, score_wait = float(sys.argv[1]), float(sys.argv[2])
after_batch = ProbeCheckpoint.after_batch
batches = {"n": 0}

def slow_after_batch(self, done):
    after_batch(self, done)
    print(f"BATCH {batches['n']} done={done}", flush=True)
    batches["n"] += 1
    time.sleep(delay)

compute_scores = an.compute_scores

def slow_scores(tuning, *a, **k):
    if tuning.layers != ["check"]:  # not the dry run of check_analysis
        print("SCORING", flush=True)
        time.sleep(score_wait)
    return compute_scores(tuning, *a, **k)

ProbeCheckpoint.after_batch = slow_after_batch
an.compute_scores = slow_scores
sys.exit(main(sys.argv[3:]))
"""


def _start(out: Path, delay: float = 0.0, score_wait: float = 0.0) -> subprocess.Popen:
    env = dict(os.environ)
    src = str(Path(hvsprobe.__file__).resolve().parents[1])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(delay), str(score_wait), *ARGS, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen, marker: str) -> str:
    """Read the child's stdout until a line starts with ``marker``."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(marker):
            return line
    proc.wait(timeout=30)
    raise AssertionError(
        f"child ended (rc {proc.returncode}) before {marker!r}: {proc.stderr.read()}"
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def _same_files(a: Path, b: Path) -> None:
    for name in RESULT_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run."""
    out = tmp_path_factory.mktemp("ref") / "res"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_kill_9_mid_probe_and_during_scoring_then_rerun_is_byte_identical(
    reference, tmp_path, capsys
):
    """Also: while one process writes a folder, a second one is refused."""
    out = tmp_path / "res"
    work = work_folder(out)
    proc = _start(out, delay=0.3)
    try:
        _wait_for(proc, "BATCH 2")  # 12 of 32 stimuli done and checkpointed
        assert main([*ARGS, "--out", str(out)]) == 2  # a second writer, meanwhile
        err = capsys.readouterr().err
        assert "another hvsprobe process is writing" in err and "Traceback" not in err
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert not out.exists()  # nothing half-written where the results go
    assert (work / CHECKPOINT_NAME).is_file()
    proc = _start(out, score_wait=60.0)  # the dead one's lock is gone: resumes, dies scoring
    try:
        _wait_for(proc, "SCORING")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert not out.exists()
    assert (work / "new" / "tuning.json").is_file() and not (work / CHECKPOINT_NAME).exists()
    assert main([*ARGS, "--out", str(out)]) == 0
    assert "(cached)" in capsys.readouterr().out  # the finished probe was reused
    _same_files(reference, out)
    assert not work.exists()
    check_results_folder(out)


def _signal_at_batch(monkeypatch, signum: int, at: int) -> list[int]:
    """Send ``signum`` to this very process after batch ``at`` (a real signal, in-process)."""
    real = ProbeCheckpoint.after_batch
    seen: list[int] = []

    def after_batch(self, done):
        real(self, done)
        seen.append(done)
        if len(seen) == at + 1:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(ProbeCheckpoint, "after_batch", after_batch)
    return seen


@pytest.mark.parametrize("signum, status, name", [(signal.SIGINT, 130, "Ctrl-C (SIGINT)"),
                                                  (signal.SIGTERM, 143, "SIGTERM")])  # fmt: skip
def test_a_signal_saves_a_checkpoint_and_a_rerun_resumes(
    signum, status, name, reference, tmp_path, monkeypatch, capsys, request
):
    if signum == signal.SIGINT and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # tests started in the background by a shell (`cmd &`) inherit an ignored SIGINT,
        # which Python keeps: give this process the handler an interactive one has
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))
    out = tmp_path / "res"
    args = list(ARGS)
    args[args.index("--checkpoint-every") + 1] = "3600"  # no timed checkpoint: only the signal's
    seen = _signal_at_batch(monkeypatch, signum, at=2)
    assert main([*args, "--out", str(out)]) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert f"stopped by {name}; probe checkpoint saved (" in err[-1]
    assert "rerun the same command to resume" in err[-1] and "Traceback" not in "".join(err)
    with np.load(work_folder(out) / CHECKPOINT_NAME) as ck:
        assert int(ck["done"]) == seen[-1] > 0  # saved when the signal came
    assert not out.exists()
    monkeypatch.undo()
    assert main([*args, "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    run = summary["probe_run"]
    assert run["resumes"] == 1 and run["start_stimulus"] == seen[-1]
    assert run["probe_s_total"] >= run["probe_s_this_run"] > 0
    _same_files(reference, out)


def test_a_corrupt_checkpoint_is_set_aside_and_the_probe_restarts(reference, tmp_path, capsys):
    out = tmp_path / "res"
    work = work_folder(out)
    work.mkdir(parents=True)
    (work / CHECKPOINT_NAME).write_bytes(b"PK\x03\x04 this is not a zip archive")
    assert main([*ARGS, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "is corrupt" in err and "set aside as probe.partial.corrupt-" in err
    assert len(list(work.glob("probe.partial.corrupt-*.npz"))) == 1
    _same_files(reference, out)


def test_a_checkpoint_with_a_wrong_checksum_is_not_resumed(tmp_path):
    sums = {"relu1": np.arange(8, dtype=np.float32).reshape(2, 4)}
    ck = ProbeCheckpoint(tmp_path, "key", sums, 4, every=0.0)
    ck.after_batch(2)
    with np.load(tmp_path / CHECKPOINT_NAME) as data:
        entries = {k: data[k] for k in data.files}
    entries["layer/relu1"] = entries["layer/relu1"] + 1.0  # silent damage, checksum kept
    with open(tmp_path / CHECKPOINT_NAME, "wb") as fh:
        np.savez(fh, **entries)
    notes: list[str] = []
    fresh = {"relu1": np.zeros((2, 4), np.float32)}
    again = ProbeCheckpoint(tmp_path, "key", fresh, 4, every=0.0, log=notes.append)
    assert again.restore() == 0
    assert "checksum mismatch" in notes[0] and not (tmp_path / CHECKPOINT_NAME).exists()
    assert not fresh["relu1"].any()


def test_a_full_disk_leaves_the_previous_results_and_a_rerun_reuses_the_probe(
    reference, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "res"
    old_args = list(ARGS)
    old_args[old_args.index("--n-orientations") + 1] = "3"  # an earlier, different run
    assert main([*old_args, "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    import hvsprobe.analyze as an

    real = an.write_json_atomic

    def full(path, data):
        if Path(path).name == "summary.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(an, "write_json_atomic", full)
    assert main([*ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no space left on device; free some space" in err[-1] and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # old results untouched
    check_results_folder(out)
    monkeypatch.setattr(an, "write_json_atomic", real)
    assert main([*ARGS, "--out", str(out)]) == 0
    assert "(cached)" in capsys.readouterr().out
    _same_files(reference, out)
    check_results_folder(out)


def test_interrupted_swap_is_completed_by_the_next_run(reference, tmp_path, capsys):
    """A crash between the two renames of the swap: the next run finishes it."""
    out = tmp_path / "res"
    work = work_folder(out)
    (work / "new").mkdir(parents=True)
    for p in reference.iterdir():
        (work / "new" / p.name).write_bytes(p.read_bytes())
    (work / "old").mkdir()  # the previous folder had been moved aside, then the crash
    assert main([*ARGS, "--out", str(out)]) == 0
    assert "completed the interrupted replacement" in capsys.readouterr().err
    _same_files(reference, out)
    assert not work.exists()


def test_a_failure_after_the_checks_leaves_no_new_folders(tmp_path, monkeypatch, capsys):
    import hvsprobe.analyze as an

    def broken(*_a, **_k):
        raise OSError(errno.EIO, "Input/output error", "somewhere")

    monkeypatch.setattr(an, "cached_probe", broken)
    out = tmp_path / "a" / "b" / "res"
    assert main([*ARGS, "--out", str(out)]) == 2
    assert "input/output error; check the disk" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


NAN_MODEL = """
import torch
from torch import nn


class Gate(nn.Module):
    def forward(self, x):
        bright = x[:, 0, 0, 0] > 0.5  # NaN where the top-left red value is above 0.5
        return torch.where(bright[:, None, None, None], torch.nan, x)


def build():
    torch.manual_seed(0)
    return nn.Sequential(Gate(), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
"""


def test_nan_responses_stop_the_run_naming_the_layer_and_the_stimuli(tmp_path, capsys):
    from hvsprobe.stimuli import StimulusGrid

    (tmp_path / "nanmodel.py").write_text(NAN_MODEL)
    out = tmp_path / "res"
    argv = [
        "analyze", "--model", f"{tmp_path}/nanmodel.py:build", "--layers", "2",
        "--input-norm", "none", "--response", "whole_map", "--size", "32",
        "--n-frequencies", "4", "--n-orientations", "4", "--n-phases", "2", "--no-progress",
        "--checkpoint-every", "0", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    # the count, independently: the same grid rendered here, the gate's rule applied to it
    grid = StimulusGrid.default(ppd=60.0, size=32, n_frequencies=4, n_orientations=4, n_phases=2)
    images = grid.render(np.arange(len(grid)))
    expected = int((images[:, 0, 0, 0] > 0.5).sum())
    assert 0 < expected < len(grid)
    assert "Traceback" not in "\n".join(err)
    assert f"layer '2' gave NaN or infinite responses to {expected} of {len(grid)}" in err[-1]
    assert not out.exists() and not work_folder(out).exists()  # nothing half written


def test_an_allocation_failure_is_a_resource_error_and_a_rerun_completes(
    reference, tmp_path, monkeypatch, capsys
):
    from hvsprobe.backbones import Backbone

    real = Backbone.iter_layers
    calls = {"n": 0}

    def failing(self, *a, **k):
        if "reduce" in k:  # a probe batch (the dry run and the torus check pass no reduce)
            calls["n"] += 1
        if calls["n"] == 3 and "reduce" in k:  # the third probe batch
            raise RuntimeError(
                "[enforce fail at alloc_cpu.cpp:117] . DefaultCPUAllocator: not enough memory: "
                "you tried to allocate 80000000000 bytes."
            )
        return real(self, *a, **k)

    monkeypatch.setattr(Backbone, "iter_layers", failing)
    out = tmp_path / "res"
    assert main([*ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert calls["n"] >= 3 and "Traceback" not in "\n".join(err)
    assert "out of memory" in err[-1] and "--batch-size" in err[-1], err[-1]
    assert not out.exists()
    monkeypatch.setattr(Backbone, "iter_layers", real)
    assert main([*ARGS, "--out", str(out)]) == 0  # what was kept does not break the rerun
    _same_files(reference, out)
    check_results_folder(out)


FORWARD = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x){edit})


def build():
    return Net()
"""


def test_an_edited_forward_is_probed_again(tmp_path, capsys):
    model = tmp_path / "net.py"
    out = tmp_path / "res"
    argv = [
        "analyze", "--model", f"{model}:build", "--size", "32", "--n-frequencies", "4",
        "--n-orientations", "4", "--n-phases", "1", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    model.write_text(FORWARD.format(edit=""))
    assert main(argv) == 0
    first = _responses(out)
    capsys.readouterr()
    model.write_text(FORWARD.format(edit=" * 2.0 - 0.1"))  # same weights, another forward()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "reused the tuning" not in err
    edited = _responses(out)
    fresh = tmp_path / "fresh"  # the edited model probed into a new folder: nothing to reuse
    assert main([*argv[:-1], str(fresh)]) == 0
    np.testing.assert_array_equal(edited, _responses(fresh))
    assert not np.allclose(edited, first)
    assert main(argv) == 0  # unchanged now: the tuning is reused
    assert "reused the tuning" in capsys.readouterr().err


def _responses(folder: Path) -> np.ndarray:
    from hvsprobe.tuning import Tuning

    tuning = Tuning.load(folder)
    return np.stack([tuning.responses[name] for name in tuning.layers])
