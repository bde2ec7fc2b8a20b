"""Contrast detection thresholds predicted by a metric: ModelFest and castleCSF.

A metric predicts a detection threshold the way a model observer does: the threshold of a
stimulus is the contrast ``c`` at which the distance between a uniform grey field and the
stimulus, ``D(c) = metric(grey, stimulus(c))``, reaches a criterion ``k``.  ``k`` is the only
free parameter: one value is fitted for the whole data set (minimising the RMSE between the
predicted and the human log10 sensitivity, ``-log10 c``), so the comparison tests the *shape*
of the metric's sensitivity across stimuli, not its absolute scale.

Conventions
-----------
* Images are achromatic (R = G = B), float in [0, 1], background (mean) luminance 0.5, not
  quantised to 8 bits.  A stimulus is ``L = mean * (1 + c * w(x, y))`` with a waveform ``w``
  whose nominal peak ``|w|`` is 1, so ``c`` is the **peak contrast** ``max |L - mean| / mean``
  of the continuous stimulus (ModelFest's definition; for a Gabor it is the Michelson contrast
  of the carrier).  Compound stimuli (plaids, compound Gabors) are sums of equal components
  of amplitude ``1 / (number of components)``, which add up to 1 at the centre.
* Metrics are used as distances: a metric with ``higher_is_better=True`` is negated.  The
  distance must increase with contrast; this is checked (see ``monotone_rtol``) and a
  violation is reported, never papered over.
* Coordinates follow :mod:`hvsprobe.stimuli`: centre at ``((W - 1) / 2, (H - 1) / 2)``, x to
  the right, y up; orientations are wave-vector directions (0 = vertical bars).  ModelFest's
  bar orientations are converted with ``wave = bar - 90``.
"""

from __future__ import annotations

import csv
import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import optimize, stats

from .._io import atomic_path, write_json_atomic
from .._validation import check_positive
from . import Metric, as_distance, metric_values, resolve_data_root, resolve_metric

__all__ = [
    "MODELFEST_MEAN",
    "MODELFEST_PPD",
    "MODELFEST_SIZE",
    "SUPPORTED_MODELFEST_IDS",
    "CriterionFit",
    "ModelFestData",
    "ModelFestStimulus",
    "ThresholdError",
    "ThresholdPrediction",
    "castle_stimulus",
    "castle_stimulus_size",
    "distance_curves",
    "fit_single_criterion",
    "load_modelfest",
    "modelfest_stimulus",
    "modelfest_waveform",
    "predict_castle_csf",
    "predict_modelfest",
    "threshold_contrast",
    "thresholds_from_curves",
]

#: ModelFest display: 120 pixels per degree, 256 x 256 pixels, mean luminance 0.5.
MODELFEST_PPD = 120.0
MODELFEST_SIZE = 256
MODELFEST_MEAN = 0.5

#: ModelFest stimuli that :func:`modelfest_stimulus` renders: Gabors 1-21, compound Gabors
#: 22-25, Gaussian blobs 26-29, oriented Gabors 36-37 and plaids 38-39.
SUPPORTED_MODELFEST_IDS: tuple[int, ...] = (*range(1, 30), 36, 37, 38, 39)
_SUPPORTED_KINDS = ("gabor", "compound_gabor", "gaussian_blob", "plaid")

_STIMULUS_COLUMNS = (
    "stimulus",
    "name",
    "kind",
    "frequency_cpd",
    "sigma_x_deg",
    "sigma_y_deg",
    "bar_orientation_deg",
    "phase",
)
_THRESHOLD_COLUMNS = ("observer", "stimulus", "repeat", "log10_sensitivity")


