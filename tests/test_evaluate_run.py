"""Tests for `hvsprobe evaluate` and its API (hvsprobe.evaluate.run) on generated fixtures."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hvsprobe.cli import main
from hvsprobe.evaluate.run import evaluate_metrics

LIVE = Path(os.environ.get("HVSPROBE_DATA", "../shared/data")) / "iqa" / "LIVE_subset"


def _img(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path)
    return path


def _live_layout(folder: Path) -> int:
    """A LIVE-layout folder: 3 references x 6 noise levels; DMOS follows the noise level."""
    rows = []
    for r in range(3):
        ref = np.random.default_rng(r).integers(40, 215, size=(24, 24, 3)).astype(float)
        _img(folder / "refimgs" / f"ref{r}.png", ref)
        for level in range(6):
            noise = np.random.default_rng(10 * r + level).normal(size=ref.shape)
            kind = "wn" if level % 2 else "gblur"
            name = f"{kind}/img{r}{level}.png"
            _img(folder / name, ref + (3 + 5 * level) * noise)
            rows.append([name, f"refimgs/ref{r}.png", kind, 10.0 * level + r])
    with open(folder / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dis_img_path", "ref_img_path", "dis_type", "dmos"])
        w.writerows(rows)
    return len(rows)


def _grey(path: Path, value: int) -> None:
    _img(path, np.full((16, 16, 3), value, dtype=float))


def _bapps(root: Path) -> None:
    for i, (a, b, j) in enumerate([(10, 40, 0.0), (10, 40, 1.0), (60, 5, 0.25)]):
        sub = root / "2afc" / "val" / "traditional"
        _grey(sub / "ref" / f"{i}.png", 128)
        _grey(sub / "p0" / f"{i}.png", 128 + a)
        _grey(sub / "p1" / f"{i}.png", 128 - b)
        (sub / "judge").mkdir(parents=True, exist_ok=True)
        np.save(sub / "judge" / f"{i}.npy", np.array([j]))
    for i, (off, same) in enumerate([(30, 1.0), (10, 1.0), (20, 0.0)]):
        sub = root / "jnd" / "val" / "traditional"
        _grey(sub / "p0" / f"{i}.png", 100)
        _grey(sub / "p1" / f"{i}.png", 100 + off)
        (sub / "same").mkdir(parents=True, exist_ok=True)
        np.save(sub / "same" / f"{i}.npy", np.array([same]))


def test_evaluate_live_layout_cli_and_api_agree(tmp_path: Path, capsys) -> None:
    n = _live_layout(tmp_path / "data" / "iqa" / "LIVE")
    out = tmp_path / "out"
    argv = ["evaluate", "psnr", "--dataset", "live", "--data-root", str(tmp_path / "data")]
    argv += ["--n-boot", "50", "--no-progress", "--cache", str(tmp_path / "c.json")]
    assert main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{n} rated images, 3 reference images" in text
    assert "SRCC" in text and "gblur" in text and "wn" in text  # per-distortion rows
    doc = json.loads((out / "evaluate.json").read_text())
    assert doc["kind"] == "hvsprobe_evaluate" and doc["schema_version"] == 1
    assert doc["config"]["n_boot"] == 50 and doc["n_rows"] == n and doc["n_refs"] == 3
    with open(out / "evaluate.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["subset"] for r in rows] == ["all", "gblur", "wn"]
    api = evaluate_metrics(["psnr"], "live", data_root=tmp_path / "data", n_boot=50, progress=False)
    srcc = api.results["psnr"].overall.srcc
    assert float(rows[0]["srcc"]) == pytest.approx(srcc)
    assert f"{srcc:6.3f}" in text
    assert srcc > 0.9  # PSNR orders noise levels; both sides oriented higher = better
    # the data set's own folder works as --data-root too
    own = evaluate_metrics(["psnr"], "live", data_root=tmp_path / "data" / "iqa" / "LIVE", n_boot=0)
    assert own.results["psnr"].overall.srcc == pytest.approx(srcc)


def test_evaluate_generic_csv(tmp_path: Path, capsys) -> None:
    _live_layout(tmp_path / "live")
    with open(tmp_path / "live" / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(tmp_path / "live" / "generic.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ref", "dist", "score", "higher_is_better", "dist_type"])
        for r in rows:
            w.writerow([r["ref_img_path"], r["dis_img_path"], r["dmos"], "false", r["dis_type"]])
    argv = ["evaluate", "psnr", "ssim", "--csv", str(tmp_path / "live" / "generic.csv")]
    assert main([*argv, "--n-boot", "0", "--no-progress", "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "psnr on" in text and "ssim on" in text


def test_evaluate_bapps_2afc_and_jnd(tmp_path: Path, capsys) -> None:
    _bapps(tmp_path / "data" / "bapps")
    base = ["--data-root", str(tmp_path / "data"), "--no-progress", "--no-cache"]
    assert main(["evaluate", "psnr", "--dataset", "bapps-2afc", *base]) == 0
    text = capsys.readouterr().out
    # PSNR as a distance: d0 < d1, d0 < d1, d1 < d0 -> scores 1, 0, 0.25
    assert "2AFC score" in text and "0.4167" in text
    assert main(["evaluate", "psnr", "--dataset", "bapps-jnd", *base]) == 0
    assert "0.8333" in capsys.readouterr().out  # mAP 5/6


def test_evaluate_user_errors_are_one_line(tmp_path: Path, capsys) -> None:
    _live_layout(tmp_path / "iqa" / "LIVE")
    rc = main(["evaluate", "selected", "--dataset", "live", "--data-root", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--selection" in err[0]
    rc = main(["evaluate", "psnr", "--dataset", "tid2013", "--data-root", str(tmp_path)])
    assert rc == 2 and "tid2013" in capsys.readouterr().err
    assert main(["evaluate", "psnr", "--dataset", "nope"]) == 2  # argparse: one line, exit 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not LIVE.is_dir(), reason="LIVE subset not available")
def test_evaluate_live_subset_psnr(capsys) -> None:
    data = str(LIVE.parent.parent)
    argv = ["evaluate", "psnr", "--dataset", "live", "--data-root", data, "--n-boot", "0"]
    assert main([*argv, "--no-progress", "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "79 rated images, 4 reference images" in text
