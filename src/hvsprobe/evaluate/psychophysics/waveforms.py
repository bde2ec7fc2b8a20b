"""Achromatic stimuli from unit-contrast waveforms: ``L = mean * (1 + c * w(x, y))``.

Coordinates follow :mod:`hvsprobe.stimuli`: centre at ``((W - 1) / 2, (H - 1) / 2)``, x to
the right, y up, in degrees; orientations are wave-vector directions (0 = vertical bars).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...stimuli.geometry import cos_sin_deg
from ...stimuli.patterns import gaussian_window, grating_wave, luminance


def coords_deg(size: int, ppd: float) -> tuple[np.ndarray, np.ndarray]:
    """x (right) and y (up) in degrees relative to the image centre, as broadcastable arrays."""
    idx = np.arange(size, dtype=np.float64)
    x = ((idx - (size - 1) / 2.0) / ppd)[None, :]
    y = (((size - 1) / 2.0 - idx) / ppd)[:, None]
    return x, y


def gabor_wave(
    size: int, ppd: float, freq: float, wave_deg: float, sigma_u: float, sigma_v: float
) -> np.ndarray:
    """Cosine-phase Gabor with peak 1: carrier along the wave vector, envelope sigma_u across
    the bars (along the wave vector) and sigma_v along the bars (degrees).  Drawn by the
    package's one grating renderer, :func:`hvsprobe.stimuli.grating_wave`."""
    cos_t, sin_t = cos_sin_deg(np.array([wave_deg]))
    f_cpp = freq / ppd
    window = gaussian_window((size, size), wave_deg, sigma_u * ppd, sigma_v * ppd)
    return grating_wave((size, size), f_cpp * cos_t, f_cpp * sin_t, 0.0, window=window)[0]


def contrast_array(contrast: object, cmax: float) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(contrast) == 0
    c = np.atleast_1d(np.asarray(contrast, dtype=np.float64)).reshape(-1)
    if c.size == 0:
        raise ValueError("contrast must hold at least one value")
    if not np.all(np.isfinite(c)) or (c < 0).any() or (c > cmax + 1e-12).any():
        raise ValueError(f"contrast must lie in [0, {cmax:g}] (peak contrast), got {contrast!r}")
    return c, scalar


def images_from_wave(
    w: np.ndarray, c: np.ndarray, mean: float, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    lum = luminance(w[None], c, mean)
    t = torch.from_numpy(lum).to(dtype=dtype)
    return t.unsqueeze(1).expand(-1, 3, -1, -1).contiguous().to(device or "cpu")


class WaveStimulus:
    """``c -> mean * (1 + c * w)`` as a stimulus function, with a batched variant."""

    def __init__(self, w: np.ndarray, mean: float) -> None:
        self.w = w
        self.mean = mean

    def __call__(self, contrast: float) -> torch.Tensor:
        return self.batch(np.array([contrast]))

    def batch(self, contrasts: np.ndarray) -> torch.Tensor:
        return images_from_wave(
            self.w, np.asarray(contrasts, dtype=np.float64), self.mean, torch.float32, None
        )
