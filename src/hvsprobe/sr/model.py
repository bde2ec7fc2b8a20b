"""An EDSR-baseline-style x4 super-resolution network (Lim et al., CVPRW 2017).

Layout::

    x in [0, 1] -> (x - mean) * 255 -> conv3x3 (3 -> F) = head
      -> n_blocks x [conv3x3 -> ReLU -> conv3x3, times res_scale, + input]  (no batch norm)
      -> conv3x3, + head (global skip)
      -> [conv3x3 (F -> 4F) -> PixelShuffle(2)] x 2                          (x4 upsampler)
      -> conv3x3 (F -> 3) -> / 255 + mean

The mean shift (the DIV2K RGB mean used by EDSR) and the x255 scaling happen inside, so the
network takes and returns RGB in [0, 1]. The raw output is not clamped (the L1 loss sees it
as is); :meth:`EDSR.super_resolve` clamps and optionally quantises to 8 bits for evaluation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["PRESETS", "EDSR", "ModelConfig", "build_model"]

#: RGB mean of DIV2K, the one EDSR subtracts.
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


@dataclass(frozen=True)
class ModelConfig:
    """Size of an :class:`EDSR` network.

    Attributes
    ----------
    n_blocks : int
        Residual blocks.
    n_feats : int
        Feature channels.
    scale : int
        Upscaling factor (a power of two; 4 in this package).
    res_scale : float
        Residual scaling (Szegedy et al. 2017, used by EDSR). EDSR-baseline uses 1.0 and the
        large EDSR 0.1; we use 0.1 in both presets because fine-tuning with perceptual losses
        is steadier with it.
    """

    n_blocks: int = 16
    n_feats: int = 64
    scale: int = 4
    res_scale: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


#: ``small``: trains on two CPU cores (about 0.1 M parameters). ``standard``: the
#: EDSR-baseline size (16 blocks x 64 features, about 1.5 M parameters), for GPUs.
PRESETS: dict[str, ModelConfig] = {
    "small": ModelConfig(n_blocks=4, n_feats=32),
    "standard": ModelConfig(n_blocks=16, n_feats=64),
}


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)


class ResBlock(nn.Module):
    """conv -> ReLU -> conv, scaled and added to the input; no normalisation layers."""

    def __init__(self, n_feats: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = _conv(n_feats, n_feats)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = _conv(n_feats, n_feats)
        self.res_scale = float(res_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x + self.res_scale * self.conv2(self.act(self.conv1(x)))


class EDSR(nn.Module):
    """EDSR-style network; RGB in [0, 1] in and out.

    Parameters
    ----------
    config : ModelConfig
        Network size.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = config or ModelConfig()
        if cfg.scale < 2 or cfg.scale & (cfg.scale - 1):
            raise ValueError(f"scale must be a power of two >= 2, got {cfg.scale}")
        if cfg.n_blocks < 0 or cfg.n_feats < 1:
            raise ValueError(f"bad network size n_blocks={cfg.n_blocks}, n_feats={cfg.n_feats}")
        self.config = cfg
        f = cfg.n_feats
        self.register_buffer("mean", torch.tensor(DIV2K_MEAN).view(1, 3, 1, 1), persistent=False)
        self.img_range = 255.0
        self.head = _conv(3, f)
        self.body = nn.Sequential(*[ResBlock(f, cfg.res_scale) for _ in range(cfg.n_blocks)])
        self.body_tail = _conv(f, f)
        up: list[nn.Module] = []
        for _ in range(cfg.scale.bit_length() - 1):
            up += [_conv(f, 4 * f), nn.PixelShuffle(2)]
        self.upsample = nn.Sequential(*up)
        self.tail = _conv(f, 3)

    @property
    def scale(self) -> int:
        """Upscaling factor."""
        return self.config.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Super-resolve ``x`` (N x 3 x h x w in [0, 1]) to N x 3 x (scale h) x (scale w).

        The output is not clamped.
        """
        mean = self.mean.to(x.dtype)
        h = self.head((x - mean) * self.img_range)
        h = h + self.body_tail(self.body(h))
        out = self.tail(self.upsample(h))
        return out / self.img_range + mean

    @torch.no_grad()
    def super_resolve(self, x: torch.Tensor, *, quantize: bool = True) -> torch.Tensor:
        """Evaluation output: clamped to [0, 1] and, by default, rounded to 8-bit levels.

        Parameters
        ----------
        x : torch.Tensor
            N x 3 x h x w low-resolution images in [0, 1].
        quantize : bool
            Round to multiples of 1/255, as an image saved to PNG would be.

        Returns
        -------
        torch.Tensor
        """
        y = self(x).clamp_(0.0, 1.0)
        return y.mul_(255.0).round_().div_(255.0) if quantize else y

    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build_model(
    preset: str | ModelConfig = "small",
    *,
    n_blocks: int | None = None,
    n_feats: int | None = None,
    seed: int | None = None,
) -> EDSR:
    """Build an :class:`EDSR` from a preset name, optionally overriding its size.

    Parameters
    ----------
    preset : {'small', 'standard'} or ModelConfig
    n_blocks, n_feats : int, optional
        Override the preset.
    seed : int, optional
        Seed the parameter initialisation (PyTorch's default init) without touching the
        global RNG.

    Returns
    -------
    EDSR
    """
    if isinstance(preset, ModelConfig):
        cfg = preset
    else:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        cfg = PRESETS[preset]
    if n_blocks is not None or n_feats is not None:
        cfg = ModelConfig(
            n_blocks=cfg.n_blocks if n_blocks is None else int(n_blocks),
            n_feats=cfg.n_feats if n_feats is None else int(n_feats),
            scale=cfg.scale,
            res_scale=cfg.res_scale,
        )
    if seed is None:
        return EDSR(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return EDSR(cfg)
