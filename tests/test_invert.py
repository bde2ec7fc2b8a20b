"""Feature inversion (hvsprobe.invert) and its measures (hvsprobe.invert_measures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_toy_backbone
from hvsprobe.cli import main
from hvsprobe.invert import (
    InversionConfig,
    default_selections,
    invert,
    load_target,
    save_inversion,
    total_variation,
)
from hvsprobe.invert_measures import (
    ciede2000,
    gram_distance,
    luma_ssim,
    mean_delta_e00,
    srgb_to_lab,
)
from hvsprobe.scores import ChannelScores
from hvsprobe.selection import Selection

# Sharma, Wu & Dalal (2005), Table 1: L1 a1 b1 L2 a2 b2 and Delta E_00 (all 34 pairs).
SHARMA_2005 = """
50.0000 2.6772 -79.7751 50.0000 0.0000 -82.7485 2.0425
50.0000 3.1571 -77.2803 50.0000 0.0000 -82.7485 2.8615
50.0000 2.8361 -74.0200 50.0000 0.0000 -82.7485 3.4412
50.0000 -1.3802 -84.2814 50.0000 0.0000 -82.7485 1.0000
50.0000 -1.1848 -84.8006 50.0000 0.0000 -82.7485 1.0000
50.0000 -0.9009 -85.5211 50.0000 0.0000 -82.7485 1.0000
50.0000 0.0000 0.0000 50.0000 -1.0000 2.0000 2.3669
50.0000 -1.0000 2.0000 50.0000 0.0000 0.0000 2.3669
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0009 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0010 7.1792
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0011 7.2195
50.0000 2.4900 -0.0010 50.0000 -2.4900 0.0012 7.2195
50.0000 -0.0010 2.4900 50.0000 0.0009 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0010 -2.4900 4.8045
50.0000 -0.0010 2.4900 50.0000 0.0011 -2.4900 4.7461
50.0000 2.5000 0.0000 50.0000 0.0000 -2.5000 4.3065
50.0000 2.5000 0.0000 73.0000 25.0000 -18.0000 27.1492
50.0000 2.5000 0.0000 61.0000 -5.0000 29.0000 22.8977
50.0000 2.5000 0.0000 56.0000 -27.0000 -3.0000 31.9030
50.0000 2.5000 0.0000 58.0000 24.0000 15.0000 19.4535
50.0000 2.5000 0.0000 50.0000 3.1736 0.5854 1.0000
50.0000 2.5000 0.0000 50.0000 3.2972 0.0000 1.0000
50.0000 2.5000 0.0000 50.0000 1.8634 0.5757 1.0000
50.0000 2.5000 0.0000 50.0000 3.2592 0.3350 1.0000
60.2574 -34.0099 36.2677 60.4626 -34.1751 39.4387 1.2644
63.0109 -31.0961 -5.8663 62.8187 -29.7946 -4.0864 1.2630
61.2901 3.7196 -5.3901 61.4292 2.2480 -4.9620 1.8731
35.0831 -44.1164 3.7933 35.0232 -40.0716 1.5901 1.8645
22.7233 20.0904 -46.6940 23.0331 14.9730 -42.5619 2.0373
36.4612 47.8580 18.3852 36.2715 50.5065 21.2231 1.4146
90.8027 -2.0831 1.4410 91.1528 -1.6435 0.0447 1.4441
90.9257 -0.5406 -0.9208 88.6381 -0.8985 -0.7239 1.5381
6.7747 -0.2908 -2.4247 5.8714 -0.0985 -2.2286 0.6377
2.0776 0.0795 -1.1350 0.9033 -0.0636 -0.5514 0.9082
"""

STEPS = 10


def _sharma() -> np.ndarray:
    rows = [[float(v) for v in line.split()] for line in SHARMA_2005.strip().splitlines()]
    return np.asarray(rows)


# ---------------------------------------------------------------------------------------------
# measures


def test_ciede2000_matches_sharma_table() -> None:
    d = _sharma()
    assert d.shape == (34, 7)
    got = ciede2000(torch.tensor(d[:, :3]), torch.tensor(d[:, 3:6])).numpy()
    np.testing.assert_allclose(got, d[:, 6], atol=5e-5)
    # symmetric in its arguments (Sharma et al. note the published pairs are)
    back = ciede2000(torch.tensor(d[:, 3:6]), torch.tensor(d[:, :3])).numpy()
    np.testing.assert_allclose(back, got, atol=1e-9)


def test_ciede2000_agrees_with_scikit_image() -> None:
    skcolor = pytest.importorskip("skimage.color")
    rng = np.random.default_rng(3)
    lab1 = np.column_stack([rng.uniform(0, 100, 500), rng.uniform(-90, 90, (500, 2))])
    lab2 = lab1 + rng.normal(0, 8, lab1.shape)
    got = ciede2000(torch.tensor(lab1), torch.tensor(lab2)).numpy()
    np.testing.assert_allclose(got, skcolor.deltaE_ciede2000(lab1, lab2), atol=1e-8)
    rgb = torch.rand(1, 3, 9, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ours = srgb_to_lab(rgb)[0].permute(1, 2, 0).numpy()
    # scikit-image rounds the sRGB matrix differently: agreement to 0.02 L*a*b* units
    np.testing.assert_allclose(ours, skcolor.rgb2lab(rgb[0].permute(1, 2, 0).numpy()), atol=0.02)


def test_ciede2000_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="x 3"):
        ciede2000(torch.zeros(4, 2), torch.zeros(4, 2))


def test_lab_of_primaries() -> None:
    lab = srgb_to_lab(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]).T.reshape(1, 3, 1, 2))
    red, black = lab[0, :, 0, 0], lab[0, :, 0, 1]
    np.testing.assert_allclose(red.numpy(), [53.24, 80.09, 67.20], atol=0.05)  # sRGB red
    np.testing.assert_allclose(black.numpy(), [0.0, 0.0, 0.0], atol=1e-6)


def test_measures_separate_colour_from_structure() -> None:
    g = torch.Generator().manual_seed(0)
    # four coloured quadrants with fine luminance texture
    colours = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.2, 0.3, 0.9], [0.9, 0.8, 0.2]])
    x = torch.empty(1, 3, 48, 48)
    shuffled = torch.empty_like(x)
    for q, (r, c) in enumerate([(0, 0), (0, 24), (24, 0), (24, 24)]):
        tex = 0.6 + 0.4 * torch.rand(1, 24, 24, generator=g)
        block = colours[q].view(3, 1, 1) * tex
        x[0, :, r : r + 24, c : c + 24] = block
        perm = torch.randperm(24 * 24, generator=g)
        shuffled[0, :, r : r + 24, c : c + 24] = block.flatten(1)[:, perm].reshape(3, 24, 24)
    luma = torch.tensor([0.2989, 0.5870, 0.1140]).view(1, 3, 1, 1)
    grey = (x * luma).sum(dim=1, keepdim=True).expand(-1, 3, -1, -1).contiguous()
    # removing colour keeps the luma structure but costs Delta E
    assert float(luma_ssim(grey, x)[0]) > 0.99
    assert float(mean_delta_e00(grey, x)[0]) > 20.0
    # shuffling pixels within each region destroys structure but keeps regional colour
    assert float(luma_ssim(shuffled, x)[0]) < 0.3
    blur_shuffled = float(mean_delta_e00(shuffled, x, blur_sigma=4.0)[0])
    assert blur_shuffled < 0.25 * float(mean_delta_e00(grey, x, blur_sigma=4.0)[0])
    assert blur_shuffled < float(mean_delta_e00(shuffled, x)[0])


def test_gram_distance_is_position_blind(toy_backbone) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 64, generator=g)
    rolled = torch.roll(x, shifts=(0, 17), dims=(2, 3))
    other = torch.rand(1, 3, 64, 64, generator=g) * 0.3
    same = float(gram_distance(x, x, toy_backbone, ["relu1"])[0])
    shifted = float(gram_distance(rolled, x, toy_backbone, ["relu1"])[0])
    different = float(gram_distance(other, x, toy_backbone, ["relu1"])[0])
    assert same == 0.0
    assert shifted < 0.2 * different


# ---------------------------------------------------------------------------------------------
# inversion on the toy network


def _selection(bb, channels: list[int]) -> Selection:
    return Selection(
        "toy",
        bb.weights_sha256,
        {"relu1": {"channels": channels, "weights": [1.0] * len(channels), "n_channels": 7}},
        strategy={"name": "test"},
    )


@pytest.fixture(scope="module")
def toy_run():
    bb = make_toy_backbone()
    target = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    sels = {"a": _selection(bb, [0, 1, 2, 3, 4, 5])}
    res = invert(target, sels, steps=STEPS, lr=0.05, tv_weight=0.0, seed=3, backbone=bb)
    return bb, target, sels, res


def test_optimisation_lowers_the_selected_distance(toy_run) -> None:
    _, _, _, res = toy_run
    rec = res.reconstructions["a"]
    assert rec.final_distance[0] < 0.5 * rec.initial_distance[0]
    steps = [s for s, _ in rec.history]
    assert steps[0] == 0 and steps[-1] == STEPS


def test_reconstruction_stays_in_unit_range_and_clamps(toy_run) -> None:
    bb, target, sels, _ = toy_run
    res = invert(target, sels, steps=2, lr=0.5, tv_weight=0.0, seed=3, backbone=bb)
    x = res.reconstructions["a"].image
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    # with steps of 0.5 the projection is active: some pixels sit exactly on the bounds
    assert bool(((x == 0.0) | (x == 1.0)).any())


def test_deterministic_for_a_seed(toy_run) -> None:
    bb, target, sels, res = toy_run
    again = invert(target, sels, steps=STEPS, lr=0.05, tv_weight=0.0, seed=3, backbone=bb)
    assert torch.equal(again.reconstructions["a"].image, res.reconstructions["a"].image)
    assert torch.equal(again.start, res.start)
    other = invert(target, sels, steps=1, lr=0.05, tv_weight=0.0, seed=4, backbone=bb)
    assert not torch.equal(other.start, res.start)


def test_batch_equals_separate_runs(toy_run) -> None:
    bb, target, sels, res = toy_run
    other = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    kw = {"steps": STEPS, "lr": 0.05, "tv_weight": 0.0, "seed": 3, "backbone": bb}
    both = invert(torch.cat([target, other]), sels, **kw)
    rec = both.reconstructions["a"]
    assert rec.image.shape == (2, 3, 32, 32) and len(rec.measures) == 2
    torch.testing.assert_close(rec.image[:1], res.reconstructions["a"].image, atol=1e-4, rtol=0)
    alone = invert(other, sels, **kw).reconstructions["a"]
    torch.testing.assert_close(rec.image[1:], alone.image, atol=1e-4, rtol=0)


def test_tv_prior_smooths(toy_run) -> None:
    bb, target, sels, res = toy_run
    smooth = invert(target, sels, steps=STEPS, lr=0.05, tv_weight=5.0, seed=3, backbone=bb)
    tv = float(total_variation(smooth.reconstructions["a"].image)[0])
    assert tv < float(total_variation(res.reconstructions["a"].image)[0])


def test_save_writes_pngs_figure_and_settings(toy_run, tmp_path: Path) -> None:
    _, _, sels, res = toy_run
    path = save_inversion(res, tmp_path / "out", names=["toy"])
    doc = json.loads(path.read_text())
    assert doc["kind"] == "inversion" and doc["schema_version"] == 1
    assert doc["config"]["steps"] == STEPS and doc["config"]["tv_weight"] == 0.0
    assert doc["weights_sha256"] == sels["a"].weights_sha256
    rec = doc["reconstructions"]["a"]
    assert rec["final_distance"][0] < rec["initial_distance"][0]
    assert set(rec["measures"][0]) == {"ssim_luma", "delta_e00", "delta_e00_blur", "gram"}
    assert doc["selections"]["a"]["per_layer"] == {"relu1": 6}
    for name in ("target.png", "a.png", "inversion.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_invert_rejects_bad_inputs(toy_run) -> None:
    bb, target, sels, _ = toy_run
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        invert(target * 2, sels, steps=1, backbone=bb)
    with pytest.raises(ValueError, match="at least one selection"):
        invert(target, {}, steps=1, backbone=bb)
    with pytest.raises(ValueError, match="steps"):
        InversionConfig(steps=0)
    with pytest.raises(ValueError, match="lr"):
        InversionConfig(lr=-1)


def test_load_target_crops_and_resizes(tmp_path: Path) -> None:
    from PIL import Image

    arr = np.zeros((40, 60, 3), np.uint8)
    arr[:, 10:50] = 200  # the centre square is uniform 200
    Image.fromarray(arr).save(tmp_path / "im.png")
    x = load_target(tmp_path / "im.png", 20)
    assert tuple(x.shape) == (1, 3, 20, 20)
    np.testing.assert_allclose(x.numpy(), 200 / 255, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_target(tmp_path / "missing.png")


# ---------------------------------------------------------------------------------------------
# default subsets and the command line


def _toy_scores(bb) -> ChannelScores:
    pe = np.array([0.9, 0.1, 0.8, 0.2, 0.5, 0.4, np.nan])
    table = {
        "layer": np.array(["relu1"] * 7),
        "channel": np.arange(7),
        "pe": pe,
        "mu1": pe,
        "mu2": pe,
        "dead": np.array([False] * 6 + [True]),
    }
    return ChannelScores(
        columns=table, config={"backbone": "toy", "weights_sha256": bb.weights_sha256}
    )


def test_default_selections_same_size_disjoint_ends(toy_backbone) -> None:
    scores = _toy_scores(toy_backbone)
    sels = default_selections(scores, fraction=0.34, seed=1)
    top, bottom, rand = (sels[k].layers["relu1"]["channels"] for k in ("top", "bottom", "random"))
    # 6 live channels, ceil(0.34 * 6) = 3 per subset
    assert top == [0, 2, 4] and bottom == [1, 3, 5] and len(rand) == 3
    assert not set(top) & set(bottom)
    assert 6 not in top + bottom + rand  # the dead channel is never chosen
    assert sels["bottom"].strategy["bottom"] is True


@pytest.mark.parametrize(
    "argv, message",
    [
        (["invert", "missing.png", "--selection", "x.json"], "missing.png"),
        (
            ["invert", "missing.png", "--results", "/nonexistent/r", "--selection", "x.json"],
            "not both",
        ),
        (["invert", "img.png"], "either --selection"),
        (["invert", "img.png", "--results", "/nonexistent/r"], "/nonexistent/r does not exist"),
        (["report", "/nonexistent/r", "--inversion", "/nonexistent/i"], "/nonexistent/r"),
    ],
)
def test_cli_errors_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "error" in err and message in err


def test_report_inversion_folder_must_hold_a_figure(tmp_path: Path) -> None:
    from hvsprobe.report.sections import inversion_section

    with pytest.raises(FileNotFoundError, match="hvsprobe invert"):
        inversion_section(tmp_path, tmp_path)
    (tmp_path / "inversion.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    html = inversion_section(tmp_path, tmp_path)
    assert "Feature inversion" in html and "inversion.png" in html


# ---------------------------------------------------------------------------------------------
# the results-page generator


def test_verdict_rule() -> None:
    from hvsprobe.experiments.inversion import verdict

    assert verdict([0.1, 0.3]) == "supported"
    assert verdict([-0.3, -0.01]) == "contradicted"
    assert verdict([-0.1, 0.2]) == "not resolved by these data"


def test_paired_differences_and_t_interval() -> None:
    from hvsprobe.experiments.inversion import paired

    rows = [
        {"image": im, "subset": sub, "ssim_luma": v}
        for im, top, bot in (("a", 0.5, 0.2), ("b", 0.6, 0.4), ("c", 0.4, 0.3))
        for sub, v in (("top", top), ("bottom", bot))
    ]
    p = paired(rows, ["a", "b", "c"], "ssim_luma", "top", "bottom")
    np.testing.assert_allclose(p["diffs"], [0.3, 0.2, 0.1])
    assert p["n_positive"] == 3 and p["mean"] == pytest.approx(0.2)
    # t(0.975, 2) = 4.303, sd = 0.1: half width 4.303 * 0.1 / sqrt(3)
    assert p["ci95"][1] - 0.2 == pytest.approx(4.3027 * 0.1 / np.sqrt(3), rel=1e-3)


@pytest.fixture(scope="module")
def random_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder of random-weights VGG-16, relu1_1 only, on a tiny grating grid."""
    from hvsprobe.analyze import analyze
    from hvsprobe.stimuli import StimulusGrid

    out = tmp_path_factory.mktemp("random_results")
    grid = StimulusGrid.default(size=32, n_frequencies=4, n_orientations=4, n_phases=1)
    analyze("vgg16", weights="random:0", layers=["relu1_1"], grid=grid, out=out, progress=False)
    return out


