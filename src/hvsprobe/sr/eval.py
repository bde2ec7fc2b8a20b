"""Evaluation with the standard SR protocol, plus LPIPS and side-by-side crops.

Protocol (per image, then averaged over the set):

* HR is cropped to a multiple of 4 (:func:`~hvsprobe.sr.data.mod_crop`); LR =
  :func:`~hvsprobe.sr.data.bicubic_downscale` (8-bit); the network's output is clamped to
  [0, 1] and rounded to 8-bit levels, as a saved PNG would be;
* PSNR and SSIM on the luma Y of ITU-R BT.601 (the MATLAB ``rgb2ycbcr`` row):
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for RGB in [0, 1], i.e. Y in [16, 235] on the
  0-255 scale, kept in floating point (not rounded, as in the EDSR/BasicSR Python code;
  MATLAB's ``rgb2ycbcr`` on ``uint8`` rounds, which moves PSNR by ~0.01 dB);
* a border of ``scale`` = 4 pixels is cut from every side before PSNR/SSIM/LPIPS;
* PSNR = 10 log10(255^2 / MSE) on Y;
* SSIM: ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255)`` on Y (Wang et al. 2004 settings: 11 x 11
  Gaussian window, K1 = 0.01, K2 = 0.03). Without scikit-image, :func:`ssim_wang` computes
  the same quantity with scipy (agrees to ~1e-6);
* LPIPS v0.1 AlexNet (the main perceptual figure) and VGG on the RGB image, from
  :mod:`hvsprobe.metrics`;
* the bicubic baseline upsamples the LR image with the a = -0.5 bicubic kernel
  (:func:`~hvsprobe.sr.data.bicubic_upscale`).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._format import format_number
from .._io import atomic_path, read_json, sha256_file, write_json_atomic, write_text_atomic
from .data import TEST_SETS, ImageBank, bicubic_upscale, load_test_set

__all__ = [
    "BICUBIC",
    "EvalResult",
    "evaluate",
    "psnr_y",
    "rgb_to_y",
    "save_comparison",
    "shave",
    "ssim_wang",
    "ssim_y",
]

#: The name of the bicubic baseline in :func:`evaluate`.
BICUBIC = "bicubic"
PROTOCOL_VERSION = 1
METRICS = ("psnr_y", "ssim_y", "lpips_alex", "lpips_vgg")


# --------------------------------------------------------------------------------------
# the Y-channel protocol


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma on the 0-255 scale (16..235) of ``N x 3 x H x W`` RGB in [0, 1].

    Returns
    -------
    torch.Tensor
        ``N x H x W``, float64.
    """
    x = x.double()
    return 16.0 + 65.481 * x[:, 0] + 128.553 * x[:, 1] + 24.966 * x[:, 2]


def shave(x: torch.Tensor, border: int) -> torch.Tensor:
    """Cut ``border`` pixels from every side of the last two dimensions."""
    if border <= 0:
        return x
    if x.shape[-1] <= 2 * border or x.shape[-2] <= 2 * border:
        raise ValueError(f"image {tuple(x.shape[-2:])} is too small for a {border}-pixel border")
    return x[..., border:-border, border:-border]


def psnr_y(sr: torch.Tensor, hr: torch.Tensor, border: int = 4) -> np.ndarray:
    """Per-image PSNR (dB) on BT.601 Y (0-255) after cutting ``border`` pixels.

    Parameters
    ----------
    sr, hr : torch.Tensor
        ``N x 3 x H x W`` RGB in [0, 1].
    border : int

    Returns
    -------
    numpy.ndarray
        ``(N,)``; ``inf`` for identical images.
    """
    a, b = shave(rgb_to_y(sr), border), shave(rgb_to_y(hr), border)
    mse = (a - b).pow(2).flatten(1).mean(1).cpu().numpy()
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(255.0**2 / mse)


