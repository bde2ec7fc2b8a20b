"""Super-resolution data: HR folders, the bicubic x4 degradation, seeded patch sampling.

Degradation
-----------
Low-resolution (LR) images are made from the high-resolution (HR) ones by
:func:`bicubic_downscale`: ``torch.nn.functional.interpolate(mode="bicubic",
antialias=True, align_corners=False)`` in float32, then clamped to [0, 1] and rounded to 8-bit
levels (an LR image is an 8-bit PNG in the standard benchmarks). With ``antialias=True``
PyTorch uses the same separable filter as Pillow's ``Image.resize(..., BICUBIC)`` (Pillow's
code was ported; the two agree to 1e-7 on float images):

* cubic convolution kernel with ``a = -0.5`` (Keys 1981), the same kernel as MATLAB's
  ``imresize``. PyTorch's *non*-antialiased bicubic (``antialias=False``) uses ``a = -0.75``
  (OpenCV's choice) and does not widen the kernel, so it aliases when downscaling;
* antialiasing by stretching the kernel by the scale factor (support +-2 input pixels becomes
  +-8 HR pixels for x4, with weights scaled by 1/4), like MATLAB;
* at the image border the kernel is truncated and its weights renormalised to sum to one,
  whereas MATLAB's ``imresize`` mirrors the image (symmetric padding). Only the outermost
  few LR pixels differ;
* computation in float32 with one final rounding; MATLAB's ``imresize`` on a ``uint8`` image
  rounds to ``uint8`` (as we read imresize.m, after each of its two 1-D passes).

:func:`matlab_imresize` is a float64 re-implementation of MATLAB's ``imresize(img, 1/4,
'bicubic')`` written from its documented algorithm (weights, symmetric padding), kept as a
reference for measuring that difference (see docs/sr.md for the numbers).

Sampling
--------
Images are decoded once (:class:`ImageBank`, HR and LR kept as ``uint8``). Training sample
number ``g`` (counting from 0 over the whole run, across steps and ranks) is a pure function
of ``(seed, g)``: an image drawn from a per-epoch permutation, a crop position and one of the
8 flips/90-degree rotations. Step ``s`` with global batch ``B`` uses samples
``s*B ... s*B + B - 1``; under data parallelism rank ``r`` of ``W`` takes the ``r``-th
contiguous ``B / W`` of them. The order therefore does not depend on the number of loader
workers or processes, and resuming at step ``s`` needs nothing but ``s``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from .._io import DATA_ENV_VAR, resolve_data_root

__all__ = [
    "DATA_ROOT_HELP",
    "DEFAULT_TRAIN_SETS",
    "IMAGE_SUFFIXES",
    "TEST_SETS",
    "THREADS_HELP",
    "ImageBank",
    "PatchDataset",
    "StepBatchSampler",
    "batch_indices",
    "bicubic_downscale",
    "bicubic_upscale",
    "list_images",
    "load_rgb",
    "load_test_set",
    "make_loader",
    "matlab_imresize",
    "mod_crop",
    "resolve_sr_root",
]

#: Help texts of the options that `hvsprobe sr` and claim 2 share.
DATA_ROOT_HELP = (
    "folder holding sr/ (default: $HVSPROBE_DATA, else the folder `hvsprobe data` registered)"
)
THREADS_HELP = "CPU threads, torch.set_num_threads (default: torch's choice)"

DEFAULT_TRAIN_SETS = ("BSDS200_train", "BSDS200_test", "SunHays80")
TEST_SETS = ("Set5", "Set14", "BSD100")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
ENV_VAR = DATA_ENV_VAR


# --------------------------------------------------------------------------------------
# files


def resolve_sr_root(data_root: str | os.PathLike[str] | None = None) -> Path:
    """The ``sr`` folder inside the data root (``data_root`` or ``$HVSPROBE_DATA``).

    Parameters
    ----------
    data_root : path-like, optional
        The data folder (holding ``sr/train`` and ``sr/test``), or the ``sr`` folder itself.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        If no root is given or found.
    """
    root, _ = resolve_data_root(data_root, holds="sr/train and sr/test")
    if (root / "sr").is_dir():
        return root / "sr"
    if (root / "train").is_dir() or (root / "test").is_dir():
        return root
    raise FileNotFoundError(f"{root} holds neither sr/train nor sr/test")


def set_dir(name: str | os.PathLike[str], kind: str, data_root: object) -> Path:
    """A set name under ``<sr root>/<kind>/`` or an explicit folder."""
    p = Path(name)
    if p.is_dir():
        return p
    folder = resolve_sr_root(data_root) / kind / str(name)  # type: ignore[arg-type]
    if not folder.is_dir():
        raise FileNotFoundError(f"no {kind} set {str(name)!r}: {folder} is not a folder")
    return folder


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files in ``folder`` (sorted by name)."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def load_rgb(path: str | os.PathLike[str]) -> torch.Tensor:
    """Decode an image file to a ``uint8`` 3 x H x W RGB tensor (grey images are repeated)."""
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def mod_crop(img: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right so height and width are multiples of ``scale``."""
    h, w = img.shape[-2:]
    return img[..., : h - h % scale, : w - w % scale]


