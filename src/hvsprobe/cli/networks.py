"""``hvsprobe backbones`` and ``hvsprobe layers``; the ``--model`` options shared with ``analyze``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model MODULE:FUNCTION`` and its options (your own network, docs/models.md)."""
    p.add_argument(
        "--model",
        default=None,
        metavar="SPEC",
        help="your network instead of a registered BACKBONE: MODULE:FUNCTION, "
        "FILE.py:FUNCTION, torchvision:NAME or timm:NAME (docs/models.md); this or BACKBONE "
        "is required",
    )
    p.add_argument(
        "--model-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keyword argument of FUNCTION (repeatable; values are Python literals or text; "
        "default: none)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        help="state dict to load into --model (default: the weights FUNCTION builds)",
    )
    p.add_argument(
        "--input-norm",
        default="imagenet",
        help="input normalisation for --model: imagenet, none or M1,M2,M3/S1,S2,S3",
    )


def model_from_args(args: argparse.Namespace, layers: Sequence[str] | None = None):
    """The backbone named by ``args``: ``--model SPEC`` or a registered name (``None`` if so)."""
    from ..backbones.custom import load_model, parse_input_norm, parse_model_args

    if (args.model is None) == (args.backbone is None):
        raise ValueError("give either a registered backbone name or --model MODULE:FUNCTION")
    if args.model is None:
        if args.model_arg or args.checkpoint is not None or args.input_norm != "imagenet":
            raise ValueError("--model-arg, --checkpoint and --input-norm apply to --model only")
        return None
    from ..backbones.zoo import is_zoo_spec

    weights = getattr(args, "weights", None)
    if is_zoo_spec(args.model):
        if weights is None and args.checkpoint is None:  # `layers` needs no trained weights
            weights = "pretrained" if hasattr(args, "weights") else "random:0"
    elif weights is not None:
        raise ValueError(
            "--weights applies to registered backbones and torchvision:/timm: models; "
            "use --checkpoint with --model MODULE:FUNCTION"
        )
    return load_model(
        args.model,
        model_args=parse_model_args(args.model_arg),
        checkpoint=args.checkpoint,
        layers=layers,
        input_norm=parse_input_norm(args.input_norm),
        weights=weights,
    )


def build_backbones(_p: argparse.ArgumentParser) -> None:
    """``hvsprobe backbones`` takes no options."""


def run_backbones(_args: argparse.Namespace) -> int:
    """Run ``hvsprobe backbones``; returns the exit status."""
    from ..backbones import backbone_info, get_backbone, list_backbones

    for name in list_backbones():
        info = backbone_info(name)
        bb = get_backbone(name, "random:0")
        n_ch = sum(bb.channels[n] for n in bb.default_layers)
        print(
            f"{name:14s} {info.description}; {len(bb.default_layers)} default layers, {n_ch} channels"
        )
        print(f"{'':14s} {info.reference}")
    return 0


def build_layers(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe layers``."""
    p.add_argument(
        "backbone",
        nargs="?",
        help="registered backbone name (see `hvsprobe backbones`); or give --model",
    )
    add_model_options(p)
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help="input side of the dry run, in pixels (default: 224, or the one size a model "
        "with a fixed input size takes)",
    )


def run_layers(args: argparse.Namespace) -> int:
    """Run ``hvsprobe layers``; returns the exit status."""
    from ..backbones import list_layers

    model = model_from_args(args)
    size = args.size
    if size is None:  # a ViT whose position embedding fixes its input: its own size
        fixed = model.fixed_input_size(model.layer_names[-1:]) if model is not None else None
        size = fixed or 224
    infos = list_layers(model if model is not None else args.backbone, size=size)
    name = model.name if model is not None else args.backbone
    print(f"{name}: {len(infos)} layers; sizes and strides for a {size} x {size} input")
    print(f"{'layer':24s} {'module':24s} {'kind':16s} {'channels':>8s} {'size':>9s} {'stride':>7s}")
    for i in infos:
        size = f"{i.height}x{i.width}"
        print(
            f"{i.name:24s} {i.module:24s} {i.kind:16s} {i.channels:8d} {size:>9s} {i.stride:7.4g}"
        )
    return 0
