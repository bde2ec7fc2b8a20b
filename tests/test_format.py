"""The one number formatter: each option reproduces a format the results pages use."""

import math

import numpy as np
import pytest

from hvsprobe._format import DASH, EN_DASH, format_number

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("x", "kwargs", "expected"),
    [
        (0.123456, {}, "0.123"),
        (2.675, {"digits": 2}, "2.67"),  # binary 2.675 is below 2.675: Python rounds down
        (7, {"digits": 2}, "7.00"),
        (np.float64(0.5), {"digits": 1}, "0.5"),
        (None, {}, DASH),
        (NAN, {}, DASH),
        (INF, {}, DASH),
        (-INF, {"digits": 2}, DASH),
        (NAN, {"nonfinite": "nan"}, DASH),
        (INF, {"nonfinite": "nan"}, "inf"),
        (-INF, {"nonfinite": "nan"}, "-inf"),
        (NAN, {"nonfinite": "text"}, "nan"),
        (None, {"nonfinite": "text", "missing": EN_DASH}, EN_DASH),
        (0.000123456, {"digits": 4, "style": "g"}, "0.0001235"),
        (123456.0, {"digits": 3, "style": "g"}, "1.23e+05"),
        (INF, {"digits": 4, "style": "g", "nonfinite": "symbol"}, "∞"),
        (-INF, {"digits": 4, "style": "g", "nonfinite": "symbol"}, "−∞"),
        (NAN, {"digits": 4, "style": "g", "nonfinite": "symbol"}, DASH),
        (0.1 + 0.2, {"style": "repr"}, "0.30000000000000004"),
        (np.float64(0.25), {"style": "repr"}, "0.25"),
        (-INF, {"style": "repr", "nonfinite": "text"}, "-inf"),
    ],
)
def test_format_number(x, kwargs, expected):
    assert format_number(x, **kwargs) == expected


def test_repr_reads_back_exactly():
    rng = np.random.default_rng(0)
    for v in rng.standard_normal(200) * 10.0 ** rng.integers(-10, 10, 200):
        assert float(format_number(float(v), style="repr")) == float(v)


def test_fixed_and_general_match_python_format():
    rng = np.random.default_rng(1)
    for v in rng.standard_normal(200) * 10.0 ** rng.integers(-6, 6, 200):
        v = float(v)
        assert format_number(v, 3) == f"{v:.3f}"
        assert format_number(v, 4, style="g") == f"{v:.4g}"
        assert math.isfinite(float(format_number(v, 4, style="g")))


@pytest.mark.parametrize(
    ("kwargs", "word"), [({"style": "e"}, "style"), ({"nonfinite": "x"}, "nonfinite")]
)
def test_bad_options_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        format_number(1.0, **kwargs)
