"""The result of a probe: every channel's spatial-mean response to every stimulus of a grid.

:class:`Tuning` holds per layer an array of shape
``channels x frequencies x orientations x phases x contrasts`` together with the grid, the
weights identity and the full configuration (:func:`hvsprobe.probe.probe` makes it). It is
saved as ``tuning.npz`` (the arrays) plus ``tuning.json`` (schema version, configuration,
checksum of the npz); both writes are atomic and the JSON is written last, so a half-written
result is never mistaken for a whole one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_path, check_schema, read_json, sha256_file, write_json_atomic
from .checkpoint import ProbeRunStats
from .stimuli import StimulusGrid

__all__ = ["AXES", "SCHEMA_VERSION", "Tuning", "frequency_curves", "tuning_curve_data"]

SCHEMA_VERSION = 1
AXES = ("channel", "frequency", "orientation", "phase", "contrast")


@dataclass
class Tuning:
    """Spatial-mean responses of every probed channel to every stimulus of a grid.

    Attributes
    ----------
    responses : dict of str to numpy.ndarray
        Layer name -> float32 array ``C x F x O x P x K`` (channel, frequency, orientation,
        phase, contrast), in network order.
    grid : StimulusGrid
        The stimuli, in the order of the array axes.
    config : dict
        Everything that produced the arrays (backbone, weights, weights sha256, layers,
        grid, response method, precision, batch size, hvsprobe version).
    best_whole_map : dict of str to numpy.ndarray
        For border-free responses: layer -> float64 array ``C x 3`` holding, per channel,
        the frequency and orientation index of its best stimulus and the paper's whole-map
        response to it (phases averaged, highest contrast), from which the scores derive
        each channel's border share. Empty for ``response='whole_map'``.
    run : ProbeRunStats or None
        How the probe that made it went in this process (resumes, probe seconds); not
        saved, ``None`` for a loaded tuning.

    Examples
    --------
    Made by :func:`hvsprobe.probe.probe`; saved and read back with its checksum:

    >>> import tempfile, hvsprobe
    >>> from torch import nn
    >>> from hvsprobe.probe import probe
    >>> from hvsprobe.stimuli import StimulusGrid
    >>> bb = hvsprobe.wrap(nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()), ["1"], name="tiny")
    >>> grid = StimulusGrid.default(size=32, n_frequencies=3, n_orientations=4, n_phases=2)
    >>> tuning = probe(bb, grid, response="whole_map", progress=False)
    >>> tuning.responses["1"].shape  # channels x frequencies x orientations x phases x contrasts
    (8, 3, 4, 2, 1)
    >>> loaded = Tuning.load(tuning.save(tempfile.mkdtemp()))
    >>> loaded.layers, loaded.channels("1"), loaded.phase_mean("1").shape, loaded.response_method
    (['1'], 8, (8, 3, 4, 1), 'whole_map')
    """

    responses: dict[str, np.ndarray]
    grid: StimulusGrid
    config: dict[str, Any] = field(default_factory=dict)
    best_whole_map: dict[str, np.ndarray] = field(default_factory=dict)
    run: ProbeRunStats | None = field(default=None, repr=False, compare=False)

    @property
    def layers(self) -> list[str]:
        """Probed layer names, in network order."""
        return list(self.responses)

    @property
    def backbone(self) -> str:
        """Registry name of the probed network."""
        return str(self.config.get("backbone", ""))

    @property
    def weights_sha256(self) -> str:
        """Content hash of the probed weights."""
        return str(self.config.get("weights_sha256", ""))

    def channels(self, layer: str) -> int:
        """Number of channels recorded for ``layer``."""
        return int(self.responses[layer].shape[0])

    def phase_mean(self, layer: str) -> np.ndarray:
        """Responses averaged over phase: ``C x F x O x K`` (float64)."""
        mean: np.ndarray = self.responses[layer].astype(np.float64).mean(axis=3)
        return mean

    # -- persistence ---------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``tuning.npz`` and ``tuning.json`` into ``directory`` atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        npz = directory / "tuning.npz"
        arrays: dict[str, Any] = {f"layer/{k}": v for k, v in self.responses.items()}
        arrays.update({f"best_whole_map/{k}": v for k, v in self.best_whole_map.items()})
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        meta = {
            "kind": "tuning",
            "schema_version": SCHEMA_VERSION,
            "axes": list(AXES),
            "layers": {k: list(v.shape) for k, v in self.responses.items()},
            "config": self.config,
            "npz_sha256": sha256_file(npz),
        }
        write_json_atomic(directory / "tuning.json", meta)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> Tuning:
        """Read a tuning saved by :meth:`save`, checking schema and checksum."""
        directory = Path(directory)
        meta_path = directory / "tuning.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{directory} has no tuning.json (not a probe result)")
        meta = read_json(meta_path)
        check_schema(meta, "tuning", SCHEMA_VERSION, meta_path)
        npz = directory / "tuning.npz"
        if sha256_file(npz) != meta["npz_sha256"]:
            raise ValueError(f"{npz} does not match the checksum in {meta_path}")
        with np.load(npz) as data:
            responses = {k: data[f"layer/{k}"] for k in meta["layers"]}
            best = {
                k: data[f"best_whole_map/{k}"]
                for k in meta["layers"]
                if f"best_whole_map/{k}" in data
            }
        grid = StimulusGrid.from_dict(meta["config"]["grid"])
        return cls(responses=responses, grid=grid, config=meta["config"], best_whole_map=best)

    @property
    def response_method(self) -> str:
        """``'torus'``, ``'interior'`` or ``'whole_map'`` (older files: ``'whole_map'``)."""
        resp = self.config.get("response")
        return resp.get("method", "whole_map") if isinstance(resp, dict) else "whole_map"


def tuning_curve_data(
    responses: np.ndarray,
    *,
    frequency_curve: str = "preferred",
    contrast_index: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and orientation curves of every channel, as the scores define them.

    Parameters
    ----------
    responses : ndarray, shape (C, F, O, P, K)
        One layer's recorded responses.
    frequency_curve : {'preferred', 'mean', 'max'}
        ``r(f, theta*)``, the orientation mean or the orientation max.
    contrast_index : int
        Contrast to use.

    Returns
    -------
    freq_curves : ndarray, shape (C, F)
    orient_curves : ndarray, shape (C, O)
        ``r(f*, theta)`` at each channel's best frequency.

    Examples
    --------
    >>> r = np.zeros((1, 3, 2, 1, 1)); r[0, 1, 0] = 2.0; r[0, 2, 1] = 1.0
    >>> fc, oc = tuning_curve_data(r)
    >>> fc.tolist(), oc.tolist()
    ([[0.0, 2.0, 0.0]], [[2.0, 0.0]])
    """
    r = np.asarray(responses, dtype=np.float64).mean(axis=3)[..., contrast_index]
    c, f, o = r.shape
    kf, ko = np.unravel_index(r.reshape(c, -1).argmax(axis=1), (f, o))
    return frequency_curves(r, ko, frequency_curve), r[np.arange(c), kf, :]