# --------------------------------------------------------------------------------------
# resampling


def _as_float_batch(x: torch.Tensor) -> tuple[torch.Tensor, bool, bool]:
    was_uint8 = x.dtype == torch.uint8
    squeeze = x.ndim == 3
    y = x.float() / 255.0 if was_uint8 else x
    if squeeze:
        y = y.unsqueeze(0)
    if y.ndim != 4:
        raise ValueError(f"expected C x H x W or N x C x H x W, got shape {tuple(x.shape)}")
    return y, was_uint8, squeeze


def _finish(y: torch.Tensor, quantize: bool, was_uint8: bool, squeeze: bool) -> torch.Tensor:
    y = y.clamp(0.0, 1.0)
    if quantize or was_uint8:
        y = (y * 255.0).round()
        y = y.to(torch.uint8) if was_uint8 else y / 255.0
    return y.squeeze(0) if squeeze else y


def bicubic_downscale(x: torch.Tensor, scale: int = 4, *, quantize: bool = True) -> torch.Tensor:
    """The training and test degradation: antialiased bicubic downscaling by ``scale``.

    Parameters
    ----------
    x : torch.Tensor
        C x H x W or N x C x H x W, float in [0, 1] or ``uint8``; H and W must be multiples of
        ``scale`` (see :func:`mod_crop`).
    scale : int
        Downscaling factor.
    quantize : bool
        Round the result to 8-bit levels (always done for ``uint8`` input, which gives
        ``uint8`` output).

    Returns
    -------
    torch.Tensor
        Same layout and dtype as ``x``, ``scale`` times smaller, values in [0, 1].
    """
    y, was_uint8, squeeze = _as_float_batch(x)
    h, w = y.shape[-2:]
    if h % scale or w % scale:
        raise ValueError(f"image size {h} x {w} is not a multiple of {scale}; mod_crop it first")
    if h < scale or w < scale:
        raise ValueError(f"image {h} x {w} is smaller than the scale factor {scale}")
    lr = F.interpolate(
        y, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False
    )
    return _finish(lr, quantize, was_uint8, squeeze)


def bicubic_upscale(x: torch.Tensor, scale: int = 4, *, quantize: bool = True) -> torch.Tensor:
    """The bicubic baseline: upscale by ``scale`` with the a = -0.5 kernel (MATLAB's, Pillow's).

    ``antialias=True`` selects PyTorch's Pillow-compatible kernel (a = -0.5); for upscaling it
    does no smoothing.

    Parameters
    ----------
    x : torch.Tensor
        C x h x w or N x C x h x w, float in [0, 1] or ``uint8``.
    scale : int
    quantize : bool
        Round to 8-bit levels.

    Returns
    -------
    torch.Tensor
    """
    y, was_uint8, squeeze = _as_float_batch(x)
    h, w = y.shape[-2:]
    up = F.interpolate(
        y, size=(h * scale, w * scale), mode="bicubic", antialias=True, align_corners=False
    )
    return _finish(up, quantize, was_uint8, squeeze)


def _cubic(t: np.ndarray) -> np.ndarray:
    a = np.abs(t)
    a2, a3 = a * a, a * a * a
    return (1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0) * (
        (a > 1) & (a <= 2)
    )


def _matlab_weights(n_in: int, n_out: int, scale: float) -> np.ndarray:
    """The n_out x n_in resampling matrix of MATLAB's bicubic ``imresize`` along one axis."""
    width = 4.0 / scale if scale < 1 else 4.0
    kern = (lambda t: scale * _cubic(scale * t)) if scale < 1 else _cubic
    u = np.arange(1, n_out + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(np.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]  # 1-based source positions
    wts = kern(u[:, None] - idx)
    wts /= wts.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(n_in), np.arange(n_in)[::-1]])  # symmetric padding
    src = mirror[np.mod(idx.astype(np.int64) - 1, 2 * n_in)]
    mat = np.zeros((n_out, n_in))
    for j in range(taps):
        np.add.at(mat, (np.arange(n_out), src[:, j]), wts[:, j])
    return mat


