"""Section ``loss``: one SR training step with the selected vs the all-channel loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .common import interleaved, load_average, log, paired_range, paired_ratio


class TinySR(nn.Module):
    """x2 bilinear upsampling plus a 2-conv residual: a stand-in for an SR network."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        up = self.up(x)
        return (up + self.body(up)).clamp(0.0, 1.0)


def section_loss(
    bb: Any, quick: bool, selections: tuple[Any, Any, str], reps: int | None = None
) -> dict[str, Any]:
    """One optimiser step (forward + backward + Adam) with each loss (``reps`` rounds)."""
    reps = reps or (2 if quick else 5)
    from hvsprobe.experiments.claim2_config import LPIPS_LAYERS_VGG16, restrict_selection
    from hvsprobe.metrics import LPIPS, PerceptualDistance

    sel_all, sel_b13, source = selections
    losses: dict[str, nn.Module | None] = {
        "l1_only": None,
        "selected_top25": PerceptualDistance(bb, sel_all, reduction="mean"),
        "selected_blocks1-3": PerceptualDistance(bb, sel_b13, reduction="mean"),
        "selected_top25_lpips_layers": PerceptualDistance(
            bb, restrict_selection(sel_all, LPIPS_LAYERS_VGG16), reduction="mean"
        ),
        "all_channel_vgg": PerceptualDistance(bb, None, reduction="mean"),
        "lpips_vgg": LPIPS("vgg", backbone=bb, reduction="mean"),
    }
    batch, size = (2, 64) if quick else (4, 128)
    lam = 1.0
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(batch, 3, size, size, generator=gen)
    hr = nn.functional.avg_pool2d(hr, 3, stride=1, padding=1)  # smoother, image-like
    lr = nn.functional.avg_pool2d(hr, 2)
    torch.manual_seed(0)
    models = {k: TinySR() for k in losses}
    opts = {k: torch.optim.Adam(models[k].parameters(), lr=1e-4) for k in losses}
    values: dict[str, float] = {}

    def step(k: str) -> Callable[[], object]:
        def go() -> object:
            opts[k].zero_grad(set_to_none=True)
            sr = models[k](lr)
            loss = nn.functional.l1_loss(sr, hr)
            crit = losses[k]
            if crit is not None:
                loss = loss + lam * crit(sr, hr)
            loss.backward()
            opts[k].step()
            values[k] = float(loss.detach())
            return loss

        return go

    log(f"loss: SR step, batch {batch} at {size} px")
    for k in losses:
        step(k)()  # warm-up
    res = interleaved({k: step(k) for k in losses}, reps=reps)
    for k, v in res.items():
        v["loss_value"] = round(values[k], 5)
    return {
        "load_average": load_average(),
        "selection_source": source,
        "batch": batch,
        "hr_size": size,
        "lambda": lam,
        "layers": {k: (m.layers if m is not None else []) for k, m in losses.items()},
        "results": res,
        "step_time_vs_all_channel": {
            k: round(paired_ratio(res, k, "all_channel_vgg"), 3)
            for k in res
            if k != "all_channel_vgg"
        },
        "step_time_vs_all_channel_range": {
            k: paired_range(res, k, "all_channel_vgg") for k in res if k != "all_channel_vgg"
        },
    }
