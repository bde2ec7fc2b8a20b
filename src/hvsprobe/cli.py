"""Command line: a thin layer over the library (parse, call, print).

``hvsprobe backbones``                     list registered networks
``hvsprobe analyze BACKBONE [options]``    probe, score, select; write a results folder
``hvsprobe analyze --model MODULE:FUNCTION``  the same for your own network (docs/models.md)
``hvsprobe layers BACKBONE | --model SPEC``   a network's layers with channels and strides
``hvsprobe select RESULTS [options]``      a new selection from a results folder's scores
``hvsprobe report RESULTS [RESULTS ...]``   report.html for a folder; compare.html for several
``hvsprobe invert IMAGE [options]``        rebuild an image from the features of channel subsets
``hvsprobe distance REF DIST [--metric]``  perceptual distances between images or folders
``hvsprobe metrics``                       list the metrics
``hvsprobe evaluate METRIC ... --dataset``  metrics against human judgments (SRCC, 2AFC, ...)
``hvsprobe csf [--data-root DIR]``         the human CSF models and their error vs castleCSF
``hvsprobe experiment claim1|claim2``      the claim experiments (generated docs/results)
``hvsprobe sr train|eval``                 super-resolution with the selected-channel loss
``hvsprobe data list|fetch|add``           human-judgment data sets: fetch, verify, register
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .errors import Interrupted, UserError, run_guarded


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    from ._preflight import MAX_STIMULI
    from .scores import MU1_VARIANTS, MU2_VARIANTS, PE_VARIANTS

    p = sub.add_parser("analyze", help="probe a backbone with gratings, score and select channels")
    p.add_argument(
        "backbone", nargs="?", help="registered backbone name (see `hvsprobe backbones`)"
    )
    p.add_argument(
        "--weights",
        default=None,
        help="'imagenet' (default), 'random[:SEED]' or a weights file (registered backbones)",
    )
    _add_model_options(p)
    p.add_argument(
        "--layers", nargs="+", default=None, help="layer names (default: every ReLU output / block)"
    )
    p.add_argument(
        "--preset",
        choices=("paper-v1",),
        default=None,
        help="paper-v1: the authors' v1 protocol (concentric gratings 227 px at 61.8 px/deg, "
        "0.1:0.5:29.6 cpd, VFSS v1 score, whole-map response, layer relu3_2 by default); "
        "grid and score options are then refused",
    )
    p.add_argument("--ppd", type=float, default=None, help="pixels per degree (default 60)")
    p.add_argument("--size", type=int, default=None, help="stimulus size in pixels (default 224)")
    p.add_argument("--n-frequencies", type=int, default=None, help="default 24")
    p.add_argument("--n-orientations", type=int, default=None, help="default 12")
    p.add_argument("--n-phases", type=int, default=None, help="default 4")
    p.add_argument(
        "--f-min", type=float, default=None, help="lowest frequency, cycles/degree (default 0.5)"
    )
    p.add_argument(
        "--f-max", type=float, default=None, help="highest frequency (default 0.95 x Nyquist)"
    )
    p.add_argument(
        "--response",
        choices=("torus", "interior", "whole_map"),
        default=None,
        help="how a feature map becomes one number: torus (default; border-free, infinite "
        "grating), interior (border-free interior of a 2x stimulus) or whole_map (the "
        "paper's whole-map mean, border included); docs/method.md section 2",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results folder (default hvsprobe-results/BACKBONE-WEIGHTS)",
    )
    p.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument(
        "--csf",
        default=None,
        help="human CSF weighting mu1 csf_logslope (default barten; see `hvsprobe csf`); "
        "refused with --mu1 vfss_v1, which always uses the v1 Mannos-Sakrison CSF",
    )
    p.add_argument("--mu1", choices=MU1_VARIANTS, default=None, help="default csf_logslope")
    p.add_argument("--mu2", choices=MU2_VARIANTS, default=None, help="default circular")
    p.add_argument("--pe", choices=PE_VARIANTS, default=None, help="default product_layer_max")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--report", action="store_true", help="also write report.html into the results folder"
    )
    p.add_argument(
        "--max-stimuli",
        type=int,
        default=None,
        help=f"allow a grid of up to N stimuli (default limit {MAX_STIMULI:,}; asks beyond it)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between probe checkpoints (default 60; Ctrl-C and SIGTERM also save one)",
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model MODULE:FUNCTION`` and its options (your own network, docs/models.md)."""
    p.add_argument(
        "--model",
        default=None,
        metavar="SPEC",
        help="your network: MODULE:FUNCTION, FILE.py:FUNCTION, tv:NAME or timm:NAME",
    )
    p.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument of FUNCTION (repeatable; values are Python literals or text)",
    )
    p.add_argument("--checkpoint", type=Path, default=None, help="state dict to load (--model)")
    p.add_argument(
        "--input-norm",
        default="imagenet",
        help="input normalisation for --model: imagenet (default), none or M1,M2,M3/S1,S2,S3",
    )


