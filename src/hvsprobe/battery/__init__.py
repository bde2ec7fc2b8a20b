"""A low-level human-vision battery for networks, channel subsets and metrics.

Detection (castleCSF: frequency, area, luminance, three colour directions), phase-coherent
masking (Foley 1994) and contrast constancy (Georgeson & Sullivan 1975), shown in physical
units on a display model, for any subject: a network's layers, a channel subset, a metric or
the raw pixels. Definitions: ``docs/battery.md``.

Examples
--------
>>> from hvsprobe.battery import PixelSubject, run_battery
>>> from hvsprobe.stimuli.physical import Display
>>> res = run_battery(PixelSubject(), ["masking"], display=Display(size=32, ppd=16),
...                   progress=False)  # doctest: +SKIP
"""

from .run import BATTERY_SCHEMA_VERSION, TESTS, BatteryResult, load_battery, run_battery
from .stats import MULTIPLIERS, pooled_spearman, threshold_errors, threshold_rmse
from .subjects import (
    MetricSubject,
    NetworkSubject,
    PixelSubject,
    Subject,
    make_subject,
    subset_weightings,
)

__all__ = [
    "BATTERY_SCHEMA_VERSION",
    "MULTIPLIERS",
    "TESTS",
    "BatteryResult",
    "MetricSubject",
    "NetworkSubject",
    "PixelSubject",
    "Subject",
    "load_battery",
    "make_subject",
    "pooled_spearman",
    "run_battery",
    "subset_weightings",
    "threshold_errors",
    "threshold_rmse",
]
