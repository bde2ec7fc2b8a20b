"""``hvsprobe experiment claim1|claim2|csf_study|border_study|ppd_study|phase_study|inversion``
and ``hvsprobe sr train|eval``.

Claim 1's options live in :mod:`hvsprobe.experiments.claim1_command`; claim 2 and the studies
define theirs in their module (``add_arguments``, mounted here; the experiments import no CLI
code); ``sr``'s options live
in :mod:`hvsprobe.sr.cli`. All run inside :func:`hvsprobe.cli.app.main`'s one error boundary.
"""

from __future__ import annotations

import argparse
import importlib
import sys


def build_experiment(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe experiment``."""
    from ..experiments.claim1_command import add_claim1_command

    esub = p.add_subparsers(
        dest="experiment", required=True, metavar="EXPERIMENT", help="the claim to test"
    )
    add_claim1_command(esub)
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


def run_experiment(args: argparse.Namespace) -> int:
    """Run ``hvsprobe experiment``; returns the exit status."""
    if args.experiment in STUDIES:
        module = importlib.import_module(f"hvsprobe.experiments.{args.experiment}")
        raw = list(getattr(args, "raw_argv", None) or sys.argv[1:])
        # the page records the equivalent `python -m hvsprobe.experiments.NAME ARGS`
        argv = raw[raw.index(args.experiment) + 1 :] if args.experiment in raw else []
        return int(module.run(args, argv))
    from ..experiments.claim1_command import run_from_args

    return run_from_args(args)


def build_sr(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe sr``."""
    from ..sr.cli import add_sr_subcommands

    add_sr_subcommands(p)


def run_sr(args: argparse.Namespace) -> int:
    """Run ``hvsprobe sr``; returns the exit status."""
    from ..sr.cli import run

    return run(args)
