"""SR training checkpoints: the file format, RNG states, reading a checkpoint back as a network."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._io import atomic_path
from .model import EDSR

__all__ = [
    "CHECKPOINT_KIND",
    "CHECKPOINT_SCHEMA",
    "load_checkpoint",
    "load_model",
    "params_digest",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

CHECKPOINT_KIND = "sr_checkpoint"
CHECKPOINT_SCHEMA = 1


def rng_state() -> dict[str, Any]:
    """The torch, numpy (legacy global), Python and CUDA random states, as tensors and plain types."""
    np_state = np.random.get_state()  # noqa: NPY002 - the legacy global state is what we save
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the random states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            "MT19937",
            n["keys"].numpy().astype(np.uint32),
            n["pos"],
            n["has_gauss"],
            n["cached_gaussian"],
        )
    )
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (tensors and plain types only).

    Raises
    ------
    ValueError
        Not an hvsprobe SR checkpoint, or an unsupported schema version.
    """
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{path} is not an hvsprobe SR checkpoint")
    if int(ckpt.get("schema_version", 0)) > CHECKPOINT_SCHEMA:
        raise ValueError(f"{path}: checkpoint schema {ckpt.get('schema_version')} is too new")
    return ckpt


def load_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> EDSR:
    """The network stored in a checkpoint, in eval mode."""
    ckpt = load_checkpoint(path)
    cfg = ckpt["model_config"]
    from .model import ModelConfig

    model = EDSR(ModelConfig(**cfg))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval()


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` with ``torch.save``, atomically (temporary file + rename)."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def params_digest(model: nn.Module) -> str:
    """sha256 of a network's state dict (names and values), to check ranks agree."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
