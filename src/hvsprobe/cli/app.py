"""The ``hvsprobe`` command: the table of commands, the parser and :func:`main`.

Each command is one line of :data:`_TABLE`: its name, its one-line help, the function that
adds its options (run only when the command is used, so ``hvsprobe --help`` loads no model
code) and the function that runs it. The functions live in one module per command group
(``analyze.py``, ``networks.py``, ``metrics.py``, ``report.py``, ``human.py``,
``experiment.py``; ``data`` in :mod:`hvsprobe.datasets.cli`, ``sr`` in :mod:`hvsprobe.sr.cli`, ``experiment claim2`` in
:mod:`hvsprobe.experiments.claim2`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import run_guarded
from . import analyze, battery, experiment, human, metrics, networks, report, sweep
from .parser import CommandParser

_DESCRIPTION = """\
Probe CNN channels with gratings and score them against human vision.

the two main commands:
  hvsprobe analyze vgg16                           probe, score and select VGG-16's channels;
                                                   writes hvsprobe-results/vgg16-imagenet/
  hvsprobe report hvsprobe-results/vgg16-imagenet  report.html for that results folder
"""

_EPILOG = """\
`hvsprobe COMMAND --help` lists a command's options with their defaults.
A failure caused by an input, a file or the environment is one line on stderr with exit
status 2; --debug (anywhere on the line) shows tracebacks. README.md has more examples.
"""


def _build_data(p: argparse.ArgumentParser) -> None:
    from ..datasets.cli import add_data_arguments

    add_data_arguments(p)


def _run_data(args: argparse.Namespace) -> int:
    from ..datasets.cli import run

    return run(args)


_Build = Callable[[argparse.ArgumentParser], None]
_Run = Callable[[argparse.Namespace], int]

#: name, one-line help, options builder, handler: the order of ``hvsprobe --help``.
_TABLE: tuple[tuple[str, str, _Build, _Run], ...] = (
    ("analyze", "probe a network with gratings, score and select its channels",
     analyze.build_analyze, analyze.run_analyze),
    ("report", "report.html for a results folder; compare.html for several",
     report.build_report, report.run_report),
    ("sweep", "analyse many models from a TOML file; a leaderboard page",
     sweep.build_sweep, sweep.run_sweep),
    ("select", "a new channel selection from a results folder's scores",
     analyze.build_select, analyze.run_select),
    ("backbones", "list the registered backbones", networks.build_backbones, networks.run_backbones),
    ("layers", "list a network's layers with channels and strides",
     networks.build_layers, networks.run_layers),
    ("metrics", "list the metrics (for distance and evaluate)",
     metrics.build_metrics, metrics.run_metrics),
    ("distance", "perceptual distances between two images or two folders",
     metrics.build_distance, metrics.run_distance),
    ("evaluate", "metrics against human judgments (IQA data sets, BAPPS)",
     metrics.build_evaluate, metrics.run_evaluate),
    ("invert", "rebuild an image from the features of channel subsets",
     report.build_invert, report.run_invert),
    ("csf", "human CSF models and their error against castleCSF data",
     human.build_csf, human.run_csf),
    ("battery", "low-level human-vision battery on a network, channel subset or metric",
     battery.build_battery, battery.run_battery_command),
    ("experiment", "the experiments: claim1, claim2 and the studies (generated results)",
     experiment.build_experiment, experiment.run_experiment),
    ("sr", "x4 super-resolution: train, evaluate", experiment.build_sr, experiment.run_sr),
    ("data", "list, fetch and register human-judgment data sets", _build_data, _run_data),
)  # fmt: skip

#: command name -> handler (what :func:`main` dispatches on).
_COMMANDS: dict[str, _Run] = {name: run for name, _, _, run in _TABLE}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs); a command's options load on use."""
    parser = CommandParser(prog="hvsprobe", description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"hvsprobe {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of every error (any position)"
    )
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="`hvsprobe COMMAND --help`: its options",
    )
    for name, help_line, build, _run in _TABLE:
        sub.add_parser(name, help=help_line, description=_sentence(help_line), build=build)
    return parser


def _sentence(line: str) -> str:
    return line[0].upper() + line[1:] + "."


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

    args.raw_argv = argv  # what the experiments' pages record as their command

    def command() -> int:
        from .._preflight import check_device

        if getattr(args, "device", None) is not None:
            check_device(args.device)
        return _COMMANDS[args.command](args)

    return run_guarded(args.command, command, debug=debug)
