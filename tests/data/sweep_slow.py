"""A small CNN whose forward pass can be slowed down (tests/test_sweep.py kills a sweep in it)."""

import time

import torch
from torch import nn


class Slow(nn.Module):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        time.sleep(self.delay)
        return self.act(self.conv(x))


def build(delay: float = 0.0, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return Slow(delay)
