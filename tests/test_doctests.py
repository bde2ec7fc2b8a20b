"""The Examples sections of the docstrings run as doctests, module by module.

One list of modules (:data:`MODULES`) for the whole package: add a module here when its
docstrings gain examples. Examples that need the real ImageNet weights are marked
``# doctest: +SKIP`` in the docstring itself, with the reason beside them.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    # stimuli
    "hvsprobe.stimuli",
    "hvsprobe.stimuli.geometry",
    "hvsprobe.stimuli.patterns",
    "hvsprobe.stimuli.grids",
    # scores
    "hvsprobe.scores",
    "hvsprobe.scores.compute",
    "hvsprobe.scores.config",
    "hvsprobe.scores.flags",
    "hvsprobe.scores.frequency",
    "hvsprobe.scores.orientation",
    "hvsprobe.scores.pe",
    "hvsprobe.scores.table",
    # selection, the main job
    "hvsprobe.selection",
    "hvsprobe.analyze",
    # backbones
    "hvsprobe.backbones",
    "hvsprobe.backbones.architectures",
    "hvsprobe.backbones.base",
    "hvsprobe.backbones.custom",
    "hvsprobe.backbones.hooks",
    "hvsprobe.backbones.safe_pickle",
    "hvsprobe.backbones.weights",
    "hvsprobe.response",
    # probe and metrics
    "hvsprobe.probe",
    "hvsprobe.metrics",
]

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
