"""The report's flags, channel browser, figure reuse, byte-identical rebuilds and comparison."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from hvsprobe.report import build_report
from hvsprobe.report.channels import channel_ranks, unpack_ints
from hvsprobe.report.compare import bootstrap_median, build_comparison, load_network, ranking
from hvsprobe.report.html import fmt_share
from hvsprobe.scores import ChannelScores, compute_scores
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning, tuning_curve_data


def _folder(directory: Path, seed: int, layers: tuple[str, ...] = ("conv1", "conv2")) -> Path:
    """A results folder made by hand: random responses, one dead channel, one near-silent."""
    grid = StimulusGrid.default(size=16, n_frequencies=5, n_orientations=4, n_phases=1)
    rng = np.random.default_rng(seed)
    responses = {}
    for k, name in enumerate(layers):
        r = rng.random((7 + k, 5, 4, 1, 1)).astype(np.float32)
        r[0] = 0.0  # dead
        r[1] *= 1e-4  # weak
        responses[name] = r
    config = {
        "backbone": f"toy{seed}",
        "weights": f"random:{seed}",
        "weights_sha256": f"{seed:02d}" * 32,
        "layers": list(responses),
        "grid": grid.to_dict(),
        "response": {"method": "torus"},
        "precision": "fp32",
        "batch_size": 1,
        "hvsprobe_version": "test",
    }
    Tuning(responses=responses, grid=grid, config=config).save(directory)
    compute_scores(Tuning.load(directory)).save(directory)
    return directory


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("views"), 0)


@pytest.fixture(scope="module")
def built(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(folder, tmp_path_factory.mktemp("views-out"))


def _page_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# ----------------------------------------------------------------------------------------
# flags and numbers


def test_share_never_rounds_to_zero_or_hundred() -> None:
    assert fmt_share(1, 250) == "0.4 %" and fmt_share(1, 4000) == "0.025 %"
    assert fmt_share(0, 10) == "0 %" and fmt_share(10, 10) == "100 %"
    assert fmt_share(3999, 4000) == "99.97 %" and fmt_share(1, 3) == "33 %"
    assert fmt_share(1, 0) == "—"


def test_flag_table_counts_match_scores(built: Path, folder: Path) -> None:
    text = built.read_text(encoding="utf-8")
    scores = ChannelScores.load(folder)
    assert 'id="flags"' in text and "censored bandwidth" in text and "border dominated" in text
    assert "torus" in text  # the response method is stated
    assert "docs/method.md</em> in the hvsprobe source distribution" in text
    for row in scores.summary():
        live = row["channels"] - row["dead"]
        assert row["dead"] == 1 and row["weak"] >= 1  # as the fixture made them
        cell = f"{row['weak']} ({fmt_share(row['weak'], live)})"
        assert f'<td class="num">{cell}</td>' in text


# ----------------------------------------------------------------------------------------
# channel browser


def _json_block(text: str, block: str) -> object:
    m = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', text, re.S)
    assert m is not None, block
    return json.loads(m.group(1))


def test_every_channel_is_in_the_browser(built: Path, folder: Path) -> None:
    scores = ChannelScores.load(folder)
    tuning = Tuning.load(folder)
    text = built.read_text(encoding="utf-8")
    n_f, n_o = len(tuning.grid.frequencies), len(tuning.grid.orientations)
    for i, name in enumerate(scores.layers):
        page = built.parent / "channels" / f"{i:02d}_{name}.html"
        html = page.read_text(encoding="utf-8")
        t = scores.layer(name)
        for c in t["channel"]:
            assert f'<tr id="c{int(c)}">' in html
        data = _json_block(html, "layer-data")
        assert len(data["channels"]) == len(t["channel"])
        ch = data["channels"][2]
        m, fc, oc = (unpack_ints(ch[k]) for k in ("m", "fc", "oc"))
        assert len(m) == n_f * n_o and len(fc) == n_f and len(oc) == n_o
        # absolute responses, not rescaled: integers times s / levels give back every value of
        # the map to 1e-4 of the channel's largest absolute response
        r = tuning.responses[name][2].mean(axis=2)[..., -1]
        decoded = m.reshape(n_f, n_o) * ch["s"] / data["levels"]
        peak = float(np.abs(r).max())
        assert ch["s"] == pytest.approx(peak, rel=1e-5)
        np.testing.assert_allclose(decoded, r, rtol=0, atol=1e-4 * peak)
        f_curve, o_curve = (c[2] for c in tuning_curve_data(tuning.responses[name]))
        np.testing.assert_allclose(fc * ch["s"] / data["levels"], f_curve, atol=1e-4 * peak)
        np.testing.assert_allclose(oc * ch["s"] / data["levels"], o_curve, atol=1e-4 * peak)
        assert len(data["layer"]["freq"]["median"]) == n_f and len(data["layer"]["freq"]["p90"])
        assert "weak" in html and "dead" in html  # flags shown per channel
        # the summary's top channels link to their rows
        for c in scores.summary()[i]["top_channels"]:
            assert f'href="channels/{i:02d}_{name}.html#c{c}"' in text
    for ref in re.findall(r'href="(channels/[^"#]+)', text):
        assert (built.parent / unquote(ref)).is_file()


def test_ranks_exclude_flagged_channels(folder: Path) -> None:
    t = ChannelScores.load(folder).layer("conv1")
    ranks = channel_ranks(t)
    assert ranks[0] == 0 and ranks[1] == 0  # dead and weak are not ranked
    ranked = ranks > 0
    assert sorted(ranks[ranked].tolist()) == list(range(1, int(ranked.sum()) + 1))
    best = int(np.argmax(ranks == 1))
    assert t["pe"][best] == np.nanmax(np.where(ranked, t["pe"], np.nan))


# ----------------------------------------------------------------------------------------
# rebuilds


def test_rebuild_is_byte_identical_and_reuses_figures(folder: Path, tmp_path: Path) -> None:
    msgs: list[str] = []
    build_report(folder, tmp_path, log=msgs.append)
    first = _page_files(tmp_path)
    build_report(folder, tmp_path, log=msgs.append)
    assert _page_files(tmp_path) == first
    counts = [m for m in msgs if m.startswith("figures:")]
    n = len(list((tmp_path / "figures").glob("*.png")))
    assert n == 7  # no selection file in the folder: no selection figure
    assert counts == [f"figures: {n} drawn, 0 reused", f"figures: 0 drawn, {n} reused"]
    # a figure whose file was altered is redrawn, the others are reused
    (tmp_path / "figures" / "stimuli.png").write_bytes(b"not a png")
    msgs.clear()
    build_report(folder, tmp_path, log=msgs.append)
    assert f"figures: 1 drawn, {n - 1} reused" in msgs
    assert _page_files(tmp_path) == first


def test_parallel_and_serial_builds_are_identical(folder: Path, tmp_path: Path) -> None:
    # figures drawn by forked workers have the bytes of figures drawn in this process
    build_report(folder, tmp_path / "serial", workers=1)
    build_report(folder, tmp_path / "parallel", workers=3)
    serial, parallel = _page_files(tmp_path / "serial"), _page_files(tmp_path / "parallel")
    assert any(k.endswith(".png") for k in serial)
    assert parallel == serial
    with pytest.raises(ValueError, match="workers"):
        build_report(folder, tmp_path / "none", workers=0)


def test_run_jobs_raises_a_workers_error() -> None:
    from hvsprobe.report.parallel import run_jobs

    def boom() -> int:
        raise RuntimeError("bad figure")

    wait = run_jobs([lambda: 1, boom], workers=2)
    with pytest.raises(RuntimeError, match="bad figure"):
        wait()


def test_collector_state_is_restored(folder: Path, tmp_path: Path) -> None:
    # the build freezes the objects that existed before it (gc.freeze) and thaws them after,
    # also when it fails
    import gc

    assert gc.get_freeze_count() == 0
    build_report(folder, tmp_path / "ok", workers=1)
    assert gc.get_freeze_count() == 0
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "missing", tmp_path / "bad")
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_workers_stay_quiet_under_a_commands_sigterm_handler(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # `hvsprobe analyze --report` turns SIGTERM into an exception; the forked workers must
    # not inherit that (the pool's shutdown would print a traceback from each of them)
    from hvsprobe.errors import sigterm_raises
    from hvsprobe.report.parallel import run_jobs

    with sigterm_raises():
        wait = run_jobs([lambda: 1, lambda: 2, lambda: 3], workers=2)
        assert wait() == [1, 2, 3]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Interrupted" not in err, err


def test_changed_scores_redraw_figures(folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "res"
    shutil.copytree(folder, copy)
    out = tmp_path / "out"
    build_report(copy, out)
    scores = ChannelScores.load(copy)
    scores.columns["pe"] = scores.columns["pe"] * 0.5
    scores.save(copy)
    msgs: list[str] = []
    build_report(copy, out, log=msgs.append)
    assert "figures: 7 drawn, 0 reused" in msgs


# ----------------------------------------------------------------------------------------
# comparison


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> list[Path]:
    other = _folder(tmp_path_factory.mktemp("views-b"), 1, layers=("a", "b", "c"))
    return [folder, other]


def test_ranking_measure_is_the_raw_product(folders: list[Path], tmp_path: Path) -> None:
    # the layer-normalised PE would give every layer a best channel of 1: the ranking ignores
    # it and follows mu1 * mu2, which is comparable across layers and networks
    import shutil

    copies = [tmp_path / f"r{i}" for i in range(len(folders))]
    for src, dst in zip(folders, copies, strict=True):
        shutil.copytree(src, dst)
    before = ranking([load_network(f) for f in copies], n_boot=50)
    s = ChannelScores.load(copies[0])
    s.columns["pe"] = s.columns["pe"] * 0.01
    s.save(copies[0])
    assert ranking([load_network(f) for f in copies], n_boot=50) == before
    for r in before:
        net = load_network(copies[[load_network(f).label for f in copies].index(r["network"])])
        t = net.scores.layer(r["layer"])
        keep = ~np.asarray(t["dead"], bool) & np.asarray(t["selectable"], bool)
        expected = np.nanmedian((t["mu1"] * t["mu2"])[keep])
        assert r["median"] == pytest.approx(expected)


def test_comparison_page(folders: list[Path], tmp_path: Path) -> None:
    page = build_comparison(folders, tmp_path / "cmp", n_boot=200)
    text = page.read_text(encoding="utf-8")
    assert page.name == "compare.html"
    for name in ("compare_frequency.png", "compare_scores.png", "compare_shares.png"):
        assert f'src="figures/{name}"' in text and (page.parent / "figures" / name).is_file()
    assert "toy0 (random:0)" in text and "toy1 (random:1)" in text
    assert "median of μ1·μ2" in text and "bootstrap" in text
    rows = ranking([load_network(f) for f in folders], n_boot=200)
    assert len(rows) == 5  # 2 + 3 layers
    meds = [r["median"] for r in rows]
    assert meds == sorted(meds, reverse=True)
    for r in rows:
        assert r["ci_low"] <= r["median"] <= r["ci_high"]
    assert {r["depth"] for r in rows} == {0.0, 0.5, 1.0}
    # the same inputs give the same page
    again = build_comparison(folders, tmp_path / "cmp2", n_boot=200)
    assert again.read_bytes() == text.encode("utf-8")


def test_bootstrap_median_interval() -> None:
    m, lo, hi = bootstrap_median(np.r_[np.zeros(50), np.ones(51)], n_boot=500)
    assert m == 1.0 and lo == 0.0 and hi == 1.0
    m, lo, hi = bootstrap_median(np.arange(1001.0), n_boot=500)
    assert m == 500.0 and 440 < lo < 500 < hi < 560
    assert all(np.isnan(bootstrap_median(np.array([np.nan]))))


def test_comparison_needs_two_folders(folders: list[Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two"):
        build_comparison(folders[:1], tmp_path)
    with pytest.raises(ValueError, match="labels"):
        build_comparison(folders, tmp_path, labels=["one"])


def test_cli_report_several_folders(
    folders: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hvsprobe.cli import main

    args = ["report", *map(str, folders)]
    assert main([*args, "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "compare.html").is_file()
    assert "comparison:" in capsys.readouterr().out
    assert main([*args, str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err
    assert "absent" in err and len(err.strip().splitlines()) == 1
    assert main([*args, "--inversion", str(tmp_path)]) == 2
    assert "single results folder" in capsys.readouterr().err
    # one folder: the report, as before
    assert main(["report", str(folders[0]), "--out", str(tmp_path / "one")]) == 0
    assert (tmp_path / "one" / "report.html").is_file()


def test_channel_table_texts_match_fmt_value() -> None:
    from hvsprobe.report.channels import _SCORE_COLUMNS, _rows
    from hvsprobe.report.html import fmt_value

    t = {
        "channel": np.array([3, 7, 9, 11]),
        "dead": np.array([False, False, True, False]),
        "weak": np.array([True, False, False, False]),
        "mu1": np.array([0.123456, np.nan, np.inf, -np.inf]),
        "pe": np.array([1e-5, 2.5, 1234.5, -0.5]),
    }
    rows = _rows(t, np.array([2, 1, 0, 0]))
    for i, row in enumerate(rows):
        want = [fmt_value(float(t[c][i]), 3) if c in t else "—" for c, _ in _SCORE_COLUMNS]
        assert row["cells"] == want
    assert rows[0]["flags"] == ["weak"] and rows[2]["flags"] == ["dead"]
    assert [r["rank"] for r in rows] == [2, 1, "—", "—"]
