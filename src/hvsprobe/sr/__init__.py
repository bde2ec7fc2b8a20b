"""x4 single-image super-resolution with perceptual losses from selected channels (claim 2).

Modules: :mod:`~hvsprobe.sr.model` (EDSR-style network), :mod:`~hvsprobe.sr.data` (HR folders,
bicubic degradation, deterministic patch sampling), :mod:`~hvsprobe.sr.losses` (L1 + lambda x
perceptual), :mod:`~hvsprobe.sr.train` (resumable, DDP-ready training),
:mod:`~hvsprobe.sr.eval` (Y-channel PSNR/SSIM, LPIPS, crops) and :mod:`~hvsprobe.sr.cli`.
Claim 2 (:func:`~hvsprobe.experiments.claim2.run_claim2`) lives in :mod:`hvsprobe.experiments`.
See docs/sr.md.
"""

from __future__ import annotations

from .model import EDSR, PRESETS, ModelConfig, build_model

__all__ = ["EDSR", "PRESETS", "ModelConfig", "build_model"]