def _model_from_args(args: argparse.Namespace, layers: Sequence[str] | None = None):
    """The backbone named by ``args``: ``--model SPEC`` or a registered name (``None`` if so)."""
    from .backbones.custom import load_model, parse_input_norm, parse_model_args

    if (args.model is None) == (args.backbone is None):
        raise ValueError("give either a registered backbone name or --model MODULE:FUNCTION")
    if args.model is None:
        if args.model_arg or args.checkpoint is not None or args.input_norm != "imagenet":
            raise ValueError("--model-arg, --checkpoint and --input-norm apply to --model only")
        return None
    if getattr(args, "weights", None) is not None:
        raise ValueError("--weights applies to registered backbones; use --checkpoint with --model")
    return load_model(
        args.model,
        model_args=parse_model_args(args.model_arg),
        checkpoint=args.checkpoint,
        layers=layers,
        input_norm=parse_input_norm(args.input_norm),
    )


def _add_layers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layers", help="list a network's layers with channels and strides")
    p.add_argument("backbone", nargs="?", help="registered backbone name")
    _add_model_options(p)
    p.add_argument("--size", type=int, default=224, help="input side of the dry run (224)")


def _add_select(sub: argparse._SubParsersAction) -> None:
    from .selection import SCORE_COLUMNS, STRATEGIES

    p = sub.add_parser("select", help="select channels from a results folder's scores")
    p.add_argument("results", type=Path, help="results folder written by `hvsprobe analyze`")
    p.add_argument("--score", choices=SCORE_COLUMNS, default="pe")
    p.add_argument("--strategy", choices=STRATEGIES, default="top_fraction")
    p.add_argument(
        "--value", type=float, default=0.25, help="fraction, count, threshold or soft exponent"
    )
    p.add_argument("--scope", choices=("layer", "global"), default="layer")
    p.add_argument("--bottom", action="store_true", help="take the worst channels (a control)")
    p.add_argument("--layers", nargs="+", default=None)
    p.add_argument("--seed", type=int, default=0, help="seed for random_fraction")
    p.add_argument(
        "--out", type=Path, default=None, help="output JSON (default RESULTS/selection-<...>.json)"
    )


