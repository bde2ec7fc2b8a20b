"""hvsprobe: how human-like are the channels of a pretrained CNN?

Probe every channel with sinusoidal gratings given in physical units, score
its tuning against human contrast sensitivity, select the most human-like
channels and build perceptual metrics and losses from them.
"""

__version__ = "0.1.0"

#: Public names loaded on first use, so that ``import hvsprobe`` stays light (no torch).
_LAZY = {
    "Backbone": "hvsprobe.backbones",
    "get_backbone": "hvsprobe.backbones",
    "list_layers": "hvsprobe.backbones",
    "load_model": "hvsprobe.backbones",
    "wrap": "hvsprobe.backbones",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hvsprobe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
