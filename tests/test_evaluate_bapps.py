"""Tests for hvsprobe.evaluate.bapps: readers, 2AFC score, JND mAP."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hvsprobe.evaluate.bapps import (
    average_precision,
    evaluate_2afc,
    evaluate_jnd,
    jnd_map,
    read_2afc,
    read_jnd,
    score_2afc,
)
from hvsprobe.image_io import load_image


def _data_root() -> Path:
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


EXAMPLE = _data_root() / "lpips_example"


class MSE:
    name = "mse"
    higher_is_better = False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((x - y) ** 2).flatten(1).mean(1)


class NegMSE:
    """The same ordering as MSE, as a similarity."""

    name = "neg_mse"
    higher_is_better = True

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -((x - y) ** 2).flatten(1).mean(1)


def _grey(path: Path, value: int, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


def _frac(path: Path, value: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array([value], dtype=np.float32))


# ------------------------------------------------------------------------- hand answers


def test_score_2afc_by_hand() -> None:
    # p0 closer & nobody prefers p1 -> 1; p0 closer & everybody prefers p1 -> 0;
    # p1 closer & a quarter prefer p1 -> 0.25; tie -> 0.5
    s = score_2afc([0.1, 0.1, 0.3, 0.2], [0.2, 0.2, 0.1, 0.2], [0.0, 1.0, 0.25, 0.9])
    np.testing.assert_allclose(s, [1.0, 0.0, 0.25, 0.5])
    with pytest.raises(ValueError, match="equal lengths"):
        score_2afc([0.1], [0.2, 0.3], [0.5])


def test_jnd_map_by_hand() -> None:
    # sorted by distance: same = 1, 0, 1 -> precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1;
    # envelope 1, 2/3, 2/3 -> AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    assert jnd_map([0.3, 0.1, 0.2], [1.0, 1.0, 0.0]) == pytest.approx(5 / 6)
    assert jnd_map([0.1, 0.2, 0.3, 0.4], [1, 1, 0, 0]) == pytest.approx(1.0)
    # worst order: the two "same" pairs come last -> precisions 1/3 and 2/4 at recall 1/2, 1;
    # the envelope lifts 1/3 to 1/2 -> AP = 1/2
    assert jnd_map([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]) == pytest.approx(0.5)
    # soft labels: TP = 0.5, 0.5, 1.5 / total 1.5; precision 0.5, 0.25, 0.5
    # envelope 0.5, 0.5, 0.5 -> AP = 0.5
    assert jnd_map([1.0, 2.0, 3.0], [0.5, 0.0, 1.0]) == pytest.approx(0.5)
    assert np.isnan(jnd_map([1.0, 2.0], [0.0, 0.0]))


def test_average_precision_envelope() -> None:
    assert average_precision(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    assert average_precision(np.array([0.5, 0.5, 1.0]), np.array([0.2, 0.1, 0.6])) == pytest.approx(
        0.6
    )


# ---------------------------------------------------------------------------- fixtures


def _make_2afc(root: Path) -> None:
    # ref grey 128; distances by MSE: triplet 0: p0 at 10, p1 at 40 -> d0 < d1, judge 0 -> 1
    # triplet 1: p0 at 10, p1 at 40, judge 1 -> 0; triplet 2: p0 at 60, p1 at 5, judge .25 -> .25
    spec = [(10, 40, 0.0), (10, 40, 1.0), (60, 5, 0.25)]
    for i, (a, b, j) in enumerate(spec):
        sub = root / "2afc" / "val" / ("traditional" if i < 2 else "cnn")
        _grey(sub / "ref" / f"{i:06d}.png", 128)
        _grey(sub / "p0" / f"{i:06d}.png", 128 + a)
        _grey(sub / "p1" / f"{i:06d}.png", 128 - b)
        _frac(sub / "judge" / f"{i:06d}.npy", j)


def _make_jnd(root: Path) -> None:
    # distances 10, 20, 30 (grey offsets) with same = 1, 0, 1 -> mAP 5/6
    for i, (off, same) in enumerate([(30, 1.0), (10, 1.0), (20, 0.0)]):
        sub = root / "jnd" / "val" / "traditional"
        _grey(sub / "p0" / f"{i:06d}.png", 100)
        _grey(sub / "p1" / f"{i:06d}.png", 100 + off)
        _frac(sub / "same" / f"{i:06d}.npy", same)


def test_read_2afc_layout(tmp_path: Path) -> None:
    _make_2afc(tmp_path)
    trip = read_2afc(tmp_path)
    assert [t.subset for t in trip] == ["cnn", "traditional", "traditional"]
    assert [t.judge for t in trip] == [0.25, 0.0, 1.0]
    assert trip[0].ref.name == "000002.png"
    assert len(read_2afc(tmp_path, subsets=["traditional"])) == 2
    with pytest.raises(FileNotFoundError, match="available"):
        read_2afc(tmp_path, subsets=["superres"])
    with pytest.raises(FileNotFoundError, match="train"):
        read_2afc(tmp_path, split="train")
    (tmp_path / "2afc" / "val" / "cnn" / "judge" / "000002.npy").unlink()
    with pytest.raises(FileNotFoundError, match="judgement"):
        read_2afc(tmp_path)


def test_read_2afc_accepts_parent_with_dataset_folder(tmp_path: Path) -> None:
    _make_2afc(tmp_path / "dataset")
    assert len(read_2afc(tmp_path)) == 3


def test_bad_judge_value(tmp_path: Path) -> None:
    _make_2afc(tmp_path)
    _frac(tmp_path / "2afc" / "val" / "cnn" / "judge" / "000002.npy", 1.5)
    with pytest.raises(ValueError, match="outside"):
        read_2afc(tmp_path)


@pytest.mark.parametrize("metric", [MSE(), NegMSE()])
def test_evaluate_2afc_by_hand(tmp_path: Path, metric) -> None:
    _make_2afc(tmp_path)
    res = evaluate_2afc(metric, tmp_path, progress=False, batch_size=2)
    np.testing.assert_allclose(res.scores, [0.25, 1.0, 0.0])  # order: cnn, traditional x2
    assert res.mean_over_triplets == pytest.approx(1.25 / 3)
    assert res.per_subset["traditional"]["score"] == pytest.approx(0.5)
    assert res.per_subset["cnn"]["score"] == pytest.approx(0.25)
    assert res.mean_over_subsets == pytest.approx(0.375)
    # human ceiling p^2 + (1 - p)^2: 1, 1 and 0.625
    assert res.per_subset["traditional"]["human"] == pytest.approx(1.0)
    assert res.per_subset["cnn"]["human"] == pytest.approx(0.625)
    doc = json.loads(res.write_json(tmp_path / "r.json").read_text())
    assert doc["mean_over_triplets"] == pytest.approx(1.25 / 3)


@pytest.mark.parametrize("metric", [MSE(), NegMSE()])
def test_evaluate_jnd_by_hand(tmp_path: Path, metric) -> None:
    _make_jnd(tmp_path)
    assert len(read_jnd(tmp_path)) == 3
    res = evaluate_jnd(metric, tmp_path, progress=False)
    assert res.per_subset["traditional"]["map"] == pytest.approx(5 / 6)
    assert res.per_subset["traditional"]["n"] == 3
    assert res.mean_over_subsets == pytest.approx(5 / 6)


needs_example = pytest.mark.skipif(
    not (EXAMPLE / "ex_ref.png").is_file(), reason=f"LPIPS example not found under {EXAMPLE}"
)


@needs_example
def test_real_triplet_as_bapps_folder(tmp_path: Path) -> None:
    sub = tmp_path / "2afc" / "val" / "traditional"
    for name, src in (("ref", "ex_ref.png"), ("p0", "ex_p0.png"), ("p1", "ex_p1.png")):
        (sub / name).mkdir(parents=True)
        shutil.copy(EXAMPLE / src, sub / name / "000000.png")
    _frac(sub / "judge" / "000000.npy", 0.75)
    res = evaluate_2afc(MSE(), tmp_path, progress=False)
    ref, p0, p1 = (load_image(EXAMPLE / f"ex_{n}.png") for n in ("ref", "p0", "p1"))
    d0 = float(((ref - p0) ** 2).mean())
    d1 = float(((ref - p1) ** 2).mean())
    assert res.d0[0] == pytest.approx(d0, rel=1e-5) and res.d1[0] == pytest.approx(d1, rel=1e-5)
    expected = 0.25 if d0 < d1 else 0.75
    assert res.mean_over_triplets == pytest.approx(expected)
    assert res.triplets[0].ref.name == "000000.png"
