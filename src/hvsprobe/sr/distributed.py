"""Process groups for SR training: joining ``torchrun``'s group, the device of a rank, a free port.

Starting several local processes without ``torchrun`` is :mod:`hvsprobe.sr.launch` (it sits
above :mod:`hvsprobe.sr.train`, which imports this module).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Dist", "free_port", "resolve_device", "setup_distributed"]


@dataclass(frozen=True)
class Dist:
    """This process's rank, the world size, its local rank; whether it created the group."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world > 1


def setup_distributed(device_kind: str) -> Dist:
    """Join the process group ``torchrun`` describes (``nccl`` on CUDA, ``gloo`` otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        owns = True
    return Dist(
        dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owns
    )


def resolve_device(requested: str | None, dd: Dist) -> torch.device:
    """The device of this rank (CUDA: the local rank's GPU under DDP)."""
    name = requested or ("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("--device cuda was asked for, but CUDA is not available")
        if dd.active:
            torch.cuda.set_device(dd.local_rank)
            return torch.device("cuda", dd.local_rank)
    return torch.device(name)


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a local process group."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
