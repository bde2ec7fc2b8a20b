"""Measures that separate structure, colour and texture between a reconstruction and its target.

Used by :mod:`hvsprobe.invert` to say *what* an image rebuilt from a channel subset keeps:

``ssim_luma``     SSIM of the luminance (MATLAB ``rgb2gray`` luma, 8-bit levels; the project's
                  :func:`hvsprobe.metrics.ssim`): local structure and contrast, blind to hue.
                  Higher is better (1 = identical).
``delta_e00``     mean CIEDE2000 colour difference over pixels (sRGB, D65): colour, at every
                  position. Lower is better (0 = identical; about 1 is a just-noticeable
                  difference for large uniform patches). Being per pixel, it also grows when the
                  structure is misplaced, so read it beside ``delta_e00_blur``.
``delta_e00_blur`` the same after a Gaussian low-pass (sigma 4 px) of both images: colour at the
                  scale of regions, with most of the structure removed.
``gram``          texture: mean over layers of the relative Frobenius error of the Gram
                  matrices (Gatys et al. 2015) of every channel of a layer,
                  ``||G(x) - G(y)||_F / ||G(y)||_F`` with ``G = F F^T / (H W)``. Gram matrices
                  discard where features occur and keep which features co-occur: a texture
                  statistic. Lower is better.

CIEDE2000 is implemented here from Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference
formula: implementation notes, supplementary test data, and mathematical observations", Color
Res. Appl. 30(1):21-30, and checked against the 34 test pairs of their Table 1
(``tests/test_invert.py``). It is written in torch so that it runs on the images where they are
and needs no extra dependency (scikit-image, which also has it, is only a test dependency).

Examples
--------
>>> import torch
>>> from hvsprobe.invert_measures import ciede2000
>>> lab1 = torch.tensor([[50.0, 2.6772, -79.7751]])
>>> lab2 = torch.tensor([[50.0, 0.0, -82.7485]])
>>> round(float(ciede2000(lab1, lab2)[0]), 4)
2.0425
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ._validation import check_comparable, check_images
from .backbones import Backbone

__all__ = [
    "MEASURES",
    "ciede2000",
    "gram_distance",
    "inversion_measures",
    "luma_ssim",
    "mean_delta_e00",
    "srgb_to_lab",
]

#: Measure name -> True when higher is better.
MEASURES = {"ssim_luma": True, "delta_e00": False, "delta_e00_blur": False, "gram": False}
#: sRGB (IEC 61966-2-1) linear RGB -> XYZ (D65) matrix.
_RGB_TO_XYZ = (
    (0.4124564, 0.3575761, 0.1804375),
    (0.2126729, 0.7151522, 0.0721750),
    (0.0193339, 0.1191920, 0.9503041),
)
#: D65 reference white (Y = 1).
_WHITE_D65 = (0.95047, 1.0, 1.08883)
#: Gaussian low-pass for ``delta_e00_blur`` (pixels).
BLUR_SIGMA = 4.0


def srgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    """CIELAB (D65) of an ``N x 3 x H x W`` sRGB image in [0, 1]; returns ``N x 3 x H x W``.

    Examples
    --------
    >>> import torch
    >>> lab = srgb_to_lab(torch.ones(1, 3, 1, 1))
    >>> [round(float(v), 3) for v in lab.flatten()]
    [100.0, 0.0, 0.0]
    """
    check_images(x, "x")
    lin = torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055).pow(2.4))
    m = torch.tensor(_RGB_TO_XYZ, dtype=x.dtype, device=x.device)
    xyz = torch.einsum("ij,njhw->nihw", m, lin)
    white = torch.tensor(_WHITE_D65, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    t = xyz / white
    delta = 6.0 / 29.0
    f = torch.where(t > delta**3, t.clamp_min(1e-12).pow(1.0 / 3.0), t / (3 * delta**2) + 4 / 29)
    lum = 116.0 * f[:, 1] - 16.0
    a = 500.0 * (f[:, 0] - f[:, 1])
    b = 200.0 * (f[:, 1] - f[:, 2])
    return torch.stack([lum, a, b], dim=1)


def _hue_deg(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Hue angle in degrees in [0, 360); 0 where a = b = 0 (Sharma et al. eq. 4)."""
    h = torch.rad2deg(torch.atan2(b, a))
    h = torch.where(h < 0, h + 360.0, h)
    return torch.where((a == 0) & (b == 0), torch.zeros_like(h), h)


