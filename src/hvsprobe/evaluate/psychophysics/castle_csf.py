"""castleCSF: the static foveal achromatic rows rendered as Gabors or gratings, and predicted.

The rows come from :func:`hvsprobe.human.load_castle_achromatic`; every row becomes a
vertical cosine-phase stimulus at one fixed pixels-per-degree (the metric's viewing
distance).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from ..._validation import check_positive
from ...stimuli.patterns import grating_wave, square_window
from ..metric_interface import Metric, resolve_metric
from .prediction import ThresholdPrediction, predict_thresholds
from .waveforms import WaveStimulus, contrast_array, gabor_wave, images_from_wave

__all__ = ["castle_stimulus", "castle_stimulus_size", "predict_castle_csf"]


def castle_stimulus_size(
    frequency_cpd: float,
    area_deg2: float,
    kind: str,
    *,
    ppd: float = 60.0,
    extent_sigma: float = 3.0,
    min_size: int = 64,
) -> int:
    """Image side (pixels, even) for a castleCSF row.

    A Gabor (``sigma = sqrt(area / pi)``) gets ``2 * extent_sigma * sigma * ppd`` pixels; a
    grating in a square aperture of side ``sqrt(area)`` gets 1.5 times the aperture (a grey
    margin of a quarter aperture on each side); both at least ``min_size``.

    Parameters
    ----------
    frequency_cpd : float
        Frequency (unused for the size; kept for a uniform call signature).
    area_deg2 : float
        Stimulus area in deg^2 (castleCSF: ``pi sigma^2`` for Gabors, aperture area for
        gratings).
    kind : str
        ``'gabor'`` or ``'grating'``.
    ppd : float
        Pixels per degree.
    extent_sigma : float
        Half-width of a Gabor image in envelope sigmas.
    min_size : int
        Smallest side.

    Returns
    -------
    int
    """
    del frequency_cpd
    if kind == "gabor":
        side = 2.0 * extent_sigma * math.sqrt(area_deg2 / math.pi) * ppd
    elif kind == "grating":
        side = 1.5 * math.sqrt(area_deg2) * ppd
    else:
        raise ValueError(f"kind must be 'gabor' or 'grating', got {kind!r}")
    n = max(int(min_size), int(math.ceil(side)))
    return n + (n % 2)


def castle_wave(frequency: float, area: float, kind: str, ppd: float, size: int) -> np.ndarray:
    if kind == "gabor":
        sigma = math.sqrt(area / math.pi)
        return gabor_wave(size, ppd, frequency, 0.0, sigma, sigma)
    # anti-aliased hard-edged square aperture of side sqrt(area) (fraction of each pixel inside)
    window = square_window((size, size), math.sqrt(area) * ppd)
    return grating_wave((size, size), frequency / ppd, 0.0, 0.0, window=window)[0]


def castle_stimulus(
    frequency_cpd: float,
    area_deg2: float,
    contrast: float | Sequence[float] | np.ndarray,
    *,
    kind: str = "gabor",
    ppd: float = 60.0,
    size: int | None = None,
    mean: float = 0.5,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Achromatic stimulus for a castleCSF row: vertical cosine-phase Gabor or grating patch.

    ``kind='gabor'``: isotropic envelope with ``sigma = sqrt(area / pi)`` degrees (castleCSF
    gives the area of a Gabor as ``pi sigma^2``).  ``kind='grating'``: a square aperture of
    side ``sqrt(area)`` with hard (anti-aliased) edges on a grey field.

    Parameters
    ----------
    frequency_cpd : float
        Carrier frequency, below the Nyquist limit ``ppd / 2``.
    area_deg2 : float
        Stimulus area in deg^2.
    contrast : float or sequence of float
        Peak (Michelson) contrast(s) in ``[0, min(1, (1 - mean) / mean)]``.
    kind : str
        ``'gabor'`` or ``'grating'``.
    ppd : float
        Pixels per degree.
    size : int, optional
        Image side; default :func:`castle_stimulus_size`.
    mean : float
        Background luminance in (0, 1).
    dtype : torch.dtype
        Result dtype.
    device : torch.device or str, optional
        Result device.

    Returns
    -------
    torch.Tensor
        ``N x 3 x size x size`` (N = 1 for a scalar contrast).
    """
    ppd = check_positive(ppd, "ppd")
    f = check_positive(frequency_cpd, "frequency_cpd")
    a = check_positive(area_deg2, "area_deg2")
    if f >= ppd / 2:
        raise ValueError(f"frequency {f:g} cpd is not below the Nyquist limit {ppd / 2:g} cpd")
    if not 0.0 < mean < 1.0:
        raise ValueError(f"mean must lie in (0, 1), got {mean!r}")
    n = castle_stimulus_size(f, a, kind, ppd=ppd) if size is None else int(size)
    c, _ = contrast_array(contrast, min(1.0, (1.0 - mean) / mean))
    return images_from_wave(castle_wave(f, a, kind, ppd, n), c, mean, dtype, device)


