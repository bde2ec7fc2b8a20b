"""Process groups for SR training: joining ``torchrun``'s group, the device of a rank, a free port."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from .data import ImageBank
    from .train import TrainConfig

__all__ = ["Dist", "free_port", "launch_local", "resolve_device", "setup_distributed"]


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


# --------------------------------------------------------------------------------------
# multi-process on one machine without torchrun


def _spawn_entry(
    rank: int,
    world: int,
    port: int,
    config: TrainConfig,
    bank: ImageBank | None,
    threads: int,
    stop_at: int | None,
    resume: bool,
) -> None:
    os.environ.update(
        {
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "LOCAL_RANK": str(rank),
            "LOCAL_WORLD_SIZE": str(world),
        }
    )
    from .train import train

    torch.set_num_threads(threads)
    train(config, resume=resume, bank=bank, stop_at=stop_at)


def launch_local(
    config: TrainConfig,
    nproc: int,
    *,
    bank: ImageBank | None = None,
    threads_per_process: int = 1,
    stop_at: int | None = None,
    resume: bool = False,
    start_method: str = "spawn",
) -> dict[str, Any] | None:
    """Run :func:`~hvsprobe.sr.train.train` in ``nproc`` local processes (DDP), like ``torchrun --nproc_per_node``.

    Parameters
    ----------
    config : TrainConfig
    nproc : int
    bank : ImageBank, optional
        Sent to every process (else each decodes the training sets).
    threads_per_process : int
        ``torch.set_num_threads`` in each process.
    stop_at : int, optional
        As in :func:`train`.
    resume : bool
        As in :func:`train`.
    start_method : {'spawn', 'fork', 'forkserver'}
        How the processes start. ``spawn`` (default) is the safe choice; ``fork`` skips
        re-importing torch in every child (seconds on a busy machine) and is safe here
        because each child runs with ``threads_per_process`` intra-op threads set before any
        work (with 1, PyTorch never enters an OpenMP parallel region).

    Returns
    -------
    dict or None
        Rank 0's ``summary.json`` when the run finished.
    """
    import torch.multiprocessing as mp

    from .train import read_summary

    mp.start_processes(
        _spawn_entry,
        args=(nproc, free_port(), config, bank, threads_per_process, stop_at, resume),
        nprocs=nproc,
        join=True,
        start_method=start_method,
    )
    return read_summary(config.out)
