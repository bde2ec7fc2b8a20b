"""Tests for hvsprobe.image_io: the one image decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hvsprobe.image_io import image_size, load_image


def test_load_image_rgb_and_grey(tmp_path: Path) -> None:
    arr = np.zeros((5, 7, 3), dtype=np.uint8)
    arr[..., 0] = 255
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.shape == (1, 3, 5, 7) and img.dtype == torch.float32
    assert float(img[0, 0].min()) == 1.0 and float(img[0, 1:].max()) == 0.0
    Image.fromarray(np.full((4, 4), 128, dtype=np.uint8)).save(tmp_path / "g.png")
    grey = load_image(tmp_path / "g.png")
    assert grey.shape == (1, 3, 4, 4)
    assert torch.allclose(grey, torch.full_like(grey, 128 / 255))


def test_load_image_16_bit_and_float(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 2), 65535, dtype=np.uint16)).save(tmp_path / "h.png")
    assert torch.allclose(load_image(tmp_path / "h.png"), torch.ones(1, 3, 3, 2))
    Image.fromarray(np.zeros((2, 2), dtype=np.float32), mode="F").save(tmp_path / "f.tiff")
    with pytest.raises(ValueError, match="mode F"):
        load_image(tmp_path / "f.tiff")


def test_image_size_is_height_width(tmp_path: Path) -> None:
    Image.new("RGB", (9, 4)).save(tmp_path / "s.png")
    assert image_size(tmp_path / "s.png") == (4, 9)