def castle_plan(
    data: dict[str, np.ndarray],
    *,
    ppd: float,
    luminance_range: tuple[float, float],
    max_frequency_fraction: float,
    min_aperture_px: float,
    extent_sigma: float,
    min_size: int,
    max_size: int,
) -> tuple[list[int], list[int], list[dict[str, Any]]]:
    """Rows to use (with their image sizes) and rows excluded with the reason."""
    keep, sizes, excluded = [], [], []
    f_max = max_frequency_fraction * ppd / 2.0
    for i in range(data["frequency"].size):
        f, area = float(data["frequency"][i]), float(data["area"][i])
        lum, kind = float(data["luminance"][i]), str(data["stimulus"][i])
        reason = None
        if kind not in ("gabor", "grating"):
            reason = f"stimulus kind {kind!r} is not a Gabor or grating"
        elif not luminance_range[0] <= lum <= luminance_range[1]:
            reason = (
                f"luminance {lum:g} cd/m^2 outside {list(luminance_range)} (a display-referred "
                "metric has no luminance input)"
            )
        elif f > f_max:
            reason = (
                f"frequency {f:g} cpd above {max_frequency_fraction:g} x Nyquist ({f_max:g} cpd)"
            )
        else:
            width = (2.0 * math.sqrt(area / math.pi) if kind == "gabor" else math.sqrt(area)) * ppd
            size = castle_stimulus_size(
                f, area, kind, ppd=ppd, extent_sigma=extent_sigma, min_size=min_size
            )
            if width < min_aperture_px:
                reason = f"aperture {width:.2f} px narrower than {min_aperture_px:g} px"
            elif size > max_size:
                reason = f"needs a {size} px image, more than max_size {max_size}"
        if reason is None:
            keep.append(i)
            sizes.append(size)
        else:
            excluded.append(
                {
                    "row": i,
                    "dataset": str(data["dataset"][i]),
                    "frequency": f,
                    "area": area,
                    "luminance": lum,
                    "reason": reason,
                }
            )
    return keep, sizes, excluded


def _distinct_stimuli(
    data: dict[str, np.ndarray], keep: Sequence[int], sizes: Sequence[int], ppd: float
) -> tuple[list[Callable[[float], torch.Tensor]], list[int]]:
    """One stimulus per distinct (kind, frequency, area, size) and each kept row's index."""
    keys: dict[tuple[str, float, float, int], int] = {}
    fns: list[Callable[[float], torch.Tensor]] = []
    index = []
    for i, size in zip(keep, sizes, strict=True):
        key = (str(data["stimulus"][i]), float(data["frequency"][i]), float(data["area"][i]), size)
        if key not in keys:
            keys[key] = len(fns)
            w = castle_wave(key[1], key[2], key[0], ppd, size)
            fns.append(WaveStimulus(w, 0.5))
        index.append(keys[key])
    return fns, index


def _row_labels(data: dict[str, np.ndarray], keep: Sequence[int]) -> list[str]:
    """``dataset:stimulus:f=..:A=..:L=..`` for each kept row."""
    return [
        f"{data['dataset'][i]}:{data['stimulus'][i]}:f={data['frequency'][i]:g}:"
        f"A={data['area'][i]:.4g}:L={data['luminance'][i]:g}"
        for i in keep
    ]


def _row_columns(
    data: dict[str, np.ndarray], keep: Sequence[int], sizes: Sequence[int]
) -> dict[str, np.ndarray]:
    """The castleCSF columns the result table adds for the kept rows."""
    return {
        "dataset": data["dataset"][keep],
        "stimulus": data["stimulus"][keep],
        "frequency": data["frequency"][keep],
        "area": data["area"][keep],
        "luminance": data["luminance"][keep],
        "size_px": np.array(sizes, dtype=np.int64),
    }


