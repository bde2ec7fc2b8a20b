"""The report's PNG writer: what Pillow reads back is what was written."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from hvsprobe.report.png import png_bytes


@pytest.mark.parametrize("channels", [3, 4])
def test_round_trip_through_pillow(channels: int) -> None:
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    image = Image.open(io.BytesIO(png_bytes(pixels, dpi=100)))
    assert image.mode == ("RGB" if channels == 3 else "RGBA")
    np.testing.assert_array_equal(np.asarray(image), pixels)
    assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    assert set(image.info) == {"dpi"}  # no text chunks: no software name, no date


def test_flat_figure_compresses_and_is_deterministic() -> None:
    pixels = np.full((200, 300, 3), 255, dtype=np.uint8)
    pixels[50:60, :, :] = (31, 95, 168)
    data = png_bytes(pixels, dpi=72)
    assert data == png_bytes(pixels.copy(), dpi=72)
    assert len(data) < pixels.nbytes / 50


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.float32),
        np.zeros((4, 4), np.uint8),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
    ],
)
def test_bad_pixels_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 array H x W x 3 or 4"):
        png_bytes(bad, dpi=100)
