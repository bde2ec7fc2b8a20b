"""``hvsprobe experiment claim1|claim2|csf_study|border_study|ppd_study|phase_study|inversion``
and ``hvsprobe sr train|eval``.

Claim 1's options are parsed here; claim 2 and the studies define theirs in their module
(``add_arguments``, mounted here; the experiments import no CLI code); ``sr``'s options live
in :mod:`hvsprobe.sr.cli`. All run inside :func:`hvsprobe.cli.app.main`'s one error boundary.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .metrics import DATA_ROOT_DEFAULT


def build_experiment(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe experiment``."""
    esub = p.add_subparsers(
        dest="experiment", required=True, metavar="EXPERIMENT", help="the claim to test"
    )
    _add_claim1(esub)
    for name, help_line in STUDIES.items():
        module = importlib.import_module(f"hvsprobe.experiments.{name}")
        sp = esub.add_parser(name, help=help_line, description=module.DESCRIPTION)
        module.add_arguments(sp)


#: The measurement studies and the inversion page: each module's options and run, also
#: ``python -m hvsprobe.experiments.NAME`` (:mod:`hvsprobe.experiments.entry`).
STUDIES = {
    "claim2": "selected-channel perceptual loss vs VGG/random in x4 SR (trains many models)",
    "csf_study": "how much the CSF changes the PE ranking (docs/results/csf_study.md)",
    "border_study": "whole-map against border-free scores; the three routes",
    "ppd_study": "results folders at different pixels per degree compared",
    "phase_study": "how many grating phases the default grid needs",
    "inversion": "feature inversion from top / bottom / random PE subsets",
}


def _add_claim1(esub: argparse._SubParsersAction) -> None:
    e1 = esub.add_parser(
        "claim1",
        help="do higher-scoring channels predict human judgments better?",
        description="Claim 1: do higher-scoring channels predict human judgments better? "
        "Needs the results folders of `hvsprobe analyze` for each backbone.",
    )
    e1.add_argument(
        "--backbones",
        nargs="+",
        default=["vgg16", "alexnet"],
        help="backbones whose results folders are compared",
    )
    e1.add_argument(
        "--fractions",
        nargs="+",
        type=float,
        default=[0.10, 0.25, 0.50],
        help="shares of channels per layer to select",
    )
    e1.add_argument("--n-random", type=int, default=20, help="random subsets per fraction")
    e1.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates")
    e1.add_argument("--seed", type=int, default=0, help="seed of random subsets and bootstrap")
    e1.add_argument(
        "--data-root",
        default=None,
        help=f"folder with iqa/ and psychophysics/ ({DATA_ROOT_DEFAULT})",
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
    e1.add_argument(
        "--cache-dir", default=None, help="per-channel distance caches (default: --out)"
    )
    e1.add_argument("--level", type=float, default=0.95, help="interval level")
    e1.add_argument("--live-only", action="store_true", help="skip ModelFest and castleCSF (quick)")
    e1.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run_experiment(args: argparse.Namespace) -> int:
    """Run ``hvsprobe experiment``; returns the exit status."""
    if args.experiment in STUDIES:
        module = importlib.import_module(f"hvsprobe.experiments.{args.experiment}")
        raw = list(getattr(args, "raw_argv", None) or sys.argv[1:])
        # the page records the equivalent `python -m hvsprobe.experiments.NAME ARGS`
        argv = raw[raw.index(args.experiment) + 1 :] if args.experiment in raw else []
        return int(module.run(args, argv))
    from ..experiments.claim1 import Claim1Config, run_claim1

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
    res = run_claim1(cfg, progress=not args.no_progress, log=lambda m: print(m, file=sys.stderr))
    print(
        f"claim1: {len(res.rows)} metric variants in {res.timings['total_s'] / 60:.1f} min -> {cfg.out}"
    )
    if cfg.doc:
        print(f"markdown: {cfg.doc}")
    return 0


def build_sr(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe sr``."""
    from ..sr.cli import add_sr_subcommands

    add_sr_subcommands(p)


def run_sr(args: argparse.Namespace) -> int:
    """Run ``hvsprobe sr``; returns the exit status."""
    from ..sr.cli import run

    return run(args)
