"""The Examples sections of the docstrings run as doctests, module by module.

Every module of the package whose docstrings hold examples is found by walking the package
(:data:`MODULES`), so a new example runs without registering it anywhere. Examples that need the real ImageNet weights are marked
``# doctest: +SKIP`` in the docstring itself, with the reason beside them.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util

import pytest


def _modules_with_examples() -> list[str]:
    """Every module of the package whose source holds a doctest prompt."""
    import pkgutil

    import hvsprobe

    names = []
    for info in pkgutil.walk_packages(hvsprobe.__path__, "hvsprobe."):
        if info.name.endswith("__main__"):
            continue  # running it would run the command
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py"):
            with open(origin, encoding="utf-8") as fh:
                if ">>> " in fh.read():
                    names.append(info.name)
    return sorted(names)


#: Every module with examples, found by walking the package (a new module is included
#: automatically); the main pipeline's modules must be among them.
MODULES = _modules_with_examples()
PIPELINE = (
    "hvsprobe.backbones.registry",
    "hvsprobe.stimuli.grids",
    "hvsprobe.probe",
    "hvsprobe.scores.compute",
    "hvsprobe.selection",
    "hvsprobe.metrics.perceptual",
    "hvsprobe.analyze",
)

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_main_pipeline_has_examples() -> None:
    missing = [name for name in PIPELINE if name not in MODULES]
    assert not missing, f"modules of the main pipeline without an Examples section: {missing}"