def _noise_png(path: Path, seed: int) -> str:
    from PIL import Image

    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(path)
    return str(path)


def test_cli_invert_and_report(random_results: Path, tmp_path: Path, capsys) -> None:
    image = _noise_png(tmp_path / "img.png", 0)
    out = tmp_path / "inv"
    argv = ["invert", image, "--results", str(random_results), "--layers", "relu1_1"]
    assert main([*argv, "--size", "24", "--steps", "2", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "top" in printed and "bottom" in printed and "random" in printed
    doc = json.loads((out / "inversion.json").read_text())
    assert list(doc["reconstructions"]) == ["top", "bottom", "random"]
    assert doc["config"]["image_shape"] == [3, 24, 24] and doc["weights"] == "random:0"
    assert doc["images"][0]["sha256"] and doc["selections"]["bottom"]["strategy"]["bottom"]
    html = tmp_path / "rep" / "report.html"  # a report replaces its folder as a whole
    assert main(["report", str(random_results), "--out", str(html), "--inversion", str(out)]) == 0
    text = html.read_text()
    assert "Feature inversion" in text and "inversion.png" in text


def test_generator_end_to_end(random_results: Path, tmp_path: Path) -> None:
    from hvsprobe.experiments.inversion import main as page_main

    images = [_noise_png(tmp_path / f"{n}.png", i) for i, n in enumerate(("one", "two"))]
    doc = tmp_path / "docs" / "inversion.md"
    argv = [
        "--results",
        str(random_results),
        "--images",
        *images,
        "--size",
        "24",
        "--layers",
        "relu1_1",
        "--steps",
        "2",
        "--out",
        str(tmp_path / "out"),
        "--doc",
        str(doc),
        "--no-progress",
    ]
    assert page_main(argv) == 0
    text = doc.read_text()
    assert "## Verdicts" in text and "python -m hvsprobe.experiments.inversion" in text
    assert "(inversion.png)" in text and (tmp_path / "docs" / "inversion.png").is_file()
    data = json.loads((tmp_path / "docs" / "inversion.json").read_text())
    assert data["kind"] == "inversion_experiment" and len(data["verdicts"]) == 4
    assert {v["verdict"] for v in data["verdicts"][:3]} <= {
        "supported",
        "contradicted",
        "not resolved by these data",
    }
    csv_rows = (tmp_path / "docs" / "inversion.csv").read_text().splitlines()
    assert len(csv_rows) == 1 + 2 * 4  # header + (start, top, bottom, random) per image
    assert (
        page_main(
            [
                "--results",
                str(tmp_path / "nope"),
                "--images",
                *images,
                "--out",
                "o",
                "--doc",
                "d.md",
            ]
        )
        == 2
    )