def _gaussian_filter(img: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    # skimage: truncate 3.5 -> radius int(3.5 * 1.5 + 0.5) = 5 -> 11 x 11, 'reflect' borders
    return gaussian_filter(img, sigma=sigma, truncate=3.5, mode="reflect")


def ssim_wang(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """SSIM with the Wang et al. (2004) settings, in scipy (no scikit-image needed).

    Gaussian window sigma 1.5 (11 x 11), K1 = 0.01, K2 = 0.03, population covariances,
    mean of the SSIM map without its 5-pixel border (what scikit-image returns with
    ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _gaussian_filter(a, 1.5), _gaussian_filter(b, 1.5)
    saa = _gaussian_filter(a * a, 1.5) - mu_a * mu_a
    sbb = _gaussian_filter(b * b, 1.5) - mu_b * mu_b
    sab = _gaussian_filter(a * b, 1.5) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (saa + sbb + c2)
    smap = num / den
    pad = 5
    return float(smap[pad:-pad, pad:-pad].mean())


def _ssim_backend() -> Callable[[np.ndarray, np.ndarray], float]:
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return ssim_wang

    def sk(a: np.ndarray, b: np.ndarray) -> float:
        return float(
            structural_similarity(
                a,
                b,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False,
                data_range=255.0,
            )
        )

    return sk


def ssim_backend_name() -> str:
    """``'scikit-image'`` or ``'scipy (ssim_wang)'``."""
    return "scikit-image" if _ssim_backend() is not ssim_wang else "scipy (ssim_wang)"


def ssim_y(sr: torch.Tensor, hr: torch.Tensor, border: int = 4) -> np.ndarray:
    """Per-image SSIM on BT.601 Y (0-255) after cutting ``border`` pixels (see module doc)."""
    fn = _ssim_backend()
    a = shave(rgb_to_y(sr), border).cpu().numpy()
    b = shave(rgb_to_y(hr), border).cpu().numpy()
    return np.array([fn(x, y) for x, y in zip(a, b, strict=True)])


# --------------------------------------------------------------------------------------
# running models


Upscaler = Callable[[torch.Tensor], torch.Tensor]


def _as_upscaler(model: str | os.PathLike[str] | nn.Module, device: torch.device) -> Upscaler:
    if isinstance(model, str) and model == BICUBIC:
        return lambda lr: bicubic_upscale(lr, 4, quantize=True)
    if isinstance(model, str | os.PathLike):
        from .checkpoints import load_model

        model = load_model(model, device)
    net = model.to(device).eval()

    def run(lr: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = net(lr.to(device)).clamp_(0.0, 1.0)
        return out.mul_(255.0).round_().div_(255.0).cpu()

    return run


def _model_key(model: str | os.PathLike[str] | nn.Module) -> str:
    if isinstance(model, str) and model == BICUBIC:
        return BICUBIC
    if isinstance(model, str | os.PathLike):
        return sha256_file(model)[:16]
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def _lpips_module(net: str, device: str) -> nn.Module:
    from .. import metrics as metric

    return metric.LPIPS(net).to(device).eval()


def _lpips(
    nets: Sequence[str], sr: torch.Tensor, hr: torch.Tensor, device: torch.device
) -> dict[str, float]:
    """LPIPS v0.1 of one image pair for each of ``nets`` (modules built once per process)."""
    out = {}
    with torch.no_grad():
        for n in nets:
            m = _lpips_module(n, str(device))
            out[f"lpips_{n}"] = float(m(sr.to(device), hr.to(device)).item())
    return out


@dataclass
class EvalResult:
    """Per-image rows and per-(model, set) means."""

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    out: Path | None = None
    crops: list[Path] = field(default_factory=list)

    def table(self, metric: str = "psnr_y") -> dict[tuple[str, str], float]:
        """``(model, set) -> mean metric``."""
        return {(r["model"], r["set"]): r[metric] for r in self.summary}


def _summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["set"]), []).append(r)
    out = []
    for (m, s), rs in groups.items():
        entry: dict[str, Any] = {"model": m, "set": s, "n_images": len(rs)}
        for k in METRICS:
            vals = [r[k] for r in rs if k in r and r[k] is not None]
            entry[k] = float(np.mean(vals)) if vals else float("nan")
        out.append(entry)
    return out


def _crop_box(hr: torch.Tensor, size: int) -> tuple[int, int, int]:
    """Top, left, side of the most textured ``size`` window (on a coarse grid)."""
    h, w = hr.shape[-2:]
    side = min(size, h, w)
    y = rgb_to_y(hr.unsqueeze(0).float() / 255.0 if hr.dtype == torch.uint8 else hr.unsqueeze(0))[0]
    gy, gx = (y[1:, :-1] - y[:-1, :-1]).abs(), (y[:-1, 1:] - y[:-1, :-1]).abs()
    energy = (gy + gx).numpy()
    best, box = -1.0, (0, 0)
    stride = max(8, side // 4)
    for top in range(0, max(1, h - side) + 1, stride):
        for left in range(0, max(1, w - side) + 1, stride):
            e = float(energy[top : top + side - 1, left : left + side - 1].mean())
            if e > best:
                best, box = e, (top, left)
    return box[0], box[1], side


def save_comparison(
    path: str | os.PathLike[str],
    panels: Sequence[tuple[str, torch.Tensor]],
    box: tuple[int, int, int],
    zoom: int = 2,
) -> Path:
    """Write crops of several images side by side (with labels) as a PNG.

    Parameters
    ----------
    path : path-like
    panels : sequence of (label, 3 x H x W image in [0, 1])
    box : (top, left, side)
        The crop, in HR pixels.
    zoom : int
        Nearest-neighbour enlargement of each crop.
    """
    from PIL import Image, ImageDraw

    top, left, side = box
    label_h, gap = 14, 4
    cell = side * zoom
    canvas = Image.new("RGB", (len(panels) * (cell + gap) - gap, cell + label_h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (label, img) in enumerate(panels):
        crop = img[:, top : top + side, left : left + side].clamp(0, 1)
        arr = (crop.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
        tile = Image.fromarray(arr).resize((cell, cell), Image.NEAREST)
        x0 = i * (cell + gap)
        canvas.paste(tile, (x0, label_h))
        draw.text((x0 + 2, 1), label[: max(4, cell // 6)], fill="black")
    path = Path(path)
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return path


def evaluate(
    models: Mapping[str, str | os.PathLike[str] | nn.Module],
    sets: Sequence[str] = TEST_SETS,
    *,
    data_root: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    lpips_nets: Sequence[str] = ("alex", "vgg"),
    bicubic: bool = True,
    border: int = 4,
    n_crops: int = 3,
    crop_size: int = 96,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    banks: Mapping[str, ImageBank] | None = None,
    lpips_nets_by_set: Mapping[str, Sequence[str]] | None = None,
) -> EvalResult:
    """Evaluate SR models (and the bicubic baseline) on test sets.

    Parameters
    ----------
    models : mapping
        Display name -> checkpoint path or network.
    sets : sequence of str
        Test set names under ``sr/test`` (``Set5``, ``Set14``, ``BSD100``) or folders.
    data_root : path-like, optional
        ``$HVSPROBE_DATA`` by default.
    out : path-like, optional
        Writes ``eval_per_image.csv``, ``eval_summary.csv``, ``eval_summary.md``, ``crops/``.
    device : str, optional
        Default: CUDA when available.
    lpips_nets : sequence of {'alex', 'vgg'}
        LPIPS variants to compute (empty: none).
    bicubic : bool
        Include the bicubic baseline (as model ``'bicubic'``).
    border : int
        Pixels cut from each side (the scale, 4).
    n_crops : int
        Side-by-side crop PNGs for the first ``n_crops`` images of each set.
    crop_size : int
        HR side of the crops.
    cache_dir : path-like, optional
        Per-(model, set) results are cached here keyed by the checkpoint's sha256 (default
        ``OUT/cache`` when ``out`` is given).
    progress : bool
    banks : mapping, optional
        Preloaded test sets (name -> :class:`ImageBank`).
    lpips_nets_by_set : mapping, optional
        Set name -> LPIPS variants, overriding ``lpips_nets`` for that set.

    Returns
    -------
    EvalResult
    """
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    entries = _entries(models, bicubic)
    out_p = Path(out) if out is not None else None
    cache_p = Path(cache_dir) if cache_dir is not None else (out_p / "cache" if out_p else None)
    keys = {name: _model_key(m) for name, m in entries.items()}
    upscalers: dict[str, Upscaler] = {}
    rows: list[dict[str, Any]] = []
    crops: list[Path] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(sets) * len(entries), desc="sr eval", unit="model-set")
    for set_name in sets:
        bank = (banks or {}).get(set_name) or load_test_set(set_name, data_root)
        set_label = Path(set_name).name
        nets = tuple((lpips_nets_by_set or {}).get(set_label, lpips_nets))
        proto = {
            "protocol": PROTOCOL_VERSION,
            "border": border,
            "lpips": sorted(nets),
            "ssim": ssim_backend_name(),
        }
        sr_images: dict[str, list[torch.Tensor]] = {}
        for name, m in entries.items():
            cfile = cache_p / f"{keys[name]}-{set_label}.json" if cache_p else None
            set_rows, outs = _model_on_set(
                name,
                m,
                bank,
                set_label,
                nets,
                proto,
                cfile,
                upscalers,
                dev,
                border,
                n_crops=n_crops,
                write_crops=out_p is not None,
            )
            if outs is not None:
                sr_images[name] = outs
            rows += set_rows
            if bar is not None:
                bar.update(1)
        if out_p is not None and n_crops > 0:
            crops += _write_crops(bank, set_label, entries, sr_images, n_crops, crop_size, out_p)
    if bar is not None:
        bar.close()
    summary = _summarise(rows)
    result = EvalResult(rows, summary, out_p, crops)
    if out_p is not None:
        _write_tables(result, out_p, {"border": border, "ssim": ssim_backend_name()})
    return result


def _entries(
    models: Mapping[str, str | os.PathLike[str] | nn.Module], bicubic: bool
) -> dict[str, str | os.PathLike[str] | nn.Module]:
    """The models to evaluate, the bicubic baseline first."""
    entries: dict[str, str | os.PathLike[str] | nn.Module] = {}
    if bicubic:
        entries[BICUBIC] = BICUBIC
    for name, m in models.items():
        if name == BICUBIC:
            raise ValueError(f"{BICUBIC!r} is reserved for the baseline")
        entries[name] = m
    return entries


def _model_on_set(
    name: str,
    m: str | os.PathLike[str] | nn.Module,
    bank: ImageBank,
    set_label: str,
    nets: tuple[str, ...],
    proto: dict[str, Any],
    cfile: Path | None,
    upscalers: dict[str, Upscaler],
    dev: torch.device,
    border: int,
    *,
    n_crops: int,
    write_crops: bool,
) -> tuple[list[dict[str, Any]], list[torch.Tensor] | None]:
    """One model's per-image rows on one set (cached per protocol), and its first outputs.

    The outputs (for the crops) are ``None`` when nothing had to be run.
    """
    cached = read_json(cfile) if cfile is not None and cfile.exists() else None
    if cached is not None and cached.get("config") != proto:
        cached = None  # made under other settings: recompute (and replace) it
    if cached is not None:
        set_rows = [{**r, "model": name} for r in cached["rows"]]
        need_images = n_crops > 0 and write_crops
    else:
        set_rows, need_images = [], True
    if not need_images:
        return set_rows, None
    if name not in upscalers:
        upscalers[name] = _as_upscaler(m, dev)
    outs = []
    for i, (hr8, lr8) in enumerate(zip(bank.hr, bank.lr, strict=True)):
        if cached is not None and i >= n_crops:
            break
        lr = lr8.float().unsqueeze(0) / 255.0
        sr = upscalers[name](lr)
        outs.append(sr[0])
        if cached is not None:
            continue
        hr = hr8.float().unsqueeze(0) / 255.0
        row: dict[str, Any] = {
            "model": name,
            "set": set_label,
            "image": bank.names[i],
            "psnr_y": float(psnr_y(sr, hr, border)[0]),
            "ssim_y": float(ssim_y(sr, hr, border)[0]),
        }
        if nets:
            row.update(_lpips(nets, shave(sr, border), shave(hr, border), dev))
        set_rows.append(row)
    if cfile is not None and cached is None:
        write_json_atomic(
            cfile,
            {
                "kind": "sr_eval_cache",
                "config": proto,
                "rows": [{k: v for k, v in r.items() if k != "model"} for r in set_rows],
            },
        )
    return set_rows, outs


def _write_crops(
    bank: ImageBank,
    set_label: str,
    entries: Mapping[str, Any],
    sr_images: dict[str, list[torch.Tensor]],
    n_crops: int,
    crop_size: int,
    out: Path,
) -> list[Path]:
    """Side-by-side crop PNGs of the first ``n_crops`` images of a set."""
    crops = []
    for i in range(min(n_crops, len(bank))):
        hr = bank.hr[i].float() / 255.0
        box = _crop_box(bank.hr[i], crop_size)
        panels = [(n, sr_images[n][i]) for n in entries if n in sr_images]
        panels.append(("HR", hr))
        crops.append(
            save_comparison(out / "crops" / f"{set_label}_{bank.names[i]}.png", panels, box)
        )
    return crops


def _fmt(v: Any, nd: int = 4) -> str:
    return format_number(v, nd, nonfinite="nan") if isinstance(v, float) else str(v)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def _write_tables(result: EvalResult, out: Path, proto: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "eval_per_image.csv", result.rows)
    _write_csv(out / "eval_summary.csv", result.summary)
    lines = [
        "# SR evaluation (x4)",
        "",
        f"PSNR/SSIM on BT.601 Y with a {proto['border']}-pixel border cut; SSIM by "
        f"{proto['ssim']}; LPIPS v0.1 on RGB. Mean over the images of each set.",
        "",
        "| model | set | images | PSNR-Y (dB) | SSIM-Y | LPIPS-Alex | LPIPS-VGG |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in result.summary:
        lines.append(
            f"| {r['model']} | {r['set']} | {r['n_images']} | {_fmt(r['psnr_y'], 2)} | "
            f"{_fmt(r['ssim_y'])} | {_fmt(r['lpips_alex'])} | {_fmt(r['lpips_vgg'])} |"
        )
    write_text_atomic(out / "eval_summary.md", "\n".join(lines) + "\n")
