"""``hvsprobe analyze`` (probe, score, select: a results folder) and ``hvsprobe select``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import Interrupted, UserError
from .networks import add_model_options, model_from_args

_GRID_OPTIONS = ("ppd", "size", "n_frequencies", "n_orientations", "n_phases", "f_min", "f_max")
_SCORE_OPTIONS = ("csf", "mu1", "mu2", "pe", "response")


def build_analyze(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe analyze``."""
    p.add_argument(
        "backbone",
        nargs="?",
        help="registered backbone name (see `hvsprobe backbones`); or give --model",
    )
    p.add_argument(
        "--weights",
        default=None,
        help="'imagenet', 'random[:SEED]' or a weights file (registered backbones; "
        "default: imagenet); for torchvision:/timm: models 'pretrained' (the library's "
        "download), 'random[:SEED]' or a file (default: pretrained)",
    )
    add_model_options(p)
    p.add_argument(
        "--layers",
        nargs="+",
        default=None,
        help="layer names (default: every ReLU output / block; relu3_2 with --preset paper-v1)",
    )
    p.add_argument(
        "--preset",
        choices=("paper-v1",),
        default=None,
        help="paper-v1: the authors' v1 protocol (concentric gratings 227 px at 61.8 px/deg, "
        "0.1:0.5:29.6 cpd, VFSS v1 score, whole-map response, layer relu3_2 by default); "
        "grid and score options are then refused (default: no preset)",
    )
    _add_grid_options(p.add_argument_group("stimulus grid (refused with --preset)"))
    _add_score_options(p.add_argument_group("response and scores (refused with --preset)"))
    _add_run_options(p.add_argument_group("run"))
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--report", action="store_true", help="also write report.html into the results folder"
    )


def _add_grid_options(g: argparse._ArgumentGroup) -> None:
    from .._preflight import MAX_STIMULI

    g.add_argument("--ppd", type=float, default=None, help="pixels per degree (default: 60)")
    g.add_argument("--size", type=int, default=None, help="stimulus size in pixels (default: 224)")
    g.add_argument(
        "--n-frequencies", type=int, default=None, help="number of frequencies (default: 24)"
    )
    g.add_argument(
        "--n-orientations", type=int, default=None, help="number of orientations (default: 12)"
    )
    g.add_argument("--n-phases", type=int, default=None, help="number of phases (default: 4)")
    g.add_argument(
        "--f-min", type=float, default=None, help="lowest frequency, cycles/degree (default: 0.5)"
    )
    g.add_argument(
        "--f-max",
        type=float,
        default=None,
        help="highest frequency, cycles/degree (default: 0.95 x Nyquist)",
    )
    g.add_argument(
        "--max-stimuli",
        type=int,
        default=None,
        help=f"allow a grid of up to N stimuli (default: {MAX_STIMULI:,}; larger grids are "
        "refused)",
    )


def _add_run_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default: hvsprobe-results/BACKBONE-WEIGHTS)",
    )
    g.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda (default: cpu)")
    g.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32", help="compute precision"
    )
    g.add_argument("--batch-size", type=int, default=16, help="stimuli per forward pass")
    g.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between probe checkpoints (Ctrl-C and SIGTERM also save one)",
    )


def _add_score_options(g: argparse._ArgumentGroup) -> None:
    from ..scores import MU1_VARIANTS, MU2_VARIANTS, PE_VARIANTS

    g.add_argument(
        "--response",
        choices=("torus", "interior", "whole_map"),
        default=None,
        help="how a feature map becomes one number: torus (border-free, infinite grating), "
        "interior (border-free interior of a 2x stimulus) or whole_map (the paper's "
        "whole-map mean, border included); docs/method.md section 2 (default: torus)",
    )
    g.add_argument(
        "--csf",
        default=None,
        help="human CSF weighting mu1 csf_logslope (see `hvsprobe csf`); refused with "
        "--mu1 vfss_v1, which always uses the v1 Mannos-Sakrison CSF (default: barten)",
    )
    g.add_argument(
        "--mu1", choices=MU1_VARIANTS, default=None, help="frequency score (default: csf_logslope)"
    )
    g.add_argument(
        "--mu2", choices=MU2_VARIANTS, default=None, help="orientation score (default: circular)"
    )
    g.add_argument(
        "--pe",
        choices=PE_VARIANTS,
        default=None,
        help="combined score (default: product_layer_max)",
    )


def run_analyze(args: argparse.Namespace) -> int:
    """Run ``hvsprobe analyze``; returns the exit status."""
    from .._preflight import check_stimulus_budget
    from ..analyze import analyze, check_analysis, format_summary

    _check_numbers(args)
    grid, cfg, response = _analysis_settings(args)
    check_stimulus_budget(len(grid), args.max_stimuli)
    check_analysis(  # every check that needs no model, before a model file is run
        grid,
        cfg,
        out=args.out,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every,
        response=response,
    )
    model = model_from_args(args, args.layers)
    res = analyze(
        model if model is not None else args.backbone,
        weights=args.weights or "imagenet",
        layers=args.layers,
        grid=grid,
        out=args.out,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        score_config=cfg,
        response=response,
        progress=not args.no_progress,
        log=lambda m: print(m, file=sys.stderr),
        checkpoint_every=args.checkpoint_every,
    )
    print(
        format_summary(
            res.summary,
            res.scores.config["backbone"],
            res.tuning.config["weights"],
            res.selection,
            res.tuning.response_method,
        )
    )
    t = res.timings
    print(
        f"\nprobe {t['probe_s']:.1f} s{' (cached)' if res.reused_tuning else ''}, total {t['total_s']:.1f} s; results in {res.out}"
    )
    if args.report:
        _write_report(res.out)
    return 0


