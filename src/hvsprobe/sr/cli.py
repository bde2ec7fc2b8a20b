"""Command line for super-resolution: ``hvsprobe sr train|eval`` (claim 2's options are in
:mod:`hvsprobe.cli.experiment`).

:func:`add_sr_subcommands` adds ``train`` and ``eval`` to the ``sr`` parser of
:mod:`hvsprobe.cli.app`; every leaf parser stores its handler in ``args.sr_handler`` and
:func:`run` calls it. ``python -m hvsprobe.sr.cli ...`` works on its own, also under
``torchrun``, inside the same error boundary (:func:`hvsprobe.errors.run_guarded`)::

    torchrun --nproc_per_node 2 -m hvsprobe.sr.cli sr train --loss vgg --lambda 0.1 ...
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "add_sr_commands",
    "add_sr_subcommands",
    "build_parser",
    "main",
    "run",
]


def _add_train(sub: Any) -> None:
    from .data import DEFAULT_TRAIN_SETS
    from .losses import PERCEPTUAL_KINDS
    from .model import PRESETS

    p = sub.add_parser(
        "train", help="train or fine-tune an x4 SR network (L1 + lambda x perceptual)"
    )
    p.add_argument("--steps", type=int, required=True, help="total optimiser steps")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--loss", choices=PERCEPTUAL_KINDS, default="none", help="perceptual term")
    p.add_argument(
        "--selection",
        type=Path,
        default=None,
        help="selection JSON (needed by --loss selected and random; default: none)",
    )
    p.add_argument(
        "--selection-seed",
        type=int,
        default=None,
        help="seed of the random subset (default: --seed)",
    )
    p.add_argument(
        "--lambda", dest="lam", metavar="LAMBDA", type=float, default=0.0, help="perceptual weight"
    )
    p.add_argument("--preset", choices=sorted(PRESETS), default="small", help="network size")
    p.add_argument(
        "--n-blocks", type=int, default=None, help="residual blocks (default: the preset's)"
    )
    p.add_argument(
        "--n-feats", type=int, default=None, help="feature channels (default: the preset's)"
    )
    p.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt")
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this checkpoint's weights (default: random, --model-seed)",
    )
    p.add_argument("--seed", type=int, default=0, help="data order seed")
    p.add_argument("--model-seed", type=int, default=0, help="weight initialisation seed")
    _add_train_run_options(p, DEFAULT_TRAIN_SETS)
    p.set_defaults(sr_handler=_cmd_train)


def _add_train_run_options(p: argparse.ArgumentParser, train_sets: Sequence[str]) -> None:
    from .data import DATA_ROOT_HELP, THREADS_HELP

    p.add_argument("--batch-size", type=int, default=16, help="global batch (all processes)")
    p.add_argument("--patch", type=int, default=96, help="HR patch size (multiple of 4)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate")
    p.add_argument(
        "--schedule", choices=("cosine", "constant"), default="cosine", help="learning rate"
    )
    p.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32", help="compute precision"
    )
    p.add_argument(
        "--device", default=None, help="cpu or cuda (default: cuda if available, else cpu)"
    )
    p.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    p.add_argument("--train-sets", nargs="+", default=list(train_sets), help="training image sets")
    p.add_argument("--ckpt-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    p.add_argument("--num-workers", type=int, default=0, help="data loader workers")
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _add_eval(sub: Any) -> None:
    from .data import DATA_ROOT_HELP, TEST_SETS, THREADS_HELP

    p = sub.add_parser("eval", help="PSNR/SSIM (Y), LPIPS and crops of checkpoints vs bicubic")
    p.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint.pt files (or run folders)")
    p.add_argument(
        "--names", nargs="+", default=None, help="display names (default: the folder names)"
    )
    p.add_argument("--sets", nargs="+", default=list(TEST_SETS), help="test image sets")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--lpips",
        nargs="*",
        default=["alex", "vgg"],
        choices=("alex", "vgg"),
        help="LPIPS networks (none: no LPIPS)",
    )
    p.add_argument("--no-bicubic", action="store_true", help="leave out the bicubic baseline")
    p.add_argument("--crops", type=int, default=3, help="side-by-side crops per set")
    p.add_argument(
        "--device", default=None, help="cpu or cuda (default: cuda if available, else cpu)"
    )
    p.add_argument("--data-root", type=Path, default=None, help=DATA_ROOT_HELP)
    p.add_argument("--threads", type=int, default=None, help=THREADS_HELP)
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(sr_handler=_cmd_eval)


def add_sr_subcommands(p: argparse.ArgumentParser) -> None:
    """Add ``train`` and ``eval`` to the parser of an ``sr`` command.

    Examples
    --------
    >>> p = argparse.ArgumentParser(prog="hvsprobe sr")
    >>> add_sr_subcommands(p)
    >>> p.parse_args(["train", "--steps", "3", "--out", "run"]).sr_command
    'train'
    """
    sub = p.add_subparsers(
        dest="sr_command", required=True, metavar="SR_COMMAND", help="train or evaluate"
    )
    _add_train(sub)
    _add_eval(sub)


def add_sr_commands(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sr`` (with ``train`` and ``eval``) to an ``add_subparsers()`` object."""
    p = subparsers.add_parser("sr", help="x4 super-resolution: train, evaluate")
    add_sr_subcommands(p)
    return p


