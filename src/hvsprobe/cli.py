"""Command line: a thin layer over the library (parse, call, print).

``hvsprobe backbones``                     list registered networks
``hvsprobe analyze BACKBONE [options]``    probe, score, select; write a results folder
``hvsprobe select RESULTS [options]``      a new selection from a results folder's scores
``hvsprobe report RESULTS``                 report.html with figures for a results folder
``hvsprobe invert IMAGE [options]``        rebuild an image from the features of channel subsets
``hvsprobe distance REF DIST [--metric]``  perceptual distances between images or folders
``hvsprobe metrics``                       list the metrics
``hvsprobe csf [--data-root DIR]``         the human CSF models and their error vs castleCSF
``hvsprobe experiment claim1|claim2``      the claim experiments (generated docs/results)
``hvsprobe sr train|eval``                 super-resolution with the selected-channel loss
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    from .scores import MU1_VARIANTS, MU2_VARIANTS, PE_VARIANTS

    p = sub.add_parser("analyze", help="probe a backbone with gratings, score and select channels")
    p.add_argument("backbone", help="registered backbone name (see `hvsprobe backbones`)")
    p.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet' (default), 'random[:SEED]' or a weights file",
    )
    p.add_argument(
        "--layers", nargs="+", default=None, help="layer names (default: every ReLU output / block)"
    )
    p.add_argument("--ppd", type=float, default=60.0, help="pixels per degree (default 60)")
    p.add_argument("--size", type=int, default=224, help="stimulus size in pixels (default 224)")
    p.add_argument("--n-frequencies", type=int, default=24)
    p.add_argument("--n-orientations", type=int, default=12)
    p.add_argument("--n-phases", type=int, default=4)
    p.add_argument("--f-min", type=float, default=0.5, help="lowest frequency, cycles/degree")
    p.add_argument(
        "--f-max", type=float, default=None, help="highest frequency (default 0.95 x Nyquist)"
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
        "--csf", default="castle_fit", help="human CSF weighting mu1 (see `hvsprobe csf`)"
    )
    p.add_argument("--mu1", choices=MU1_VARIANTS, default="csf_logslope")
    p.add_argument("--mu2", choices=MU2_VARIANTS, default="circular")
    p.add_argument("--pe", choices=PE_VARIANTS, default="product_layer_max")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.add_argument(
        "--report", action="store_true", help="also write report.html into the results folder"
    )


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
    parser = argparse.ArgumentParser(
        prog="hvsprobe",
        description="Probe CNN channels with gratings and score them against human vision.",
    )
    parser.add_argument("--version", action="version", version=f"hvsprobe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("backbones", help="list registered backbones")
    _add_analyze(sub)
    _add_select(sub)
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
    e1.add_argument("--out", default="hvsprobe-results/claim1")
    e1.add_argument(
        "--doc", default="docs/results/claim1.md", help="markdown copy to write ('' for none)"
    )
    e1.add_argument("--live-only", action="store_true", help="skip ModelFest and castleCSF (quick)")
    e1.add_argument("--no-progress", action="store_true")
    from .sr.cli import add_claim2_command, add_sr_commands

    add_claim2_command(esub)
    add_sr_commands(sub)
    p = sub.add_parser("report", help="write report.html with figures for a results folder")
    p.add_argument("results", type=Path, help="results folder written by `hvsprobe analyze`")
    p.add_argument(
        "--out", type=Path, default=None, help="HTML file or folder (default RESULTS/report.html)"
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
    from .analyze import analyze, format_summary
    from .scores import ScoreConfig
    from .stimuli import StimulusGrid

    grid = StimulusGrid.default(
        ppd=args.ppd,
        size=args.size,
        n_frequencies=args.n_frequencies,
        n_orientations=args.n_orientations,
        n_phases=args.n_phases,
        f_min=args.f_min,
        f_max=args.f_max,
    )
    cfg = ScoreConfig(mu1=args.mu1, mu2=args.mu2, pe=args.pe, csf=args.csf)
    res = analyze(
        args.backbone,
        weights=args.weights,
        layers=args.layers,
        grid=grid,
        out=args.out,
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        score_config=cfg,
        progress=not args.no_progress,
        log=lambda m: print(m, file=sys.stderr),
    )
    print(
        format_summary(
            res.summary, res.scores.config["backbone"], res.tuning.config["weights"], res.selection
        )
    )
    t = res.timings
    print(
        f"\nprobe {t['probe_s']:.1f} s{' (cached)' if res.reused_tuning else ''}, total {t['total_s']:.1f} s; results in {res.out}"
    )
    if args.report:
        from .report import build_report

        path = build_report(res.out)
        print(f"report: {path}")
    return 0


def _cmd_select(args: argparse.Namespace) -> int:
    from .scores import ChannelScores
    from .selection import select_channels

    scores = ChannelScores.load(args.results)
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
    sel.save(out)
    for name, entry in sel.layers.items():
        print(f"{name:10s} {len(entry['channels']):4d} / {entry['n_channels']}")
    print(f"{sel.n_selected} channels selected -> {out}")
    return 0


def _cmd_distance(args: argparse.Namespace) -> int:
    from .metric import distance_command

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

    path = build_report(args.results, args.out, inversion=args.inversion)
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
    from .human import csf_error_table, get_csf, list_csfs

    for name in list_csfs():
        m = get_csf(name)
        print(f"{name:20s} peak {m.peak_frequency():6.2f} cpd")
    try:
        table = csf_error_table(args.data_root)
    except FileNotFoundError as exc:
        print(f"(no error table: {exc})")
        return 0
    print("\nRMSE in log10 sensitivity against the castleCSF static foveal achromatic rows:")
    for row in table:
        shown = {
            k: v for k, v in row.items() if isinstance(v, int | float | str) and k != "per_dataset"
        }
        print(
            "  "
            + ", ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items()
            )
        )
    return 0


_COMMANDS = {
    "backbones": _cmd_backbones,
    "analyze": _cmd_analyze,
    "select": _cmd_select,
    "csf": _cmd_csf,
    "distance": _cmd_distance,
    "metrics": _cmd_metrics,
    "report": _cmd_report,
    "invert": _cmd_invert,
    "experiment": _cmd_experiment,
    "sr": _cmd_sr,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hvsprobe`` console script."""
    from .backbones import WeightsNotFoundError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, WeightsNotFoundError, NotImplementedError) as exc:
        print(f"hvsprobe {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; partial results are kept and a rerun resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
