"""The border study: how much of the paper's whole-map response is the network's padding.

Writes ``docs/results/border_study.md`` (and a JSON beside it) from two VGG-16 results
folders made with the default grid, one per response route, plus a route comparison on
every built-in backbone::

    hvsprobe analyze vgg16 --response whole_map --out runs/vgg16-whole
    hvsprobe analyze vgg16 --out runs/vgg16-torus
    python -m hvsprobe.experiments.border_study --whole runs/vgg16-whole --free runs/vgg16-torus

Per layer it reports the channels whose best-stimulus whole-map response is more than half
border (``border_dominated``) and weak channels, how many of them the old default
selection (whole-map PE, no exclusions) contained and the new one contains, the rank
correlation of PE between the routes and the overlap of the top 25 %; then agreement,
FLOPs and time of the routes on VGG-16, AlexNet and MobileNetV2.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from .._format import format_number
from .._io import read_json, write_json_atomic, write_text_atomic
from ..backbones import get_backbone
from ..errors import UserError
from ..scores import ChannelScores
from ..selection import select_channels
from ..stimuli import StimulusGrid
from .border_routes import agreement, route_flops, route_times
from .entry import experiment_main
from .provenance import run_meta

__all__ = ["ROUTE_LAYERS", "add_arguments", "folder_comparison", "main", "run"]

KIND = "border_study"
SCHEMA_VERSION = 1
#: Layers compared per backbone (the LPIPS layers, or five spread over the depth).
ROUTE_LAYERS: dict[str, list[str]] = {
    "vgg16": ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"],
    "alexnet": ["relu1", "relu2", "relu3", "relu4", "relu5"],
    "mobilenet_v2": ["block2", "block4", "block7", "block11", "block14", "block17"],
}


def _top(scores: ChannelScores, exclude: Sequence[str] | None) -> dict[str, set[int]]:
    sel = select_channels(scores, strategy="top_fraction", value=0.25, exclude=exclude)
    return {n: set(v["channels"]) for n, v in sel.layers.items()}


def folder_comparison(whole_dir: Path, free_dir: Path) -> list[dict[str, Any]]:
    """Per layer: flags of the border-free folder against the whole-map folder's ranking."""
    whole, free = ChannelScores.load(whole_dir), ChannelScores.load(free_dir)
    old_top = _top(whole, exclude=())  # the old default: whole-map PE, no exclusions
    new_top = _top(free, exclude=None)  # the new default
    free_top = _top(free, exclude=())  # border-free PE without the exclusions
    rows = []
    for layer in free.layers:
        f, w = free.layer(layer), whole.layer(layer)
        live = ~f["dead"]
        border, weak = set(np.nonzero(f["border_dominated"])[0]), set(np.nonzero(f["weak"])[0])
        both = live & ~w["dead"] & np.isfinite(f["pe"]) & np.isfinite(w["pe"])
        rho = spearmanr(f["pe"][both], w["pe"][both]).statistic if both.sum() > 2 else np.nan
        old, new = old_top[layer], new_top[layer]
        rows.append(
            {
                "layer": layer,
                "channels": int(len(live)),
                "live": int(live.sum()),
                "border_dominated": len(border),
                "weak": len(weak),
                "median_border_share": float(np.nanmedian(f["border_share"][live])),
                "old_selected": len(old),
                "old_selected_border": len(old & border),
                "old_selected_weak": len(old & weak),
                "free_top_border_if_not_excluded": len(free_top[layer] & border),
                "new_selected": len(new),
                "new_selected_border": len(new & border),
                "new_selected_weak": len(new & weak),
                "spearman_pe": float(rho),
                "top25_overlap": len(old & new) / max(len(old), 1),
            }
        )
    return rows


def _timings(folder: Path) -> dict[str, float]:
    s = read_json(folder / "summary.json")
    out = {"probe_s": float(s["timings"]["probe_s"])}
    run = s.get("probe_run") or {}
    resp = s.get("probe_config", {}).get("response", {})
    border = run.get("border_pass_s") or (
        resp.get("border_pass_s") if isinstance(resp, dict) else None
    )
    if border:
        out["border_pass_s"] = float(border)
    return out


def _route_rows(names: Sequence[str], rounds: int) -> dict[str, Any]:
    grid = StimulusGrid.default()
    out = {}
    for name in names:
        bb = get_backbone(name)
        layers = ROUTE_LAYERS[name]
        out[name] = {
            "layers": layers,
            "agreement": agreement(bb, layers),
            "flops": route_flops(bb, layers, grid),
            "times": route_times(bb, layers, grid, rounds=rounds),
        }
    return out


def _cached_routes(cache: Path | None, names: Sequence[str], rounds: int) -> dict[str, Any]:
    """The route comparison, from ``cache`` when it holds these backbones, else computed."""
    if cache is not None and cache.is_file():
        data = read_json(cache)
        if data.get("kind") == "border_routes" and sorted(data["routes"]) == sorted(names):
            return {**data["routes"], "_cache": {"file": str(cache), "wall_s": data.get("wall_s")}}
    t0 = time.perf_counter()
    routes = _route_rows(names, rounds)
    if cache is not None:
        write_json_atomic(
            cache,
            {
                "kind": "border_routes",
                "schema_version": 1,
                "wall_s": time.perf_counter() - t0,
                "routes": routes,
            },
        )
    return routes