def _threads(n: int | None) -> None:
    if n:
        import torch

        torch.set_num_threads(n)


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    _threads(args.threads)
    cfg = TrainConfig(
        out=str(args.out),
        steps=args.steps,
        preset=args.preset,
        n_blocks=args.n_blocks,
        n_feats=args.n_feats,
        loss=args.loss,
        lam=args.lam,
        selection=str(args.selection) if args.selection else None,
        selection_seed=args.selection_seed,
        seed=args.seed,
        model_seed=args.model_seed,
        init=str(args.init) if args.init else None,
        batch_size=args.batch_size,
        patch=args.patch,
        lr=args.lr,
        schedule=args.schedule,
        precision=args.precision,
        device=args.device,
        data_root=str(args.data_root) if args.data_root else None,
        train_sets=args.train_sets,
        ckpt_every=args.ckpt_every,
        log_every=args.log_every,
        num_workers=args.num_workers,
        progress=not args.no_progress,
    )
    res = train(cfg, resume=args.resume)
    if res.summary.get("world_size", 1) == 1 or _rank() == 0:
        print(
            f"step {res.step}/{cfg.steps}: loss {res.last_loss:.5f}, {res.step_time_s:.3f} s/step "
            f"({res.images_per_s:.1f} images/s); {res.out / 'checkpoint.pt'}"
        )
    return 0


def _rank() -> int:
    import os

    return int(os.environ.get("RANK", "0"))


def _cmd_eval(args: argparse.Namespace) -> int:
    from .eval import evaluate

    _threads(args.threads)
    paths = [p / "checkpoint.pt" if p.is_dir() else p for p in args.checkpoints]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"no checkpoint at {', '.join(missing)}")
    names = args.names or [p.parent.name for p in paths]
    if len(names) != len(paths) or len(set(names)) != len(names):
        raise ValueError("--names needs one distinct name per checkpoint")
    res = evaluate(
        dict(zip(names, paths, strict=True)),
        args.sets,
        data_root=args.data_root,
        out=args.out,
        device=args.device,
        lpips_nets=tuple(args.lpips),
        bicubic=not args.no_bicubic,
        n_crops=args.crops,
        progress=not args.no_progress,
    )
    print((args.out / "eval_summary.md").read_text(encoding="utf-8"))
    print(f"{len(res.crops)} crop images in {args.out / 'crops'}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the handler an ``sr`` sub-command stored in ``args``."""
    handler = getattr(args, "sr_handler", None)
    if handler is None:
        raise ValueError("no sr sub-command was given")
    return int(handler(args))


def build_parser() -> argparse.ArgumentParser:
    """A stand-alone parser with ``sr``."""
    from ..cli.parser import CommandParser

    parser = CommandParser(prog="hvsprobe", description="hvsprobe super-resolution")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_sr_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m hvsprobe.sr.cli`` (also under ``torchrun``)."""
    from ..errors import run_guarded

    args = build_parser().parse_args(argv)
    return run_guarded(args.command, lambda: run(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
