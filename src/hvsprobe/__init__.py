"""hvsprobe: how human-like are the channels of a pretrained CNN?

Probe every channel with sinusoidal gratings given in physical units, score
its tuning against human contrast sensitivity, select the most human-like
channels and build perceptual metrics and losses from them.
"""

__version__ = "0.1.0"