def matlab_imresize(img: np.ndarray, scale: float) -> np.ndarray:
    """Reference re-implementation of MATLAB ``imresize(img, scale, 'bicubic')`` in float64.

    Kernel a = -0.5, antialiasing by kernel widening when ``scale < 1``, symmetric padding at
    the borders; rows first, then columns. No rounding (MATLAB rounds after each pass for
    ``uint8`` input).

    Parameters
    ----------
    img : numpy.ndarray
        H x W or H x W x C, float.
    scale : float
        Resize factor (e.g. 0.25).

    Returns
    -------
    numpy.ndarray
        float64.
    """
    x = np.asarray(img, dtype=np.float64)
    h, w = x.shape[:2]
    oh, ow = int(np.ceil(h * scale)), int(np.ceil(w * scale))
    rows = _matlab_weights(h, oh, scale)
    cols = _matlab_weights(w, ow, scale)
    y = np.tensordot(rows, x, axes=(1, 0))  # oh x W (x C)
    y = np.moveaxis(np.tensordot(cols, y, axes=(1, 1)), 0, 1)  # oh x ow (x C)
    return y


# --------------------------------------------------------------------------------------
# preloaded images


@dataclass
class ImageBank:
    """Decoded HR images and their LR versions, both ``uint8`` 3 x H x W.

    Attributes
    ----------
    hr : list of torch.Tensor
        HR images, mod-cropped to multiples of ``scale``.
    lr : list of torch.Tensor
        ``bicubic_downscale(hr)``, computed once on the whole image.
    names : list of str
        ``set/file`` of each image.
    scale : int
    """

    hr: list[torch.Tensor]
    lr: list[torch.Tensor]
    names: list[str]
    scale: int = 4

    def __len__(self) -> int:
        return len(self.hr)

    @classmethod
    def from_tensors(cls, images: Sequence[torch.Tensor], scale: int = 4) -> ImageBank:
        """Build from ``uint8`` (or [0, 1] float) 3 x H x W images."""
        hr, lr = [], []
        for im in images:
            u8 = im if im.dtype == torch.uint8 else (im.clamp(0, 1) * 255).round().to(torch.uint8)
            u8 = mod_crop(u8, scale).contiguous()
            hr.append(u8)
            lr.append(bicubic_downscale(u8, scale).contiguous())
        return cls(hr, lr, [f"image{i}" for i in range(len(hr))], scale)

    @classmethod
    def from_folders(
        cls,
        sets: Sequence[str | os.PathLike[str]] = DEFAULT_TRAIN_SETS,
        *,
        data_root: str | os.PathLike[str] | None = None,
        scale: int = 4,
        max_images: int | None = None,
        min_size: int = 0,
    ) -> ImageBank:
        """Decode every image of the training ``sets`` once.

        Parameters
        ----------
        sets : sequence
            Names under ``<data_root>/sr/train/`` or folders.
        data_root : path-like, optional
            Default ``$HVSPROBE_DATA``.
        scale : int
        max_images : int, optional
            Keep only the first images of each set (tests).
        min_size : int
            Skip images whose shorter side is below this (HR pixels).

        Returns
        -------
        ImageBank
        """
        files: list[tuple[str, Path]] = []
        for s in sets:
            folder = set_dir(s, "train", data_root)
            found = list_images(folder)
            if max_images is not None:
                found = found[:max_images]
            files += [(f"{folder.name}/{p.name}", p) for p in found]
        bank = cls.from_tensors([load_rgb(p) for _, p in files], scale)
        bank.names = [n for n, _ in files]
        keep = [i for i, h in enumerate(bank.hr) if min(h.shape[-2:]) >= min_size]
        if not keep:
            raise ValueError(f"no training image is at least {min_size} pixels on its shorter side")
        return cls(
            [bank.hr[i] for i in keep],
            [bank.lr[i] for i in keep],
            [bank.names[i] for i in keep],
            scale,
        )


def load_test_set(
    name: str | os.PathLike[str], data_root: str | os.PathLike[str] | None = None, scale: int = 4
) -> ImageBank:
    """A test set (``Set5``, ``Set14``, ``BSD100`` or a folder) with its LR images."""
    folder = set_dir(name, "test", data_root)
    files = list_images(folder)
    bank = ImageBank.from_tensors([load_rgb(p) for p in files], scale)
    bank.names = [p.stem for p in files]
    return bank