def _cache_line(cache: dict[str, Any] | None) -> list[str]:
    if not cache:
        return []
    took = f", which took {cache['wall_s']:.0f} s" if cache.get("wall_s") else ""
    return [
        f"The route comparison was read from `{cache['file']}`, written by this module's route "
        f"comparison (`--routes-cache` pointing at a missing file){took}.",
        "",
    ]


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return format_number(x, int(spec[1:-1]), style=spec[-1])  # spec: ".3g", ".2f", ...


def _flag_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| layer | live | border dominated | weak | median border share | old selection: border / weak (of n) | new selection: border / weak (of n) | border in border-free top 25 % if not excluded | Spearman PE whole vs free | top-25 % overlap old vs new |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layer']} | {r['live']} | {r['border_dominated']} | {r['weak']} | "
            f"{_fmt(r['median_border_share'], '.3f')} | {r['old_selected_border']} / "
            f"{r['old_selected_weak']} ({r['old_selected']}) | {r['new_selected_border']} / "
            f"{r['new_selected_weak']} ({r['new_selected']}) | "
            f"{r['free_top_border_if_not_excluded']} | {_fmt(r['spearman_pe'], '.3f')} | "
            f"{_fmt(r['top25_overlap'], '.2f')} |"
        )
    return lines


def _route_tables(routes: dict[str, Any]) -> list[str]:
    lines = [
        "### Agreement (relative to each layer's largest response)",
        "",
        "| backbone | layer | torus vs interior | whole map vs torus |",
        "|---|---|---:|---:|",
    ]
    for name, r in routes.items():
        ag = r["agreement"]
        for layer, v in ag["layers"].items():
            lines.append(
                f"| {name} | {layer} | {_fmt(v['interior'], '.2g')} | {_fmt(v['whole'], '.3f')} |"
            )
    lines += [
        "",
        "### Cost on the default grid (1152 stimuli) and measured time",
        "",
        "| backbone | torus unit (px) | TFLOP whole map | TFLOP torus | TFLOP interior (2x) | s/stimulus whole map | s/stimulus torus | s/stimulus interior | border pass s/stimulus | torus / whole time | interior / whole time | load (1 min) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in routes.items():
        fl, t = r["flops"], r["times"]
        sec, ratio = t["seconds_per_stimulus"], t["ratio_to_whole_map"]
        border = (
            float(np.median(t["rounds"]["border_pass"])) if t["rounds"]["border_pass"] else None
        )

        def tf(v: float | None) -> str:
            return _fmt(None if v is None else v / 1e12, ".2f")

        lines.append(
            f"| {name} | {r['agreement']['unit_px']} | {tf(fl['whole_map'])} | {tf(fl['torus'])} | "
            f"{tf(fl['interior'])} | {_fmt(sec['whole_map'])} | {_fmt(sec['torus'])} | "
            f"{_fmt(sec.get('interior'))} | {_fmt(border)} | {_fmt(ratio['torus'], '.2f')} | "
            f"{_fmt(ratio.get('interior'), '.2f')} | "
            f"{', '.join(f'{x:.1f}' for x in t['load_average_1min'])} |"
        )
    return lines


def study_markdown(result: dict[str, Any]) -> str:
    """The page, from the JSON result."""
    meta = result["meta"]
    lines = [
        "# Border study (generated)",
        "",
        f"Generated {meta['date']} by `{meta['command']}` in {meta['wall_s']:.0f} s on "
        f"{meta['machine']} ({meta['cpus']} logical CPUs, torch {meta['torch']}). The two "
        f"VGG-16 folders were made by `{meta['folders_command']}`.",
        "",
        "**Question.** The paper's response is the mean of a channel's whole activation map, "
        "padding border included. How much of it is the border, and does removing it change "
        "which channels are selected? `border share` = |whole-map response - border-free "
        "response| / the larger of the two, at the channel's best stimulus (docs/method.md "
        "section 2); `border dominated` = share > 0.5; `weak` = peak below 0.1 x the layer's "
        "median peak or 0.001 x its largest. Old selection: top 25 % per layer by whole-map "
        "PE with no exclusions (the previous default, same CSF); new: top 25 % by border-free "
        "(torus) PE, weak and border-dominated channels excluded.",
        "",
        "## VGG-16, default grid, per layer",
        "",
        *_flag_table(result["vgg16_folders"]["layers"]),
        "",
        "Probe time of the two folders (same machine, possibly shared): "
        + "; ".join(
            f"{k}: {', '.join(f'{kk} {vv:.0f} s' for kk, vv in v.items())}"
            for k, v in result["vgg16_folders"]["timings"].items()
        )
        + ".",
        "",
        "## The routes on every backbone",
        "",
        *_cache_line(result.get("routes_cache")),
        "Agreement uses axis-aligned gratings with periods of one and two torus units shown "
        "at one phase per pixel, for which the interior mean and the torus mean are the same "
        "quantity; a layer without a border-free interior at 2x the stimulus size shows —. "
        "Times: each route on the same 48 stimuli of the default grid (3 frequencies x 4 "
        "orientations x 4 phases), routes alternated in one process; the border-free routes' "
        "times exclude their border pass (listed separately). FLOPs count convolutions only.",
        "",
        *_route_tables(result["routes"]),
        "",
        "## Reading",
        "",
        *result.get("reading", []),
    ]
    return "\n".join(lines) + "\n"


def _reading(result: dict[str, Any]) -> list[str]:
    """Plain statements computed from the numbers (no hand-written results)."""
    rows = result["vgg16_folders"]["layers"]
    old_b = sum(r["old_selected_border"] for r in rows)
    old_w = sum(r["old_selected_weak"] for r in rows)
    old_n = sum(r["old_selected"] for r in rows)
    new_b = sum(r["new_selected_border"] + r["new_selected_weak"] for r in rows)
    worst = max(rows, key=lambda r: r["border_dominated"] / max(r["live"], 1))
    agree = [
        v["interior"]
        for r in result["routes"].values()
        for v in r["agreement"]["layers"].values()
        if np.isfinite(v["interior"])
    ]
    ratios = {n: r["times"]["ratio_to_whole_map"]["torus"] for n, r in result["routes"].items()}
    return [
        f"* The old default selection held {old_b} border-dominated and {old_w} weak channels "
        f"of {old_n}; the new one holds {new_b} flagged channels.",
        f"* The most border-affected layer is {worst['layer']}: {worst['border_dominated']} of "
        f"{worst['live']} live channels are border dominated.",
        f"* Torus and interior agree to at most {max(agree):.2g} of a layer's largest response "
        "on the gratings both can represent exactly: the two implementations measure the same "
        "border-free quantity.",
        "* Torus time relative to the whole-map route: "
        + ", ".join(f"{n} {v:.2f}x" for n, v in ratios.items())
        + " (the border pass comes on top, listed above). Interior relative to the whole-map "
        "route: "
        + ", ".join(
            f"{n} {r['times']['ratio_to_whole_map']['interior']:.2f}x"
            for n, r in result["routes"].items()
            if "interior" in r["times"]["ratio_to_whole_map"]
        )
        + ". The torus is the default: it measures the same border-free quantity as the "
        "interior route at a fraction of its time, applies to every stimulus of the grid, "
        "and needs no interior (the deepest MobileNetV2 blocks have none at 2x the size).",
    ]


DESCRIPTION = "The border study: whole-map against border-free scores, and the three routes."


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The study's options (``python -m`` and ``hvsprobe experiment border_study``)."""
    p.add_argument(
        "--whole",
        type=Path,
        required=True,
        help="VGG-16 folder made with `hvsprobe analyze vgg16 --response whole_map`",
    )
    p.add_argument("--free", type=Path, required=True, help="VGG-16 folder, default (torus)")
    p.add_argument(
        "--backbones",
        nargs="+",
        default=list(ROUTE_LAYERS),
        choices=list(ROUTE_LAYERS),
        help="backbones of the route comparison (default: all)",
    )
    p.add_argument("--rounds", type=int, default=1, help="timing rounds per route (default 1)")
    p.add_argument(
        "--routes-cache",
        type=Path,
        default=None,
        help="JSON of the route comparison: read if it exists (same backbones), else written "
        "(default: none, the routes are measured)",
    )
    p.add_argument(
        "--out", type=Path, required=True, help="page to write, e.g. docs/results/border_study.md"
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the study and write the page and its JSON."""
    for folder in (args.whole, args.free):
        if not (folder / "scores.csv").is_file():
            raise UserError(f"{folder} is not an analyze results folder")
    import torch

    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "vgg16_folders": {
            "whole": str(args.whole),
            "free": str(args.free),
            "layers": folder_comparison(args.whole, args.free),
            "timings": {"whole_map": _timings(args.whole), "torus": _timings(args.free)},
        },
        "routes": _cached_routes(args.routes_cache, args.backbones, args.rounds),
    }
    result["routes_cache"] = result["routes"].pop("_cache", None)
    result["meta"] = run_meta(
        "border_study",
        argv,
        t0,
        {
            "folders_command": "hvsprobe analyze vgg16 --response whole_map --out WHOLE; "
            "hvsprobe analyze vgg16 --out FREE"
        },
    )
    result["meta"]["torch"] = torch.__version__
    result["reading"] = _reading(result)
    write_json_atomic(args.out.with_suffix(".json"), result)
    write_text_atomic(args.out, study_markdown(result))
    print(f"wrote {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study and write the page and its JSON. Exit 0, or 2 for a missing input."""
    return experiment_main("border_study", DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
