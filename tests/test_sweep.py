"""``hvsprobe sweep``: in-process and on a local Ray cluster alike, resumable, with a leaderboard."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hvsprobe.cli import main
from hvsprobe.report.compare import leaderboard, load_network
from hvsprobe.results_folder import verify_checksums
from hvsprobe.sweep import read_sweep, run_sweep
from test_report_browser import CHROMIUM, _check_in_harness  # noqa: I001  (tests/ on sys.path)

DATA = Path(__file__).parent / "data"
SRC = Path(__file__).parent.parent / "src"
ANALYSIS = """[analysis]
size = 32
ppd = 16
n_frequencies = 3
n_orientations = 4
n_phases = 2
response = "{response}"
"""
THREE = """
[[model]]
model = "alexnet"
weights = "random:0"
layers = ["relu1", "relu2"]

[[model]]
model = "resnet_tiny.py:build"
layers = "all"

[[model]]
model = "vit_tiny.py:build"
layers = "all"
"""
#: the only entries that differ between two runs of one analysis: wall-clock times
TIMING_KEYS = ("timings", "probe_run")


def _sweep_file(folder: Path, models: str, response: str = "whole_map") -> Path:
    for name in ("resnet_tiny.py", "vit_tiny.py", "sweep_slow.py"):
        (folder / name).write_text((DATA / name).read_text())
    path = folder / "models.toml"
    path.write_text(ANALYSIS.format(response=response) + models)
    return path


def _contents(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (timings removed from summary.json, nothing else).

    ``checksums.json`` is compared without summary.json's hash (it hashes the timings); each
    folder's checksums are verified against its files first, so the comparison still covers
    them.
    """
    files = {}
    for p in sorted(out.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if p.name == "checksums.json":
                assert verify_checksums(p.parent)
                d = json.loads(data)
                d["files"].pop("summary.json", None)
                data = json.dumps(d, sort_keys=True).encode()
            if p.name == "summary.json":
                d = json.loads(data)
                for k in TIMING_KEYS:
                    d.pop(k, None)
                data = json.dumps(d, sort_keys=True).encode()
            files[str(p.relative_to(out))] = data
    return files


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """THREE run in-process on one thread, as each Ray task runs (OMP_NUM_THREADS=1 there)."""
    folder = tmp_path_factory.mktemp("sweep")
    spec = _sweep_file(folder, THREE)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        results = run_sweep(spec, folder / "local")
    finally:
        torch.set_num_threads(before)
    assert [r["status"] for r in results] == ["done"] * 3
    return spec, folder / "local"


def test_sweep_in_process_and_on_a_local_ray_cluster_agree(swept, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is in the test extra: pip install -e .[test]")
    spec, local = swept
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {
        "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}})  # fmt: skip
    try:
        remote = run_sweep(spec, tmp_path / "ray", ray_address="local")
    finally:
        ray.shutdown()
    assert [r["status"] for r in remote] == ["done"] * 3
    a, b = _contents(local), _contents(tmp_path / "ray")
    assert sorted(a) == sorted(b)
    assert "leaderboard.html" in a and "figures/leaderboard.png" in a
    different = [k for k in a if a[k] != b[k]]
    assert different == [], different
    # the ViT's results: one channel per embedding dimension, its tokens recorded
    vit = json.loads(a["vit_tiny.build-default/tuning.json"])["config"]
    assert vit["layers"] == ["blocks.0", "blocks.1"]
    assert vit["token_layers"]["blocks.0"] == {"extra_tokens_dropped": 1}


def test_leaderboard_numbers_follow_from_the_scores(swept):
    _spec, out = swept
    folders = [
        out / n for n in ("alexnet-random0", "resnet_tiny.build-default", "vit_tiny.build-default")
    ]
    rows = {r["network"]: r for r in leaderboard([load_network(f) for f in folders], n_boot=200)}
    row = rows["resnet_tiny.build (custom)"]
    with open(out / "resnet_tiny.build-default" / "scores.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    medians, shares = {}, {}
    for layer in ("stem", "layer1", "layer2"):
        mine = [r for r in table if r["layer"] == layer]
        ok = [r for r in mine if r["selectable"] == "1" and r["dead"] == "0"]
        products = [float(r["mu1"] or "nan") * float(r["mu2"] or "nan") for r in ok]
        medians[layer] = statistics.median(p for p in products if math.isfinite(p))
        shares[layer] = len(ok) / len(mine)
    assert [x["layer"] for x in row["layers"]] == ["stem", "layer1", "layer2"]
    assert [x["depth"] for x in row["layers"]] == [1 / 3, 2 / 3, 1.0]  # 0 is the input
    for x in row["layers"]:
        assert x["median"][0] == pytest.approx(medians[x["layer"]], rel=1e-6)
        assert x["share"][0] == pytest.approx(shares[x["layer"]])
        assert x["median"][1] <= x["median"][0] <= x["median"][2]
    assert row["best_layer"] == max(medians, key=medians.get)
    assert rows["alexnet (random:0)"]["control"] and not row["control"]


def test_a_killed_sweep_finishes_only_what_was_missing(tmp_path):
    models = """
[[model]]
model = "sweep_slow.py:build"
name = "fast-a"

[[model]]
model = "sweep_slow.py:build"
name = "slow-b"
model_args = { delay = 0.3 }

[[model]]
model = "sweep_slow.py:build"
name = "fast-c"
"""
    spec = _sweep_file(tmp_path, models)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "hvsprobe.cli", "sweep", str(spec), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / ".slow-b.hvsprobe-run").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert (out / "fast-a" / "summary.json").is_file()
    assert not (out / "slow-b").exists() and not (out / "fast-c").exists()
    first = (out / "fast-a" / "tuning.npz").stat().st_mtime_ns
    results = run_sweep(spec, out)
    assert [r["status"] for r in results] == ["skipped", "done", "done"]
    assert (out / "fast-a" / "tuning.npz").stat().st_mtime_ns == first
    assert [r["status"] for r in run_sweep(spec, out)] == ["skipped"] * 3


def test_a_failing_model_is_reported_and_the_others_go_on(tmp_path, capsys):
    models = THREE.split("[[model]]")[1] + '\n[[model]]\nmodel = "missing.py:build"\n'
    spec = _sweep_file(tmp_path, "[[model]]" + models)
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "alexnet-random0                  done" in captured.out
    assert "1 of 2 models failed: missing.build-default" in captured.err
    assert (tmp_path / "out" / "alexnet-random0" / "summary.json").is_file()
    assert (tmp_path / "out" / "leaderboard.html").is_file()


def test_sweep_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[model]]\nmodel = "alexnet"\nlayer = ["relu1"]\n')
    with pytest.raises(ValueError, match="takes only"):
        read_sweep(bad)
    bad.write_text("[analysis]\nsize = 32\n")
    with pytest.raises(ValueError, match="no \\[\\[model\\]\\]"):
        read_sweep(bad)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_leaderboard_opens_in_chromium_with_every_file_present(swept, tmp_path):
    page = swept[1] / "leaderboard.html"
    res, run = _check_in_harness(page, tmp_path / "profile")
    assert res["images"] == 1 and res["broken"] == []
    assert res["links"] >= 3 and res["missing"] == [] and res["anchors"] == []
    assert res["width"] <= 1280
    assert [line for line in run.stderr.splitlines() if "CONSOLE" in line] == []


def test_the_sweep_example_of_docs_models_md(tmp_path, capsys):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    body = doc.split("\n## Many models\n", 1)[1].split("\n## ", 1)[0]
    toml = re.findall(r"```toml\n(.*?)```", body, flags=re.S)[0]
    command = re.findall(r"```bash\n(.*?)```", body, flags=re.S)[0].splitlines()[0]
    (tmp_path / "vit_tiny.py").write_text((DATA / "vit_tiny.py").read_text())
    (tmp_path / "models.toml").write_text(toml)
    argv = shlex.split(command)[1:]
    argv[argv.index("models.toml")] = str(tmp_path / "models.toml")
    argv[argv.index("--out") + 1] = str(tmp_path / "sweep")
    assert main(argv) == 0
    names = ["alexnet-random0", "alexnet-control-seed1", "vit_tiny.build-default"]
    assert all((tmp_path / "sweep" / n / "summary.json").is_file() for n in names)
    rows = leaderboard([load_network(tmp_path / "sweep" / n) for n in names], n_boot=100)
    # no trained AlexNet here: the two random-weight controls follow the trained model
    assert [r["control"] for r in rows] == [False, True, True]
    assert rows[0]["network"].startswith("vit_tiny") and rows[0]["best_layer"] in (
        "blocks.0",
        "blocks.1",
    )