def frequency_curves(r: np.ndarray, ko: np.ndarray, frequency_curve: str) -> np.ndarray:
    """The frequency curve ``a(f)`` of each channel from its ``r(f, theta)`` (``C x F x O``).

    The one definition the scores (mu1) and the report's plots share.

    Parameters
    ----------
    r : ndarray, shape (C, F, O)
        Responses (phase mean, one contrast).
    ko : ndarray of int, shape (C,)
        Each channel's preferred orientation index (of its overall peak).
    frequency_curve : {'preferred', 'mean', 'max'}
        ``r(f, theta*)``, the mean or the max over orientations.

    Returns
    -------
    ndarray, shape (C, F)

    Raises
    ------
    ValueError
        For another ``frequency_curve``.

    Examples
    --------
    >>> r = np.array([[[1.0, 3.0], [2.0, 0.0]]])
    >>> frequency_curves(r, np.array([1]), "preferred").tolist(), frequency_curves(r, np.array([1]), "mean").tolist()
    ([[3.0, 0.0]], [[2.0, 1.0]])
    """
    if frequency_curve == "preferred":
        return np.asarray(r[np.arange(r.shape[0]), :, ko])
    if frequency_curve == "mean":
        return np.asarray(r.mean(axis=2))
    if frequency_curve == "max":
        return np.asarray(r.max(axis=2))
    raise ValueError(
        f"frequency_curve must be 'preferred', 'mean' or 'max', got {frequency_curve!r}"
    )
