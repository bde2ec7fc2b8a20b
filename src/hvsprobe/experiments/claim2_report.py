"""Claim 2's outputs: the verdict sentences, the trade-off plot, the CSV and the ``claim2.md`` page."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._format import format_number
from .._io import write_json_atomic, write_text_atomic
from ..selection import Selection
from .claim2_config import Claim2Config
from .claim2_stats import mean_sd


def _verdict_sentence(v: dict[str, Any]) -> str:
    pv = v.get("paired")
    if pv:
        return (
            f"- **{v['set']}**, {v['target']} vs {v['other']}: matched-PSNR LPIPS-Alex gap "
            f"({v['other']} minus {v['target']}; positive favours {v['target']}) "
            f"{pv['diff']:+.4f} [{pv['low']:+.4f}, {pv['high']:+.4f}] "
            f"({100 * pv['level']:g} % bootstrap over {pv['n_seeds']} seeds and "
            f"{pv['n_images']} images): **{pv['verdict']}**; seed-to-seed SD "
            f"{v['seed_sd_lpips']:.4f}."
        )
    gap = v["lpips_gap"]
    if v["outcome"] == "undetermined":
        return (
            f"- **{v['set']}**, {v['target']} vs {v['other']}: undetermined (no comparable points)."
        )
    direction = "lower" if gap > 0 else "higher"
    ratio = v["ratio_to_seed_sd"]
    ratio_txt = (
        f"{abs(ratio):.1f} x the seed-to-seed SD ({v['seed_sd_lpips']:.4f})"
        if math.isfinite(ratio)
        else "no seed SD available"
    )
    word = {
        "better": "beats",
        "worse": "is beaten by",
        "not resolved": "does not separate from",
    }.get(v["outcome"].split(" (")[0], v["outcome"])
    text = (
        f"- **{v['set']}**: {v['target']} {word} {v['other']}: at {v['basis']} its LPIPS-Alex is "
        f"{abs(gap):.4f} {direction} ({ratio_txt})"
    )
    if v["basis"] != "same rho":
        text += (
            f"; at equal rho it changes LPIPS-Alex by {-v['same_rho_lpips_gain']:+.4f} and "
            f"PSNR-Y by {v['same_rho_psnr_gain']:+.3f} dB"
        )
    else:
        text += f" and its PSNR-Y {v['same_rho_psnr_gain']:+.3f} dB"
    return text + "."


def _plot(
    rows: list[dict[str, Any]], base_rows: list[dict[str, Any]], sets: Sequence[str], path: Path
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import atomic_path

    colors = {
        "none": "0.3",
        "vgg": "tab:blue",
        "selected": "tab:red",
        "random": "tab:green",
        "lpips-vgg": "tab:purple",
    }
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4.2), squeeze=False)
    for ax, set_name in zip(axes[0], sets, strict=True):
        rs = [r for r in rows if r["set"] == set_name]
        for loss in dict.fromkeys(r["loss"] for r in rs):
            pts = []
            for rho in sorted({r["rho"] for r in rs if r["loss"] == loss}):
                sel = [r for r in rs if r["loss"] == loss and r["rho"] == rho]
                px, sx = mean_sd([r["psnr_y"] for r in sel])
                py, sy = mean_sd([r["lpips_alex"] for r in sel])
                pts.append((px, py, sx, sy, rho))
            if not pts:
                continue
            arr = np.asarray(pts, dtype=np.float64)
            c = colors.get(loss, None)
            ax.errorbar(
                arr[:, 0],
                arr[:, 1],
                xerr=np.nan_to_num(arr[:, 2]),
                yerr=np.nan_to_num(arr[:, 3]),
                fmt="o-" if loss != "none" else "s",
                color=c,
                label=loss,
                capsize=3,
                ms=5,
            )
            if loss != "none":
                for px, py, _, _, rho in pts:
                    ax.annotate(
                        f"{rho:g}",
                        (px, py),
                        textcoords="offset points",
                        xytext=(4, 4),
                        fontsize=7,
                        color=c,
                    )
        for r in base_rows:
            if r["set"] == set_name:
                ax.plot(
                    r["psnr_y"],
                    r["lpips_alex"],
                    "k^" if r["model"] == "pretrained" else "kx",
                    label=r["model"],
                )
        ax.set_title(set_name)
        ax.set_xlabel("PSNR-Y (dB, higher is better)")
        ax.set_ylabel("LPIPS-Alex (lower is better)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        "x4 SR: fine-tuning losses, one point per rho (error bars: SD over seeds)", fontsize=10
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path


def _fmt(x: float, nd: int) -> str:
    return format_number(x, nd)


def _report(
    cfg: Claim2Config,
    rows: list[dict[str, Any]],
    base_rows: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    cal: dict[str, Any],
    selection: Selection,
    est: dict[str, Any],
    timings: dict[str, float],
    plot: Path,
    out: Path,
) -> Path:
    lines = _setup_lines(cfg, cal, selection, est, timings)
    lines += _verdict_lines(cfg, verdicts, plot)
    for set_name in cfg.sets or []:
        lines += _results_table(set_name, rows, base_rows)
    lines += [
        "LPIPS-VGG uses the same VGG-16 trunk as the vgg/selected/random losses and is the training "
        "loss of lpips-vgg, so LPIPS-Alex is the independent perceptual figure. Side-by-side crops: "
        "[`claim2_crops/crops/`](claim2_crops/crops/).",
        "",
    ]
    path = out / "claim2.md"
    write_text_atomic(path, "\n".join(lines))
    return path


def _setup_lines(
    cfg: Claim2Config,
    cal: dict[str, Any],
    selection: Selection,
    est: dict[str, Any],
    timings: dict[str, float],
) -> list[str]:
    """Title and the Setup section."""
    seeds = list(cfg.seeds or [0])
    return [
        "# Claim 2: perceptual loss from selected channels in x4 super-resolution",
        "",
        "_Generated by `hvsprobe experiment claim2`; every number below is computed from the runs._",
        "",
        "## Setup",
        "",
        f"- budget `{cfg.budget}`: EDSR preset `{cfg.preset}`, batch {cfg.batch_size} HR patches of "
        f"{cfg.patch} px, precision {cfg.precision}",
        f"- L1 pretraining: {cfg.pretrain_steps} steps (lr {cfg.pretrain_lr:g}, cosine); "
        f"fine-tuning: {cfg.finetune_steps} steps per run (lr {cfg.finetune_lr:g}, cosine) from that checkpoint, "
        f"seeds {seeds} (data order; the random subset also changes with the seed)",
        f"- training images: {', '.join(cfg.train_sets)}; test sets: {', '.join(cfg.sets or [])}",
        f"- selection: {selection.n_selected} channels of VGG-16 "
        + ", ".join(
            f"{n} {len(e['channels'])}/{e['n_channels']}" for n, e in selection.layers.items()
        )
        + f" (strategy {selection.strategy.get('name')} {selection.strategy.get('value')} by {selection.score})",
        f"- lambda = rho x L1 / D with L1 = {cal['l1']:.4f} and D at the pretrained model: "
        + ", ".join(f"{k} {v:.4f}" for k, v in cal["distance"].items()),
        "- measured step time (s): "
        + ", ".join(f"{k} {v:.3f}" for k, v in est.get("step_time_s", {}).items())
        + f"; wall time {timings.get('total_s', float('nan')) / 60:.1f} min",
        "",
    ]


def _verdict_lines(cfg: Claim2Config, verdicts: list[dict[str, Any]], plot: Path) -> list[str]:
    """The Verdict section: one sentence per comparison, the overall line, the plot."""
    seeds = list(cfg.seeds or [0])
    lines = [
        "## Verdict",
        "",
        "Compared at matched PSNR-Y (each loss's rho curve, starting at the L1-only run of the same "
        "seed, linearly interpolated; gap averaged over the shared PSNR range, then over seeds). "
        "Each line gives the gap with a paired bootstrap interval that redraws seeds and test "
        "images (the same images for every run) and rebuilds the curves: **supported** when the "
        "whole interval favours selected, **contradicted** when it favours the other loss, "
        f"**not resolved by these data** when it contains 0 ({len(seeds)} seeds).",
        "",
    ]
    lines += [_verdict_sentence(v) for v in verdicts]
    supported = [s for s in (cfg.sets or []) if _n_supported(verdicts, s) == 2]
    lines += [
        "",
        (
            f"Claim 2 is supported on {', '.join(supported)} (selected beats both vgg and random)."
            if supported
            else "Claim 2 is not supported at this budget: on no test set is selected better than "
            "both vgg and random (see the verdict words above)."
        ),
        "",
        f"![trade-off]({plot.name})",
        "",
        "## Results (mean ± SD over seeds)",
        "",
    ]
    return lines


def _n_supported(verdicts: list[dict[str, Any]], set_name: str) -> int:
    """How many comparisons on ``set_name`` favour the target (paired verdict when present)."""
    return sum(
        1
        for v in verdicts
        if v["set"] == set_name
        and (
            (v.get("paired") or {}).get("verdict") == "supported"
            if v.get("paired")
            else v["outcome"] == "better"
        )
    )


def _results_table(
    set_name: str, rows: list[dict[str, Any]], base_rows: list[dict[str, Any]]
) -> list[str]:
    """One set's table: the base models, then one line per (loss, rho) with mean ± SD."""
    lines = [
        f"### {set_name}",
        "",
        "| model | rho | lambda | seeds | PSNR-Y (dB) | SSIM-Y | LPIPS-Alex | LPIPS-VGG |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in base_rows:
        if r["set"] == set_name:
            lines.append(
                f"| {r['model']} | — | — | — | {_fmt(r['psnr_y'], 2)} | {_fmt(r['ssim_y'], 4)} | "
                f"{_fmt(r['lpips_alex'], 4)} | {_fmt(r['lpips_vgg'], 4)} |"
            )
    keys = dict.fromkeys((r["loss"], r["rho"]) for r in rows if r["set"] == set_name)
    for loss, rho in keys:
        sel = [r for r in rows if r["set"] == set_name and r["loss"] == loss and r["rho"] == rho]
        cells = []
        for k, nd in (("psnr_y", 2), ("ssim_y", 4), ("lpips_alex", 4), ("lpips_vgg", 4)):
            m, sd = mean_sd([r[k] for r in sel])
            cells.append(_fmt(m, nd) + (f" ± {_fmt(sd, nd)}" if math.isfinite(sd) else ""))
        lines.append(
            f"| {loss} | {rho:g} | {sel[0]['lambda']:.4g} | {len(sel)} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    return lines


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    import csv

    from .._io import atomic_path

    cols = list(rows[0]) if rows else []
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return path


def write_outputs(
    cfg: Claim2Config,
    rows: list[dict[str, Any]],
    base_rows: list[dict[str, Any]],
    verdicts: list[dict[str, Any]],
    cal: dict[str, Any],
    est: dict[str, Any],
    selection_path: Path,
    t0: float,
    out: Path,
) -> tuple[Path, Path, Path]:
    """Write ``claim2.csv``, the trade-off plot, ``claim2.md`` and ``claim2_verdicts.json``.

    ``t0`` is the ``time.perf_counter()`` at the start of the run (the page's wall time).
    Returns the paths of the page, the CSV and the plot.
    """
    out.mkdir(parents=True, exist_ok=True)
    csv_path = _write_csv(out / "claim2.csv", rows)
    plot = _plot(
        rows, base_rows, [Path(s).name for s in cfg.sets or []], out / "claim2_tradeoff.png"
    )
    timings = {"total_s": time.perf_counter() - t0}
    sel = Selection.load(selection_path)
    report = _report(cfg, rows, base_rows, verdicts, cal, sel, est, timings, plot, out)
    write_json_atomic(
        out / "claim2_verdicts.json", {"kind": "claim2_verdicts", "verdicts": verdicts}
    )
    return report, csv_path, plot
