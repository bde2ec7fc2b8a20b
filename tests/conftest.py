"""Shared fixtures: the data folder and a hand-built network with known tuning."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hvsprobe.backbones import Backbone, state_dict_sha256
from hvsprobe.stimuli import gabor


def data_root() -> Path:
    """``$HVSPROBE_DATA`` or ``../shared/data`` beside the checkout."""
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def fan_ins(module: nn.Module, upto: str | None = None) -> list[int]:
    """Products summed per output of each convolution and linear layer of ``module``, in
    registration order (the order they run in a trunk), up to the module named ``upto``."""
    out = []
    for name, m in module.named_modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            out.append(int(m.weight[0].numel()))
        if upto is not None and (name == upto or name.endswith(f".{upto}")):
            break
    return out


def rounding_atol(
    scale: float, fans: list[int], dtype: torch.dtype = torch.float32, passes: int = 1
) -> float:
    """Absolute tolerance between two summation orders of the same network computation.

    A sum of n products rounds to within n * eps of the sum of the terms' magnitudes (Higham,
    *Accuracy and Stability of Numerical Algorithms*, eq. 3.5), and a layer's error is carried
    into the next, so two orders (AVX2 vs AVX-512/AMX kernels, channels_last vs contiguous,
    one batch vs many) differ by at most about ``passes * sum(fans) * eps`` times the size of
    the values (``scale``: the reference's largest magnitude). ``passes`` counts how often the
    chain is run (1 forward, 2 with the backward, 3 with a double backward). Comparing element
    by element relative to each value would not hold where results cancel to near zero.

    Examples
    --------
    >>> rounding_atol(1.0, [27, 54]) == 81 * torch.finfo(torch.float32).eps
    True
    """
    return passes * sum(fans) * torch.finfo(dtype).eps * scale


#: ppd of the toy network's world: with 32 px/deg, 1 cycle/pixel = 32 cpd.
TOY_PPD = 32.0
#: (frequency cpd, orientation deg) of the toy network's Gabor channels.
TOY_TUNING = [(2.0, 0.0), (4.0, 45.0), (8.0, 90.0), (4.0, 135.0), (6.0, 30.0)]


def gabor_kernel(freq: float, orient: float, size: int = 31, ppd: float = TOY_PPD) -> torch.Tensor:
    """A zero-mean cosine Gabor kernel built with the package's own stimulus convention."""
    sigma_deg = 0.7 / freq  # about 0.7 cycles per standard deviation: a band-pass filter
    g = gabor(size, freq, orient, 0.0, 1.0, 0.5, sigma_deg=sigma_deg, ppd=ppd, dtype=torch.float64)
    k = g[0] - 0.5
    k = k - k.mean()
    return (k / k.abs().sum()).float()


def make_toy_backbone() -> Backbone:
    """Conv(3 -> 7) + ReLU: 5 Gabor channels, 1 isotropic centre-surround channel, 1 dead one.

    The conv has no padding, so border effects do not blur the tuning.
    """
    n = len(TOY_TUNING) + 2
    conv = nn.Conv2d(3, n, kernel_size=31, padding=0)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        std = torch.tensor([0.229, 0.224, 0.225])
        for c, (f, o) in enumerate(TOY_TUNING):
            k = gabor_kernel(f, o)
            for i in range(3):  # undo the ImageNet scaling so every colour channel counts alike
                conv.weight[c, i] = k * std[i] / 3
        yy, xx = torch.meshgrid(torch.arange(31) - 15.0, torch.arange(31) - 15.0, indexing="ij")
        r2 = (xx**2 + yy**2) / (TOY_PPD**2)
        dog = torch.exp(-r2 / (2 * 0.05**2)) / 0.05**2 - torch.exp(-r2 / (2 * 0.1**2)) / 0.1**2
        dog = dog - dog.mean()
        dog = dog / dog.abs().sum()
        for i in range(3):
            conv.weight[n - 2, i] = dog * std[i] / 3
        conv.bias[n - 1] = -100.0  # never fires: a dead channel
    feats = nn.Sequential(conv, nn.ReLU())
    digest = state_dict_sha256({f"features.{k}": v for k, v in feats.state_dict().items()})
    return Backbone("toy", feats, ["conv1", "relu1"], weights="toy", weights_sha256=digest)


@pytest.fixture
def toy_backbone() -> Backbone:
    return make_toy_backbone()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
