"""hvsprobe: how human-like are the channels of a pretrained CNN?

Probe every channel with sinusoidal gratings given in physical units, score
its tuning against human contrast sensitivity, select the most human-like
channels and build perceptual metrics and losses from them::

    import hvsprobe
    result = hvsprobe.analyze("vgg16", layers=["relu1_2", "relu2_2"])  # tuning, scores, selection
    metric = hvsprobe.get_metric("selected", selection=result.selection, backbone=result.backbone)
"""

import sys
import types
from typing import Any

__version__ = "0.1.0"

#: Public names loaded on first use, so that ``import hvsprobe`` stays light (no torch).
_LAZY = {
    "Backbone": "hvsprobe.backbones",
    "get_backbone": "hvsprobe.backbones",
    "list_layers": "hvsprobe.backbones",
    "load_model": "hvsprobe.backbones",
    "wrap": "hvsprobe.backbones",
    "StimulusGrid": "hvsprobe.stimuli",
    "PerceptualDistance": "hvsprobe.metrics",
    "LPIPS": "hvsprobe.metrics",
    "get_metric": "hvsprobe.metrics",
}


#: Modules that share their name with a top-level function: ``hvsprobe.analyze(...)`` is the
#: flat API's :func:`hvsprobe.api.analyze` and ``hvsprobe.probe(...)`` is
#: :func:`hvsprobe.probe.probe`, while ``hvsprobe.analyze`` and ``hvsprobe.probe`` are also the
#: modules (``from hvsprobe.analyze import analyze``), which Python binds on the package
#: whenever they are imported. Making those modules callable keeps both meanings without
#: renaming modules that much of the code imports.
_CALLABLE_MODULES = {"analyze": ("hvsprobe.api", "analyze"), "probe": ("hvsprobe.probe", "probe")}


class _CallableModule(types.ModuleType):
    """A module of :data:`_CALLABLE_MODULES`: calling it calls its function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import importlib

        where, name = _CALLABLE_MODULES[self.__name__.rsplit(".", 1)[-1]]
        return getattr(importlib.import_module(where), name)(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: object) -> None:
        if name in _CALLABLE_MODULES and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    import importlib

    if name in _CALLABLE_MODULES:  # the module, callable (see _CallableModule)
        return importlib.import_module(f"hvsprobe.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hvsprobe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, *_CALLABLE_MODULES])
