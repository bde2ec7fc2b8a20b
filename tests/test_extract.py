"""Streaming, resumable, parallel per-channel distances (hvsprobe.evaluate.extract)."""

from __future__ import annotations

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


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{TESTS}", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# kill -9 mid-extraction, --workers 2 and a local Ray cluster are checked end to end, caches and
# pages, in tests/test_claim1_datasets.py


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
