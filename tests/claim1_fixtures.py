"""Tiny generated human-judgment data sets in each data set's real layout (for claim-1 tests).

Every writer makes a few small images (a smooth random reference, then noisier / blurrier
versions of it) and the data set's own score file.  The scores follow the amount of
distortion with some noise, so a sensible metric agrees with them; they are not human data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SIZE = (48, 40)  # width, height: small, yet alexnet's relu5 keeps a 1 x 1 map


def _ref(rng: np.random.Generator) -> Image.Image:
    small = rng.integers(0, 255, (6, 5, 3)).astype(np.uint8)
    img = Image.fromarray(small).resize(SIZE, Image.BICUBIC)
    return img


def _distort(img: Image.Image, level: int, kind: int, rng: np.random.Generator) -> Image.Image:
    a = np.asarray(img).astype(np.float64)
    if kind == 0:
        a = a + rng.normal(0, 12.0 * level, a.shape)
    else:
        a = np.asarray(img.filter(ImageFilter.GaussianBlur(0.8 * level))).astype(np.float64)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _quality(level: int, rng: np.random.Generator) -> float:
    return float(5.0 - level + rng.normal(0, 0.3))


def write_kadid10k(root: Path, n_refs: int = 3, levels: int = 3, seed: int = 0) -> Path:
    """``dmos.csv`` (dist_img, ref_img, dmos, var) + ``images/I01.png, I01_01_01.png ...``."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    lines = ["dist_img,ref_img,dmos,var"]
    for r in range(1, n_refs + 1):
        ref = _ref(rng)
        ref.save(root / "images" / f"I{r:02d}.png")
        for kind, code in ((0, 11), (1, 1)):  # white noise, gaussian blur
            for lev in range(1, levels + 1):
                name = f"I{r:02d}_{code:02d}_{lev:02d}.png"
                _distort(ref, lev, kind, rng).save(root / "images" / name)
                lines.append(f"{name},I{r:02d}.png,{_quality(lev, rng):.4f},0.5")
    (root / "dmos.csv").write_text("\n".join(lines) + "\n")
    return root


def write_tid2013(root: Path, n_refs: int = 3, levels: int = 3, seed: int = 1) -> Path:
    """``mos_with_names.txt`` + ``reference_images/I01.BMP`` + ``distorted_images/i01_01_1.bmp``."""
    rng = np.random.default_rng(seed)
    (root / "reference_images").mkdir(parents=True, exist_ok=True)
    (root / "distorted_images").mkdir(parents=True, exist_ok=True)
    lines = []
    for r in range(1, n_refs + 1):
        ref = _ref(rng)
        ref.save(root / "reference_images" / f"I{r:02d}.BMP", format="BMP")
        for kind, code in ((0, 1), (1, 8)):  # additive gaussian noise, gaussian blur
            for lev in range(1, levels + 1):
                name = f"i{r:02d}_{code:02d}_{lev}.bmp"
                _distort(ref, lev, kind, rng).save(root / "distorted_images" / name, format="BMP")
                lines.append(f"{_quality(lev, rng):.5f} {name}")
    (root / "mos_with_names.txt").write_text("\n".join(lines) + "\n")
    return root


def write_csiq(root: Path, n_refs: int = 3, levels: int = 3, seed: int = 2) -> Path:
    """``csiq.DMOS.csv`` + ``src_imgs/<image>.png`` + ``dst_imgs/<type>/<image>.<TAG>.<lev>.png``."""
    rng = np.random.default_rng(seed)
    (root / "src_imgs").mkdir(parents=True, exist_ok=True)
    lines = ["image,dst_idx,dst_type,dst_lev,dmos_std,dmos"]
    for r in range(n_refs):
        image = f"img{r}"
        ref = _ref(rng)
        ref.save(root / "src_imgs" / f"{image}.png")
        for kind, (typ, folder, tag) in enumerate(
            (("noise", "awgn", "AWGN"), ("blur", "blur", "BLUR"))
        ):
            (root / "dst_imgs" / folder).mkdir(parents=True, exist_ok=True)
            for lev in range(1, levels + 1):
                _distort(ref, lev, kind, rng).save(
                    root / "dst_imgs" / folder / f"{image}.{tag}.{lev}.png"
                )
                dmos = (5.0 - _quality(lev, rng)) / 5.0
                lines.append(f"{image},{kind + 1},{typ},{lev},0.1,{dmos:.4f}")
    (root / "csiq.DMOS.csv").write_text("\n".join(lines) + "\n")
    return root