def ciede2000(
    lab1: torch.Tensor, lab2: torch.Tensor, *, kl: float = 1.0, kc: float = 1.0, kh: float = 1.0
) -> torch.Tensor:
    """CIEDE2000 colour difference of two CIELAB arrays (``... x 3``, last axis L*, a*, b*).

    Follows the equations of Sharma, Wu & Dalal (2005) step by step, including their notes on
    the mean hue and the hue difference when one chroma is zero.

    Parameters
    ----------
    lab1, lab2 : torch.Tensor
        Same shape ``... x 3``.
    kl, kc, kh : float
        Parametric factors (1 for the reference conditions).

    Returns
    -------
    torch.Tensor
        ``...``: Delta E_00 per entry.

    Examples
    --------
    >>> import torch
    >>> float(ciede2000(torch.tensor([50.0, 0.0, 0.0]), torch.tensor([50.0, 0.0, 0.0])))
    0.0
    """
    if lab1.shape != lab2.shape or lab1.shape[-1] != 3:
        raise ValueError(
            f"lab1 and lab2 must have the same shape ... x 3, got {tuple(lab1.shape)} and "
            f"{tuple(lab2.shape)}"
        )
    l1, a1, b1 = lab1.unbind(-1)
    l2, a2, b2 = lab2.unbind(-1)
    c_bar = 0.5 * (torch.hypot(a1, b1) + torch.hypot(a2, b2))
    c7 = c_bar.pow(7)
    g = 0.5 * (1.0 - torch.sqrt(c7 / (c7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = torch.hypot(a1p, b1), torch.hypot(a2p, b2)
    h1p, h2p = _hue_deg(b1, a1p), _hue_deg(b2, a2p)
    dlp = l2 - l1
    dcp = c2p - c1p
    zero = (c1p * c2p) == 0
    dh = h2p - h1p
    dh = torch.where(dh > 180.0, dh - 360.0, torch.where(dh < -180.0, dh + 360.0, dh))
    dh = torch.where(zero, torch.zeros_like(dh), dh)
    d_hp = 2.0 * torch.sqrt(c1p * c2p) * torch.sin(torch.deg2rad(dh) / 2.0)
    lp_bar = 0.5 * (l1 + l2)
    cp_bar = 0.5 * (c1p + c2p)
    hsum = h1p + h2p
    far = (h1p - h2p).abs() > 180.0
    hp_bar = torch.where(far, torch.where(hsum < 360.0, hsum + 360.0, hsum - 360.0), hsum) / 2.0
    hp_bar = torch.where(zero, hsum, hp_bar)
    t = (
        1.0
        - 0.17 * torch.cos(torch.deg2rad(hp_bar - 30.0))
        + 0.24 * torch.cos(torch.deg2rad(2.0 * hp_bar))
        + 0.32 * torch.cos(torch.deg2rad(3.0 * hp_bar + 6.0))
        - 0.20 * torch.cos(torch.deg2rad(4.0 * hp_bar - 63.0))
    )
    d_theta = 30.0 * torch.exp(-(((hp_bar - 275.0) / 25.0) ** 2))
    cp7 = cp_bar.pow(7)
    r_c = 2.0 * torch.sqrt(cp7 / (cp7 + 25.0**7))
    l50 = (lp_bar - 50.0) ** 2
    s_l = 1.0 + 0.015 * l50 / torch.sqrt(20.0 + l50)
    s_c = 1.0 + 0.045 * cp_bar
    s_h = 1.0 + 0.015 * cp_bar * t
    r_t = -torch.sin(torch.deg2rad(2.0 * d_theta)) * r_c
    tl, tc, th = dlp / (kl * s_l), dcp / (kc * s_c), d_hp / (kh * s_h)
    return torch.sqrt(tl**2 + tc**2 + th**2 + r_t * tc * th)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian low-pass with reflected borders (radius 3 sigma)."""
    r = max(1, math.ceil(3 * sigma))
    r = min(r, x.shape[-1] - 1, x.shape[-2] - 1)
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype, device=x.device) / sigma) ** 2)
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(x.shape[1], 1, 1, 1)
    y = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k, groups=x.shape[1])
    return F.conv2d(F.pad(y, (0, 0, r, r), mode="reflect"), k.transpose(-1, -2), groups=x.shape[1])


def mean_delta_e00(x: torch.Tensor, y: torch.Tensor, *, blur_sigma: float = 0.0) -> torch.Tensor:
    """Mean CIEDE2000 over the pixels of two sRGB images (``N x 3 x H x W`` in [0, 1]), ``(N,)``.

    ``blur_sigma > 0`` low-passes both images first (Gaussian, in pixels).

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    >>> float(mean_delta_e00(x, x))
    0.0
    """
    check_images(x, "x")
    check_images(y, "y")
    check_comparable(x, y)
    if blur_sigma > 0:
        x, y = _gaussian_blur(x, blur_sigma), _gaussian_blur(y, blur_sigma)
    lx, ly = srgb_to_lab(x.clamp(0, 1)), srgb_to_lab(y.clamp(0, 1))
    return ciede2000(lx.movedim(1, -1), ly.movedim(1, -1)).flatten(1).mean(dim=1)


def luma_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM of the luminance (``hvsprobe.metrics.ssim`` with ``color='gray'``), ``(N,)``.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    >>> round(float(luma_ssim(x, x)), 6)
    1.0
    """
    from .metrics import ssim

    return ssim(x, y, color="gray")


def _gram(f: torch.Tensor) -> torch.Tensor:
    n, c = f.shape[:2]
    flat = f.reshape(n, c, -1)
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


def gram_distance(
    x: torch.Tensor, y: torch.Tensor, backbone: Backbone, layers: Sequence[str]
) -> torch.Tensor:
    """Texture distance: mean over ``layers`` of ``||G(x) - G(y)||_F / ||G(y)||_F``, ``(N,)``.

    ``G`` is the Gram matrix of *every* channel of a layer, ``F F^T / (H W)``.

    Examples
    --------
    The report uses VGG-16's ``relu1_1``, ``relu2_1``, ``relu3_1``; on a hand-made network:

    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> x = torch.rand(2, 3, 16, 16)
    >>> gram_distance(x, x, bb, ["1"]).tolist(), bool(gram_distance(x, x.flip(0), bb, ["1"])[0] > 0)
    ([0.0, 0.0], True)
    """
    check_images(x, "x", min_size=backbone.min_input_size(list(layers)))
    check_images(y, "y")
    check_comparable(x, y)
    if not layers:
        raise ValueError("gram_distance needs at least one layer")
    with torch.no_grad():
        fx = dict(backbone.iter_layers(x, list(layers)))
        fy = dict(backbone.iter_layers(y, list(layers)))
        terms = []
        for name in layers:
            gx, gy = _gram(fx[name].float()), _gram(fy[name].float())
            den = torch.linalg.matrix_norm(gy).clamp_min(1e-12)
            terms.append(torch.linalg.matrix_norm(gx - gy) / den)
    return torch.stack(terms).mean(dim=0)


def inversion_measures(
    recon: torch.Tensor, target: torch.Tensor, backbone: Backbone, gram_layers: Sequence[str]
) -> dict[str, float]:
    """Every measure of :data:`MEASURES` for one reconstruction (``1 x 3 x H x W``) and target.

    Examples
    --------
    >>> import torch, hvsprobe
    >>> from torch import nn
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> target = torch.rand(1, 3, 16, 16)
    >>> m = inversion_measures(target, target, bb, ["1"])
    >>> sorted(m), round(m["ssim_luma"], 4), round(m["delta_e00"], 4), round(m["gram"], 4)
    (['delta_e00', 'delta_e00_blur', 'gram', 'ssim_luma'], 1.0, 0.0, 0.0)
    """
    if recon.shape[0] != 1:
        raise ValueError(f"inversion_measures takes one image (1 x 3 x H x W), got {recon.shape}")
    with torch.no_grad():
        return {
            "ssim_luma": float(luma_ssim(recon, target)[0]),
            "delta_e00": float(mean_delta_e00(recon, target)[0]),
            "delta_e00_blur": float(mean_delta_e00(recon, target, blur_sigma=BLUR_SIGMA)[0]),
            "gram": float(gram_distance(recon, target, backbone, gram_layers)[0]),
        }
