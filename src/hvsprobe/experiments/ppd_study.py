"""How much "which channels are human-like" depends on the assumed viewing condition.

Compares ``hvsprobe analyze`` results folders of one network made at different pixels per
degree (default grid otherwise) and writes ``docs/results/ppd_study.md``::

    hvsprobe analyze vgg16 --ppd 30 --out runs/vgg16-ppd30
    hvsprobe analyze vgg16 --out runs/vgg16-ppd60
    hvsprobe analyze vgg16 --ppd 120 --out runs/vgg16-ppd120
    python -m hvsprobe.experiments.ppd_study runs/vgg16-ppd30 runs/vgg16-ppd60 \\
        runs/vgg16-ppd120 --out docs/results/ppd_study.md

The stimuli keep the same pixels (224 x 224) at every ppd, so the field of view in degrees
changes with ppd; the border-free (torus) response does not depend on the field size at all,
and the network keeps the input size it was trained on. The frequency grid is the default
at each ppd (0.5 cpd up to 0.95 x Nyquist), so in cycles per pixel the top stays put and the
bottom moves; the CSF weighting moves with ppd, which is the assumption under study.
Per layer: Spearman correlation of PE between viewing conditions (channels live and
selectable in both), overlap of the default top-25 % selections, and the share of peaks at
the top / bottom of the frequency grid.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from .._io import read_json, write_json_atomic, write_text_atomic
from ..errors import UserError
from ..scores import ChannelScores
from ..selection import Selection
from .entry import experiment_main
from .provenance import run_meta

__all__ = ["add_arguments", "main", "ppd_comparison", "run"]

KIND = "ppd_study"
SCHEMA_VERSION = 1


def _load(folder: Path) -> tuple[float, ChannelScores, Selection]:
    scores = ChannelScores.load(folder)
    ppd = float(scores.config["probe"]["grid"]["ppd"])
    return ppd, scores, Selection.load(folder / "selection.json")


def ppd_comparison(folders: Sequence[Path]) -> dict[str, Any]:
    """Per layer and pair of viewing conditions: PE rank correlation and top-25 % overlap."""
    runs = sorted((_load(Path(f)) for f in folders), key=lambda r: r[0])
    layers = runs[0][1].layers
    edges = []
    for ppd, scores, _ in runs:
        for s in scores.summary():
            live = s["channels"] - s["dead"]
            edges.append(
                {
                    "ppd": ppd,
                    "layer": s["layer"],
                    "share_peak_at_top": s["peak_at_top"] / max(live, 1),
                    "share_peak_at_bottom": s["peak_at_bottom"] / max(live, 1),
                    "median_best_frequency_cpd": s["median_best_frequency_cpd"],
                }
            )
    pairs = []
    for (pa, sa, la), (pb, sb, lb) in itertools.combinations(runs, 2):
        for layer in layers:
            a, b = sa.layer(layer), sb.layer(layer)
            ok = a["selectable"] & b["selectable"] & np.isfinite(a["pe"]) & np.isfinite(b["pe"])
            rho = spearmanr(a["pe"][ok], b["pe"][ok]).statistic if ok.sum() > 2 else np.nan
            ca, cb = set(la.layers[layer]["channels"]), set(lb.layers[layer]["channels"])
            pairs.append(
                {
                    "ppd_a": pa,
                    "ppd_b": pb,
                    "layer": layer,
                    "n_channels": int(ok.sum()),
                    "spearman_pe": float(rho),
                    "top25_overlap": len(ca & cb) / max(min(len(ca), len(cb)), 1),
                }
            )
    g = runs[0][1].config["probe"]["grid"]
    grid = {k: len(g[k]) for k in ("frequencies", "orientations", "phases")}
    return {
        "grid": grid,
        "ppd": [r[0] for r in runs],
        "folders": [str(f) for f in folders],
        "pairs": pairs,
        "edges": edges,
        "csf": runs[0][1].config["score"]["csf"],
    }


def _markdown(res: dict[str, Any]) -> str:
    meta = res["meta"]
    ppds = res["ppd"]
    combos = list(itertools.combinations(ppds, 2))
    head = " | ".join(f"{a:g} vs {b:g}: rho / overlap" for a, b in combos)
    lines = [
        "# Viewing-condition study (generated)",
        "",
        f"Generated {meta['date']} by `{meta['command']}` in {meta['wall_s']:.1f} s on "
        f"{meta['machine']} ({meta['cpus']} logical CPUs). Folders: "
        + ", ".join(f"`{f}`" for f in res["folders"])
        + " (`hvsprobe analyze vgg16 --ppd P"
        + _grid_flags(res["grid"])
        + f"`; default scores, CSF {res['csf']}). Grid: {res['grid']['frequencies']} "
        f"frequencies (0.5 cpd to 0.95 x Nyquist) x {res['grid']['orientations']} orientations "
        f"x {res['grid']['phases']} phases"
        + (
            "; the default grid is 24 x 12 x 4, so these runs sample it more coarsely."
            if res["grid"] != {"frequencies": 24, "orientations": 12, "phases": 4}
            else "."
        ),
        "",
        "Same pixels (224 x 224) at every ppd: the border-free response does not depend on the "
        "field size, and the network keeps its training input size; the field of view is "
        "224 / ppd degrees. rho: Spearman correlation of PE over channels selectable at both "
        "ppd; overlap: shared channels of the two default top-25 % selections / selection "
        "size (two random selections would share about 0.25).",
        "",
        f"| layer | {head} |",
        "|---|" + "---:|" * len(combos),
    ]
    by = {(p["layer"], p["ppd_a"], p["ppd_b"]): p for p in res["pairs"]}
    layers = list(dict.fromkeys(p["layer"] for p in res["pairs"]))
    for layer in layers:
        cells = [
            f"{by[(layer, a, b)]['spearman_pe']:.2f} / {by[(layer, a, b)]['top25_overlap']:.2f}"
            for a, b in combos
        ]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Share of live channels whose best frequency is the highest (top) or lowest (bottom) "
        "frequency of the grid, and the median best frequency (a bound where peaks sit at an "
        "edge):",
        "",
        "| layer | " + " | ".join(f"{p:g} ppd: top / bottom / median f" for p in ppds) + " |",
        "|---|" + "---:|" * len(ppds),
    ]
    eb = {(e["layer"], e["ppd"]): e for e in res["edges"]}
    for layer in layers:
        cells = []
        for p in ppds:
            e = eb[(layer, p)]
            cells.append(
                f"{100 * e['share_peak_at_top']:.0f} % / {100 * e['share_peak_at_bottom']:.0f} % / "
                f"{e['median_best_frequency_cpd']:.1f} cpd"
            )
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    rhos = [p["spearman_pe"] for p in res["pairs"] if np.isfinite(p["spearman_pe"])]
    ovl = [p["top25_overlap"] for p in res["pairs"]]
    lines += [
        "",
        f"Across layers and pairs, rho ranges {min(rhos):.2f}–{max(rhos):.2f} and the "
        f"top-25 % overlap {min(ovl):.2f}–{max(ovl):.2f}.",
    ]
    return "\n".join(lines) + "\n"


def _grid_flags(grid: dict[str, int]) -> str:
    flags = ""
    if grid["frequencies"] != 24:
        flags += f" --n-frequencies {grid['frequencies']}"
    if grid["orientations"] != 12:
        flags += f" --n-orientations {grid['orientations']}"
    if grid["phases"] != 4:
        flags += f" --n-phases {grid['phases']}"
    return flags


DESCRIPTION = "Compare results folders made at different pixels per degree."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The study's options (``python -m`` and ``hvsprobe experiment ppd_study``)."""
    p.add_argument("folders", nargs="+", type=Path, help="results folders at different ppd")
    p.add_argument("--out", type=Path, required=True, help="page, e.g. docs/results/ppd_study.md")


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Compare the folders and write the page and its JSON."""
    t0 = time.perf_counter()
    try:
        res = ppd_comparison(args.folders)
        for f in args.folders:
            read_json(Path(f) / "summary.json")
    except KeyError as exc:
        raise UserError(f"a results folder lacks {exc}") from exc
    res.update({"kind": KIND, "schema_version": SCHEMA_VERSION})
    res["meta"] = run_meta("ppd_study", argv, t0)
    write_json_atomic(args.out.with_suffix(".json"), res)
    write_text_atomic(args.out, _markdown(res))
    print(f"wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Compare the folders and write the page and its JSON; exit 2 for a missing input."""
    return experiment_main("ppd_study", DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