def write_live(root: Path, n_refs: int = 3, levels: int = 3, seed: int = 3) -> Path:
    """``labels.csv`` (dis_img_path, ref_img_path, dis_type, dmos) + ``refimgs/`` + ``wn/``."""
    rng = np.random.default_rng(seed)
    (root / "refimgs").mkdir(parents=True, exist_ok=True)
    (root / "wn").mkdir(parents=True, exist_ok=True)
    lines = ["dis_img_path,ref_img_path,dis_type,dmos,live_id,duplicate_group"]
    k = 0
    for r in range(n_refs):
        ref = _ref(rng)
        ref.save(root / "refimgs" / f"ref{r}.bmp", format="BMP")
        for lev in range(1, levels + 1):
            k += 1
            _distort(ref, lev, 0, rng).save(root / "wn" / f"img{k}.bmp", format="BMP")
            dmos = 20.0 * (5.0 - _quality(lev, rng))
            lines.append(f"wn/img{k}.bmp,refimgs/ref{r}.bmp,wn,{dmos:.3f},{k},")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


def _patch_triplet(rng: np.random.Generator) -> tuple[Image.Image, Image.Image, Image.Image, float]:
    ref = _ref(rng).resize((64, 64))
    l0, l1 = rng.integers(1, 4, 2)
    p0, p1 = _distort(ref, int(l0), 0, rng), _distort(ref, int(l1), 0, rng)
    judge = float(np.clip(0.5 + 0.3 * (l0 - l1) + rng.normal(0, 0.1), 0.0, 1.0))
    return ref, p0, p1, judge


def write_bapps(root: Path, n_2afc: int = 6, n_jnd: int = 6, seed: int = 4) -> Path:
    """``2afc/val/<set>/{ref,p0,p1,judge}`` and ``jnd/val/<set>/{p0,p1,same}`` (two sets each)."""
    rng = np.random.default_rng(seed)
    for sub in ("traditional", "cnn"):
        base = root / "2afc" / "val" / sub
        for d in ("ref", "p0", "p1", "judge"):
            (base / d).mkdir(parents=True, exist_ok=True)
        for i in range(n_2afc):
            ref, p0, p1, judge = _patch_triplet(rng)
            ref.save(base / "ref" / f"{i:06d}.png")
            p0.save(base / "p0" / f"{i:06d}.png")
            p1.save(base / "p1" / f"{i:06d}.png")
            np.save(base / "judge" / f"{i:06d}.npy", np.array([judge]))
        jbase = root / "jnd" / "val" / sub
        for d in ("p0", "p1", "same"):
            (jbase / d).mkdir(parents=True, exist_ok=True)
        for i in range(n_jnd):
            ref = _ref(rng).resize((64, 64))
            lev = int(rng.integers(0, 4))
            ref.save(jbase / "p0" / f"{i:06d}.png")
            (ref if lev == 0 else _distort(ref, lev, 0, rng)).save(jbase / "p1" / f"{i:06d}.png")
            same = float(np.clip(1.0 - 0.3 * lev + rng.normal(0, 0.05), 0.0, 1.0))
            np.save(jbase / "same" / f"{i:06d}.npy", np.array([same]))
    return root


def write_data_root(root: Path) -> Path:
    """A data root with ``iqa/{KADID-10k,TID2013,CSIQ,LIVE}`` and ``bapps/``."""
    write_kadid10k(root / "iqa" / "KADID-10k")
    write_tid2013(root / "iqa" / "TID2013")
    write_csiq(root / "iqa" / "CSIQ")
    write_live(root / "iqa" / "LIVE")
    write_bapps(root / "bapps")
    return root


def write_fake_scores(results_root: Path, backbone: str = "alexnet", seed: int = 0) -> Path:
    """Random channel scores for ``backbone`` with ``random:SEED`` weights (pipeline tests)."""
    from hvsprobe.backbones import get_backbone
    from hvsprobe.experiments.claim1 import LPIPS_LAYERS
    from hvsprobe.scores import COLUMNS, ChannelScores

    bb = get_backbone(backbone, f"random:{seed}")
    layers = LPIPS_LAYERS[backbone]
    widths = [int(bb.channels[n]) for n in layers]
    n = sum(widths)
    rng = np.random.default_rng(seed)
    cols = {c: np.zeros(n) for c in COLUMNS}
    cols["layer"] = np.array(
        [n_ for n_, w in zip(layers, widths, strict=True) for _ in range(w)], dtype=object
    )
    cols["channel"] = np.concatenate([np.arange(w) for w in widths])
    for c in ("mu1", "mu2", "pe"):
        cols[c] = rng.random(n)
    for c in ("dead", "orientation_selective", "bandwidth_censored"):
        cols[c] = np.zeros(n, dtype=bool)
    scores = ChannelScores(cols, {"backbone": backbone, "weights_sha256": bb.weights_sha256})
    return scores.save(results_root / f"{backbone}-random-{seed}")
