"""Regenerate ``builtin_responses.npz``: probe responses of the built-in backbones.

The arrays were made with the stage-by-stage ``Backbone`` of commit 9dabf88 (before the
hook-based backbones of issue 12); ``tests/test_backbones_hooks.py`` asserts that the current
code reproduces them bit for bit. Run from the repository root::

    PYTHONPATH=src python tests/data/make_builtin_responses.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hvsprobe.backbones import get_backbone
from hvsprobe.probe import probe
from hvsprobe.stimuli import StimulusGrid

#: (backbone, weights, layers) probed; imagenet entries need the real weights.
CASES = [
    ("vgg16", "random:0", ["relu1_2", "relu3_3"]),
    ("vgg16", "imagenet", ["relu1_2", "relu3_3"]),
    ("alexnet", "random:0", ["relu1", "relu3"]),
    ("mobilenet_v2", "random:0", ["block2", "block7"]),
]


def fixture_grid() -> StimulusGrid:
    """The reduced grid: 64 px, 3 frequencies, 2 orientations, 2 phases."""
    return StimulusGrid.default(ppd=32.0, size=64, n_frequencies=3, n_orientations=2, n_phases=2)


def main() -> None:
    grid = fixture_grid()
    arrays = {}
    for name, weights, layers in CASES:
        bb = get_backbone(name, weights)
        tuning = probe(bb, grid, layers, response="whole_map", progress=False)
        for layer, arr in tuning.responses.items():
            arrays[f"{name}/{weights}/{layer}"] = arr
        arrays[f"{name}/{weights}/sha256"] = np.array(bb.weights_sha256)
    out = Path(__file__).with_name("builtin_responses.npz")
    np.savez_compressed(out, **arrays)
    print(f"{out}: {out.stat().st_size} bytes, {len(arrays)} arrays")


if __name__ == "__main__":
    main()