def _check_numbers(args: argparse.Namespace) -> None:
    """Finite, non-negative reals and counts >= 1, before any work."""
    from .._preflight import check_finite

    for option in ("ppd", "f_min", "f_max", "checkpoint_every"):
        if getattr(args, option) is not None:
            low = None if option == "ppd" else 0.0
            check_finite(getattr(args, option), "--" + option.replace("_", "-"), low=low)
    if args.ppd is not None and args.ppd <= 0:
        raise UserError(f"--ppd: must be > 0 (pixels per degree), got {args.ppd:g}")
    for option in ("size", "n_frequencies", "n_orientations", "n_phases", "batch_size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UserError(f"--{option.replace('_', '-')}: must be >= 1, got {value}")


def _write_report(out: Path) -> None:
    from ..report import build_report

    try:
        path = build_report(out)
    except KeyboardInterrupt as exc:
        kept = f"the results in {out} are complete, report.html was not written"
        raise Interrupted(getattr(exc, "signum", 2), kept) from None
    print(f"report: {path}")


def _analysis_settings(args: argparse.Namespace):
    """Grid, score config and response method from ``analyze``'s options (checked first)."""
    from ..scores import ScoreConfig
    from ..stimuli import StimulusGrid

    if args.preset == "paper-v1":
        given = [o for o in (*_GRID_OPTIONS, *_SCORE_OPTIONS) if getattr(args, o) is not None]
        if given:
            flags = ", ".join("--" + o.replace("_", "-") for o in given)
            raise ValueError(f"--preset paper-v1 fixes the grid and the score; drop {flags}")
        if args.layers is None and args.model is None and args.backbone == "vgg16":
            args.layers = ["relu3_2"]  # the layer the v1 code probed by default
        return StimulusGrid.paper_v1(), ScoreConfig(mu1="vfss_v1"), "whole_map"
    defaults = {"ppd": 60.0, "size": 224, "n_frequencies": 24, "n_orientations": 12}
    defaults.update({"n_phases": 4, "f_min": 0.5})
    kw = {
        o: getattr(args, o) if getattr(args, o) is not None else defaults.get(o)
        for o in _GRID_OPTIONS
    }
    grid = StimulusGrid.default(**kw)
    cfg = ScoreConfig(
        mu1=args.mu1 or "csf_logslope",
        mu2=args.mu2 or "circular",
        pe=args.pe or "product_layer_max",
        csf=args.csf,
    )
    if cfg.mu1 == "csf_logslope" and len(grid.frequencies) < 3:
        raise ValueError(
            f"mu1 needs at least 3 frequencies, got --n-frequencies {len(grid.frequencies)}"
        )
    return grid, cfg, args.response


def build_select(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe select``."""
    from ..selection import SCORE_COLUMNS, STRATEGIES

    p.add_argument("results", type=Path, help="results folder written by `hvsprobe analyze`")
    p.add_argument("--score", choices=SCORE_COLUMNS, default="pe", help="score column to rank by")
    p.add_argument(
        "--strategy", choices=STRATEGIES, default="top_fraction", help="how channels are chosen"
    )
    p.add_argument(
        "--value", type=float, default=0.25, help="fraction, count, threshold or soft exponent"
    )
    p.add_argument(
        "--scope",
        choices=("layer", "global"),
        default="layer",
        help="rank within each layer or across all layers",
    )
    p.add_argument("--bottom", action="store_true", help="take the worst channels (a control)")
    p.add_argument(
        "--layers", nargs="+", default=None, help="layers to select from (default: all in RESULTS)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed for random_fraction")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output JSON (default: RESULTS/selection-STRATEGY-VALUE-SCORE-SCOPE.json)",
    )


def run_select(args: argparse.Namespace) -> int:
    """Run ``hvsprobe select``; returns the exit status."""
    from .._preflight import check_finite, check_output_file
    from ..results_folder import load_scores
    from ..selection import select_channels

    check_finite(args.value, "--value")
    if args.out is not None:
        check_output_file(args.out)
    scores = load_scores(args.results)
    sel = select_channels(
        scores,
        score=args.score,
        strategy=args.strategy,
        value=args.value,
        scope=args.scope,
        bottom=args.bottom,
        layers=args.layers,
        seed=args.seed,
    )
    tag = f"{'bottom' if args.bottom else args.strategy}-{args.value:g}-{args.score}-{args.scope}"
    out = args.out or args.results / f"selection-{tag}.json"
    if args.out is None:
        check_output_file(out)
    sel.save(out)
    for name, entry in sel.layers.items():
        print(f"{name:10s} {len(entry['channels']):4d} / {entry['n_channels']}")
    print(f"{sel.n_selected} channels selected -> {out}")
    return 0
