"""Reading image files as tensors: the one decoder every part of hvsprobe uses."""

from __future__ import annotations

import os

import numpy as np
import torch

__all__ = ["image_size", "load_image"]


def load_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Read an image file as a ``1 x 3 x H x W`` float32 tensor in [0, 1].

    8-bit images are divided by 255, 16-bit grey images by 65535; grey images are repeated
    to three channels, palette images expanded, an alpha channel is dropped (not composited).

    Parameters
    ----------
    path : path-like
        Image file (any format PIL reads).

    Returns
    -------
    torch.Tensor
        ``1 x 3 x H x W`` float32; index ``[0]`` for one ``3 x H x W`` image.

    Raises
    ------
    ValueError
        For floating-point images (PIL mode ``F``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grey.png"
    >>> Image.new("L", (4, 2), 255).save(path)
    >>> load_image(path).shape
    torch.Size([1, 3, 2, 4])
    """
    from PIL import Image

    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(im, dtype=np.float64) / 65535.0
            arr = np.repeat(np.clip(arr, 0.0, 1.0)[..., None], 3, axis=2)
        elif im.mode == "F":
            raise ValueError(f"{path}: floating-point images (mode F) are not supported")
        else:
            arr = np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float()[None]


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Height and width of an image file, read from its header.

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    (int, int)
        ``(height, width)`` in pixels.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.png"
    >>> Image.new("RGB", (4, 2)).save(path)
    >>> image_size(path)
    (2, 4)
    """
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return h, w
