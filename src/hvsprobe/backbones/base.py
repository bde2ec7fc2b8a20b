"""The :class:`Backbone` wrapper: named layers, [0, 1] RGB in, early stop, weights identity."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from .._validation import check_images

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "Backbone", "default_channels_last"]

#: ImageNet channel statistics used by torchvision's pretrained models. LPIPS's own input
#: scaling ((2x - 1) - shift) / scale with shift (-0.030, -0.088, -0.188) and scale
#: (0.458, 0.448, 0.450) is algebraically the same normalisation.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _out_channels(module: nn.Module) -> int | None:
    """Channels produced by ``module``: its own ``out_channels`` or that of its last conv."""
    if hasattr(module, "out_channels"):
        return int(module.out_channels)
    last = None
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            last = m.out_channels
    return last


class Backbone(nn.Module):
    """A frozen CNN trunk whose stages have canonical names.

    Inputs are RGB images in [0, 1] (N x 3 x H x W); the ImageNet normalisation happens
    inside. :meth:`extract` runs the trunk only as far as the deepest requested layer.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"vgg16"``.
    features : torch.nn.Sequential
        The trunk, in torchvision's layout.
    stage_names : sequence of str
        Canonical name of each element of ``features``.
    weights : str
        ``"imagenet"`` or ``"random:SEED"``.
    weights_sha256 : str
        Content hash of the weights (:func:`hvsprobe.backbones.weights.state_dict_sha256`).
    weights_origin : str
        Where the weights came from (file, cache, PyPI, random init).
    """

    def __init__(
        self,
        name: str,
        features: nn.Sequential,
        stage_names: Sequence[str],
        *,
        weights: str,
        weights_sha256: str,
        weights_origin: str = "",
    ) -> None:
        super().__init__()
        if len(stage_names) != len(features):
            raise ValueError("one stage name per element of features is required")
        self.name = name
        self.features = features
        self.layer_names: list[str] = list(stage_names)
        self._index = {n: i for i, n in enumerate(self.layer_names)}
        self.weights = weights
        self.weights_sha256 = weights_sha256
        self.weights_origin = weights_origin
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        chans: dict[str, int] = {}
        current = 3
        for n, m in zip(self.layer_names, self.features, strict=True):
            c = _out_channels(m)
            current = c if c is not None else current
            chans[n] = current
        self.channels: dict[str, int] = chans
        self.requires_grad_(False)
        self.eval()

    # a frozen feature extractor: BatchNorm statistics never update
    def train(self, mode: bool = True) -> Backbone:  # noqa: D102
        return super().train(False)

    def __repr__(self) -> str:
        return (
            f"Backbone({self.name!r}, weights={self.weights!r}, "
            f"sha256={self.weights_sha256[:12]}…, layers={len(self.layer_names)})"
        )

    @property
    def default_layers(self) -> list[str]:
        """Layers probed by default: every rectified conv output (or every block)."""
        relu = [n for n in self.layer_names if n.startswith("relu")]
        return relu or [n for n in self.layer_names if n.startswith("block")]

    def check_layers(self, layers: Sequence[str] | str) -> list[str]:
        """Validate layer names and return them sorted in network order."""
        if isinstance(layers, str):
            layers = [layers]
        layers = list(dict.fromkeys(layers))
        if not layers:
            raise ValueError("at least one layer name is required")
        unknown = [n for n in layers if n not in self._index]
        if unknown:
            raise ValueError(
                f"{self.name} has no layer(s) {unknown}; available: {', '.join(self.layer_names)}"
            )
        return sorted(layers, key=self._index.__getitem__)

    def layer_index(self, layer: str) -> int:
        """Position of ``layer`` in the trunk."""
        self.check_layers([layer])
        return self._index[layer]

    def min_input_size(self, layers: Sequence[str] | str) -> int:
        """Smallest square input (pixels) for which every requested layer has output."""
        deepest = self.check_layers(layers)[-1]
        return _min_size(self.name, self._index[deepest], self.features)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] RGB to the network's normalised input."""
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def extract(
        self,
        x: torch.Tensor,
        layers: Sequence[str] | str,
        *,
        check: bool = True,
    ) -> dict[str, torch.Tensor]:
        """Return the activations of ``layers`` for images ``x`` in [0, 1].

        Runs the trunk stage by stage and stops after the deepest requested layer.

        Parameters
        ----------
        x : torch.Tensor
            N x 3 x H x W, values in [0, 1].
        layers : sequence of str
            Canonical layer names.
        check : bool
            Validate ``x`` (shape, range, NaN). Internal callers that built ``x`` themselves
            may skip it.

        Returns
        -------
        dict
            Layer name to N x C x h x w activation, in network order.
        """
        return dict(self.iter_layers(x, layers, check=check))

    def iter_layers(
        self,
        x: torch.Tensor,
        layers: Sequence[str] | str,
        *,
        check: bool = True,
    ) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield ``(name, activation)`` for ``layers`` in network order, as they are computed.

        Like :meth:`extract`, but a caller that reduces each activation at once (the probe
        takes spatial means) never holds more than one full feature map per layer.
        """
        names = self.check_layers(layers)
        if check:
            check_images(x, min_size=self.min_input_size(names))
        wanted = set(names)
        stop = self._index[names[-1]]
        h = self.normalize(x)
        for i in range(stop + 1):
            h = self.features[i](h)
            if self.layer_names[i] in wanted:
                yield self.layer_names[i], h

    def forward(self, x: torch.Tensor, layers: Sequence[str] | str | None = None):  # noqa: D102
        return self.extract(x, layers if layers is not None else self.default_layers)


def _has_output(features: nn.Sequential, stop: int, size: int) -> bool:
    try:
        param = next(features.parameters())
        h = torch.zeros(1, 3, size, size, device=param.device, dtype=param.dtype)
        with torch.no_grad():
            for i in range(stop + 1):
                h = features[i](h)
    except RuntimeError:
        return False
    return h.shape[-1] >= 1 and h.shape[-2] >= 1


def _min_size(name: str, stop: int, features: nn.Sequential) -> int:
    """Smallest square input with a non-empty output at stage ``stop`` (bisection, cached)."""
    key = (name, stop)
    if key not in _MIN_SIZE:
        hi = 1
        while not _has_output(features, stop, hi):
            hi *= 2
            if hi > 8192:
                raise RuntimeError(f"cannot find a valid input size for {name} stage {stop}")
        lo = hi // 2  # lo fails (or is 0), hi works
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if _has_output(features, stop, mid):
                hi = mid
            else:
                lo = mid
        _MIN_SIZE[key] = hi
    return _MIN_SIZE[key]


_MIN_SIZE: dict[tuple[str, int], int] = {}


def default_channels_last(device: str | torch.device) -> bool:
    """Whether the probe and the metrics use ``channels_last`` tensors by default on ``device``.

    ``True`` on the CPU, where oneDNN convolves NHWC tensors without the reorder to and from
    its blocked layout that NCHW inputs need at every layer (measured by
    ``benchmarks/run.py``, see ``docs/performance.md``; it also lets the metrics reduce over
    channels along contiguous memory). ``False`` elsewhere, the previous
    behaviour: on CUDA ``channels_last=True`` was also faster in one measurement (H200,
    ``benchmarks/gpu_check.py``: 0.28 s instead of 0.34 s for the whole default grid), a
    difference that does not matter next to the rest of ``analyze``.
    """
    return torch.device(device).type == "cpu"
