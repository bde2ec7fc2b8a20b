"""A tiny vision transformer, as a user would write it (tests/test_zoo.py, docs/models.md).

Patch embedding (a strided conv), a class token, an absolute position embedding of fixed size
(so the input must be ``img_size`` pixels), pre-norm blocks of self-attention and an MLP.
"""

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        y = self.norm1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class TinyViT(nn.Module):
    def __init__(
        self, img_size: int = 32, patch: int = 8, dim: int = 24, depth: int = 2, dynamic=False
    ) -> None:
        super().__init__()
        self.img_size, self.dynamic = img_size, dynamic
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)
        n = (img_size // patch) ** 2
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, dim))
        self.pos_embed = nn.Parameter(0.02 * torch.randn(1, n + 1, dim))
        self.blocks = nn.Sequential(*[Block(dim, 4) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x):
        if not self.dynamic and x.shape[-2:] != (self.img_size, self.img_size):
            raise RuntimeError(f"TinyViT takes {self.img_size} x {self.img_size} images")
        m = self.patch_embed(x)
        pos = self.pos_embed
        if self.dynamic:  # any input size: the position embedding resized (as timm can)
            side = self.img_size // self.patch_embed.stride[0]
            grid = pos[:, 1:].transpose(1, 2).unflatten(2, (side, side))
            grid = nn.functional.interpolate(grid, size=m.shape[-2:], mode="bilinear")
            pos = torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)
        t = m.flatten(2).transpose(1, 2)
        t = torch.cat([self.cls_token.expand(len(t), -1, -1), t], dim=1) + pos
        t = self.norm(self.blocks(t))
        return self.head(t[:, 0])


def build(seed: int = 0, dim: int = 24, img_size: int = 32, dynamic: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    return TinyViT(img_size=img_size, dim=dim, dynamic=dynamic)
