"""Run a stimulus grid through a backbone and record every channel's spatial-mean response.

The result, :class:`Tuning`, holds per layer an array of shape
``channels x frequencies x orientations x phases x contrasts`` together with the grid, the
weights identity and the full configuration. It is saved as ``tuning.npz`` (the arrays) plus
``tuning.json`` (schema version, configuration, checksum of the npz); both writes are atomic
and the JSON is written last, so a half-written result is never mistaken for a whole one.

Long runs are resumable: :func:`probe` with ``checkpoint=PATH`` saves the partial arrays
every ``checkpoint_every`` seconds and continues from them when called again with the same
configuration.

Two ways of running the stimuli are offered:

* :func:`probe` (the default, fast path): batches of stimuli, every requested layer recorded
  in one forward pass that stops after the deepest of them, ``channels_last`` activations
  on the CPU (measured faster there with oneDNN, see ``docs/performance.md``).
* :func:`probe_paper_protocol` (the reference): the protocol of the original study, one
  stimulus per forward pass, one layer per run and the full network every time. It gives
  the same numbers up to floating-point summation order and exists to check that, and to
  time it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import __version__
from ._io import atomic_path, check_schema, config_hash, read_json, sha256_file, write_json_atomic
from ._validation import check_choice
from .backbones import Backbone
from .backbones.base import default_channels_last
from .checkpoint import ProbeCheckpoint, ProbeRunStats
from .stimuli import StimulusGrid

__all__ = [
    "PRECISIONS",
    "Tuning",
    "default_channels_last",
    "probe",
    "probe_config",
    "probe_paper_protocol",
]

SCHEMA_VERSION = 1
PRECISIONS = ("fp32", "bf16")
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
        grid, precision, batch size, hvsprobe version).
    run : ProbeRunStats or None
        How the probe that made it went in this process (resumes, probe seconds); not
        saved, ``None`` for a loaded tuning.
    """

    responses: dict[str, np.ndarray]
    grid: StimulusGrid
    config: dict[str, Any] = field(default_factory=dict)
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
        return self.responses[layer].astype(np.float64).mean(axis=3)

    # -- persistence ---------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write ``tuning.npz`` and ``tuning.json`` into ``directory`` atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        npz = directory / "tuning.npz"
        with atomic_path(npz) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, **{f"layer/{k}": v for k, v in self.responses.items()})
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
        grid = StimulusGrid.from_dict(meta["config"]["grid"])
        return cls(responses=responses, grid=grid, config=meta["config"])


def probe_config(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str],
    *,
    precision: str = "fp32",
    batch_size: int = 16,
    channels_last: bool = False,
) -> dict[str, Any]:
    """The configuration dict recorded with (and identifying) a probe run.

    ``memory_format`` is recorded for provenance only: it changes the floating-point
    summation order (results agree to ~1e-6 relative), not the quantity measured, so it is
    not part of the cache identity.
    """
    return {
        "backbone": backbone.name,
        "weights": backbone.weights,
        "weights_sha256": backbone.weights_sha256,
        "layers": list(layers),
        "grid": grid.to_dict(),
        "response": "spatial mean over the whole feature map",
        "precision": precision,
        "batch_size": int(batch_size),
        "memory_format": "channels_last" if channels_last else "contiguous",
        "hvsprobe_version": __version__,
    }


def _identity(cfg: dict[str, Any]) -> str:
    """Cache key: the parts of the config that change the numbers."""
    keep = {k: cfg[k] for k in ("backbone", "weights_sha256", "layers", "grid", "precision")}
    return config_hash(keep)


def _checked_layers(
    backbone: Backbone, grid: StimulusGrid, layers: Sequence[str] | None
) -> list[str]:
    """``layers`` (default: the backbone's) in network order, checked against the grid size."""
    names = backbone.check_layers(layers if layers is not None else backbone.default_layers)
    h, w = grid.size
    need = backbone.min_input_size(names)
    if min(h, w) < need:
        raise ValueError(
            f"{backbone.name} layer {names[-1]} needs images >= {need} px, grid is {h}x{w}"
        )
    return names