def _add_data(sub: argparse._SubParsersAction) -> None:
    from .datasets.cli import add_data_commands

    add_data_commands(sub)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    from .evaluate.run import DATASET_CHOICES

    p = sub.add_parser(
        "evaluate", help="evaluate metrics against human judgments (IQA data sets, BAPPS)"
    )
    p.add_argument("metrics", nargs="+", metavar="METRIC", help="metric names (`hvsprobe metrics`)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--dataset", choices=DATASET_CHOICES, help="a data set in its standard layout")
    src.add_argument(
        "--csv", type=Path, help="generic CSV: ref, dist, score, higher_is_better[, ...]"
    )
    p.add_argument(
        "--data-root", type=Path, default=None, help="folder holding iqa/ (default $HVSPROBE_DATA)"
    )
    p.add_argument("--selection", type=Path, default=None, help="selection JSON for 'selected'")
    p.add_argument("--split", default="val", help="BAPPS 2AFC split (default val)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (0: none)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default=None)
    p.add_argument(
        "--cache", type=Path, default=None, help="value cache (default ~/.cache/hvsprobe/...)"
    )
    p.add_argument("--no-cache", action="store_true", help="compute every value afresh")
    p.add_argument("--out", type=Path, default=None, help="folder for evaluate.json/.csv")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _add_invert(sub: argparse._SubParsersAction) -> None:
    from .invert import DEFAULT_LAYERS, InversionConfig

    d = InversionConfig()
    p = sub.add_parser("invert", help="rebuild an image from the features of channel subsets")
    p.add_argument("image", type=Path, help="target image (centre-cropped and resized to --size)")
    p.add_argument(
        "--selection", type=Path, action="append", default=None, help="selection JSON (repeatable)"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="results folder: use its scores for top / bottom / random subsets (the default set)",
    )
    p.add_argument("--fraction", type=float, default=0.25, help="share per layer (with --results)")
    p.add_argument("--layers", nargs="+", default=list(DEFAULT_LAYERS), help="(with --results)")
    p.add_argument("--size", type=int, default=256, help="square size in pixels; 0 keeps the image")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (pixel units)")
    p.add_argument("--tv-weight", type=float, default=d.tv_weight, help="0 turns the prior off")
    p.add_argument("--seed", type=int, default=d.seed, help="starting noise and random subset")
    p.add_argument("--out", type=Path, default=None, help="folder (default inversion-IMAGESTEM)")
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = _Parser(
        prog="hvsprobe",
        description="Probe CNN channels with gratings and score them against human vision.",
    )
    parser.add_argument("--version", action="version", version=f"hvsprobe {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of every error (any position)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("backbones", help="list registered backbones")
    _add_analyze(sub)
    _add_layers(sub)
    _add_select(sub)
    _add_evaluate(sub)
    _add_invert(sub)
    p = sub.add_parser(
        "distance", help="perceptual distance between two images or two folders (paired by name)"
    )
    p.add_argument("ref", type=Path, help="reference image or folder")
    p.add_argument("dist", type=Path, help="distorted image or folder")
    p.add_argument(
        "--metric",
        nargs="+",
        default=["lpips-alex"],
        help="metric names (see --list-metrics); default lpips-alex",
    )
    p.add_argument(
        "--selection", type=Path, default=None, help="selection JSON for the 'selected' metric"
    )
    p.add_argument("--out", type=Path, default=None, help="CSV to write (default: print only)")
    p.add_argument("--device", default=None)
    p = sub.add_parser("experiment", help="run a claim experiment and write its generated results")
    esub = p.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    e1 = esub.add_parser(
        "claim1", help="do higher-scoring channels predict human judgments better?"
    )
    e1.add_argument("--backbones", nargs="+", default=["vgg16", "alexnet"])
    e1.add_argument("--fractions", nargs="+", type=float, default=[0.10, 0.25, 0.50])
    e1.add_argument("--n-random", type=int, default=20)
    e1.add_argument("--n-boot", type=int, default=1000)
    e1.add_argument("--seed", type=int, default=0)
    e1.add_argument(
        "--data-root",
        default=None,
        help="folder with iqa/ and psychophysics/ (default $HVSPROBE_DATA)",
    )
    e1.add_argument(
        "--results-root",
        default="hvsprobe-results",
        help="where BACKBONE-imagenet results folders live",
    )
    e1.add_argument(
        "--out", default="hvsprobe-results/claim1", help="output folder (CSV, JSON, claim1.md)"
    )
    e1.add_argument(
        "--doc",
        default=None,
        help="also write the page here, keeping its old verdict in a History section "
        "(e.g. docs/results/claim1.md; default: no page outside --out)",
    )
    e1.add_argument("--cache-dir", default=None, help="per-channel distance caches (default --out)")
    e1.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    e1.add_argument("--live-only", action="store_true", help="skip ModelFest and castleCSF (quick)")
    e1.add_argument("--no-progress", action="store_true")
    from .experiments.claim2 import add_claim2_command
    from .sr.cli import add_sr_commands

    add_claim2_command(esub)
    add_sr_commands(sub)
    p = sub.add_parser(
        "report", help="write report.html for a results folder, or compare.html for several"
    )
    p.add_argument(
        "results", type=Path, nargs="+", help="results folder(s) written by `hvsprobe analyze`"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file or folder (default RESULTS/report.html; several folders: "
        "./hvsprobe-comparison/compare.html)",
    )
    p.add_argument(
        "--inversion", type=Path, default=None, help="folder from `hvsprobe invert`: show it"
    )
    p = sub.add_parser("metrics", help="list the metrics `hvsprobe distance` accepts")
    p = sub.add_parser("csf", help="list human CSF models and their error against castleCSF data")
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding psychophysics/castleCSF (default $HVSPROBE_DATA)",
    )
    p.add_argument("--per-dataset", action="store_true", help="also print each held-out dataset")
    _add_data(sub)
    return parser


def _cmd_backbones(_args: argparse.Namespace) -> int:
    from .backbones import backbone_info, get_backbone, list_backbones

    for name in list_backbones():
        info = backbone_info(name)
        bb = get_backbone(name, "random:0")
        n_ch = sum(bb.channels[n] for n in bb.default_layers)
        print(
            f"{name:14s} {info.description}; {len(bb.default_layers)} default layers, {n_ch} channels"
        )
        print(f"{'':14s} {info.reference}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ._preflight import check_finite, check_stimulus_budget
    from .analyze import analyze, format_summary

    for option in ("ppd", "f_min", "f_max", "checkpoint_every"):
        if getattr(args, option) is not None:
            check_finite(getattr(args, option), "--" + option.replace("_", "-"), low=0.0)
    for option in ("size", "n_frequencies", "n_orientations", "n_phases", "batch_size"):
        value = getattr(args, option)
        if value is not None and value < 1:
            raise UserError(f"--{option.replace('_', '-')}: must be >= 1, got {value}")
    grid, cfg, response = _analysis_settings(args)
    check_stimulus_budget(len(grid), args.max_stimuli)
    model = _model_from_args(args, args.layers)
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
        from .report import build_report

        try:
            path = build_report(res.out)
        except KeyboardInterrupt as exc:
            kept = f"the results in {res.out} are complete, report.html was not written"
            raise Interrupted(getattr(exc, "signum", 2), kept) from None
        print(f"report: {path}")
    return 0


_GRID_OPTIONS = ("ppd", "size", "n_frequencies", "n_orientations", "n_phases", "f_min", "f_max")
_SCORE_OPTIONS = ("csf", "mu1", "mu2", "pe", "response")


def _analysis_settings(args: argparse.Namespace):
    """Grid, score config and response method from ``analyze``'s options (checked first)."""
    from .scores import ScoreConfig
    from .stimuli import StimulusGrid

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


def _cmd_layers(args: argparse.Namespace) -> int:
    from .backbones import list_layers

    model = _model_from_args(args)
    infos = list_layers(model if model is not None else args.backbone, size=args.size)
    name = model.name if model is not None else args.backbone
    print(f"{name}: {len(infos)} layers; sizes and strides for a {args.size} x {args.size} input")
    print(f"{'layer':24s} {'module':24s} {'kind':16s} {'channels':>8s} {'size':>9s} {'stride':>7s}")
    for i in infos:
        size = f"{i.height}x{i.width}"
        print(
            f"{i.name:24s} {i.module:24s} {i.kind:16s} {i.channels:8d} {size:>9s} {i.stride:7.4g}"
        )
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    from ._preflight import check_finite, check_output_file
    from .results_folder import load_scores
    from .selection import select_channels

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


def _cmd_distance(args: argparse.Namespace) -> int:
    from ._preflight import check_output_file
    from .metric import distance_command

    if args.out is not None:
        check_output_file(args.out)
    rows = distance_command(
        args.ref, args.dist, args.metric, args.out, selection=args.selection, device=args.device
    )
    names = list(args.metric)
    print("pair," + ",".join(names))
    for row in rows:
        print(row["pair"] + "," + ",".join(f"{row[n]:.6g}" for n in names))
    if args.out is not None:
        print(f"{len(rows)} pairs -> {args.out}", file=sys.stderr)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate.run import default_cache_path, evaluate_metrics

    if args.n_boot < 0 or args.batch_size < 1:
        raise ValueError("--n-boot must be >= 0 and --batch-size >= 1")
    ev = evaluate_metrics(
        args.metrics,
        args.dataset,
        data_root=args.data_root,
        csv_path=args.csv,
        selection=args.selection,
        split=args.split,
        n_boot=args.n_boot,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
        cache=None if args.no_cache else (args.cache or default_cache_path()),
        progress=not args.no_progress,
    )
    print(ev.format())
    if args.out is not None:
        paths = ev.write(args.out)
        print(f"results: {', '.join(str(p) for p in paths)}", file=sys.stderr)
    return 0


def _cmd_experiment(args: argparse.Namespace) -> int:
    if args.experiment == "claim1":
        from .experiments.claim1 import Claim1Config, run_claim1

        cfg = Claim1Config(
            backbones=tuple(args.backbones),
            fractions=tuple(args.fractions),
            n_random=args.n_random,
            n_boot=args.n_boot,
            seed=args.seed,
            data_root=args.data_root,
            results_root=args.results_root,
            out=args.out,
            doc=args.doc or None,
            live_only=args.live_only,
            cache_dir=args.cache_dir,
            level=args.level,
        )
        res = run_claim1(
            cfg, progress=not args.no_progress, log=lambda m: print(m, file=sys.stderr)
        )
        print(
            f"claim1: {len(res.rows)} metric variants in {res.timings['total_s'] / 60:.1f} min -> {cfg.out}"
        )
        if cfg.doc:
            print(f"markdown: {cfg.doc}")
        return 0
    from .sr.cli import run as run_sr

    return run_sr(args)


def _cmd_sr(args: argparse.Namespace) -> int:
    from .sr.cli import run as run_sr

    return run_sr(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report
    from .results_folder import check_results_folder

    for folder in args.results:
        check_results_folder(folder)
    if len(args.results) > 1:
        from .report.compare import build_comparison

        if args.inversion is not None:
            raise ValueError("--inversion applies to a single results folder, not a comparison")
        out = args.out if args.out is not None else Path("hvsprobe-comparison")
        print(f"comparison: {build_comparison(args.results, out)}")
        return 0
    path = build_report(args.results[0], args.out, inversion=args.inversion)
    print(f"report: {path}")
    return 0


def _cmd_invert(args: argparse.Namespace) -> int:
    from .invert import InversionConfig, default_selections, invert, load_target, save_inversion
    from .scores import ChannelScores

    if (args.selection is None) == (args.results is None):
        raise ValueError("give either --selection FILE (repeatable) or --results DIR, not both")
    cfg = InversionConfig(steps=args.steps, lr=args.lr, tv_weight=args.tv_weight, seed=args.seed)
    if args.results is not None:
        scores = ChannelScores.load(args.results)
        sels = default_selections(
            scores, fraction=args.fraction, layers=args.layers, seed=args.seed
        )
    else:
        sels = list(args.selection)
    target = load_target(args.image, args.size or None)
    res = invert(target, sels, config=cfg, device=args.device, progress=not args.no_progress)
    out = args.out or Path(f"inversion-{args.image.stem}")
    save_inversion(res, out, image_sources=[args.image], names=[args.image.stem])
    for k, r in res.reconstructions.items():
        m = " ".join(f"{n}={v:.4g}" for n, v in r.measures[0].items())
        print(f"{k:10s} distance {r.initial_distance[0]:.4g} -> {r.final_distance[0]:.4g}  {m}")
    print(f"{len(res.reconstructions)} reconstructions in {res.seconds:.1f} s -> {out}")
    return 0


def _cmd_metrics(_args: argparse.Namespace) -> int:
    from .metric import list_metrics, metric_info

    for name in list_metrics():
        info = metric_info(name)
        better = "higher is better" if info.higher_is_better else "lower is better"
        print(f"{name:14s} {info.description} ({better})")
    return 0


def _cmd_csf(args: argparse.Namespace) -> int:
    from .human import get_csf, list_csfs
    from .human.heldout import best_heldout_model, csf_heldout_table

    if args.data_root is not None and not args.data_root.is_dir():
        raise UserError(
            f"--data-root {args.data_root}: no such folder; give the folder that holds "
            "psychophysics/castleCSF (or set HVSPROBE_DATA)"
        )
    # a missing data root raises FileNotFoundError before anything is printed: main()
    # reports it on stderr and exits 2
    table = csf_heldout_table(args.data_root)
    for name in list_csfs():
        m = get_csf(name)
        print(f"{name:20s} peak {m.peak_frequency():6.2f} cpd (at its default parameters)")
    r0 = table[0]
    print(
        "\nRMSE in log10 sensitivity against the castleCSF static foveal achromatic rows "
        f"({r0['n_rows']} rows, {r0['n_datasets']} datasets).\n"
        "  no fit: published constants; in-sample: fitted and scored on all rows;\n"
        "  LODO: each dataset scored by a fit to the other datasets only (pooled over rows);\n"
        "  LODO/ds: unweighted mean of the per-dataset LODO RMSEs;\n"
        "  LODO shape: LODO after removing each held-out dataset's own mean residual;\n"
        f"  near in/LODO: in-sample and LODO on the {r0['n_rows_near_probe']} rows at "
        "10-1000 cd/m^2 and 2-100 deg^2."
    )
    head = ("model", "fitted", "no fit", "in-sample", "LODO", "LODO/ds", "LODO shape")
    head += ("near in/LODO",)
    print(f"{head[0]:19s} {head[1]:20s} " + " ".join(f"{h:>10s}" for h in head[2:]))
    for r in table:
        raw = r["unfitted_rmse_log10"]
        cells = ["-" if raw is None else f"{raw:.3f}"]
        cells += [f"{r[k]:.3f}" for k in ("in_sample_rmse_log10", "lodo_rmse_log10")]
        cells += [f"{r[k]:.3f}" for k in ("lodo_mean_dataset_rmse_log10", "lodo_shape_rmse_log10")]
        near = (r["in_sample_near_probe_rmse_log10"], r["lodo_near_probe_rmse_log10"])
        cells.append(f"{near[0]:.3f}/{near[1]:.3f}")
        print(f"{r['model']:19s} {r['fitted']:20s} " + " ".join(f"{c:>10s}" for c in cells))
    if args.per_dataset:
        for r in table:
            print(f"\n{r['model']}: dataset, rows, in-sample, LODO, LODO mean residual")
            for ds, p in r["per_dataset"].items():
                print(
                    f"  {ds:12s} {p['n_rows']:4d} {p['in_sample_rmse_log10']:.3f} "
                    f"{p['lodo_rmse_log10']:.3f} {p['lodo_mean_residual_log10']:+.3f}"
                )
    print(f"\nlowest held-out (LODO) error: {best_heldout_model(table)} (docs/human.md)")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from .datasets.cli import run

    return run(args)


_COMMANDS = {
    "backbones": _cmd_backbones,
    "analyze": _cmd_analyze,
    "layers": _cmd_layers,
    "select": _cmd_select,
    "csf": _cmd_csf,
    "distance": _cmd_distance,
    "metrics": _cmd_metrics,
    "evaluate": _cmd_evaluate,
    "report": _cmd_report,
    "invert": _cmd_invert,
    "experiment": _cmd_experiment,
    "sr": _cmd_sr,
    "data": _cmd_data,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hvsprobe`` console script.

    Every command runs inside one error boundary (:func:`hvsprobe.errors.run_guarded`):
    a failure caused by the user's input, files, environment or resources is one line on
    stderr and exit status 2; Ctrl-C and SIGTERM exit with 130 / 143 after saying what was
    kept; anything else is a bug and shows its traceback. ``--debug`` (anywhere on the
    line) shows tracebacks for everything.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2

    def command() -> int:
        from ._preflight import check_device

        if getattr(args, "device", None) is not None:
            check_device(args.device)
        return _COMMANDS[args.command](args)

    return run_guarded(args.command, command, debug=debug)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