class ThresholdError(RuntimeError):
    """A threshold could not be found.

    Attributes
    ----------
    reason : str
        ``'below_range'`` (criterion already reached at the lowest contrast),
        ``'above_range'`` (not reached at the highest contrast), ``'non_monotone'``
        (distance decreases somewhere with contrast), ``'flat'`` (distance does not change)
        or ``'non_finite'``.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------------------------
# ModelFest data


@dataclass(frozen=True)
class ModelFestStimulus:
    """Published parameters of one ModelFest stimulus (one row of ``stimuli.csv``).

    Attributes
    ----------
    id : int
        Stimulus number 1..43.
    name, kind : str
        Name and kind (``gabor``, ``compound_gabor``, ``gaussian_blob``, ``plaid``, ...).
    frequencies : tuple of float
        Carrier frequencies in cpd (empty for blobs; two for compound Gabors).
    sigma_x_deg, sigma_y_deg : float
        Envelope standard deviations across and along the bars (NaN where not given).
    bar_orientations : tuple of float
        Bar orientations in degrees (90 = vertical bars); two for plaids.
    phase : str
        ``'cosine'`` or empty.
    """

    id: int
    name: str
    kind: str
    frequencies: tuple[float, ...]
    sigma_x_deg: float
    sigma_y_deg: float
    bar_orientations: tuple[float, ...]
    phase: str

    @property
    def supported(self) -> bool:
        """Whether :func:`modelfest_stimulus` can render it."""
        return self.id in SUPPORTED_MODELFEST_IDS


@dataclass(frozen=True)
class ModelFestData:
    """ModelFest stimuli and human thresholds.

    Attributes
    ----------
    folder : pathlib.Path
        Folder of the two CSV files.
    stimuli : dict of int to ModelFestStimulus
        All 43 stimuli.
    ids : numpy.ndarray
        Stimulus ids with thresholds, ascending.
    mean_log10_sensitivity : numpy.ndarray
        Mean over observers and repeats per id.
    sem_log10_sensitivity : numpy.ndarray
        Standard error of the mean across observers (of the observers' own means).
    n_observers : numpy.ndarray
        Observers per id.
    """

    folder: Path
    stimuli: dict[int, ModelFestStimulus]
    ids: np.ndarray
    mean_log10_sensitivity: np.ndarray
    sem_log10_sensitivity: np.ndarray
    n_observers: np.ndarray

    def human(self, ids: Sequence[int]) -> np.ndarray:
        """Mean log10 sensitivity of the given ids."""
        lookup = dict(zip(self.ids.tolist(), self.mean_log10_sensitivity.tolist(), strict=True))
        missing = [i for i in ids if i not in lookup]
        if missing:
            raise KeyError(f"no ModelFest thresholds for stimulus id(s) {missing}")
        return np.array([lookup[i] for i in ids])


def _modelfest_dir(data_root: str | os.PathLike[str] | None) -> Path:
    root = resolve_data_root(data_root)
    for cand in (root / "psychophysics" / "modelfest", root / "modelfest", root):
        if (cand / "stimuli.csv").is_file() and (cand / "thresholds.csv").is_file():
            return cand
    raise FileNotFoundError(
        f"ModelFest files stimuli.csv and thresholds.csv not found in "
        f"{root / 'psychophysics' / 'modelfest'}; pass --data-root "
        "(data_root=... in Python) or set HVSPROBE_DATA"
    )


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return [{k: (v or "").strip() for k, v in r.items()} for r in reader]


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(t) for t in text.split(";") if t.strip())


def _num(text: str) -> float:
    return float(text) if text.strip() else math.nan


@functools.lru_cache(maxsize=4)
def _load_modelfest_cached(folder: str) -> ModelFestData:
    path = Path(folder)
    stimuli: dict[int, ModelFestStimulus] = {}
    for r in _read_csv(path / "stimuli.csv", _STIMULUS_COLUMNS):
        sid = int(r["stimulus"])
        stimuli[sid] = ModelFestStimulus(
            sid,
            r["name"],
            r["kind"],
            _floats(r["frequency_cpd"]),
            _num(r["sigma_x_deg"]),
            _num(r["sigma_y_deg"]),
            _floats(r["bar_orientation_deg"]),
            r["phase"],
        )
    per: dict[int, dict[str, list[float]]] = {}
    for r in _read_csv(path / "thresholds.csv", _THRESHOLD_COLUMNS):
        v = _num(r["log10_sensitivity"])
        if math.isfinite(v):
            per.setdefault(int(r["stimulus"]), {}).setdefault(r["observer"], []).append(v)
    ids = np.array(sorted(per), dtype=np.int64)
    mean, sem, n_obs = [], [], []
    for sid in ids.tolist():
        obs = per[sid]
        mean.append(float(np.mean([v for vals in obs.values() for v in vals])))
        obs_means = np.array([np.mean(vals) for vals in obs.values()])
        n_obs.append(obs_means.size)
        sem.append(
            float(obs_means.std(ddof=1) / math.sqrt(obs_means.size))
            if obs_means.size > 1
            else math.nan
        )
    return ModelFestData(path, stimuli, ids, np.array(mean), np.array(sem), np.array(n_obs))


def load_modelfest(data_root: str | os.PathLike[str] | None = None) -> ModelFestData:
    """Read ModelFest's ``stimuli.csv`` and ``thresholds.csv``.

    Parameters
    ----------
    data_root : path-like, optional
        Folder holding ``psychophysics/modelfest/`` (the modelfest folder itself is accepted);
        default ``HVSPROBE_DATA``.

    Returns
    -------
    ModelFestData
    """
    return _load_modelfest_cached(str(_modelfest_dir(data_root).resolve()))


# --------------------------------------------------------------------------------------------
# waveforms


def _coords_deg(size: int, ppd: float) -> tuple[np.ndarray, np.ndarray]:
    """x (right) and y (up) in degrees relative to the image centre, as broadcastable arrays."""
    idx = np.arange(size, dtype=np.float64)
    x = ((idx - (size - 1) / 2.0) / ppd)[None, :]
    y = (((size - 1) / 2.0 - idx) / ppd)[:, None]
    return x, y


def _gabor_wave(
    size: int, ppd: float, freq: float, wave_deg: float, sigma_u: float, sigma_v: float
) -> np.ndarray:
    """Cosine-phase Gabor with peak 1: carrier along the wave vector, envelope sigma_u across
    the bars (along the wave vector) and sigma_v along the bars (degrees)."""
    x, y = _coords_deg(size, ppd)
    t = math.radians(wave_deg)
    ct, st = round(math.cos(t), 15), round(math.sin(t), 15)
    u = x * ct + y * st
    v = y * ct - x * st
    env = np.exp(-0.5 * ((u / sigma_u) ** 2 + (v / sigma_v) ** 2))
    return env * np.cos(2.0 * math.pi * freq * u)


def _render_modelfest(s: ModelFestStimulus, size: int, ppd: float) -> np.ndarray:
    if s.kind == "gaussian_blob":
        x, y = _coords_deg(size, ppd)
        return np.exp(-0.5 * ((x / s.sigma_x_deg) ** 2 + (y / s.sigma_y_deg) ** 2))
    if s.kind == "gabor":
        return _gabor_wave(
            size, ppd, s.frequencies[0], s.bar_orientations[0] - 90.0, s.sigma_x_deg, s.sigma_y_deg
        )
    if s.kind == "compound_gabor":
        parts = [
            _gabor_wave(size, ppd, f, s.bar_orientations[0] - 90.0, s.sigma_x_deg, s.sigma_y_deg)
            for f in s.frequencies
        ]
        return sum(parts) / len(parts)
    if s.kind == "plaid":
        parts = [
            _gabor_wave(size, ppd, s.frequencies[0], b - 90.0, s.sigma_x_deg, s.sigma_y_deg)
            for b in s.bar_orientations
        ]
        return sum(parts) / len(parts)
    raise NotImplementedError(f"ModelFest kind {s.kind!r} is not rendered")


@functools.lru_cache(maxsize=64)
def _waveform_cached(stimulus_id: int, folder: str) -> np.ndarray:
    data = _load_modelfest_cached(folder)
    w = _render_modelfest(data.stimuli[stimulus_id], MODELFEST_SIZE, MODELFEST_PPD)
    w.setflags(write=False)
    return w


def _check_modelfest_id(stimulus_id: object, data: ModelFestData) -> int:
    if isinstance(stimulus_id, bool) or not isinstance(stimulus_id, int | np.integer):
        raise TypeError(f"stimulus_id must be an int, got {stimulus_id!r}")
    sid = int(stimulus_id)
    if sid not in data.stimuli:
        raise ValueError(f"no ModelFest stimulus {sid}; ids run from 1 to {max(data.stimuli)}")
    if sid not in SUPPORTED_MODELFEST_IDS or data.stimuli[sid].kind not in _SUPPORTED_KINDS:
        s = data.stimuli[sid]
        raise NotImplementedError(
            f"ModelFest stimulus {sid} ({s.name}, kind {s.kind!r}) is not rendered; supported "
            f"ids: {_id_ranges(SUPPORTED_MODELFEST_IDS)}"
        )
    return sid


def _id_ranges(ids: Sequence[int]) -> str:
    out, run = [], [ids[0]]
    for i in ids[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            out.append(run)
            run = [i]
    out.append(run)
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in out)


def modelfest_waveform(
    stimulus_id: int, *, data_root: str | os.PathLike[str] | None = None
) -> np.ndarray:
    """The unit-contrast waveform ``w`` (256 x 256, float64, read-only) of a ModelFest stimulus.

    Parameters
    ----------
    stimulus_id : int
        One of :data:`SUPPORTED_MODELFEST_IDS`.
    data_root : path-like, optional
        Data folder (for ``stimuli.csv``); default ``HVSPROBE_DATA``.

    Returns
    -------
    numpy.ndarray
        ``(L / mean - 1) / contrast``; the nominal peak ``|w|`` is 1.

    Raises
    ------
    NotImplementedError
        For stimuli that are not rendered (edges, lines, noise, disk, ...).
    """
    data = load_modelfest(data_root)
    sid = _check_modelfest_id(stimulus_id, data)
    return _waveform_cached(sid, str(data.folder))


def _contrast_array(contrast: object, cmax: float) -> tuple[np.ndarray, bool]:
    scalar = np.ndim(contrast) == 0
    c = np.atleast_1d(np.asarray(contrast, dtype=np.float64)).reshape(-1)
    if c.size == 0:
        raise ValueError("contrast must hold at least one value")
    if not np.all(np.isfinite(c)) or (c < 0).any() or (c > cmax + 1e-12).any():
        raise ValueError(f"contrast must lie in [0, {cmax:g}] (peak contrast), got {contrast!r}")
    return c, scalar


def _images_from_wave(
    w: np.ndarray, c: np.ndarray, mean: float, dtype: torch.dtype, device: Any
) -> torch.Tensor:
    lum = np.clip(mean * (1.0 + c[:, None, None] * w[None]), 0.0, 1.0)
    t = torch.from_numpy(lum).to(dtype=dtype)
    return t.unsqueeze(1).expand(-1, 3, -1, -1).contiguous().to(device or "cpu")


class _WaveStimulus:
    """``c -> mean * (1 + c * w)`` as a stimulus function, with a batched variant."""

    def __init__(self, w: np.ndarray, mean: float) -> None:
        self.w = w
        self.mean = mean

    def __call__(self, contrast: float) -> torch.Tensor:
        return self.batch(np.array([contrast]))

    def batch(self, contrasts: np.ndarray) -> torch.Tensor:
        return _images_from_wave(
            self.w, np.asarray(contrasts, dtype=np.float64), self.mean, torch.float32, None
        )


def modelfest_stimulus(
    stimulus_id: int,
    contrast: float | Sequence[float] | np.ndarray,
    *,
    data_root: str | os.PathLike[str] | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Render a ModelFest stimulus: 120 px/deg, 256 x 256, mean 0.5, achromatic.

    ``L = 0.5 * (1 + contrast * w)`` with :func:`modelfest_waveform` ``w``.  Gabors are
    cosine phase with ``sigma_x`` across the bars and ``sigma_y`` along them; the bar
    orientation of the CSV (90 = vertical bars) is converted to a wave vector
    ``bar - 90``.  Compound Gabors (22-25) and plaids (38-39) are the mean of their two
    components (peak 1 at the centre); Gaussian blobs (26-29) are luminance increments.

    Parameters
    ----------
    stimulus_id : int
        One of :data:`SUPPORTED_MODELFEST_IDS` (1-29, 36-39).
    contrast : float or sequence of float
        Peak contrast(s) in [0, 1].
    data_root : path-like, optional
        Data folder; default ``HVSPROBE_DATA``.
    dtype : torch.dtype
        Result dtype (computed in float64).
    device : torch.device or str, optional
        Result device.

    Returns
    -------
    torch.Tensor
        ``1 x 3 x 256 x 256`` for a scalar contrast, ``N x 3 x 256 x 256`` for ``N`` contrasts.

    Raises
    ------
    NotImplementedError
        For an id outside :data:`SUPPORTED_MODELFEST_IDS` (the message lists them).
    """
    w = modelfest_waveform(stimulus_id, data_root=data_root)
    c, _ = _contrast_array(contrast, 1.0)
    return _images_from_wave(w, c, MODELFEST_MEAN, dtype, device)


# --------------------------------------------------------------------------------------------
# castleCSF stimuli


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


def _castle_wave(frequency: float, area: float, kind: str, ppd: float, size: int) -> np.ndarray:
    if kind == "gabor":
        sigma = math.sqrt(area / math.pi)
        return _gabor_wave(size, ppd, frequency, 0.0, sigma, sigma)
    x, y = _coords_deg(size, ppd)
    half = 0.5 * math.sqrt(area) * ppd  # pixels
    # anti-aliased hard-edged square: fraction of each pixel inside |x|, |y| <= half
    cover_x = np.clip(half - np.abs(x * ppd) + 0.5, 0.0, 1.0)
    cover_y = np.clip(half - np.abs(y * ppd) + 0.5, 0.0, 1.0)
    return cover_x * cover_y * np.cos(2.0 * math.pi * frequency * x)


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
    c, _ = _contrast_array(contrast, min(1.0, (1.0 - mean) / mean))
    return _images_from_wave(_castle_wave(f, a, kind, ppd, n), c, mean, dtype, device)


# --------------------------------------------------------------------------------------------
# distances and thresholds


class _DistanceFn:
    """``D(c) = distance(metric(blank, stimulus(c)))`` with the blank computed once."""

    def __init__(
        self,
        metric: Metric,
        stimulus_fn: Callable[[float], torch.Tensor],
        device: torch.device | str | None,
        batch_size: int,
    ) -> None:
        self.metric = metric
        self.fn = stimulus_fn
        self.device = device
        self.batch_size = batch_size
        self.blank = self._one(0.0)

    def _one(self, c: float) -> torch.Tensor:
        img = self.fn(float(c))
        if not isinstance(img, torch.Tensor):
            raise TypeError(f"stimulus_fn must return a torch.Tensor, got {type(img).__name__}")
        if img.ndim == 3:
            img = img.unsqueeze(0)
        if img.ndim != 4 or img.shape[0] != 1:
            raise ValueError(
                f"stimulus_fn(contrast) must return 1 x 3 x H x W or 3 x H x W, got {tuple(img.shape)}"
            )
        return img

    def __call__(self, contrasts: Sequence[float] | np.ndarray) -> np.ndarray:
        cs = np.asarray(contrasts, dtype=np.float64).reshape(-1)
        out = np.empty(cs.size)
        batch = getattr(self.fn, "batch", None)
        for start in range(0, cs.size, self.batch_size):
            chunk = cs[start : start + self.batch_size]
            y = batch(chunk) if batch is not None else torch.cat([self._one(c) for c in chunk])
            x = self.blank.expand(y.shape[0], -1, -1, -1)
            vals = metric_values(self.metric, x, y, device=self.device)
            out[start : start + chunk.size] = as_distance(self.metric, vals)
        return out


def _monotone(d: np.ndarray, rtol: float) -> bool:
    span = float(np.ptp(d))
    return bool(np.all(np.diff(d) >= -rtol * span))


def _bisect(
    dist: Callable[[Sequence[float]], np.ndarray],
    criterion: float,
    lo: float,
    hi: float,
    d_lo: float,
    d_hi: float,
    tol_log10: float,
    atol: float,
    max_iter: int,
) -> float:
    """Bisection in log contrast inside a bracket with ``d_lo < criterion <= d_hi``."""
    for _ in range(max_iter):
        if math.log10(hi / lo) <= tol_log10:
            break
        mid = math.sqrt(lo * hi)
        dm = float(dist([mid])[0])
        if not math.isfinite(dm):
            raise ThresholdError(f"distance at contrast {mid:.4g} is not finite", "non_finite")
        if dm < d_lo - atol or dm > d_hi + atol:
            raise ThresholdError(
                f"distance is not monotone in contrast: D({lo:.4g}) = {d_lo:.4g}, "
                f"D({mid:.4g}) = {dm:.4g}, D({hi:.4g}) = {d_hi:.4g}",
                "non_monotone",
            )
        if dm >= criterion:
            hi, d_hi = mid, dm
        else:
            lo, d_lo = mid, dm
    return math.sqrt(lo * hi)


def threshold_contrast(
    metric: Metric | str,
    stimulus_fn: Callable[[float], torch.Tensor],
    criterion: float,
    *,
    c_min: float = 1e-4,
    c_max: float = 1.0,
    n_grid: int = 9,
    tol_log10: float = 1e-3,
    max_iter: int = 60,
    monotone_rtol: float = 1e-3,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> float:
    """Contrast at which ``metric(blank, stimulus_fn(c))`` reaches ``criterion``.

    The blank is ``stimulus_fn(0.0)``.  The distance (the metric value, negated when
    ``metric.higher_is_better``) is first evaluated on ``n_grid`` log-spaced contrasts from
    ``c_min`` to ``c_max`` in one batch: it must be non-decreasing there (each step may fall by
    at most ``monotone_rtol`` times the range of the values, for numerical noise) and must
    cross the criterion.  The crossing is then bisected in log contrast until the bracket is
    narrower than ``tol_log10`` decades, checking at every step that the new value lies
    between the bracket's values.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    stimulus_fn : callable
        ``stimulus_fn(contrast) -> 1 x 3 x H x W`` (or 3 x H x W) tensor in [0, 1].
    criterion : float
        Distance at threshold (in the oriented units: ``-value`` for higher-is-better
        metrics).
    c_min, c_max : float
        Search range (``0 < c_min < c_max``).
    n_grid : int
        Points of the initial scan (>= 2).
    tol_log10 : float
        Final bracket width in decades; the geometric centre of the bracket is returned.
    max_iter : int
        Most bisection steps.
    monotone_rtol : float
        Allowed relative decrease between grid points.
    batch_size : int
        Stimuli per metric call in the scan.
    device : torch.device or str, optional
        Device for the images.

    Returns
    -------
    float
        Threshold contrast.

    Raises
    ------
    ThresholdError
        If the criterion is reached below ``c_min`` or never up to ``c_max``, if the
        distance is not monotone, flat or not finite (see ``reason``).
    """
    m = resolve_metric(metric)
    k = float(criterion)
    if not math.isfinite(k):
        raise ValueError(f"criterion must be finite, got {criterion!r}")
    if not 0.0 < c_min < c_max:
        raise ValueError(f"need 0 < c_min < c_max, got c_min={c_min!r}, c_max={c_max!r}")
    if n_grid < 2:
        raise ValueError(f"n_grid must be >= 2, got {n_grid!r}")
    dist = _DistanceFn(m, stimulus_fn, device, batch_size)
    grid = np.geomspace(c_min, c_max, int(n_grid))
    d = dist(grid)
    if not np.all(np.isfinite(d)):
        raise ThresholdError(f"metric {m.name!r} gave non-finite distances {d}", "non_finite")
    span = float(np.ptp(d))
    if span == 0:
        raise ThresholdError(
            f"metric {m.name!r}: distance {d[0]:.4g} does not change between contrasts "
            f"{c_min:g} and {c_max:g}",
            "flat",
        )
    if not _monotone(d, monotone_rtol):
        raise ThresholdError(
            f"metric {m.name!r}: distance is not non-decreasing in contrast on the grid "
            f"{np.array2string(grid, precision=3)}: {np.array2string(d, precision=4)}",
            "non_monotone",
        )
    if d[0] >= k:
        raise ThresholdError(
            f"criterion {k:.4g} is already reached at c_min={c_min:g} (distance {d[0]:.4g}); "
            "lower c_min or raise the criterion",
            "below_range",
        )
    if d[-1] < k:
        raise ThresholdError(
            f"criterion {k:.4g} is not reached at c_max={c_max:g} (distance {d[-1]:.4g})",
            "above_range",
        )
    j = int(np.argmax(d >= k))
    return _bisect(
        dist, k, grid[j - 1], grid[j], d[j - 1], d[j], tol_log10, monotone_rtol * span, max_iter
    )


def distance_curves(
    metric: Metric | str,
    stimulus_fns: Sequence[Callable[[float], torch.Tensor]],
    contrasts: Sequence[float] | np.ndarray,
    *,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Distance of every stimulus at every contrast, shape ``(S, K)``.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    stimulus_fns : sequence of callable
        ``fn(contrast) -> 1 x 3 x H x W``; ``fn(0.0)`` is the blank.
    contrasts : array_like
        ``K`` contrasts.
    batch_size : int
        Images per metric call.
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar over stimuli.

    Returns
    -------
    numpy.ndarray
    """
    from tqdm.auto import tqdm

    m = resolve_metric(metric)
    cs = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    out = np.empty((len(stimulus_fns), cs.size))
    for i, fn in enumerate(tqdm(stimulus_fns, disable=not progress, unit="stim", desc=m.name)):
        out[i] = _DistanceFn(m, fn, device, batch_size)(cs)
    return out


def thresholds_from_curves(
    contrasts: Sequence[float] | np.ndarray,
    distances: np.ndarray,
    criterion: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds for a criterion by interpolating sampled distance curves.

    For each curve the first contrast sample with ``D >= criterion`` is found and the
    crossing is interpolated linearly in ``(log c, log D)`` when both bracketing distances
    are positive (exact for power laws ``D = a c^p``), else in ``(log c, D)``.

    Parameters
    ----------
    contrasts : array_like
        Increasing contrasts ``(K,)``.
    distances : numpy.ndarray
        ``(S, K)`` or ``(K,)`` distances.
    criterion : float
        The criterion.

    Returns
    -------
    thresholds : numpy.ndarray
        ``(S,)`` threshold contrasts, clipped to ``[c_1, c_K]``.
    censored : numpy.ndarray
        ``(S,)`` int: ``-1`` criterion reached at the lowest contrast already, ``+1`` never
        reached, ``0`` interpolated.
    """
    c = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    if d.shape[1] != c.size or c.size < 2:
        raise ValueError(f"distances {d.shape} do not match {c.size} contrasts")
    k = float(criterion)
    above = d >= k
    first = np.argmax(above, axis=1)
    never = ~above.any(axis=1)
    at_start = above[:, 0]
    censored = np.where(never, 1, np.where(at_start, -1, 0)).astype(np.int64)
    j = np.clip(first, 1, c.size - 1)
    rows = np.arange(d.shape[0])
    d0, d1 = d[rows, j - 1], d[rows, j]
    lc0, lc1 = np.log(c[j - 1]), np.log(c[j])
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = (d0 > 0) & (d1 > 0) & (k > 0)
        t_log = (math.log(k) if k > 0 else 0.0) - np.log(np.where(pos, d0, 1.0))
        t_log = t_log / (np.log(np.where(pos, d1, 2.0)) - np.log(np.where(pos, d0, 1.0)))
        t_lin = (k - d0) / (d1 - d0)
    t = np.clip(np.where(pos, t_log, t_lin), 0.0, 1.0)
    thr = np.exp(lc0 + t * (lc1 - lc0))
    thr = np.where(censored == 1, c[-1], np.where(censored == -1, c[0], thr))
    return thr, censored


@dataclass(frozen=True)
class CriterionFit:
    """The single fitted criterion and what it predicts.

    Attributes
    ----------
    criterion : float
        Fitted criterion (distance at threshold).
    predicted_log10 : numpy.ndarray
        Predicted log10 sensitivity ``-log10 threshold`` per stimulus.
    thresholds : numpy.ndarray
        Threshold contrasts.
    censored : numpy.ndarray
        See :func:`thresholds_from_curves`.
    rmse : float
        RMSE in log10 sensitivity at the fitted criterion.
    """

    criterion: float
    predicted_log10: np.ndarray
    thresholds: np.ndarray
    censored: np.ndarray
    rmse: float


def fit_single_criterion(
    contrasts: Sequence[float] | np.ndarray,
    distances: np.ndarray,
    human_log10_sensitivity: Sequence[float] | np.ndarray,
    *,
    n_candidates: int = 256,
) -> CriterionFit:
    """Fit the one criterion that minimises the RMSE in log10 sensitivity.

    ``RMSE(k) = sqrt(mean_i (-log10 c_i(k) - h_i)^2)`` with ``c_i(k)`` from
    :func:`thresholds_from_curves` (censored thresholds count at the end of the contrast
    range, so a criterion that pushes stimuli out of range is penalised).  ``RMSE(k)`` is
    evaluated at ``n_candidates`` quantiles of all sampled distances; the best one is refined
    with a bounded scalar minimisation (in ``log k`` when all distances are positive)
    between its neighbours.  This needs no assumption about the form of ``D(c)``.

    Parameters
    ----------
    contrasts : array_like
        ``(K,)`` increasing contrasts.
    distances : numpy.ndarray
        ``(S, K)`` distance curves.
    human_log10_sensitivity : array_like
        ``(S,)`` human log10 sensitivities.
    n_candidates : int
        Candidate criteria of the initial scan.

    Returns
    -------
    CriterionFit
    """
    c = np.asarray(contrasts, dtype=np.float64).reshape(-1)
    d = np.atleast_2d(np.asarray(distances, dtype=np.float64))
    h = np.asarray(human_log10_sensitivity, dtype=np.float64).reshape(-1)
    if d.shape != (h.size, c.size):
        raise ValueError(f"distances {d.shape} must be (stimuli {h.size}, contrasts {c.size})")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(h))):
        raise ValueError("distances and human sensitivities must be finite")
    if h.size < 2:
        raise ValueError("need at least 2 stimuli to fit a criterion")
    values = np.unique(d)
    cand = np.unique(np.quantile(values, np.linspace(0.0, 1.0, int(n_candidates))))
    use_log = bool(cand[0] > 0)

    def loss(k: float) -> float:
        thr, _ = thresholds_from_curves(c, d, k)
        return float(np.sqrt(np.mean((-np.log10(thr) - h) ** 2)))

    losses = np.array([loss(k) for k in cand])
    b = int(np.argmin(losses))
    best_k, best_loss = float(cand[b]), float(losses[b])
    lo, hi = cand[max(b - 1, 0)], cand[min(b + 1, cand.size - 1)]
    if hi > lo:
        if use_log:
            res = optimize.minimize_scalar(
                lambda t: loss(math.exp(t)),
                bounds=(math.log(lo), math.log(hi)),
                method="bounded",
                options={"xatol": 1e-6},
            )
            k_ref = math.exp(float(res.x))
        else:
            res = optimize.minimize_scalar(
                loss,
                bounds=(float(lo), float(hi)),
                method="bounded",
                options={"xatol": 1e-9 * max(1.0, abs(hi - lo))},
            )
            k_ref = float(res.x)
        if loss(k_ref) < best_loss:
            best_k, best_loss = k_ref, loss(k_ref)
    thr, cens = thresholds_from_curves(c, d, best_k)
    return CriterionFit(best_k, -np.log10(thr), thr, cens, best_loss)


def _local_slopes(c: np.ndarray, d: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """d log D / d log c of each curve around its threshold (NaN where D <= 0)."""
    out = np.full(d.shape[0], np.nan)
    for i in range(d.shape[0]):
        j = int(np.clip(np.searchsorted(c, thr[i]), 1, c.size - 1))
        if d[i, j - 1] > 0 and d[i, j] > 0:
            out[i] = (math.log(d[i, j]) - math.log(d[i, j - 1])) / (
                math.log(c[j]) - math.log(c[j - 1])
            )
    return out


# --------------------------------------------------------------------------------------------
# prediction results


@dataclass
class ThresholdPrediction:
    """Predicted versus human log10 sensitivity with one fitted criterion.

    Attributes
    ----------
    protocol : str
        ``'modelfest'`` or ``'castle_csf'``.
    metric : str
        Metric name.
    criterion : float
        The fitted criterion.
    pearson_r, spearman_rho : float
        Correlations of predicted and human log10 sensitivity.
    rmse_log10 : float
        RMSE in log10 sensitivity.
    n : int
        Stimuli (rows) compared.
    n_censored : int
        Stimuli whose threshold lies outside the contrast range (counted at its end).
    shift_invariant : bool
        Whether all curves have the same log-log slope at threshold (within 10 %), i.e.
        changing the criterion shifts every predicted log sensitivity by the same amount.
    table : dict of str to numpy.ndarray
        Per-stimulus columns: ``label``, ``human_log10``, ``predicted_log10``, ``threshold``,
        ``censored``, ``loglog_slope`` and protocol-specific columns.
    excluded : list of dict
        Rows left out and why (castleCSF).
    notes : list of str
        Remarks (non-monotone curves, ...).
    settings : dict
        The settings used.
    """

    protocol: str
    metric: str
    criterion: float
    pearson_r: float
    spearman_rho: float
    rmse_log10: float
    n: int
    n_censored: int
    shift_invariant: bool
    table: dict[str, np.ndarray]
    excluded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable result."""
        return {
            "kind": "threshold_prediction",
            "schema_version": 1,
            "protocol": self.protocol,
            "metric": self.metric,
            "criterion": self.criterion,
            "pearson_r": self.pearson_r,
            "spearman_rho": self.spearman_rho,
            "rmse_log10": self.rmse_log10,
            "n": self.n,
            "n_censored": self.n_censored,
            "shift_invariant": self.shift_invariant,
            "table": {k: np.asarray(v).tolist() for k, v in self.table.items()},
            "excluded": list(self.excluded),
            "notes": list(self.notes),
            "settings": dict(self.settings),
        }

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict())

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the per-stimulus table atomically as CSV."""
        cols = list(self.table)
        n = len(next(iter(self.table.values()))) if cols else 0
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(cols)
            for i in range(n):
                writer.writerow([np.asarray(self.table[col])[i] for col in cols])
        return Path(path)


def _predict(
    protocol: str,
    metric: Metric,
    labels: Sequence[str],
    fns: Sequence[Callable[[float], torch.Tensor]],
    human: np.ndarray,
    *,
    c_min: float,
    c_max: float,
    n_contrasts: int,
    refine: bool,
    strict: bool,
    monotone_rtol: float,
    batch_size: int,
    device: torch.device | str | None,
    progress: bool,
    curve_index: np.ndarray | None = None,
) -> tuple[ThresholdPrediction, np.ndarray]:
    """Shared core: curves -> criterion fit -> refined thresholds -> statistics.

    ``fns`` are the distinct stimuli; ``curve_index[i]`` says which of them row ``i`` uses
    (default: row ``i`` uses stimulus ``i``).
    """
    if not 0.0 < c_min < c_max:
        raise ValueError(f"need 0 < c_min < c_max, got {c_min!r}, {c_max!r}")
    idx = np.arange(len(fns)) if curve_index is None else np.asarray(curve_index)
    contrasts = np.geomspace(c_min, c_max, int(n_contrasts))
    curves = distance_curves(
        metric, fns, contrasts, batch_size=batch_size, device=device, progress=progress
    )
    notes: list[str] = []
    bad_finite = [i for i in range(len(fns)) if not np.all(np.isfinite(curves[i]))]
    if bad_finite:
        raise ThresholdError(
            f"metric {metric.name!r} gave non-finite distances for stimuli "
            f"{[labels[int(np.flatnonzero(idx == i)[0])] for i in bad_finite]}",
            "non_finite",
        )
    flat = [i for i in range(len(fns)) if np.ptp(curves[i]) == 0]
    non_mono = [
        i for i in range(len(fns)) if i not in flat and not _monotone(curves[i], monotone_rtol)
    ]
    if flat or non_mono:
        names = {i: labels[int(np.flatnonzero(idx == i)[0])] for i in flat + non_mono}
        msg = (
            f"metric {metric.name!r}: distance does not increase with contrast for "
            f"{len(flat) + len(non_mono)} stimulus/stimuli: flat {[names[i] for i in flat]}, "
            f"non-monotone {[names[i] for i in non_mono]}"
        )
        if strict or flat:
            raise ThresholdError(
                msg + " (pass strict=False to use the first crossing)", "non_monotone"
            )
        notes.append(msg + "; their first crossing of the criterion is used")
    row_curves = curves[idx]
    fit = fit_single_criterion(contrasts, row_curves, human)
    thr_stim, cens_stim = thresholds_from_curves(contrasts, curves, fit.criterion)
    if refine:
        for i, fn in enumerate(fns):
            if cens_stim[i] != 0 or i in non_mono:
                continue
            j = int(np.argmax(curves[i] >= fit.criterion))
            span = float(np.ptp(curves[i]))
            try:
                thr_stim[i] = _bisect(
                    _DistanceFn(metric, fn, device, batch_size),
                    fit.criterion,
                    contrasts[j - 1],
                    contrasts[j],
                    curves[i, j - 1],
                    curves[i, j],
                    1e-3,
                    monotone_rtol * span,
                    60,
                )
            except ThresholdError as exc:
                if strict:
                    raise
                notes.append(f"stimulus {labels[int(np.flatnonzero(idx == i)[0])]}: {exc}")
    thr = thr_stim[idx]
    cens = cens_stim[idx]
    pred = -np.log10(thr)
    slopes = _local_slopes(contrasts, curves, thr_stim)[idx]
    finite = slopes[np.isfinite(slopes)]
    shift_inv = bool(
        finite.size == slopes.size
        and finite.size > 0
        and float(np.ptp(finite)) <= 0.1 * abs(float(np.median(finite)))
    )
    n_cens = int(np.sum(cens != 0))
    if n_cens:
        notes.append(
            f"{n_cens} threshold(s) outside the contrast range [{c_min:g}, {c_max:g}] are "
            "counted at the end of the range"
        )
    r = float(stats.pearsonr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    rho = float(stats.spearmanr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    err = float(np.sqrt(np.mean((pred - human) ** 2)))
    table = {
        "label": np.asarray(labels, dtype=str),
        "human_log10": human,
        "predicted_log10": pred,
        "threshold": thr,
        "censored": cens,
        "loglog_slope": slopes,
    }
    settings = {
        "c_min": c_min,
        "c_max": c_max,
        "n_contrasts": int(n_contrasts),
        "refine": refine,
        "strict": strict,
        "monotone_rtol": monotone_rtol,
        "interpolated_fit_rmse": fit.rmse,
    }
    result = ThresholdPrediction(
        protocol,
        metric.name,
        fit.criterion,
        r,
        rho,
        err,
        int(human.size),
        n_cens,
        shift_inv,
        table,
        [],
        notes,
        settings,
    )
    return result, curves


def predict_modelfest(
    metric: Metric | str,
    *,
    stimulus_ids: Sequence[int] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    c_min: float = 1e-4,
    n_contrasts: int = 33,
    refine: bool = True,
    strict: bool = True,
    monotone_rtol: float = 1e-3,
    batch_size: int = 16,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> ThresholdPrediction:
    """Predict ModelFest sensitivities with one fitted criterion.

    For every stimulus the distance curve ``D(c)`` between the grey field and the stimulus
    is sampled at ``n_contrasts`` log-spaced contrasts from ``c_min`` to 1; the criterion
    minimising the RMSE in log10 sensitivity is fitted (:func:`fit_single_criterion`); each
    threshold is then refined by bisection in log contrast (to 0.001 decades) unless
    ``refine=False``.  The human value is the mean log10 sensitivity over observers and
    repeats.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    stimulus_ids : sequence of int, optional
        Stimuli to use; default :data:`SUPPORTED_MODELFEST_IDS`.
    data_root : path-like, optional
        Data folder; default ``HVSPROBE_DATA``.
    c_min : float
        Lowest contrast sampled (the highest is 1).
    n_contrasts : int
        Contrast samples per curve.
    refine : bool
        Refine the thresholds at the fitted criterion by bisection.
    strict : bool
        Raise :class:`ThresholdError` when a curve is not monotone; with ``False`` its first
        crossing is used and a note is added.
    monotone_rtol : float
        Allowed decrease between samples, relative to the curve's range.
    batch_size : int
        Images per metric call.
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ThresholdPrediction
        ``table`` adds ``stimulus_id``, ``name`` and ``human_sem``.
    """
    m = resolve_metric(metric)
    data = load_modelfest(data_root)
    ids = list(SUPPORTED_MODELFEST_IDS if stimulus_ids is None else stimulus_ids)
    for sid in ids:
        _check_modelfest_id(sid, data)
    folder = str(data.folder)

    def make(sid: int) -> Callable[[float], torch.Tensor]:
        return _WaveStimulus(_waveform_cached(sid, folder), MODELFEST_MEAN)

    human = data.human(ids)
    res, _ = _predict(
        "modelfest",
        m,
        [str(i) for i in ids],
        [make(i) for i in ids],
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
    )
    sem = dict(zip(data.ids.tolist(), data.sem_log10_sensitivity.tolist(), strict=True))
    res.table = {
        "stimulus_id": np.array(ids, dtype=np.int64),
        "name": np.array([data.stimuli[i].name for i in ids], dtype=str),
        **res.table,
        "human_sem": np.array([sem[i] for i in ids]),
    }
    res.settings.update({"ppd": MODELFEST_PPD, "size": MODELFEST_SIZE, "mean": MODELFEST_MEAN})
    return res


def _castle_plan(
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
    from ..human import load_castle_achromatic

    m = resolve_metric(metric)
    ppd = check_positive(ppd, "ppd")
    data = load_castle_achromatic(data_root)
    keep, sizes, excluded = _castle_plan(
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
    keys: dict[tuple[str, float, float, int], int] = {}
    fns: list[Callable[[float], torch.Tensor]] = []
    index = []
    for i, size in zip(keep, sizes, strict=True):
        key = (str(data["stimulus"][i]), float(data["frequency"][i]), float(data["area"][i]), size)
        if key not in keys:
            keys[key] = len(fns)
            w = _castle_wave(key[1], key[2], key[0], ppd, size)
            fns.append(_WaveStimulus(w, 0.5))
        index.append(keys[key])
    labels = [
        f"{data['dataset'][i]}:{data['stimulus'][i]}:f={data['frequency'][i]:g}:"
        f"A={data['area'][i]:.4g}:L={data['luminance'][i]:g}"
        for i in keep
    ]
    human = data["log10_sensitivity"][keep]
    res, _ = _predict(
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
    res.table = {
        **res.table,
        "dataset": data["dataset"][keep],
        "stimulus": data["stimulus"][keep],
        "frequency": data["frequency"][keep],
        "area": data["area"][keep],
        "luminance": data["luminance"][keep],
        "size_px": np.array(sizes, dtype=np.int64),
    }
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
