"""Numeric precision of a forward pass: the one autocast switch shared by the probe and SR training."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["autocast"]


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """Autocast to bfloat16 for ``precision == 'bf16'`` on ``device``; otherwise do nothing.

    Parameters
    ----------
    precision : {'fp32', 'bf16'}
        Anything but ``'bf16'`` runs in the tensors' own dtype.
    device : torch.device
        Device whose type the autocast region applies to.

    Returns
    -------
    contextlib.AbstractContextManager

    Examples
    --------
    >>> with autocast("fp32", torch.device("cpu")):
    ...     (torch.ones(2) * 2).dtype
    torch.float32
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
