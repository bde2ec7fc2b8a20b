"""SR training in several local processes (DDP) without ``torchrun``: :func:`launch_local`."""

from __future__ import annotations

import os
from typing import Any

import torch

from .data import ImageBank
from .distributed import free_port
from .train import TrainConfig, read_summary, train

__all__ = ["launch_local"]


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

    mp.start_processes(
        _spawn_entry,
        args=(nproc, free_port(), config, bank, threads_per_process, stop_at, resume),
        nprocs=nproc,
        join=True,
        start_method=start_method,
    )
    return read_summary(config.out)
