"""The feature-inversion results page: what do high- and low-PE channels keep of an image?

One command writes ``docs/results/inversion.md``, its figure, and the measures as CSV and
JSON, from a results folder's scores and a list of images::

    python -m hvsprobe.experiments.inversion --results /tmp/inv-vgg16 \\
        --images ../shared/data/sr/test/Set14/{baboon,comic,lenna,zebra}.png \\
        --out hvsprobe-results/inversion --doc docs/results/inversion.md

For every image (centre-cropped and resized to ``--size``) it rebuilds the image from the
top, the bottom and a seeded random ``--fraction`` of the channels of each layer by PE
(:func:`hvsprobe.invert.default_selections`), all images of a subset in one batch, and
measures each reconstruction against its target (:mod:`hvsprobe.invert_measures`). The
paper's statements are then judged on per-image paired differences (top minus bottom):

==============================================  ====================  =====================
statement                                       measure               predicted sign
==============================================  ====================  =====================
high-PE keeps structure                         ``ssim_luma``         top - bottom > 0
low-PE keeps texture                            ``gram``              top - bottom > 0
colour lives mostly in low-PE channels          ``delta_e00``         top - bottom > 0
==============================================  ====================  =====================

"supported" when the 95 % Student-t interval of the mean paired difference lies on the
predicted side of 0, "contradicted" when it lies on the other side, otherwise "not resolved
by these data". The t interval (rather than a percentile bootstrap) because with a handful of
images a bootstrap interval is too narrow: it cannot be wider than the spread of the few
values it resamples.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._format import format_number
from .._io import atomic_path, write_json_atomic, write_text_atomic
from ..invert import (
    DEFAULT_LAYERS,
    InversionConfig,
    InversionResult,
    default_selections,
    inversion_figure,
    invert,
    load_target,
    save_inversion,
)
from ..invert_measures import BLUR_SIGMA, MEASURES
from ..scores import ChannelScores
from .entry import experiment_main
from .provenance import command_line

SCHEMA_VERSION = 1
SUBSETS = ("top", "bottom", "random")
#: statement -> (measure, text of the prediction); the prediction is always top - bottom > 0.
STATEMENTS = (
    ("high-PE keeps structure", "ssim_luma", "SSIM(top) > SSIM(bottom)"),
    ("low-PE keeps texture", "gram", "Gram(bottom) < Gram(top)"),
    ("colour lives mostly in low-PE channels", "delta_e00", "ΔE00(bottom) < ΔE00(top)"),
)
#: Secondary checks shown beside the verdicts (same sign convention, no verdict of their own).
SECONDARY = (("colour at region scale", "delta_e00_blur", "ΔE00 blurred (bottom) < (top)"),)
#: Bytes above which the page figure is re-encoded with a 256-colour palette.
FIGURE_BUDGET = 450_000


DESCRIPTION = "Feature inversion from top / bottom / random PE subsets: the results page."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The experiment's options (``python -m`` and ``hvsprobe experiment inversion``)."""
    d = InversionConfig()
    p.add_argument("--results", type=Path, required=True, help="results folder with scores")
    p.add_argument("--images", type=Path, nargs="+", required=True, help="target images")
    p.add_argument(
        "--size", type=int, default=256, help="centre crop resized to this (px; default 256)"
    )
    p.add_argument(
        "--fraction", type=float, default=0.25, help="share of each layer's channels (default 0.25)"
    )
    p.add_argument(
        "--layers",
        nargs="+",
        default=list(DEFAULT_LAYERS),
        help=f"layers whose features are matched (default {' '.join(DEFAULT_LAYERS)})",
    )
    p.add_argument("--steps", type=int, default=d.steps, help=f"Adam steps (default {d.steps})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    p.add_argument(
        "--tv-weight",
        type=float,
        default=d.tv_weight,
        help=f"total-variation weight (default {d.tv_weight})",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=d.seed,
        help=f"starting noise and random subset (default {d.seed})",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the PNGs and settings")
    p.add_argument("--doc", type=Path, required=True, help="markdown page to write")
    p.add_argument("--figure", type=Path, default=None, help="page figure (default DOC with .png)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


# --------------------------------------------------------------------------------------------
# numbers


def measure_rows(res: InversionResult, names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (image, subset) plus the starting noise, with every measure."""
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        rows.append({"image": name, "subset": "start (noise)", **res.start_measures[i]})
        for label, rec in res.reconstructions.items():
            rows.append(
                {
                    "image": name,
                    "subset": label,
                    "n_channels": res.selections[label]["n_selected"],
                    "initial_distance": rec.initial_distance[i],
                    "final_distance": rec.final_distance[i],
                    **rec.measures[i],
                }
            )
    return rows


def _value(rows: list[dict[str, Any]], image: str, subset: str, col: str) -> float:
    for r in rows:
        if r["image"] == image and r["subset"] == subset:
            return float(r[col])
    raise KeyError((image, subset, col))


def paired(
    rows: list[dict[str, Any]], names: Sequence[str], col: str, a: str, b: str
) -> dict[str, Any]:
    """Per-image ``col[a] - col[b]``, their mean and its 95 % Student-t interval."""
    from scipy import stats

    diffs = np.array([_value(rows, n, a, col) - _value(rows, n, b, col) for n in names])
    n = diffs.size
    mean = float(diffs.mean())
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1) * diffs.std(ddof=1) / math.sqrt(n))
    else:
        half = math.inf
    return {
        "measure": col,
        "contrast": f"{a} - {b}",
        "diffs": [float(v) for v in diffs],
        "mean": mean,
        "ci95": [mean - half, mean + half],
        "n_positive": int((diffs > 0).sum()),
        "n": int(n),
    }


def verdict(ci: Sequence[float]) -> str:
    """'supported' (interval above 0), 'contradicted' (below 0) or 'not resolved by these data'."""
    lo, hi = ci
    if lo > 0:
        return "supported"
    if hi < 0:
        return "contradicted"
    return "not resolved by these data"


def verdicts(rows: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """The paper's statements judged on top - bottom paired differences."""
    out = []
    for i, (statement, col, prediction) in enumerate(STATEMENTS + SECONDARY):
        p = paired(rows, names, col, "top", "bottom")
        primary = i < len(STATEMENTS)
        out.append(
            {
                "statement": statement,
                "prediction": prediction,
                **p,
                "verdict": verdict(p["ci95"]) if primary else "(secondary check)",
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# files


def _csv_text(rows: list[dict[str, Any]]) -> str:
    cols = ["image", "subset", "n_channels", "initial_distance", "final_distance", *MEASURES]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return buf.getvalue()


def _compact_png(path: Path, budget: int = FIGURE_BUDGET) -> None:
    """Re-encode ``path`` with an adaptive 256-colour palette when it exceeds ``budget`` bytes."""
    from PIL import Image

    if path.stat().st_size <= budget:
        return
    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    with atomic_path(path) as tmp:
        small.save(tmp, format="PNG", optimize=True)


def _f(v: float, nd: int = 3) -> str:
    return format_number(v, nd)


def _measure_table(rows: list[dict[str, Any]]) -> list[str]:
    head = "| image | subset | selected distance (start → end) | SSIM luma ↑ | ΔE00 ↓ | ΔE00 blurred ↓ | Gram ↓ |"
    out = [head, "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        dist = (
            f"{r['initial_distance']:.3g} → {r['final_distance']:.3g}"
            if "final_distance" in r
            else "—"
        )
        out.append(
            f"| {r['image']} | {r['subset']} | {dist} | {_f(r['ssim_luma'])} | "
            f"{_f(r['delta_e00'], 2)} | {_f(r['delta_e00_blur'], 2)} | {_f(r['gram'])} |"
        )
    return out


def _means_table(rows: list[dict[str, Any]], names: Sequence[str]) -> list[str]:
    out = [
        "| subset | SSIM luma ↑ | ΔE00 ↓ | ΔE00 blurred ↓ | Gram ↓ |",
        "|---|---:|---:|---:|---:|",
    ]
    for subset in ("start (noise)", *SUBSETS):
        vals = [np.mean([_value(rows, n, subset, c) for n in names]) for c in MEASURES]
        out.append(
            f"| {subset} | {_f(vals[0])} | {_f(vals[1], 2)} | {_f(vals[2], 2)} | {_f(vals[3])} |"
        )
    return out


def _verdict_table(vs: list[dict[str, Any]]) -> list[str]:
    out = [
        "| statement | prediction | mean of top − bottom [95 % t interval] | per image | "
        "images with top − bottom > 0 | verdict |",
        "|---|---|---|---|---:|---|",
    ]
    for v in vs:
        lo, hi = v["ci95"]
        per = ", ".join(f"{d:+.3g}" for d in v["diffs"])
        out.append(
            f"| {v['statement']} | {v['prediction']} | {v['mean']:+.3g} [{lo:+.3g}, {hi:+.3g}] | "
            f"{per} | {v['n_positive']} / {v['n']} | **{v['verdict']}** |"
        )
    return out


def _control_table(rows: list[dict[str, Any]], names: Sequence[str]) -> list[str]:
    out = [
        "| measure | top − random [95 % t] | bottom − random [95 % t] |",
        "|---|---|---|",
    ]
    for col in MEASURES:
        cells = []
        for a in ("top", "bottom"):
            p = paired(rows, names, col, a, "random")
            cells.append(f"{p['mean']:+.3g} [{p['ci95'][0]:+.3g}, {p['ci95'][1]:+.3g}]")
        out.append(f"| {col} | {cells[0]} | {cells[1]} |")
    return out


def page(
    doc: dict[str, Any], rows: list[dict[str, Any]], names: Sequence[str], figure_rel: str
) -> str:
    """The markdown page (every number comes from ``doc`` and ``rows``)."""
    lines = [
        *_intro_lines(doc, names, figure_rel),
        *_verdict_lines(doc, rows, names),
        *_measure_lines(doc["config"], rows, names),
        *_caveat_lines(doc["config"], len(names)),
    ]
    return "\n".join(lines)


def _intro_lines(doc: dict[str, Any], names: Sequence[str], figure_rel: str) -> list[str]:
    """Title, method, command, wall time and the figure."""
    cfg, run = doc["config"], doc["run"]
    n = len(names)
    return [
        "# What the human-like channels keep: feature inversion from high- vs low-PE channels",
        "",
        "> Generated by `python -m hvsprobe.experiments.inversion` — do not edit by hand; rerun "
        "the command below.",
        "",
        f"Each image is rebuilt from the features of three channel subsets of {doc['backbone']} "
        f"(layers {', '.join(cfg['layers'])}): the **top** {cfg['fraction']:.0%}, the **bottom** "
        f"{cfg['fraction']:.0%} and a seeded **random** {cfg['fraction']:.0%} (the control) of "
        "every layer's selectable channels by PE (dead, weak and border-dominated channels excluded, as in every default selection), all of the same size "
        f"({doc['n_selected']} channels). Starting from the same seeded noise image, Adam "
        f"(lr {cfg['lr']}, {cfg['steps']} steps, pixels clamped to [0, 1] after every step) "
        "minimises the selected-channel distance plus "
        f"{cfg['tv_weight']} × the mean squared neighbour difference (a smoothness prior). "
        "See [docs/inversion.md](../inversion.md) for the method and the measures.",
        "",
        "## Command",
        "",
        "```bash",
        doc["command"],
        "```",
        "",
        f"Scores: `{cfg['results']}` (weights sha256 `{doc['weights_sha256'][:16]}…`). "
        f"Images: {', '.join(names)}, centre-cropped and resized to {cfg['size']} px.",
        "",
        f"Wall time: **{run['wall_s'] / 60:.1f} min** for {n} images × 3 subsets × "
        f"{cfg['steps']} steps on this machine ({run['threads']} torch threads, "
        f"torch {run['torch']}): {run['optimise_s'] / 60:.1f} min of optimisation, "
        f"{run['s_per_step']:.2f} s per step for a batch of {n} images at {cfg['size']} px "
        f"(about {run['s_per_step'] / n:.2f} s per image-step), the rest the measures. "
        f"The machine has {run['cpu_count']} CPU cores; its 1-minute load average was "
        f"{run['load_average_start'][0]:.1f} at the start and {run['load_average_end'][0]:.1f} "
        "at the end (other jobs shared it when it exceeded the core count), so the times are "
        "upper bounds for an idle machine.",
        "",
        f"![reconstructions]({figure_rel})",
        "",
        "Rows: images; columns: the target, then the reconstruction from each subset, captioned "
        "with its final selected distance d, SSIM of the luminance, mean ΔE00 and the Gram "
        "texture distance.",
        "",
    ]


def _verdict_lines(
    doc: dict[str, Any], rows: list[dict[str, Any]], names: Sequence[str]
) -> list[str]:
    """The Verdicts section: top vs bottom, then each against the random control."""
    vs = doc["verdicts"]
    n = len(names)
    return [
        "## Verdicts",
        "",
        "Paired differences across images (top − bottom); a verdict is given when the 95 % "
        "Student-t interval of the mean difference excludes 0. "
        f"**With {n} images these intervals are wide** (t quantile "
        f"{doc['t_quantile']:.2f} with {n - 1} degrees of freedom): the per-image differences "
        "and their signs say more than the mean.",
        "",
        *_verdict_table(vs),
        "",
        "Against the random control (same layers, same size):",
        "",
        *_control_table(rows, names),
        "",
    ]


def _measure_lines(
    cfg: dict[str, Any], rows: list[dict[str, Any]], names: Sequence[str]
) -> list[str]:
    """The Measures section: definitions, means over images, per-image values."""
    return [
        "## Measures",
        "",
        "SSIM luma: SSIM of the luminance (structure; higher = closer). ΔE00: mean CIEDE2000 "
        "over pixels (colour, but also any misplaced structure). ΔE00 blurred: the same after "
        f"a Gaussian blur of σ = {BLUR_SIGMA:g} px (colour at the scale of regions). Gram: mean "
        "over the layers "
        f"{', '.join(cfg['gram_layers'])} of the relative Frobenius error of the Gram matrices "
        "of *all* channels (texture statistics, position-blind). The starting noise is listed "
        "as the reference point.",
        "",
        "Mean over images:",
        "",
        *_means_table(rows, names),
        "",
        "Per image:",
        "",
        *_measure_table(rows),
        "",
    ]


def _caveat_lines(cfg: dict[str, Any], n: int) -> list[str]:
    """The Caveats section and the list of files."""
    return [
        "## Caveats",
        "",
        f"* {n} images: the verdicts can only be as firm as {n} paired differences allow.",
        f"* {cfg['steps']} steps were what the CPU budget of this page allowed; the "
        "reconstructions are not fully converged (see the start → end distances). More steps "
        "(`--steps`) sharpen them; the verdicts should be rechecked then.",
        "* The Gram distance is computed on the same network and layers as the subsets, over "
        "all channels, so it favours none of the three subsets by construction, but it is not "
        "an independent observer.",
        "* The distance normalises each position's features over *all* channels of a layer "
        "(as LPIPS does), so a subset is matched in direction relative to the whole layer; "
        "overall brightness and contrast are only weakly constrained, and the TV prior pulls "
        "unconstrained pixels towards smooth grey.",
        "* The scores come from the results folder given; regenerate this page with the "
        "command above when they change.",
        "",
        "Files: [inversion.csv](inversion.csv) (measures), [inversion.json](inversion.json) "
        "(settings, selections' provenance, verdicts).",
        "",
    ]


def run_inversion(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    """Run the experiment and write every file; returns the JSON document."""
    from scipy import stats

    cfg = InversionConfig(steps=args.steps, lr=args.lr, tv_weight=args.tv_weight, seed=args.seed)
    scores = ChannelScores.load(args.results)
    sels = default_selections(scores, fraction=args.fraction, layers=args.layers, seed=args.seed)
    names = [p.stem for p in args.images]
    if len(set(names)) != len(names):
        raise ValueError(f"image names must be distinct, got {names}")
    targets = torch.cat([load_target(p, args.size or None) for p in args.images])
    load_start = list(os.getloadavg())
    t0 = time.perf_counter()
    res = invert(targets, sels, config=cfg, progress=not args.no_progress)
    wall = time.perf_counter() - t0
    save_inversion(res, args.out, image_sources=list(args.images), names=names)
    rows = measure_rows(res, names)
    figure = args.figure or args.doc.with_suffix(".png")
    panels = []
    for i, name in enumerate(names):
        recs = {
            k: (
                r.image[i : i + 1],
                f"SSIM {r.measures[i]['ssim_luma']:.2f} ΔE {r.measures[i]['delta_e00']:.1f}\n"
                f"Gram {r.measures[i]['gram']:.2f}",
            )
            for k, r in res.reconstructions.items()
        }
        panels.append((name, res.target[i : i + 1], recs))
    inversion_figure(panels, figure, panel_inches=1.6)
    _compact_png(figure)
    steps_total = cfg.steps * len(res.reconstructions)
    opt_s = sum(r.seconds for r in res.reconstructions.values())
    command = "PYTHONPATH=$PWD/src " + command_line("inversion", argv)
    doc: dict[str, Any] = {
        "kind": "inversion_experiment",
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "config": {
            **{k: v for k, v in vars(args).items() if k not in ("no_progress",)},
            **{k: getattr(cfg, k) for k in ("init_mean", "init_std")},
            "gram_layers": res.gram_layers,
        },
        "backbone": res.backbone,
        "weights_sha256": res.weights_sha256,
        "n_selected": sels["top"].n_selected,
        "selections": res.selections,
        "images": [str(p) for p in args.images],
        "run": {
            "wall_s": wall,
            "optimise_s": opt_s,
            "s_per_step": opt_s / steps_total,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "cpu_count": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": list(os.getloadavg()),
        },
        "t_quantile": float(stats.t.ppf(0.975, max(len(names) - 1, 1))),
        "rows": rows,
        "verdicts": verdicts(rows, names),
    }
    doc_dir = args.doc.parent
    write_text_atomic(doc_dir / "inversion.csv", _csv_text(rows))
    write_json_atomic(doc_dir / "inversion.json", doc)
    fig_rel = Path(os.path.relpath(Path(figure).resolve(), doc_dir.resolve())).as_posix()
    write_text_atomic(args.doc, page(doc, rows, names, fig_rel))
    return doc


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the experiment, write every file and print the verdicts."""
    doc = run_inversion(args, argv)
    for v in doc["verdicts"]:
        lo, hi = v["ci95"]
        print(f"{v['statement']:42s} {v['mean']:+.4g} [{lo:+.4g}, {hi:+.4g}]  {v['verdict']}")
    print(f"page: {args.doc} ({doc['run']['wall_s'] / 60:.1f} min)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``python -m hvsprobe.experiments.inversion --results DIR --images ...``."""
    return experiment_main("inversion", DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
