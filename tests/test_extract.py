"""Streaming, resumable, parallel per-channel distances (hvsprobe.evaluate.extract)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from claim1_fixtures import write_kadid10k
from hvsprobe.evaluate.extract import ExtractionSpec, extract_channel_distances, plan_chunks
from hvsprobe.evaluate.iqa import read_kadid10k

SPEC = ExtractionSpec("alexnet", "random:0", ("relu1", "relu3", "relu5"), batch_size=2)
TESTS = Path(__file__).parent
SRC = TESTS.parent / "src"


def _pairs(root: Path, n_refs: int = 2, levels: int = 3) -> list[tuple[str, str]]:
    ds = read_kadid10k(write_kadid10k(root, n_refs=n_refs, levels=levels))
    return [(str(p.ref_path), str(p.dist_path)) for p in ds.pairs]


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_plan_groups_rows_by_reference_and_cuts_chunks() -> None:
    chunks = plan_chunks(["a", "b", "a", "b", "a"], chunk_rows=2)
    assert chunks == [[0, 2], [4, 1], [3]]
    assert sorted(i for c in chunks for i in c) == list(range(5))
    with pytest.raises(ValueError):
        plan_chunks(["a"], chunk_rows=0)


def test_chunks_equal_the_per_pair_decomposition(tmp_path: Path) -> None:
    from hvsprobe.backbones import get_backbone
    from hvsprobe.image_io import load_image
    from hvsprobe.metrics.decompose import channel_distances

    pairs = _pairs(tmp_path / "k", n_refs=2, levels=2)
    dist = extract_channel_distances(SPEC, pairs, tmp_path / "cache", chunk_rows=3, progress=False)
    assert len(dist.files) == 3 and all(f.is_file() for f in dist.files)
    bb = get_backbone("alexnet", "random:0")
    w = np.random.default_rng(0).random((dist.n_channels, 2))
    got = dist.combine(w)
    for i, (a, b) in enumerate(pairs):  # independent path: one pair at a time, float32 maps
        want = channel_distances(bb, load_image(a), load_image(b), list(SPEC.layers))
        row = np.concatenate([want[n][0] for n in SPEC.layers])
        # float32 features; the combination sums ~800 positive terms in float64
        np.testing.assert_allclose(got[i], row @ w, rtol=1e-4)


def test_cache_is_keyed_by_content_not_path(tmp_path: Path) -> None:
    import shutil

    pairs = _pairs(tmp_path / "a")
    first = extract_channel_distances(SPEC, pairs, tmp_path / "cache", chunk_rows=4, progress=False)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = [(a.replace("/a/", "/b/"), b.replace("/a/", "/b/")) for a, b in pairs]
    calls: list[int] = []
    again = extract_channel_distances(
        SPEC, moved, tmp_path / "cache", chunk_rows=4, progress=False, after_chunk=calls.append
    )
    assert calls == [] and again.files == first.files  # nothing recomputed
    other = ExtractionSpec("alexnet", "random:1", SPEC.layers, batch_size=2)
    extract_channel_distances(
        other, moved, tmp_path / "cache", chunk_rows=4, progress=False, after_chunk=calls.append
    )
    assert len(calls) == len(first.files)  # other weights: other key


_KILL = """
import os, signal, sys
from hvsprobe.evaluate.extract import ExtractionSpec, extract_channel_distances
import json
spec = ExtractionSpec("alexnet", "random:0", ("relu1", "relu3", "relu5"), batch_size=2)
pairs = [tuple(p) for p in json.load(open(sys.argv[1]))]
kill_after = int(sys.argv[3])

def hook(k):
    if kill_after >= 0 and k == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)

extract_channel_distances(spec, pairs, sys.argv[2], chunk_rows=2, progress=False, after_chunk=hook)
"""


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_kill_9_mid_extraction_then_rerun_gives_identical_files(tmp_path: Path) -> None:
    import json

    pairs = _pairs(tmp_path / "k", n_refs=2, levels=3)  # 12 rows: 6 chunks of 2
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    killed = _run(_KILL, str(tmp_path / "pairs.json"), str(tmp_path / "killed"), "2")
    assert killed.returncode == -9, killed.stderr
    left = [p for p in (tmp_path / "killed").rglob("*.npy")]
    assert len(left) == 3  # chunks 0, 1, 2 were written before the kill
    assert not list((tmp_path / "killed").rglob("*.tmp"))
    resumed = _run(_KILL, str(tmp_path / "pairs.json"), str(tmp_path / "killed"), "-1")
    assert resumed.returncode == 0, resumed.stderr
    whole = _run(_KILL, str(tmp_path / "pairs.json"), str(tmp_path / "whole"), "-1")
    assert whole.returncode == 0, whole.stderr
    a, b = _digests(tmp_path / "killed"), _digests(tmp_path / "whole")
    assert len(a) == 6 and a == b


def test_two_workers_and_ray_write_the_same_bytes_as_one_process(tmp_path: Path) -> None:
    pairs = _pairs(tmp_path / "k", n_refs=2, levels=2)
    extract_channel_distances(SPEC, pairs, tmp_path / "one", chunk_rows=3, progress=False)
    extract_channel_distances(
        SPEC, pairs, tmp_path / "two", chunk_rows=3, workers=2, progress=False
    )
    assert _digests(tmp_path / "one") == _digests(tmp_path / "two")


def test_a_local_two_cpu_ray_cluster_writes_the_same_bytes(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    pairs = _pairs(tmp_path / "k", n_refs=2, levels=2)
    extract_channel_distances(SPEC, pairs, tmp_path / "one", chunk_rows=3, progress=False)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}"}},
    )
    try:
        extract_channel_distances(
            SPEC, pairs, tmp_path / "ray", chunk_rows=3, ray_address="local", progress=False
        )
    finally:
        ray.shutdown()
    assert _digests(tmp_path / "one") == _digests(tmp_path / "ray")


_PEAK = """
import resource, sys, json
from hvsprobe.evaluate.extract import ExtractionSpec, extract_channel_distances
from hvsprobe.evaluate.iqa import read_kadid10k
spec = ExtractionSpec("alexnet", "random:0", ("relu1", "relu3", "relu5"), batch_size=2)
ds = read_kadid10k(sys.argv[1])
pairs = [(str(p.ref_path), str(p.dist_path)) for p in ds.pairs]
d = extract_channel_distances(spec, pairs, sys.argv[2], chunk_rows=4, progress=False)
import numpy as np
d.combine(np.ones((d.n_channels, 3)))
print(json.dumps({"rows": len(pairs), "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def test_peak_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    import json

    peaks = {}
    for refs in (1, 8):  # 6 and 48 rows of 48 x 40 images
        root = write_kadid10k(tmp_path / f"k{refs}", n_refs=refs, levels=3)
        r = _run(_PEAK, str(root), str(tmp_path / f"c{refs}"))
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout.strip().splitlines()[-1])
        peaks[out["rows"]] = out["maxrss_kb"]
    small, large = peaks[6], peaks[48]
    # 8x the rows: a whole-data-set feature tensor would add >= 8 x one chunk's maps; the
    # bound allows 5 % of noise in the interpreter's peak (torch + weights ~ 300 MB)
    assert large <= small * 1.05, peaks