def _autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def _channels_last_weights(module: torch.nn.Module, enabled: bool) -> Iterator[None]:
    """Temporarily store the 4-d parameters and buffers of ``module`` as ``channels_last``.

    The original tensors are put back on exit, so a backbone shared with other code (a
    metric, a loss) keeps its layout; values are never changed.
    """
    if not enabled:
        yield
        return
    fmt = torch.channels_last
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    tensors = [*module.parameters(), *module.buffers()]
    with torch.no_grad():
        for t in tensors:
            if t.dim() == 4 and not t.is_contiguous(memory_format=fmt):
                saved.append((t, t.data))
                t.data = t.data.contiguous(memory_format=fmt)
    try:
        yield
    finally:
        with torch.no_grad():
            for t, data in saved:
                t.data = data


def probe(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str] | None = None,
    *,
    batch_size: int = 16,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    progress: bool = True,
    channels_last: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> Tuning:
    """Record the spatial-mean response of every channel of ``layers`` to every stimulus.

    Each batch of stimuli passes through the network once, which stops after the deepest
    requested layer; activations are reduced to per-channel means as they appear and then
    dropped, so memory does not grow with the number of layers.

    Parameters
    ----------
    backbone : Backbone
        The network (see :func:`hvsprobe.backbones.get_backbone`).
    grid : StimulusGrid
        Stimuli to show.
    layers : sequence of str, optional
        Layers to record; default ``backbone.default_layers`` (every ReLU output / block).
    batch_size : int
        Stimuli per forward pass.
    precision : {'fp32', 'bf16'}
        ``'bf16'`` runs the convolutions under bfloat16 autocast; the means are always
        accumulated in float32.
    device : str or torch.device, optional
        Device to run on; default: the backbone's device.
    checkpoint : path, optional
        Folder for resumable partial results (``probe.partial.npz``, checksummed; see
        :mod:`hvsprobe.checkpoint`). A rerun with the same configuration continues where
        the last one stopped; Ctrl-C and SIGTERM save it before the run stops (raising
        :class:`hvsprobe.errors.Interrupted`); a corrupt file is set aside and the probe
        starts again; the file is removed on success.
    checkpoint_every : float
        Seconds between partial saves (``0``: after every batch).
    progress : bool
        Show a progress bar.
    channels_last : bool, optional
        Run the convolutions on ``channels_last`` (NHWC) tensors: the stimuli are converted,
        and the backbone's 4-d weights are converted for the duration of the call and put
        back afterwards. Default :func:`default_channels_last` (``True`` on the CPU). The
        results agree with the contiguous (NCHW) path to floating-point summation order
        (``tests/test_performance_paths.py``: rtol 1e-5 plus atol 1e-5 x the layer's
        largest response).
    log : callable, optional
        Receives one-line notes about the checkpoint (resumed, set aside).

    Returns
    -------
    Tuning

    See Also
    --------
    probe_paper_protocol : the original study's one-stimulus, one-layer, full-network
        protocol (a slow reference with the same results).
    """
    check_choice(precision, "precision", PRECISIONS)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    names = _checked_layers(backbone, grid, layers)
    dev = torch.device(device) if device is not None else next(backbone.parameters()).device
    backbone = backbone.to(dev)
    cl = default_channels_last(dev) if channels_last is None else bool(channels_last)
    cfg = probe_config(
        backbone, grid, names, precision=precision, batch_size=batch_size, channels_last=cl
    )
    key = _identity(cfg)
    n = len(grid)
    sums = {name: np.zeros((backbone.channels[name], n), dtype=np.float32) for name in names}
    ckpt = ProbeCheckpoint(checkpoint, key, sums, n, every=checkpoint_every, log=log)
    start = ckpt.restore()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, initial=start, unit="stim", desc=f"probe {backbone.name}")
    with ckpt.guard(), torch.inference_mode(), _channels_last_weights(backbone, cl):
        for idx, images in grid.batches(batch_size, device=dev, dtype=torch.float32):
            if idx[-1] < start:
                continue
            keep = idx >= start
            if not keep.all():
                idx, images = idx[keep], images[torch.from_numpy(keep).to(dev)]
            if cl:
                images = images.contiguous(memory_format=torch.channels_last)
            with _autocast(precision, dev):
                for name, act in backbone.iter_layers(images, names, check=False):
                    means = act.float().mean(dim=(2, 3))
                    sums[name][:, idx] = means.T.cpu().numpy()
            if bar is not None:
                bar.update(len(idx))
            ckpt.after_batch(int(idx[-1]) + 1)
    if bar is not None:
        bar.close()
    shape = grid.shape
    responses = {name: arr.reshape(arr.shape[0], *shape) for name, arr in sums.items()}
    return Tuning(responses=responses, grid=grid, config=cfg, run=ckpt.finish())