# --------------------------------------------------------------------------------------
# deterministic patch sampling


def _dihedral(x: torch.Tensor, code: int) -> torch.Tensor:
    """Apply one of the 8 flips/90-degree rotations (bit 0: h-flip, 1: v-flip, 2: transpose)."""
    if code & 1:
        x = x.flip(-1)
    if code & 2:
        x = x.flip(-2)
    if code & 4:
        x = x.transpose(-1, -2)
    return x


class PatchDataset(Dataset):
    """Item ``g`` is the ``g``-th training sample of the run: an aligned (LR, HR) patch pair.

    Parameters
    ----------
    bank : ImageBank
    patch : int
        HR patch size (a multiple of ``bank.scale``); the LR patch is ``patch / scale``.
    seed : int
        Fixes image order, crop positions and augmentations.
    augment : bool
        Random flips and 90-degree rotations.
    """

    def __init__(self, bank: ImageBank, patch: int, seed: int, augment: bool = True) -> None:
        if patch % bank.scale:
            raise ValueError(f"patch {patch} must be a multiple of the scale {bank.scale}")
        too_small = [
            n for n, h in zip(bank.names, bank.hr, strict=True) if min(h.shape[-2:]) < patch
        ]
        if too_small:
            raise ValueError(
                f"{len(too_small)} images are smaller than the patch {patch}: {too_small[:3]}"
            )
        if len(bank) == 0:
            raise ValueError("the image bank is empty")
        self.bank = bank
        self.patch = int(patch)
        self.seed = int(seed)
        self.augment = bool(augment)
        self._perms: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.bank)

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) > 8:
                self._perms.clear()
            rng = np.random.default_rng([self.seed, 0, epoch])
            self._perms[epoch] = rng.permutation(len(self.bank))
        return self._perms[epoch]

    def spec(self, g: int) -> tuple[int, int, int, int]:
        """``(image index, LR row, LR column, augmentation code)`` of sample ``g``."""
        n = len(self.bank)
        image = int(self._perm(g // n)[g % n])
        lr = self.bank.lr[image]
        p = self.patch // self.bank.scale
        rng = np.random.default_rng([self.seed, 1, g])
        top = int(rng.integers(0, lr.shape[-2] - p + 1))
        left = int(rng.integers(0, lr.shape[-1] - p + 1))
        code = int(rng.integers(0, 8)) if self.augment else 0
        return image, top, left, code

    def __getitem__(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, top, left, code = self.spec(int(g))
        s, p = self.bank.scale, self.patch // self.bank.scale
        lr = self.bank.lr[image][:, top : top + p, left : left + p]
        hr = self.bank.hr[image][:, s * top : s * (top + p), s * left : s * (left + p)]
        lr = _dihedral(lr, code).float().div_(255.0)
        hr = _dihedral(hr, code).float().div_(255.0)
        return lr.contiguous(), hr.contiguous()


def batch_indices(step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[int]:
    """Global sample numbers that rank ``rank`` of ``world_size`` uses at ``step``.

    Parameters
    ----------
    step : int
        0-based training step.
    batch_size : int
        Global batch size (all ranks together); must be divisible by ``world_size``.
    rank, world_size : int

    Returns
    -------
    list of int
    """
    if batch_size % world_size:
        raise ValueError(f"global batch {batch_size} is not divisible by {world_size} processes")
    per = batch_size // world_size
    start = step * batch_size + rank * per
    return list(range(start, start + per))


class StepBatchSampler(Sampler[list[int]]):
    """Yields :func:`batch_indices` for steps ``start_step ... total_steps - 1``."""

    def __init__(
        self,
        batch_size: int,
        start_step: int,
        total_steps: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.batch_size = batch_size
        self.start_step = start_step
        self.total_steps = total_steps
        self.rank = rank
        self.world_size = world_size
        batch_indices(0, batch_size, rank, world_size)  # validate

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start_step, self.total_steps):
            yield batch_indices(step, self.batch_size, self.rank, self.world_size)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)


def make_loader(
    dataset: PatchDataset,
    batch_size: int,
    start_step: int,
    total_steps: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A loader yielding one (LR, HR) batch per step from ``start_step`` on.

    The batches are the same for any ``num_workers`` (each sample depends only on its number).
    """
    return DataLoader(
        dataset,
        batch_sampler=StepBatchSampler(batch_size, start_step, total_steps, rank, world_size),
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
