"""The report's PNGs (written with Pillow): the canvas's pixels, the DPI, nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hvsprobe.report.figures import DPI, new_figure, save_canvas, save_figure


def test_png_holds_the_canvas_pixels_and_dpi_only(tmp_path) -> None:
    fig = new_figure(2.0, 1.5)
    ax = fig.add_subplot()
    ax.plot([0, 1], [1, 0], color=(0.1, 0.4, 0.7))
    path = save_figure(fig, tmp_path / "a.png")
    canvas = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    image = Image.open(path)
    assert image.mode == "RGB"  # opaque: no alpha channel
    np.testing.assert_array_equal(np.asarray(image), canvas)
    assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.01)
    assert set(image.info) == {"dpi"}  # no text chunks: no software name, no date
    again = save_canvas(fig, tmp_path / "b.png")
    assert again.read_bytes() == path.read_bytes()  # same pixels, same bytes