def probe_paper_protocol(
    backbone: Backbone,
    grid: StimulusGrid,
    layers: Sequence[str] | None = None,
    *,
    indices: Sequence[int] | np.ndarray | None = None,
    precision: str = "fp32",
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Spatial-mean responses measured the way the original study did: the slow reference.

    For every layer separately ("one layer per run") and every stimulus separately ("one
    stimulus per forward pass") the stimulus is rendered and sent through the *whole*
    trunk (``backbone.features``, no early stop) in the contiguous NCHW layout, and the
    spatial mean of the layer's output is recorded. Compared with :func:`probe` this
    repeats every forward pass once per layer, runs past the deepest layer and gives up
    batching; the numbers are the same up to floating-point summation order.

    Parameters
    ----------
    backbone : Backbone
    grid : StimulusGrid
    layers : sequence of str, optional
        Default ``backbone.default_layers``.
    indices : sequence of int, optional
        Flat stimulus indices to measure (default: the whole grid), e.g. a sample to time
        the protocol on and extrapolate.
    precision : {'fp32', 'bf16'}
        As in :func:`probe`.
    device : str or torch.device, optional
        Default: the backbone's device.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict of str to numpy.ndarray
        Layer -> float32 array ``C x len(indices)`` in the order of ``indices`` (flat grid
        order; ``Tuning.responses[layer].reshape(C, -1)[:, indices]`` is the batched
        equivalent).
    """
    check_choice(precision, "precision", PRECISIONS)
    names = _checked_layers(backbone, grid, layers)
    idx = np.arange(len(grid)) if indices is None else np.asarray(indices, dtype=np.int64)
    dev = torch.device(device) if device is not None else next(backbone.parameters()).device
    backbone = backbone.to(dev)
    out = {n: np.zeros((backbone.channels[n], idx.size), dtype=np.float32) for n in names}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names) * idx.size, unit="pass", desc="paper protocol")
    with torch.inference_mode():
        for name in names:
            target = backbone.layer_index(name)
            for j, i in enumerate(idx.tolist()):
                x = grid.render(int(i), device=dev, dtype=torch.float32)
                with _autocast(precision, dev):
                    act = backbone.normalize(x)
                    for k, stage in enumerate(backbone.features):  # the whole trunk
                        act = stage(act)
                        if k == target:
                            out[name][:, j] = act.float().mean(dim=(2, 3))[0].cpu().numpy()
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    return out


def cached_probe(
    backbone: Backbone,
    grid: StimulusGrid,
    directory: str | Path,
    layers: Sequence[str] | None = None,
    *,
    checkpoint: str | Path | None = None,
    **kwargs: Any,
) -> tuple[Tuning, bool]:
    """Load the tuning in ``directory`` if it was made with the same configuration, else probe.

    Returns the tuning and whether it came from the cache. A fresh result is saved there.
    ``checkpoint`` is the folder for the probe's partial results (default ``directory``);
    other keyword arguments go to :func:`probe`.
    """
    directory = Path(directory)
    names = backbone.check_layers(layers if layers is not None else backbone.default_layers)
    cfg = probe_config(
        backbone,
        grid,
        names,
        precision=kwargs.get("precision", "fp32"),
        batch_size=kwargs.get("batch_size", 16),
    )
    if (directory / "tuning.json").exists():
        try:
            old = Tuning.load(directory)
        except (ValueError, OSError, KeyError):
            old = None
        if old is not None and _identity(old.config) == _identity(cfg):
            return old, True
    ckpt_dir = directory if checkpoint is None else checkpoint
    tuning = probe(backbone, grid, names, checkpoint=ckpt_dir, **kwargs)
    tuning.save(directory)
    return tuning, False
