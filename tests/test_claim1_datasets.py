"""`hvsprobe experiment claim1 --datasets ...` end to end on tiny data sets in their real layouts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from claim1_fixtures import write_data_root, write_fake_scores
from hvsprobe.cli import main

TESTS = Path(__file__).parent
SRC = TESTS.parent / "src"
SETS = ["kadid10k", "tid2013", "csiq", "live", "bapps-2afc", "bapps-jnd"]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("claim1")
    data = write_data_root(base / "data")
    write_fake_scores(base / "results")
    return data, base / "results"


def _args(roots: tuple[Path, Path], out: Path, sets: list[str], *extra: str) -> list[str]:
    data, results = roots
    return [
        "experiment",
        "claim1",
        "--datasets",
        *sets,
        "--data-root",
        str(data),
        "--results-root",
        str(results),
        "--weights",
        "random:0",
        "--backbones",
        "alexnet",
        "--fractions",
        "0.25",
        "--n-random",
        "3",
        "--n-boot",
        "40",
        "--chunk-rows",
        "4",
        "--no-progress",
        "--out",
        str(out),
        "--workers",
        "1",
        *extra,
    ]


def _digests(out: Path) -> dict[str, str]:
    names = ["claim1.md", "claim1.csv", "claim1_comparisons.csv", "claim1_pooled.csv"]
    files = [out / n for n in names] + sorted((out / "distances").rglob("*.npy"))
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _kadid_as_csv(data: Path, path: Path) -> Path:
    """The KADID-10k fixture's rows as a generic CSV (absolute paths, MOS: higher is better)."""
    from hvsprobe.evaluate.iqa import read_kadid10k

    lines = ["ref,dist,score,higher_is_better,ref_id"]
    for p in read_kadid10k(data / "iqa" / "KADID-10k").pairs:
        lines.append(f"{p.ref_path},{p.dist_path},{p.score},true,{p.ref_id}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_every_data_set_end_to_end(roots: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    table = _kadid_as_csv(roots[0], tmp_path / "mine.csv")
    assert main(_args(roots, out, SETS, "--csv", str(table))) == 0
    page = (out / "claim1.md").read_text()
    for label in (
        "KADID-10k SRCC",
        "TID2013 SRCC",
        "CSIQ SRCC",
        "LIVE SRCC",
        "BAPPS 2AFC (val) 2AFC agreement",
        "BAPPS JND (val) mAP",
    ):
        assert f"**alexnet, {label}**" in page  # each data set's verdict line
    assert "### Pooled over the data sets" in page
    assert "castlecsf — point `--data-root`" in page  # absent sets named with how to add them
    record = json.loads((out / "claim1.json").read_text())
    pooled = {p["other"]: p for p in record["pooled"]}
    assert pooled["random subsets"]["verdict"] in (
        "supported",
        "contradicted",
        "not resolved by these data",
    )
    rows = {r["variant"]: r for r in record["rows"] if r["backbone"] == "alexnet"}
    _check_against_direct_computation(roots[0], rows["all channels"])
    for r in rows.values():  # the same pairs and scores read through the CSV reader
        assert r["csv_srcc"] == r["kadid10k_srcc"]
    assert "**alexnet, mine SRCC**" in page


def _check_against_direct_computation(data: Path, row: dict) -> None:
    """All-channel statistics recomputed pair by pair with the metric decomposition."""
    from hvsprobe.backbones import get_backbone
    from hvsprobe.evaluate.bapps import read_2afc, score_2afc
    from hvsprobe.evaluate.iqa import read_kadid10k
    from hvsprobe.experiments.claim1 import LPIPS_LAYERS
    from hvsprobe.image_io import load_image
    from hvsprobe.metrics.decompose import channel_distances

    bb = get_backbone("alexnet", "random:0")
    layers = LPIPS_LAYERS["alexnet"]

    def dist(a: Path, b: Path) -> float:
        d = channel_distances(bb, load_image(a), load_image(b), layers)
        return float(sum(d[n][0].sum() for n in layers))

    ds = read_kadid10k(data / "iqa" / "KADID-10k")
    d = [dist(p.ref_path, p.dist_path) for p in ds.pairs]
    srcc = stats.spearmanr([-v for v in d], [p.score for p in ds.pairs]).statistic
    assert row["kadid10k_srcc"] == pytest.approx(srcc, abs=1e-12)
    trip = read_2afc(data / "bapps")
    d0 = [dist(t.ref, t.p0) for t in trip]
    d1 = [dist(t.ref, t.p1) for t in trip]
    s = score_2afc(d0, d1, [t.judge for t in trip])
    subsets = np.array([t.subset for t in trip])
    want = np.mean([s[subsets == k].mean() for k in sorted(set(subsets))])
    assert row["bapps_2afc_2afc"] == pytest.approx(want, abs=1e-12)


def test_missing_data_set_is_one_line_with_the_command(
    roots: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    args = _args(roots, tmp_path / "out", ["kadid10k"])
    args[args.index("--data-root") + 1] = str(empty)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "hvsprobe data fetch kadid10k" in err[0]
    assert not (tmp_path / "out").exists()
    assert main(_args(roots, tmp_path / "out", ["nonsense"])) == 2


_KILLED = """
import os, signal, sys
import hvsprobe.evaluate.extract as ex
real = ex.extract_channel_distances
def killing(*a, **k):
    k["after_chunk"] = lambda c: os.kill(os.getpid(), signal.SIGKILL) if c == 1 else None
    return real(*a, **k)
ex.extract_channel_distances = killing
from hvsprobe.cli import main
sys.exit(main(sys.argv[1:]))
"""


SAME = ["kadid10k", "bapps-2afc"]


@pytest.fixture(scope="module")
def one_process(roots: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Digests of the page, tables and chunk files of an uninterrupted one-process run."""
    out = tmp_path_factory.mktemp("one") / "out"
    assert main(_args(roots, out, SAME)) == 0
    return _digests(out)


def test_killed_resumed_and_two_workers_give_the_same_bytes(
    roots: tuple[Path, Path], tmp_path: Path, one_process: dict
) -> None:
    sets, want = SAME, one_process
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_KILLED), *_args(roots, tmp_path / "k", sets)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    assert not (tmp_path / "k" / "claim1.md").exists()
    assert len(list((tmp_path / "k" / "distances").rglob("*.npy"))) == 2  # chunks 0 and 1
    assert not list((tmp_path / "k").rglob("*.tmp"))  # nothing half-written
    assert main(_args(roots, tmp_path / "k", sets)) == 0
    assert _digests(tmp_path / "k") == want
    assert main(_args(roots, tmp_path / "w2", sets, "--workers", "2")) == 0
    assert _digests(tmp_path / "w2") == want


def test_a_local_two_cpu_ray_cluster_gives_the_same_bytes(
    roots: tuple[Path, Path], tmp_path: Path, one_process: dict
) -> None:
    ray = pytest.importorskip("ray")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}"}},
    )
    try:
        assert main(_args(roots, tmp_path / "ray", SAME, "--ray", "local")) == 0
    finally:
        ray.shutdown()
    assert _digests(tmp_path / "ray") == one_process
