"""Tests for hvsprobe.evaluate.iqa: dataset readers, evaluation, sign convention, writers."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from hvsprobe.evaluate.cache import metric_cache_key
from hvsprobe.evaluate.iqa import (
    IQADataset,
    IQAPair,
    evaluate_iqa,
    load_iqa_dataset,
    read_csiq,
    read_csv_dataset,
    read_kadid10k,
    read_live,
    read_tid2013,
)


def _data_root() -> Path:
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


LIVE = _data_root() / "iqa" / "LIVE_subset"
needs_live = pytest.mark.skipif(
    not (LIVE / "labels.csv").is_file(), reason=f"LIVE subset not found under {LIVE}"
)


class MSE:
    """Toy distance: mean squared error."""

    name = "mse"
    higher_is_better = False

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return ((x - y) ** 2).flatten(1).mean(1)


class PSNR:
    """Toy similarity: PSNR (infinite for identical images)."""

    name = "psnr"
    higher_is_better = True

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -10 * torch.log10(((x - y) ** 2).flatten(1).mean(1))


class BlurToy:
    """Toy distance sensitive to lost detail: relative change of Laplacian energy."""

    name = "blur_toy"
    higher_is_better = False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        k = torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=x.dtype).view(1, 1, 3, 3)

        def hf(z: torch.Tensor) -> torch.Tensor:
            return F.conv2d(z.mean(1, keepdim=True), k).abs().flatten(1).mean(1)

        return (hf(x) - hf(y)).abs() / hf(x)


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path)
    return path


def _ref(seed: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 215, size=(size, size, 3)).astype(float)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


# ------------------------------------------------------------------------------- readers


def test_read_live_layout(tmp_path: Path) -> None:
    _save(tmp_path / "refimgs" / "a.png", _ref(0))
    _save(tmp_path / "refimgs" / "b.png", _ref(1))
    for name in ("img1", "img2", "img3"):
        _save(tmp_path / "jpeg" / f"{name}.png", _ref(2))
    _save(tmp_path / "wn" / "img1.png", _ref(3))
    _write_csv(
        tmp_path / "labels.csv",
        ["dis_img_path", "ref_img_path", "dis_type", "dmos", "live_id", "duplicate_group"],
        [
            ["jpeg/img1.png", "refimgs/a.png", "jpeg", 10.0, "jpeg/img1", "img1|img2"],
            ["jpeg/img2.png", "refimgs/a.png", "jpeg", 20.0, "jpeg/img2", "img1|img2"],
            ["jpeg/img3.png", "refimgs/b.png", "jpeg", 30.0, "jpeg/img3", ""],
            ["wn/img1.png", "refimgs/b.png", "wn", 40.0, "wn/img1", ""],
        ],
    )
    ds = read_live(tmp_path)
    assert len(ds) == 4 and not ds.higher_is_better and ds.score_name == "DMOS"
    assert ds.pairs[0] == IQAPair(
        tmp_path / "refimgs/a.png", tmp_path / "jpeg/img1.png", 10.0, "jpeg", "a"
    )
    assert ds.dist_types == ["jpeg", "wn"] and ds.ref_ids == ["a", "b"]
    ds.check_files()
    merged = read_live(tmp_path, merge_duplicates=True)
    assert len(merged) == 3 and merged.pairs[0].score == 15.0
    assert "merged 1 duplicate group" in merged.notes[0]
    assert load_iqa_dataset("live", tmp_path).pairs == ds.pairs
    (tmp_path / "wn" / "img1.png").unlink()
    with pytest.raises(FileNotFoundError, match="1 image file"):
        ds.check_files()


def test_read_live_default_root_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "iqa" / "LIVE_subset"
    _save(folder / "refimgs" / "a.png", _ref(0))
    _write_csv(
        folder / "labels.csv",
        ["dis_img_path", "ref_img_path", "dis_type", "dmos"],
        [["refimgs/a.png", "refimgs/a.png", "x", 1.0]],
    )
    monkeypatch.setenv("HVSPROBE_DATA", str(tmp_path))
    assert read_live().root == folder
    monkeypatch.delenv("HVSPROBE_DATA")
    with pytest.raises(FileNotFoundError, match="HVSPROBE_DATA"):
        read_live()


def test_read_live_bad_rows(tmp_path: Path) -> None:
    _write_csv(tmp_path / "labels.csv", ["dis_img_path", "ref_img_path"], [["a", "b"]])
    with pytest.raises(ValueError, match="missing column"):
        read_live(tmp_path)
    _write_csv(
        tmp_path / "labels.csv",
        ["dis_img_path", "ref_img_path", "dis_type", "dmos"],
        [["a.png", "b.png", "x", "high"]],
    )
    with pytest.raises(ValueError, match="not a number"):
        read_live(tmp_path)


def test_read_tid2013_layout(tmp_path: Path) -> None:
    _save(tmp_path / "reference_images" / "I01.BMP", _ref(0))
    _save(tmp_path / "reference_images" / "i02.bmp", _ref(1))
    _save(tmp_path / "distorted_images" / "i01_01_1.bmp", _ref(2))
    _save(tmp_path / "distorted_images" / "i01_08_3.bmp", _ref(3))
    _save(tmp_path / "distorted_images" / "I02_24_5.BMP", _ref(4))
    (tmp_path / "mos_with_names.txt").write_text(
        "5.51429 i01_01_1.bmp\n3.0 i01_08_3.bmp\n\n1.25 i02_24_5.bmp\n"
    )
    ds = read_tid2013(tmp_path)
    assert ds.higher_is_better and ds.score_name == "MOS" and len(ds) == 3
    assert [p.dist_type for p in ds.pairs] == [
        "additive_gaussian_noise",
        "gaussian_blur",
        "sparse_sampling_and_reconstruction",
    ]
    assert [p.ref_id for p in ds.pairs] == ["I01", "I01", "I02"]
    assert ds.pairs[2].dist_path.name == "I02_24_5.BMP"
    assert ds.pairs[2].ref_path.name == "i02.bmp"
    assert ds.pairs[0].score == pytest.approx(5.51429)
    (tmp_path / "mos_with_names.txt").write_text("5.0 i01_99_1.bmp\n")
    with pytest.raises(ValueError, match="unknown TID2013 distortion"):
        read_tid2013(tmp_path)
    (tmp_path / "mos_with_names.txt").write_text("5.0 i03_01_1.bmp\n")
    with pytest.raises(FileNotFoundError, match="I03"):
        read_tid2013(tmp_path)


def test_read_kadid_layout(tmp_path: Path) -> None:
    for name in ("I01.png", "I01_01_01.png", "I01_10_05.png", "I02.png", "I02_25_03.png"):
        _save(tmp_path / "images" / name, _ref(len(name)))
    _write_csv(
        tmp_path / "dmos.csv",
        ["dist_img", "ref_img", "dmos", "var"],
        [
            ["I01_01_01.png", "I01.png", 4.57, 0.1],
            ["I01_10_05.png", "I01.png", 1.2, 0.3],
            ["I02_25_03.png", "I02.png", 3.0, 0.2],
        ],
    )
    ds = read_kadid10k(tmp_path)
    assert ds.higher_is_better and len(ds) == 3
    assert [p.dist_type for p in ds.pairs] == ["gaussian_blur", "jpeg", "contrast_change"]
    assert [p.ref_id for p in ds.pairs] == ["I01", "I01", "I02"]
    assert ds.pairs[1].dist_path == tmp_path / "images" / "I01_10_05.png"
    ds.check_files()


def test_read_csiq_layout(tmp_path: Path) -> None:
    _save(tmp_path / "src_imgs" / "1600.png", _ref(0))
    _save(tmp_path / "src_imgs" / "boston.png", _ref(1))
    _save(tmp_path / "dst_imgs" / "awgn" / "1600.AWGN.1.png", _ref(2))
    _save(tmp_path / "dst_imgs" / "jpeg2000" / "1600.jpeg2000.3.png", _ref(3))
    _save(tmp_path / "dst_imgs" / "fnoise" / "boston.fnoise.2.png", _ref(4))
    _save(tmp_path / "dst_imgs" / "blur" / "boston.BLUR.5.png", _ref(5))
    _write_csv(
        tmp_path / "csiq.DMOS.csv",
        ["image", "dst_idx", "dst_type", "dst_lev", "dmos_std", "dmos"],
        [
            ["1600", 1, "noise", 1, 0.02, 0.06],
            ["1600", 3, "jpeg 2000", 3, 0.03, 0.31],
            ["boston", 4, "f noise", 2, 0.04, 0.22],
            ["boston", 5, "blur", 5, 0.05, 0.81],
            ["", "", "", "", "", ""],
        ],
    )
    ds = read_csiq(tmp_path)
    assert not ds.higher_is_better and len(ds) == 4
    assert [p.dist_type for p in ds.pairs] == ["awgn", "jpeg2000", "fnoise", "blur"]
    assert [p.ref_id for p in ds.pairs] == ["1600", "1600", "boston", "boston"]
    assert ds.pairs[1].dist_path.name == "1600.jpeg2000.3.png"
    assert ds.pairs[3].score == pytest.approx(0.81)
    _write_csv(
        tmp_path / "bad.csv",
        ["image", "dst_type", "dst_lev", "dmos"],
        [["1600", "sharpen", 1, 0.1]],
    )
    with pytest.raises(ValueError, match="unknown CSIQ distortion"):
        read_csiq(tmp_path, labels="bad.csv")


def test_read_generic_csv(tmp_path: Path) -> None:
    _save(tmp_path / "r.png", _ref(0))
    _save(tmp_path / "d1.png", _ref(1))
    _save(tmp_path / "d2.png", _ref(2))
    path = tmp_path / "mine.csv"
    _write_csv(
        path,
        ["ref", "dist", "score", "higher_is_better", "dist_type"],
        [["r.png", "d1.png", 3.5, "true", "blur"], ["r.png", "d2.png", 1.0, "TRUE", ""]],
    )
    ds = read_csv_dataset(path)
    assert ds.name == "mine" and ds.higher_is_better
    assert [p.dist_type for p in ds.pairs] == ["blur", "all"]
    assert ds.pairs[0].ref_id == "r.png" and ds.pairs[0].ref_path == tmp_path / "r.png"
    assert load_iqa_dataset("csv", path).pairs == ds.pairs
    _write_csv(
        path,
        ["ref", "dist", "score", "higher_is_better"],
        [["r.png", "d1.png", 3.5, "true"], ["r.png", "d2.png", 1.0, "false"]],
    )
    with pytest.raises(ValueError, match="same true/false"):
        read_csv_dataset(path)
    with pytest.raises(ValueError, match="unknown IQA dataset"):
        load_iqa_dataset("pipal")


# ---------------------------------------------------------------------------- evaluation


def _noise_dataset(tmp_path: Path, *, dmos: bool) -> IQADataset:
    """3 references x 7 noise levels; the human score follows the noise level exactly."""
    pairs = []
    for r in range(3):
        ref = _ref(10 + r, size=24)
        ref_path = _save(tmp_path / f"ref{r}.png", ref)
        for level in range(7):
            noise = np.random.default_rng(100 * r + level).normal(size=ref.shape)
            dist_path = _save(tmp_path / f"d{r}_{level}.png", ref + (2 + 4 * level) * noise)
            badness = level + 0.1 * r
            score = badness * 10 if dmos else 100 - badness * 10
            pairs.append(
                IQAPair(ref_path, dist_path, score, "noise" if level % 2 else "other", f"r{r}")
            )
    return IQADataset("toy", pairs, not dmos, "DMOS" if dmos else "MOS", tmp_path)


@pytest.mark.parametrize("dmos", [True, False])
@pytest.mark.parametrize("metric", [MSE(), PSNR()])
def test_sign_convention_gives_positive_correlations(tmp_path: Path, dmos: bool, metric) -> None:
    ds = _noise_dataset(tmp_path, dmos=dmos)
    res = evaluate_iqa(metric, ds, batch_size=4, progress=False, n_boot=20)
    assert res.overall.srcc > 0.9
    assert res.overall.krcc > 0.8
    assert res.overall.plcc > 0.9
    assert set(res.per_type) == {"noise", "other"}
    assert res.overall.n_groups == 3
    assert res.values.shape == (21,)


def test_evaluate_batches_and_cache(tmp_path: Path) -> None:
    ds = _noise_dataset(tmp_path, dmos=True)
    cache = tmp_path / "cache" / "values.json"
    m = MSE()
    first = evaluate_iqa(m, ds, batch_size=8, progress=False, cache=cache, n_boot=0)
    assert m.calls == 3  # 21 pairs of one size in batches of 8
    assert cache.is_file()
    m2 = MSE()
    second = evaluate_iqa(m2, ds, batch_size=8, progress=False, cache=cache, n_boot=0)
    assert m2.calls == 0
    np.testing.assert_allclose(first.values, second.values)
    memory: dict = {}
    evaluate_iqa(MSE(), ds, progress=False, cache=memory, n_boot=0)
    assert len(memory[metric_cache_key(MSE())]) == 21


def test_cache_is_keyed_by_content_not_path(tmp_path: Path) -> None:
    import shutil

    ds = _noise_dataset(tmp_path / "a", dmos=True)
    cache = tmp_path / "values.json"
    evaluate_iqa(MSE(), ds, progress=False, cache=cache, n_boot=0)
    # the same images in another folder: every value comes from the cache
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    moved = [
        p._replace(
            ref_path=tmp_path / "b" / Path(p.ref_path).relative_to(tmp_path / "a"),
            dist_path=tmp_path / "b" / Path(p.dist_path).relative_to(tmp_path / "a"),
        )
        for p in ds.pairs
    ]
    m = MSE()
    evaluate_iqa(
        m,
        IQADataset("b", moved, False, "DMOS", tmp_path / "b"),
        progress=False,
        cache=cache,
        n_boot=0,
    )
    assert m.calls == 0
    # a changed image under the same path is recomputed
    first = moved[0].dist_path
    Image.fromarray(np.zeros((24, 24, 3), dtype=np.uint8)).save(first)
    m2 = MSE()
    evaluate_iqa(
        m2,
        IQADataset("b", moved, False, "DMOS", tmp_path / "b"),
        progress=False,
        cache=cache,
        n_boot=0,
    )
    assert m2.calls == 1


def test_infinite_values_are_replaced_and_noted(tmp_path: Path) -> None:
    ds = _noise_dataset(tmp_path, dmos=True)
    same = _save(tmp_path / "same.png", np.asarray(Image.open(ds.pairs[0].ref_path), dtype=float))
    ds.pairs[0] = ds.pairs[0]._replace(dist_path=same, score=-5.0)
    res = evaluate_iqa(PSNR(), ds, progress=False, n_boot=0)
    assert math.isinf(res.values[0])
    assert any("infinite" in n for n in res.notes)
    assert res.overall.srcc > 0.9


def test_nan_metric_values_raise(tmp_path: Path) -> None:
    class NaNMetric(MSE):
        def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.full((x.shape[0],), float("nan"))

    with pytest.raises(ValueError, match="NaN"):
        evaluate_iqa(NaNMetric(), _noise_dataset(tmp_path, dmos=True), progress=False)


def test_bad_metric_shape_and_sizes(tmp_path: Path) -> None:
    class Scalar(MSE):
        def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return ((x - y) ** 2).mean()

    ds = _noise_dataset(tmp_path, dmos=True)
    with pytest.raises(ValueError, match="one value per pair"):
        evaluate_iqa(Scalar(), ds, progress=False, batch_size=2)
    with pytest.raises(TypeError, match="higher_is_better"):
        evaluate_iqa(lambda x, y: x, ds, progress=False)  # type: ignore[arg-type]
    small = _save(tmp_path / "small.png", _ref(0, size=8))
    ds.pairs[0] = ds.pairs[0]._replace(dist_path=small)
    with pytest.raises(ValueError, match="is 24 x 24 but distorted"):
        evaluate_iqa(MSE(), ds, progress=False)


def test_writers(tmp_path: Path) -> None:
    res = evaluate_iqa(MSE(), _noise_dataset(tmp_path, dmos=True), progress=False, n_boot=20)
    js = res.write_json(tmp_path / "out" / "res.json")
    doc = json.loads(js.read_text())
    assert doc["kind"] == "iqa_evaluation" and doc["ci_resampling_unit"] == "reference image"
    assert len(doc["pairs"]) == 21 and doc["overall"]["ci"]["srcc"]["n_boot"] == 20
    rows = list(csv.DictReader(open(res.write_csv(tmp_path / "out" / "res.csv"))))
    assert [r["subset"] for r in rows] == ["all", "other", "noise"]
    assert float(rows[0]["srcc_low"]) <= float(rows[0]["srcc"]) + 1e-9
    pairs = list(csv.DictReader(open(res.write_pairs_csv(tmp_path / "out" / "pairs.csv"))))
    assert len(pairs) == 21 and float(pairs[0]["metric_value"]) == pytest.approx(res.values[0])
    assert not list((tmp_path / "out").glob(".*.tmp"))


# ---------------------------------------------------------------------- real LIVE subset


@pytest.fixture(scope="module")
def live_results() -> dict:
    ds = read_live(LIVE)
    cache: dict = {}
    out = {"mse": evaluate_iqa(MSE(), ds, progress=False, cache=cache, n_boot=200, seed=0)}
    # PSNR = -10 log10(MSE): filled in through the cache, so no image is loaded again
    mse = cache[metric_cache_key(MSE())]
    cache[metric_cache_key(PSNR())] = {k: -10 * math.log10(v) for k, v in mse.items()}
    out["psnr"] = evaluate_iqa(PSNR(), ds, progress=False, cache=cache, n_boot=0)
    blur_only = IQADataset(
        "gblur", [p for p in ds.pairs if p.dist_type == "gblur"], False, "DMOS", LIVE
    )
    out["blur"] = evaluate_iqa(BlurToy(), blur_only, progress=False, n_boot=0)
    return out


@needs_live
def test_live_subset_mse(live_results: dict) -> None:
    res = live_results["mse"]
    assert res.overall.n == 79 and res.overall.n_groups == 4
    assert set(res.per_type) == {"fastfading", "gblur", "jpeg", "wn"}
    assert res.overall.srcc > 0.85  # clearly positive after the sign convention
    assert res.per_type["wn"].srcc > 0.95
    ci = res.overall.ci["srcc"]
    assert 0.0 < ci.low <= ci.high <= 1.0 and ci.n_groups == 4
    assert res.overall.fit_error is None and res.overall.plcc > 0.85


@needs_live
def test_live_subset_psnr_ranks_like_mse(live_results: dict) -> None:
    mse, psnr = live_results["mse"], live_results["psnr"]
    assert psnr.overall.srcc == pytest.approx(mse.overall.srcc)
    assert psnr.overall.krcc == pytest.approx(mse.overall.krcc)


@needs_live
def test_live_subset_blur_toy_sees_blur(live_results: dict) -> None:
    blur = live_results["blur"].overall.srcc
    assert blur > live_results["mse"].per_type["gblur"].srcc
    assert blur > 0.9
