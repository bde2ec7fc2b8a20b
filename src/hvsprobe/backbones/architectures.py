"""The few network trunks hvsprobe needs, built with torchvision's module layout.

The modules are laid out exactly like torchvision's ``features`` so that torchvision state
dicts load unchanged, but nothing here imports torchvision. Each builder returns the
``features`` :class:`torch.nn.Sequential` and the canonical name of every stage, in order.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["alexnet_features", "mobilenet_v2_features", "vgg16_features"]

# VGG-16 configuration "D" (Simonyan & Zisserman 2015): channels per conv, "M" = max pool.
_VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M",
)  # fmt: skip


def vgg16_features() -> tuple[nn.Sequential, list[str]]:
    """VGG-16 conv trunk; stages conv1_1, relu1_1, …, conv5_3, relu5_3, pool1 … pool5.

    Examples
    --------
    >>> features, names = vgg16_features()
    >>> len(names), names[0], names[-1]
    (31, 'conv1_1', 'pool5')
    """
    layers: list[nn.Module] = []
    names: list[str] = []
    block, idx, in_ch = 1, 1, 3
    for item in _VGG16_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            names.append(f"pool{block}")
            block, idx = block + 1, 1
            continue
        assert isinstance(item, int)
        layers += [nn.Conv2d(in_ch, item, kernel_size=3, padding=1), nn.ReLU(inplace=False)]
        names += [f"conv{block}_{idx}", f"relu{block}_{idx}"]
        in_ch, idx = item, idx + 1
    return nn.Sequential(*layers), names


def alexnet_features() -> tuple[nn.Sequential, list[str]]:
    """AlexNet trunk (torchvision's "one weird trick" variant); stages conv1 … relu5, pools.

    Examples
    --------
    >>> features, names = alexnet_features()
    >>> len(features), names[:3]
    (13, ['conv1', 'relu1', 'pool1'])
    """
    layers = [
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=False),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=False),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
        nn.MaxPool2d(kernel_size=3, stride=2),
    ]
    names = [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
        "conv3", "relu3", "conv4", "relu4", "conv5", "relu5", "pool5",
    ]  # fmt: skip
    return nn.Sequential(*layers), names


class ConvBNReLU6(nn.Sequential):
    """Conv → BatchNorm → ReLU6, torchvision's ``Conv2dNormActivation`` layout.

    Examples
    --------
    >>> import torch
    >>> ConvBNReLU6(3, 8, stride=2)(torch.rand(1, 3, 16, 16)).shape
    torch.Size([1, 8, 8, 8])
    """

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=False),
        )
        self.out_channels = cout


class InvertedResidual(nn.Module):
    """MobileNetV2 block (Sandler et al. 2018): expand 1x1, depthwise 3x3, linear project 1x1.

    Examples
    --------
    >>> import torch
    >>> block = InvertedResidual(8, 8, stride=1, expand_ratio=6).eval()
    >>> block.use_res_connect, block(torch.rand(1, 8, 8, 8)).shape
    (True, torch.Size([1, 8, 8, 8]))
    """

    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, 1, 0, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y: torch.Tensor = self.conv(x)
        return x + y if self.use_res_connect else y


# (expansion t, output channels c, repeats n, first stride s), Sandler et al. 2018, Table 2.
_MOBILENET_V2_CFG = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                     (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def mobilenet_v2_features() -> tuple[nn.Sequential, list[str]]:
    """MobileNetV2 (width 1.0) trunk; stages ``block0`` (stem) … ``block18`` (1x1 head).

    ``block{i}`` is torchvision's ``features[i]``: block0 is the stride-2 stem conv, blocks
    1–17 the inverted residual blocks, block18 the 1x1 conv to 1280 channels.

    Examples
    --------
    >>> features, names = mobilenet_v2_features()
    >>> len(features), len(names)
    (19, 19)
    """
    layers: list[nn.Module] = [ConvBNReLU6(3, 32, stride=2)]
    cin = 32
    for t, c, n, s in _MOBILENET_V2_CFG:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(ConvBNReLU6(cin, 1280, kernel=1))
    return nn.Sequential(*layers), [f"block{i}" for i in range(len(layers))]
