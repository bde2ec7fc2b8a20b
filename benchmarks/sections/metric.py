"""Section ``metric``: image pairs per second of the selected-channel distance vs LPIPS."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from hvsprobe.flops import forward_flops

from .common import (
    BLOCKS_1_3,
    REPO,
    SCORES_DIR,
    interleaved,
    load_average,
    log,
    paired_range,
    paired_ratio,
)


def build_selections(bb: Any, scores_dir: Path | None) -> tuple[Any, Any, str]:
    """Top 25 % by PE in every scored layer, and the same limited to blocks 1-3.

    The scores come from ``hvsprobe-results/vgg16-imagenet/scores.csv`` when it exists,
    else from this run's ``analyze`` (probe section), else from a quick probe.
    """
    from hvsprobe.analyze import analyze
    from hvsprobe.scores import ChannelScores
    from hvsprobe.selection import select_channels
    from hvsprobe.stimuli import StimulusGrid

    if (SCORES_DIR / "scores.csv").exists():
        scores = ChannelScores.load(SCORES_DIR)
        source = str((SCORES_DIR / "scores.csv").relative_to(REPO))
    elif scores_dir is not None and (scores_dir / "scores.csv").exists():
        scores, source = ChannelScores.load(scores_dir), "this run's analyze (probe section)"
    else:
        log("no scores file: a quick probe (32 stimuli) for the selection")
        tmp = Path(tempfile.mkdtemp(prefix="hvsprobe-bench-sel-"))
        grid = StimulusGrid.default(n_frequencies=4, n_orientations=4, n_phases=2)
        res = analyze(bb, grid=grid, out=tmp, progress=False)
        scores, source = res.scores, "quick probe (4 frequencies x 4 orientations x 2 phases)"
    sel_all = select_channels(scores)
    sel_b13 = select_channels(scores, layers=[n for n in BLOCKS_1_3 if n in scores.layers])
    return sel_all, sel_b13, source


class TrunkOnly:
    """The floor of any distance on these layers: the trunk pass the metrics make, no distance.

    Both images as one batch, ``channels_last`` on the CPU (as :class:`PerceptualDistance`
    runs them when no gradient is needed).
    """

    def __init__(self, backbone: Any, layers: Sequence[str]) -> None:
        self.backbone, self.layers = backbone, list(layers)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:  # noqa: D102
        from hvsprobe.backbones.base import default_channels_last

        xy = torch.cat([x, y])
        if default_channels_last(xy.device):
            xy = xy.contiguous(memory_format=torch.channels_last)
        for _ in self.backbone.iter_layers(xy, self.layers, check=False):
            pass


def distance_arithmetic(
    bb: Any, metrics: dict[str, Any], x: torch.Tensor, y: torch.Tensor, reps: int
) -> dict[str, Any]:
    """Seconds of each metric's distance arithmetic alone, on features computed beforehand.

    The trunk runs once (both images, channels_last, every VGG layer); then each metric's
    per-layer step (norms, gather, scaling, weighted sum: ``PerceptualDistance._layer_map``)
    is timed over its own layers, interleaved. This isolates the part in which the metrics
    differ, since their convolutions are the same.
    """
    n = x.shape[0]
    xy = torch.cat([x, y]).contiguous(memory_format=torch.channels_last)
    feats = {k: f.clone() for k, f in bb.iter_layers(xy, bb.default_layers, check=False)}

    def run(m: Any) -> Callable[[], object]:
        def go() -> object:
            for i, name in enumerate(m.layers):
                f = feats[name]
                m._layer_map(i, f[:n], f[n:], f)
            return None

        return go

    res = interleaved({k: run(m) for k, m in metrics.items()}, reps=reps)
    return {
        "seconds": {k: round(v["median_s"], 4) for k, v in res.items()},
        "rounds": {k: v["times_s"] for k, v in res.items()},
    }


def _metrics(bb: Any, sel_all: Any, sel_b13: Any) -> dict[str, Any]:
    """The metrics compared: two selections, LPIPS, the trunk floor and the NCHW layouts."""
    from hvsprobe.metrics import LPIPS, PerceptualDistance

    return {
        "selected_top25": PerceptualDistance(bb, sel_all),
        "selected_blocks1-3": PerceptualDistance(bb, sel_b13),
        "lpips_vgg": LPIPS("vgg", backbone=bb),
        "trunk_only_relu5_3": TrunkOnly(bb, ["relu5_3"]),
        "selected_top25_nchw": PerceptualDistance(bb, sel_all, channels_last=False),
        "lpips_vgg_nchw": LPIPS("vgg", backbone=bb, channels_last=False),
    }


def _time_config(
    bb: Any,
    metrics: dict[str, Any],
    x: torch.Tensor,
    y: torch.Tensor,
    reps: int,
) -> tuple[dict[str, dict[str, Any]], float, dict[str, Any]]:
    """Interleaved timings of every metric on ``(x, y)``, the NCHW agreement, the arithmetic."""
    top25 = metrics["selected_top25"]
    with torch.inference_mode():
        ref = top25(x[:1], y[:1])
        plain = metrics["selected_top25_nchw"](x[:1], y[:1])
        agree = float(((plain - ref).abs() / ref.abs()).max())
        for m in metrics.values():  # warm-up on a single pair of the same size
            m(x[:1], y[:1])
        res = interleaved(
            {k: (lambda m=m, x=x, y=y: m(x, y)) for k, m in metrics.items()},
            reps=reps,
        )
        arith = distance_arithmetic(
            bb,
            {k: metrics[k] for k in ("selected_top25", "selected_blocks1-3", "lpips_vgg")},
            x,
            y,
            reps=reps,
        )
    return res, agree, arith


def _config_summary(
    batch: int,
    size: int,
    res: dict[str, dict[str, Any]],
    per_pair: dict[str, int],
    agree: float,
    arith: dict[str, Any],
) -> dict[str, Any]:
    """One (batch, size) entry: rates, ratios to LPIPS, FLOP bounds, time outside the trunk."""
    for k, v in res.items():
        v["pairs_per_s"] = round(batch / v["median_s"], 3)
        v["conv_gflop_per_pair"] = round(per_pair[k] / 1e9, 2)
        v["gflops"] = round(batch * per_pair[k] / v["median_s"] / 1e9, 2)
    trunk = res["trunk_only_relu5_3"]["median_s"]
    return {
        "batch": batch,
        "size": size,
        "results": res,
        "speed_vs_lpips": {
            k: round(paired_ratio(res, "lpips_vgg", k), 3) for k in res if k != "lpips_vgg"
        },
        "speed_vs_lpips_range": {
            k: paired_range(res, "lpips_vgg", k) for k in res if k != "lpips_vgg"
        },
        "flop_bound_speed_vs_lpips": {
            k: round(per_pair["lpips_vgg"] / per_pair[k], 3) for k in res if k != "lpips_vgg"
        },
        "share_outside_trunk": {
            k: round(1 - trunk / res[k]["median_s"], 3)
            for k in ("selected_top25", "lpips_vgg", "selected_top25_nchw", "lpips_vgg_nchw")
            if k in res
        },
        "nchw_max_rel_difference": agree,
        "distance_arithmetic": arith,
    }


def section_metric(
    bb: Any, quick: bool, selections: tuple[Any, Any, str], reps: int | None = None
) -> dict[str, Any]:
    """Image pairs per second: selected-channel distance vs LPIPS-VGG (``reps`` rounds)."""
    reps = reps or (1 if quick else 3)
    sel_all, sel_b13, source = selections
    metrics = _metrics(bb, sel_all, sel_b13)
    info = {
        k: {
            "layers": m.layers,
            "channels": sum(m.n_channels.values()) if hasattr(m, "n_channels") else None,
        }
        for k, m in metrics.items()
    }
    out: dict[str, Any] = {
        "load_average": load_average(),
        "selection_source": source,
        "metrics": info,
        "notes": {
            "trunk_only_relu5_3": "both trunk passes to relu5_3 and nothing else: the floor",
            "*_nchw": "the same metric with contiguous NCHW tensors (channels_last=False), "
            "the layout hvsprobe used before; the dim-1 reductions then read strided memory",
        },
        "configs": [],
    }
    configs = [(2, 128), (1, 256)] if quick else [(16, 256), (1, 512)]
    gen = torch.Generator().manual_seed(0)
    for batch, size in configs:
        x = torch.rand(batch, 3, size, size, generator=gen)
        y = (x + 0.05 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
        per_pair = {k: 2 * forward_flops(bb, m.layers, (size, size)) for k, m in metrics.items()}
        log(f"metric: batch {batch} at {size} px")
        res, agree, arith = _time_config(bb, metrics, x, y, reps)
        out["configs"].append(_config_summary(batch, size, res, per_pair, agree, arith))
    return out
