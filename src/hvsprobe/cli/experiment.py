"""``hvsprobe experiment claim1|claim2`` and ``hvsprobe sr train|eval``.

Claim 2 is parsed by :mod:`hvsprobe.experiments.claim2`, ``sr`` by :mod:`hvsprobe.sr.cli`; both run through it.
"""

from __future__ import annotations

import argparse


def build_experiment(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe experiment``."""
    from ..experiments.claim1_command import add_claim1_command
    from ..experiments.claim2 import add_claim2_command

    esub = p.add_subparsers(
        dest="experiment", required=True, metavar="EXPERIMENT", help="the claim to test"
    )
    add_claim1_command(esub)
    add_claim2_command(esub)


def run_experiment(args: argparse.Namespace) -> int:
    """Run ``hvsprobe experiment``; returns the exit status."""
    if args.experiment != "claim1":
        from ..sr.cli import run as run_sr

        return run_sr(args)
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
