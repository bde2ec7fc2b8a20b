"""The report's per-layer tuning figures: drawn over a shared background, equal to full draws."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hvsprobe.report import figures as figs
from hvsprobe.report import tuning_figures as tf
from hvsprobe.report.inputs import CSFCurve
from hvsprobe.scores import ChannelScores, compute_scores
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.tuning import Tuning


def _csf() -> CSFCurve:
    return (lambda f: np.exp(-((np.log2(f) - 2.0) ** 2) / 4.0), 4.0, "test CSF")


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Tuning, ChannelScores]:
    """Three layers: non-negative responses, responses with negatives, all channels dead."""
    grid = StimulusGrid.default(size=16, n_frequencies=6, n_orientations=4, n_phases=1)
    rng = np.random.default_rng(3)
    responses = {
        "pos": rng.random((9, 6, 4, 1, 1)).astype(np.float32),
        "signed": (rng.random((7, 6, 4, 1, 1)) - 0.6).astype(np.float32),
        "dead": np.zeros((3, 6, 4, 1, 1), np.float32),
    }
    config = {"backbone": "toy", "layers": list(responses), "grid": grid.to_dict()}
    directory = tmp_path_factory.mktemp("tuning")
    Tuning(responses=responses, grid=grid, config=config).save(directory)
    tuning = Tuning.load(directory)
    return tuning, compute_scores(tuning)


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _draw_all(
    tuning: Tuning, scores: ChannelScores, out: Path, order: list[str]
) -> dict[str, Path]:
    with figs.report_style():
        drawer = tf.TuningFigure(tuning.grid, n=3, csf=_csf())
        return {
            name: drawer.draw(name, tuning.responses[name], scores.layer(name), out / f"{name}.png")
            for name in order
        }


def test_blitted_figures_equal_full_draws(
    layers: tuple[Tuning, ChannelScores], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each layer drawn over the kept background is, pixel for pixel, the full draw."""
    tuning, scores = layers
    # the y range changes between layers (negatives), then changes back: backgrounds redrawn
    order = ["pos", "signed", "dead", "pos"]
    blitted = _draw_all(tuning, scores, tmp_path / "blit", order)

    keep = tf.save_canvas

    def full_draw(fig, path):  # type: ignore[no-untyped-def]
        fig.canvas.draw()  # every artist on the figure now, in z-order
        return keep(fig, path)

    monkeypatch.setattr(tf, "save_canvas", full_draw)
    full = _draw_all(tuning, scores, tmp_path / "full", order)
    for name in order:
        a, b = _pixels(blitted[name]), _pixels(full[name])
        assert a.shape == b.shape
        assert int(np.abs(a - b).max()) == 0, name


def test_no_artist_left_from_the_previous_layer(
    layers: tuple[Tuning, ChannelScores], tmp_path: Path
) -> None:
    """Drawing a layer after others gives the same bytes as drawing it alone."""
    tuning, scores = layers
    after = _draw_all(tuning, scores, tmp_path / "seq", ["signed", "dead", "pos"])["pos"]
    alone = _draw_all(tuning, scores, tmp_path / "one", ["pos"])["pos"]
    assert after.read_bytes() == alone.read_bytes()
    # and the layers differ from each other (the curves are really drawn)
    dead = _draw_all(tuning, scores, tmp_path / "dead", ["dead"])["dead"]
    assert int(np.abs(_pixels(alone) - _pixels(dead)).max()) > 0


def test_tuning_curves_is_one_figure(layers: tuple[Tuning, ChannelScores], tmp_path: Path) -> None:
    """The one-layer function draws what the shared drawer draws."""
    tuning, scores = layers
    with figs.report_style():
        single = tf.tuning_curves(
            "signed",
            tuning.responses["signed"],
            tuning.grid,
            scores.layer("signed"),
            tmp_path / "single.png",
            n=3,
            csf=_csf(),
        )
    shared = _draw_all(tuning, scores, tmp_path / "shared", ["pos", "signed"])["signed"]
    assert single.read_bytes() == shared.read_bytes()
    image = Image.open(single)
    assert image.mode == "RGB" and image.size == (1250, 660)
