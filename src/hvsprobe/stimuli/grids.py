"""The factorial grid of stimuli that a probe shows a network: :class:`StimulusGrid`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice, check_positive, is_tensor
from ._checks import (
    FLOAT32,
    as_float_tuple,
    check_contrast,
    check_dtype,
    check_frequency_cpd,
    check_mean,
    check_size,
)
from .patterns import KINDS, render_batch, render_batch_array

if TYPE_CHECKING:
    import torch

__all__ = ["GRID_DOC_KIND", "GRID_SCHEMA_VERSION", "StimulusGrid"]

#: ``kind`` and ``schema_version`` written by :meth:`StimulusGrid.to_dict`.
GRID_DOC_KIND = "stimulus_grid"
GRID_SCHEMA_VERSION = 1

_DEFAULT_ORIENTATIONS: tuple[float, ...] = tuple(15.0 * i for i in range(12))
_DEFAULT_PHASES: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
_DOC_META_KEYS = ("kind", "schema_version", "hvsprobe_version", "n_stimuli", "units")


@dataclass(frozen=True)
class StimulusGrid:
    """Full factorial grid of stimuli over frequency x orientation x phase x contrast.

    Stimuli are numbered by a flat index in C order over the shape ``(F, O, P, C)``: the
    contrast varies fastest, the frequency slowest.

    Parameters
    ----------
    frequencies : tuple of float
        Spatial frequencies in cycles per degree, strictly increasing, each in
        ``(0, ppd / 2)``.
    orientations : tuple of float
        Wave-vector orientations in degrees (0 = vertical bars), unique; default 0, 15, ..., 165.
        For ``kind='concentric'`` exactly one value, which is ignored when rendering.
    phases : tuple of float
        Phases at the image centre in degrees, unique; default 0, 90, 180, 270.
    contrasts : tuple of float
        Michelson contrasts, unique, each in ``[0, min(1, (1 - mean) / mean)]``.
    ppd : float
        Display resolution in pixels per degree.
    size : tuple of int
        Image size ``(H, W)``, each ``>= 8``; an int ``S`` is accepted for ``(S, S)``.
    mean : float
        Mean luminance in (0, 1).
    kind : str
        ``'grating'``, ``'gabor'`` or ``'concentric'``.
    gabor_sigma_deg : float, optional
        Standard deviation of the (isotropic) Gabor envelope in degrees; required for
        ``kind='gabor'`` and refused otherwise.

    Notes
    -----
    Lists and arrays are normalised to tuples of float, so instances are hashable and compare
    by value.

    Examples
    --------
    >>> grid = StimulusGrid.default(size=16, n_frequencies=3, n_orientations=2, n_phases=2)
    >>> grid.shape, len(grid)
    ((3, 2, 2, 1), 12)
    >>> grid.render([0, 11]).shape
    torch.Size([2, 3, 16, 16])
    >>> StimulusGrid.from_dict(grid.to_dict()) == grid
    True
    """

    frequencies: tuple[float, ...]
    orientations: tuple[float, ...] = _DEFAULT_ORIENTATIONS
    phases: tuple[float, ...] = _DEFAULT_PHASES
    contrasts: tuple[float, ...] = (1.0,)
    ppd: float = 60.0
    size: tuple[int, int] = (224, 224)
    mean: float = 0.5
    kind: str = "grating"
    gabor_sigma_deg: float | None = field(default=None)

    def __post_init__(self) -> None:
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        if not isinstance(self.kind, str):
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        check_choice(self.kind, "stimulus kind", KINDS)
        ppd = check_positive(self.ppd, "ppd")
        put("ppd", ppd)
        put("size", check_size(self.size, "size", min_size=8))
        mean = check_mean(self.mean)
        put("mean", mean)

        freqs = as_float_tuple(self.frequencies, "frequencies")
        for i, f in enumerate(freqs):
            check_frequency_cpd(f, ppd, f"frequencies[{i}]")
        if any(b <= a for a, b in zip(freqs, freqs[1:], strict=False)):
            raise ValueError(f"frequencies must be strictly increasing, got {freqs}")
        put("frequencies", freqs)

        orients = as_float_tuple(self.orientations, "orientations")
        if self.kind == "concentric" and len(orients) != 1:
            raise ValueError(
                "a concentric grating contains all orientations, so kind='concentric' needs "
                f"exactly one orientation (it is ignored), got {len(orients)}: {orients}; "
                "pass orientations=(0.0,)"
            )
        put("orientations", orients)
        put("phases", as_float_tuple(self.phases, "phases"))
        contrasts = as_float_tuple(self.contrasts, "contrasts")
        for i, c in enumerate(contrasts):
            check_contrast(c, mean, f"contrasts[{i}]")
        put("contrasts", contrasts)

        if self.kind == "gabor":
            if self.gabor_sigma_deg is None:
                raise ValueError(
                    "kind='gabor' needs gabor_sigma_deg, the standard deviation of the Gaussian "
                    "envelope in degrees"
                )
            put("gabor_sigma_deg", check_positive(self.gabor_sigma_deg, "gabor_sigma_deg"))
        elif self.gabor_sigma_deg is not None:
            raise ValueError(
                f"gabor_sigma_deg is only used with kind='gabor', got gabor_sigma_deg="
                f"{self.gabor_sigma_deg!r} with kind={self.kind!r}; leave it as None"
            )

    @classmethod
    def default(
        cls,
        *,
        ppd: float = 60.0,
        size: int | tuple[int, int] = 224,
        n_frequencies: int = 24,
        n_orientations: int | None = None,
        n_phases: int = 4,
        f_min: float = 0.5,
        f_max: float | None = None,
        contrast: float = 1.0,
        kind: str = "grating",
        mean: float = 0.5,
        gabor_sigma_deg: float | None = None,
    ) -> StimulusGrid:
        """Standard grid: log-spaced frequencies, evenly spaced orientations and phases.

        Parameters
        ----------
        ppd : float
            Display resolution in pixels per degree.
        size : int or tuple of int
            Image size ``S`` or ``(H, W)``.
        n_frequencies : int
            Number of frequencies, log-spaced from ``f_min`` to ``f_max`` (both included).
        n_orientations : int, optional
            Number of orientations ``i * 180 / n``; default 12, or 1 for ``kind='concentric'``.
        n_phases : int
            Number of phases ``j * 360 / n_phases``.
        f_min : float
            Lowest frequency in cycles per degree.
        f_max : float, optional
            Highest frequency in cycles per degree; default ``0.95 * ppd / 2``.
        contrast : float
            Michelson contrast of every stimulus.
        kind : str
            ``'grating'``, ``'gabor'`` or ``'concentric'``.
        mean : float
            Mean luminance in (0, 1).
        gabor_sigma_deg : float, optional
            Envelope standard deviation in degrees, required for ``kind='gabor'``.

        Returns
        -------
        StimulusGrid
        """
        ppd = check_positive(ppd, "ppd")
        if n_orientations is None:
            n_orientations = 1 if kind == "concentric" else 12
        counts = {"n_frequencies": n_frequencies, "n_orientations": n_orientations}
        counts["n_phases"] = n_phases
        for name, n in counts.items():
            if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{name} must be an int >= 1, got {n!r}")
        f_lo = check_frequency_cpd(f_min, ppd, "f_min")
        f_hi = 0.95 * ppd / 2.0 if f_max is None else check_frequency_cpd(f_max, ppd, "f_max")
        if n_frequencies > 1 and not f_lo < f_hi:
            raise ValueError(
                f"f_min must be below f_max for {n_frequencies} frequencies, got f_min={f_lo:g} "
                f"and f_max={f_hi:g} cycles/degree (ppd {ppd:g}, Nyquist {ppd / 2:g})"
            )
        freqs = np.geomspace(f_lo, f_hi, int(n_frequencies))
        return cls(
            frequencies=tuple(float(f) for f in freqs),
            orientations=tuple(i * 180.0 / n_orientations for i in range(int(n_orientations))),
            phases=tuple(j * 360.0 / n_phases for j in range(int(n_phases))),
            contrasts=(float(contrast),),
            ppd=ppd,
            size=size,  # type: ignore[arg-type]
            mean=mean,
            kind=kind,
            gabor_sigma_deg=gabor_sigma_deg,
        )

    @classmethod
    def paper_v1(cls) -> StimulusGrid:
        """The stimuli of the authors' first (v1) MATLAB code, as a grid.

        Concentric gratings (every orientation at once), 227 x 227 pixels, mean 0.5 and
        amplitude 0.5 (Michelson contrast 1), phase 0, one contrast, and the linear
        frequency grid 0.1 : 0.5 : 29.6 cycles/degree (60 values). Their code maps cycles
        per degree to cycles per pixel as ``f / 61.8``, i.e. an effective 61.8 px/deg.

        Examples
        --------
        >>> g = StimulusGrid.paper_v1()
        >>> len(g.frequencies), g.frequencies[0], g.frequencies[-1], g.ppd, g.kind
        (60, 0.1, 29.6, 61.8, 'concentric')
        """
        freqs = tuple(round(0.1 + 0.5 * i, 10) for i in range(60))
        return cls(
            frequencies=freqs,
            orientations=(0.0,),
            phases=(0.0,),
            contrasts=(1.0,),
            ppd=61.8,
            size=(227, 227),
            mean=0.5,
            kind="concentric",
        )

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(F, O, P, C)``: numbers of frequencies, orientations, phases and contrasts."""
        return (
            len(self.frequencies),
            len(self.orientations),
            len(self.phases),
            len(self.contrasts),
        )

    def __len__(self) -> int:
        f, o, p, c = self.shape
        return f * o * p * c

    def table(self) -> dict[str, np.ndarray]:
        """Parameters of every stimulus, one row per flat index.

        Returns
        -------
        dict of str to numpy.ndarray
            Arrays of length ``len(self)``: ``index``, ``i_frequency``, ``i_orientation``,
            ``i_phase``, ``i_contrast`` (int64) and ``frequency_cpd``, ``frequency_cpp``,
            ``orientation_deg``, ``phase_deg``, ``contrast`` (float64).
        """
        index = np.arange(len(self), dtype=np.int64)
        return self._params(index)

    def _params(self, index: np.ndarray) -> dict[str, np.ndarray]:
        i_f, i_o, i_p, i_c = (a.astype(np.int64) for a in np.unravel_index(index, self.shape))
        freqs = np.asarray(self.frequencies, dtype=np.float64)[i_f]
        return {
            "index": index.astype(np.int64),
            "i_frequency": i_f,
            "i_orientation": i_o,
            "i_phase": i_p,
            "i_contrast": i_c,
            "frequency_cpd": freqs,
            "frequency_cpp": freqs / self.ppd,
            "orientation_deg": np.asarray(self.orientations, dtype=np.float64)[i_o],
            "phase_deg": np.asarray(self.phases, dtype=np.float64)[i_p],
            "contrast": np.asarray(self.contrasts, dtype=np.float64)[i_c],
        }

    def _flat_indices(self, indices: object) -> np.ndarray:
        n = len(self)
        if isinstance(indices, slice):
            return np.arange(n, dtype=np.int64)[indices]
        if is_tensor(indices):
            indices = indices.detach().cpu().numpy()
        arr = np.asarray(indices)
        if arr.dtype == np.bool_:
            raise TypeError("indices must be integers (flat stimulus indices), got booleans")
        if arr.ndim > 1:
            raise ValueError(f"indices must be an int or one-dimensional, got shape {arr.shape}")
        arr = arr.reshape(-1)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"indices must be integers (flat stimulus indices), got {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = (arr < -n) | (arr >= n)
        if bad.any():
            raise IndexError(
                f"stimulus index {int(arr[bad][0])} is out of range for a grid of {n} stimuli"
            )
        return np.where(arr < 0, arr + n, arr)

    def render(
        self,
        indices: int | Sequence[int] | np.ndarray | torch.Tensor | slice,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = FLOAT32,
    ) -> torch.Tensor:
        """Render the stimuli with the given flat indices.

        Parameters
        ----------
        indices : int, sequence of int, numpy.ndarray, torch.Tensor or slice
            Flat indices in ``[-len(self), len(self))``; an int renders one stimulus.
        device : torch.device or str, optional
            Device of the result (and of the computation); default CPU.
        dtype : torch.dtype
            Floating-point dtype of the result (computation is in float64).

        Returns
        -------
        torch.Tensor
            N x 3 x H x W with values in [0, 1] (N = 1 for an int index).

        Raises
        ------
        IndexError
            If an index is out of range.
        """
        dtype = check_dtype(dtype)
        return render_batch(*self._render_args(indices), device, dtype)

    def render_array(
        self, indices: int | Sequence[int] | np.ndarray | torch.Tensor | slice
    ) -> np.ndarray:
        """Render stimuli as a numpy array, without torch: one channel, float64.

        The luminance of :meth:`render` (which repeats it in three channels), computed by
        the same formula in numpy; it agrees with ``render(indices, dtype=torch.float64)``
        to about 1e-15. For plots and other consumers that do not need torch.

        Parameters
        ----------
        indices : int, sequence of int, numpy.ndarray, torch.Tensor or slice
            Flat indices in ``[-len(self), len(self))``; an int renders one stimulus.

        Returns
        -------
        numpy.ndarray
            N x H x W float64 with values in [0, 1] (N = 1 for an int index).

        Raises
        ------
        IndexError
            If an index is out of range.

        Examples
        --------
        >>> grid = StimulusGrid.default(size=(8, 12), n_frequencies=2, n_orientations=2)
        >>> a = grid.render_array([0, 3])
        >>> a.shape, a.dtype
        ((2, 8, 12), dtype('float64'))
        """
        return np.asarray(render_batch_array(*self._render_args(indices)))

    def _render_args(
        self, indices: object
    ) -> tuple[
        tuple[int, int],
        np.ndarray,
        np.ndarray,
        np.ndarray,
        np.ndarray,
        float,
        str,
        float | None,
        float | None,
    ]:
        """The arguments of the renderers (device and dtype aside) for ``indices``."""
        p = self._params(self._flat_indices(indices))
        sigma = None if self.gabor_sigma_deg is None else self.gabor_sigma_deg * self.ppd
        return (
            self.size,
            p["frequency_cpp"],
            p["orientation_deg"],
            p["phase_deg"],
            p["contrast"],
            self.mean,
            self.kind,
            sigma,
            sigma,
        )

    def batches(
        self,
        batch_size: int,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype = FLOAT32,
    ) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
        """Iterate over the whole grid in order, ``batch_size`` stimuli at a time.

        Parameters
        ----------
        batch_size : int
            Largest number of stimuli per batch (the last batch may be smaller).
        device : torch.device or str, optional
            Device of the images; default CPU.
        dtype : torch.dtype
            Floating-point dtype of the images.

        Yields
        ------
        indices : numpy.ndarray
            The flat indices (int64) of the batch.
        images : torch.Tensor
            The stimuli, ``len(indices)`` x 3 x H x W.
        """
        if not isinstance(batch_size, int | np.integer) or isinstance(batch_size, bool):
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        check_dtype(dtype)
        n = len(self)
        for start in range(0, n, int(batch_size)):
            idx = np.arange(start, min(start + int(batch_size), n), dtype=np.int64)
            yield idx, self.render(idx, device=device, dtype=dtype)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description of the grid.

        The document carries ``kind='stimulus_grid'`` and ``schema_version`` (readable with
        :func:`hvsprobe._io.check_schema`); the stimulus kind is stored as ``stimulus_kind``.

        Returns
        -------
        dict
        """
        from .. import __version__

        return {
            "kind": GRID_DOC_KIND,
            "schema_version": GRID_SCHEMA_VERSION,
            "hvsprobe_version": __version__,
            "stimulus_kind": self.kind,
            "frequencies": list(self.frequencies),
            "orientations": list(self.orientations),
            "phases": list(self.phases),
            "contrasts": list(self.contrasts),
            "ppd": self.ppd,
            "size": list(self.size),
            "mean": self.mean,
            "gabor_sigma_deg": self.gabor_sigma_deg,
            "n_stimuli": len(self),
            "units": {
                "frequencies": "cycles/degree",
                "orientations": "degrees, wave-vector direction counter-clockwise from +x, y up",
                "phases": "degrees at the image centre, 0 = cosine phase",
                "contrasts": "Michelson",
                "ppd": "pixels/degree",
                "size": "pixels (H, W)",
                "mean": "display luminance in [0, 1]",
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StimulusGrid:
        """Rebuild a grid from :meth:`to_dict` output (or a hand-written dict of fields).

        Parameters
        ----------
        d : dict
            Either a ``stimulus_grid`` document written by :meth:`to_dict`, or a plain dict of
            constructor arguments (``kind`` then names the stimulus kind).

        Returns
        -------
        StimulusGrid

        Raises
        ------
        ValueError
            On an unsupported schema version, a foreign document kind or unknown keys.
        """
        if not isinstance(d, dict):
            raise TypeError(f"expected a dict, got {type(d).__name__}")
        data = dict(d)
        doc_kind = data.get("kind")
        if doc_kind == GRID_DOC_KIND or "schema_version" in data:
            from .._io import check_schema

            check_schema(data, GRID_DOC_KIND, GRID_SCHEMA_VERSION, "stimulus grid")
            for key in _DOC_META_KEYS:
                data.pop(key, None)
            if "stimulus_kind" in data:
                data["kind"] = data.pop("stimulus_kind")
        elif "stimulus_kind" in data:
            if doc_kind is not None and doc_kind != data["stimulus_kind"]:
                raise ValueError(
                    f"conflicting kind {doc_kind!r} and stimulus_kind {data['stimulus_kind']!r}"
                )
            data["kind"] = data.pop("stimulus_kind")
        fields = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - fields - set(_DOC_META_KEYS))
        if unknown:
            raise ValueError(
                f"unknown StimulusGrid keys {unknown}; expected some of {sorted(fields)}"
            )
        if "frequencies" not in data:
            raise ValueError("a StimulusGrid dict needs 'frequencies'")
        kwargs = {k: v for k, v in data.items() if k in fields}
        if isinstance(kwargs.get("size"), list):
            kwargs["size"] = tuple(kwargs["size"])
        return cls(**kwargs)
