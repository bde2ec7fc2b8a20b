"""ModelFest: the data (stimuli and thresholds), the stimuli rendered, and the prediction.

ModelFest's bar orientations (90 = vertical bars) are converted to wave vectors with
``wave = bar - 90``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..._io import read_csv_rows, resolve_data_root
from ..metric_interface import Metric, resolve_metric
from .prediction import ThresholdPrediction, predict_thresholds
from .waveforms import WaveStimulus, contrast_array, coords_deg, gabor_wave, images_from_wave

__all__ = [
    "MODELFEST_MEAN",
    "MODELFEST_PPD",
    "MODELFEST_SIZE",
    "SUPPORTED_MODELFEST_IDS",
    "ModelFestData",
    "ModelFestStimulus",
    "load_modelfest",
    "modelfest_stimulus",
    "modelfest_waveform",
    "predict_modelfest",
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
    root = resolve_data_root(data_root)[0]
    for cand in (root / "psychophysics" / "modelfest", root / "modelfest", root):
        if (cand / "stimuli.csv").is_file() and (cand / "thresholds.csv").is_file():
            return cand
    raise FileNotFoundError(
        f"ModelFest files stimuli.csv and thresholds.csv not found in "
        f"{root / 'psychophysics' / 'modelfest'}; pass --data-root "
        "(data_root=... in Python) or set HVSPROBE_DATA"
    )


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(t) for t in text.split(";") if t.strip())


def _optional_float(text: str) -> float:
    return float(text) if text.strip() else math.nan


@functools.lru_cache(maxsize=4)
def _load_modelfest_cached(folder: str) -> ModelFestData:
    path = Path(folder)
    stimuli: dict[int, ModelFestStimulus] = {}
    for r in read_csv_rows(path / "stimuli.csv", _STIMULUS_COLUMNS):
        sid = int(r["stimulus"])
        stimuli[sid] = ModelFestStimulus(
            sid,
            r["name"],
            r["kind"],
            _floats(r["frequency_cpd"]),
            _optional_float(r["sigma_x_deg"]),
            _optional_float(r["sigma_y_deg"]),
            _floats(r["bar_orientation_deg"]),
            r["phase"],
        )
    per: dict[int, dict[str, list[float]]] = {}
    for r in read_csv_rows(path / "thresholds.csv", _THRESHOLD_COLUMNS):
        v = _optional_float(r["log10_sensitivity"])
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


def _render_modelfest(s: ModelFestStimulus, size: int, ppd: float) -> np.ndarray:
    if s.kind == "gaussian_blob":
        x, y = coords_deg(size, ppd)
        return np.exp(-0.5 * ((x / s.sigma_x_deg) ** 2 + (y / s.sigma_y_deg) ** 2))
    if s.kind == "gabor":
        return gabor_wave(
            size, ppd, s.frequencies[0], s.bar_orientations[0] - 90.0, s.sigma_x_deg, s.sigma_y_deg
        )
    if s.kind == "compound_gabor":
        parts = [
            gabor_wave(size, ppd, f, s.bar_orientations[0] - 90.0, s.sigma_x_deg, s.sigma_y_deg)
            for f in s.frequencies
        ]
        return sum(parts) / len(parts)
    if s.kind == "plaid":
        parts = [
            gabor_wave(size, ppd, s.frequencies[0], b - 90.0, s.sigma_x_deg, s.sigma_y_deg)
            for b in s.bar_orientations
        ]
        return sum(parts) / len(parts)
    raise NotImplementedError(f"ModelFest kind {s.kind!r} is not rendered")


@functools.lru_cache(maxsize=64)
def waveform_cached(stimulus_id: int, folder: str) -> np.ndarray:
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
    return waveform_cached(sid, str(data.folder))


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
    c, _ = contrast_array(contrast, 1.0)
    return images_from_wave(w, c, MODELFEST_MEAN, dtype, device)


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
        return WaveStimulus(waveform_cached(sid, folder), MODELFEST_MEAN)

    human = data.human(ids)
    res, _ = predict_thresholds(
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