def predict_castle_csf(
    metric: Metric | str,
    *,
    data_root: str | os.PathLike[str] | None = None,
    ppd: float = 60.0,
    luminance_range: tuple[float, float] = (10.0, 1000.0),
    max_frequency_fraction: float = 0.8,
    min_aperture_px: float = 4.0,
    extent_sigma: float = 3.0,
    min_size: int = 64,
    max_size: int = 512,
    c_min: float = 1e-4,
    n_contrasts: int = 33,
    refine: bool = True,
    strict: bool = True,
    monotone_rtol: float = 1e-3,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> ThresholdPrediction:
    """Predict the static foveal achromatic castleCSF sensitivities with one criterion.

    Every row of :func:`hvsprobe.human.load_castle_achromatic` becomes a vertical
    cosine-phase stimulus at the row's frequency and area, rendered at one fixed ``ppd``
    (the metric's viewing distance): a Gabor with ``sigma = sqrt(area / pi)`` on
    ``2 * extent_sigma * sigma`` degrees, or a grating in a square aperture of side
    ``sqrt(area)`` on 1.5 times that (:func:`castle_stimulus`).  Rows are excluded when
    their luminance is outside ``luminance_range`` (the metric sees display values only, so
    only roughly photopic rows are comparable), their frequency is above
    ``max_frequency_fraction`` of the Nyquist limit, their aperture (Gabor ``2 sigma``,
    grating side) is narrower than ``min_aperture_px`` pixels, or their image would exceed
    ``max_size``.  Rows sharing kind, frequency and area share one distance curve.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    data_root : path-like, optional
        Folder holding ``psychophysics/castleCSF/``; default ``HVSPROBE_DATA``.
    ppd : float
        Pixels per degree of the rendered stimuli.
    luminance_range : tuple of float
        Inclusive range of row luminance (cd/m^2) kept.
    max_frequency_fraction : float
        Highest frequency kept, as a fraction of ``ppd / 2``.
    min_aperture_px : float
        Narrowest aperture kept, in pixels.
    extent_sigma : float
        Half-width of a Gabor image in sigmas.
    min_size, max_size : int
        Smallest image side used / largest allowed.
    c_min : float
        Lowest contrast sampled (the highest is 1).
    n_contrasts : int
        Contrast samples per curve.
    refine, strict, monotone_rtol, batch_size, device, progress
        As for :func:`predict_modelfest`.

    Returns
    -------
    ThresholdPrediction
        ``table`` adds ``dataset``, ``stimulus``, ``frequency``, ``area``, ``luminance``,
        ``size_px``; ``excluded`` lists the rows left out with reasons.
    """
    from ...human import load_castle_achromatic

    m = resolve_metric(metric)
    ppd = check_positive(ppd, "ppd")
    data = load_castle_achromatic(data_root)
    keep, sizes, excluded = castle_plan(
        data,
        ppd=ppd,
        luminance_range=(float(luminance_range[0]), float(luminance_range[1])),
        max_frequency_fraction=max_frequency_fraction,
        min_aperture_px=min_aperture_px,
        extent_sigma=extent_sigma,
        min_size=min_size,
        max_size=max_size,
    )
    if len(keep) < 2:
        raise ValueError(
            f"only {len(keep)} castleCSF row(s) left after the exclusions; widen the settings"
        )
    fns, index = _distinct_stimuli(data, keep, sizes, ppd)
    labels = _row_labels(data, keep)
    human = data["log10_sensitivity"][keep]
    res, _ = predict_thresholds(
        "castle_csf",
        m,
        labels,
        fns,
        human,
        c_min=c_min,
        c_max=1.0,
        n_contrasts=n_contrasts,
        refine=refine,
        strict=strict,
        monotone_rtol=monotone_rtol,
        batch_size=batch_size,
        device=device,
        progress=progress,
        curve_index=np.array(index),
    )
    res.table = {**res.table, **_row_columns(data, keep, sizes)}
    res.excluded = excluded
    res.settings.update(
        {
            "ppd": ppd,
            "luminance_range": list(luminance_range),
            "max_frequency_fraction": max_frequency_fraction,
            "min_aperture_px": min_aperture_px,
            "extent_sigma": extent_sigma,
            "min_size": min_size,
            "max_size": max_size,
            "n_rows_total": int(data["frequency"].size),
            "n_distinct_stimuli": len(fns),
        }
    )
    return res
