"""The flat API: ``hvsprobe.analyze(model, layers=...)`` in memory, a folder only when asked.

Three lines take a network to a metric built from its most human-like channels::

    import hvsprobe
    result = hvsprobe.analyze("vgg16", layers=["relu1_2", "relu2_2"])
    metric = hvsprobe.get_metric("selected", selection=result.selection, backbone=result.backbone)

:func:`analyze` runs the same steps as :func:`hvsprobe.analyze.analyze` (the ``hvsprobe
analyze`` command): the same checks before any work, :func:`hvsprobe.probe.probe`,
:func:`hvsprobe.scores.compute_scores` and :func:`hvsprobe.selection.select_channels` with the
same default selection. Given ``out=`` it *is* that function (a resumable, all-or-nothing
results folder); without it nothing is written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .backbones import Backbone
    from .response import ResponseConfig
    from .scores import ChannelScores, ScoreConfig
    from .selection import Selection
    from .stimuli import StimulusGrid
    from .tuning import Tuning

__all__ = ["Result", "analyze"]


@dataclass
class Result:
    """What :func:`analyze` returns: the tuning, the scores and the default selection.

    ``out`` is the results folder when one was written, else ``None``; ``backbone`` is the
    network that was probed (pass it to :func:`hvsprobe.get_metric` for a wrapped model).

    Examples
    --------
    >>> list(Result.__dataclass_fields__)
    ['tuning', 'scores', 'selection', 'backbone', 'out', 'timings']
    """

    tuning: Tuning
    scores: ChannelScores
    selection: Selection
    backbone: Backbone
    out: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)


def analyze(
    model: str | Backbone | nn.Module,
    layers: Sequence[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    weights: str = "imagenet",
    grid: StimulusGrid | None = None,
    response: str | ResponseConfig | None = None,
    score_config: ScoreConfig | None = None,
    selection: dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    precision: str = "fp32",
    batch_size: int = 16,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Result:
    """Probe ``model`` with gratings, score every channel and select the most human-like.

    Parameters
    ----------
    model : str, Backbone or torch.nn.Module
        A registered name (``hvsprobe backbones``), a :func:`hvsprobe.wrap` ped network or a
        plain module (wrapped with :func:`hvsprobe.wrap`'s defaults).
    layers : sequence of str, optional
        Layers to probe; default every ReLU output (``model``'s ``default_layers``).
    out : path, optional
        Also write the results folder here (what ``hvsprobe analyze --out`` writes, through
        :func:`hvsprobe.analyze.analyze`); default: nothing is written.
    weights, grid, response, score_config, selection, device, precision, batch_size
        As in :func:`hvsprobe.analyze.analyze` (defaults: ImageNet weights, the default
        grid, the torus response, docs/method.md's scores, the top 25 % by PE per layer).
    progress : bool
        Progress bars (default off, unlike the command line).
    log : callable, optional
        Receives one-line status messages.

    Returns
    -------
    Result
        ``tuning``, ``scores``, ``selection``, ``backbone`` (and ``out``).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import hvsprobe
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 5), nn.ReLU())
    >>> grid = hvsprobe.StimulusGrid.default(size=32, n_frequencies=4, n_orientations=4, n_phases=2)
    >>> res = hvsprobe.analyze(net, layers=["1"], grid=grid)
    >>> res.out is None, res.scores.layers, res.selection.n_selected
    (True, ['1'], 2)
    """
    from . import analyze as pipeline
    from .backbones import as_backbone, get_backbone
    from .probe import probe
    from .response import ResponseConfig
    from .scores import compute_scores
    from .selection import select_channels
    from .stimuli import StimulusGrid

    bb = (
        get_backbone(model, weights, device=device, progress=log)
        if isinstance(model, str)
        else as_backbone(model)
    )
    if out is not None:
        res = pipeline.analyze(
            bb,
            layers=layers,
            grid=grid,
            out=Path(out),
            device=device,
            precision=precision,
            batch_size=batch_size,
            score_config=score_config,
            selection=selection,
            response=response,
            progress=progress,
            log=log,
        )
        return Result(res.tuning, res.scores, res.selection, bb, res.out, res.timings)
    grid = grid or StimulusGrid.default()
    response = ResponseConfig.coerce(response)
    # the same default selection as the results folder's (by mu1 for concentric gratings)
    sel_kwargs = dict(pipeline.DEFAULT_SELECTION)
    if grid.kind == "concentric":
        sel_kwargs["score"] = "mu1"
    sel_kwargs.update(selection or {})
    # every option checked before the probe, as for a folder; check_analysis also checks
    # that a folder could be written, which an in-memory run never does: point it at the
    # temporary folder, which is writable wherever Python runs
    pipeline.check_analysis(
        grid,
        score_config,
        sel_kwargs,
        out=Path(tempfile.gettempdir()) / "hvsprobe-in-memory",
        device=device,
        precision=precision,
        batch_size=batch_size,
    )
    tuning = probe(
        bb,
        grid,
        layers,
        response=response,
        batch_size=batch_size,
        precision=precision,
        device=device,
        progress=progress,
        log=log,
    )
    scores = compute_scores(tuning, score_config)
    return Result(tuning, scores, select_channels(scores, **sel_kwargs), bb)
