"""Many models in one run: ``hvsprobe sweep MODELS.toml --out DIR``.

A sweep file names the models and one analysis setting shared by all (so that their results
compare)::

    [analysis]                      # optional; the defaults of `hvsprobe analyze`
    size = 64
    ppd = 32
    n_frequencies = 6
    response = "whole_map"

    [[model]]
    model = "vgg16"                 # built-in, torchvision:NAME, timm:NAME or FILE.py:FUNCTION
    weights = "imagenet"            # random:SEED, a file, pretrained (torchvision/timm)
    layers = ["relu1_2", "relu3_3"] # or "all": every conv/attention block (default: defaults)

    [[model]]
    model = "vgg16"
    weights = "random:0"            # a random-weight control sits beside its trained twin

Each model gets the results folder :func:`hvsprobe.analyze.analyze` writes, ``DIR/NAME``
(``NAME`` from ``name =`` or ``<model>-<weights>``). A model whose folder is complete and
whose entry is unchanged (``DIR/sweep-state/NAME.json``) is skipped on a rerun, so a killed
sweep finishes only what was missing; a failing model is reported and the others go on.
Models run one after another in this process, or as Ray tasks (one model per task, a GPU per
task when the cluster has them) with ``ray_address``. The leaderboard
(:func:`hvsprobe.report.compare.build_leaderboard`) is written to ``DIR/leaderboard.html``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ._io import write_json_atomic

__all__ = ["SweepEntry", "SweepSettings", "block_layers", "read_sweep", "run_one", "run_sweep"]

_ANALYSIS_KEYS = {
    "ppd": float,
    "size": int,
    "n_frequencies": int,
    "n_orientations": int,
    "n_phases": int,
    "f_min": float,
    "f_max": float,
    "response": str,
    "batch_size": int,
}
_DEFAULT_GRID = {"ppd": 60.0, "size": 224, "n_frequencies": 24, "n_orientations": 12}


@dataclass(frozen=True)
class SweepSettings:
    """The analysis settings shared by every model of a sweep (``[analysis]``)."""

    values: dict[str, Any] = field(default_factory=dict)

    def grid(self) -> Any:
        """The :class:`~hvsprobe.stimuli.StimulusGrid` of the sweep."""
        from .stimuli import StimulusGrid

        kw = {**_DEFAULT_GRID, "n_phases": 4, "f_min": 0.5}
        kw.update({k: v for k, v in self.values.items() if k not in ("response", "batch_size")})
        return StimulusGrid.default(**kw)


@dataclass(frozen=True)
class SweepEntry:
    """One ``[[model]]`` of a sweep file."""

    model: str
    weights: str | None = None
    layers: list[str] | str | None = None
    name: str = ""
    model_args: dict[str, Any] = field(default_factory=dict)

    def key(self, settings: SweepSettings) -> str:
        """Identity of the entry and the settings: a changed entry runs again."""
        text = json.dumps([asdict(self), settings.values], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _folder_name(model: str, weights: str | None) -> str:
    stem = model.rpartition(":")[2] if ":" in model else model
    if model.partition(":")[0].endswith(".py"):
        stem = f"{Path(model.partition(':')[0]).stem}.{stem}"
    text = f"{stem}-{weights or 'default'}"
    return re.sub(r"[^A-Za-z0-9._-]+", "", text).strip(".") or "model"


def read_sweep(path: str | Path) -> tuple[list[SweepEntry], SweepSettings]:
    """Read a sweep file; ``.py`` model files are taken relative to its folder.

    Raises
    ------
    ValueError
        A malformed file, an unknown key, no models, or two models with one folder name.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "m.toml"
    >>> _ = p.write_text('[[model]]\\nmodel = "alexnet"\\nweights = "random:0"\\n')
    >>> entries, settings = read_sweep(p)
    >>> entries[0].name, settings.values
    ('alexnet-random0', {})
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {path}: {exc}") from None
    unknown = sorted(set(data) - {"analysis", "model"})
    if unknown:
        raise ValueError(f"sweep file {path}: unknown tables {unknown}; use [analysis], [[model]]")
    analysis = dict(data.get("analysis", {}))
    bad = sorted(set(analysis) - set(_ANALYSIS_KEYS))
    if bad:
        raise ValueError(f"sweep file {path}: unknown [analysis] keys {bad}")
    values = {k: _ANALYSIS_KEYS[k](v) for k, v in analysis.items()}
    models = data.get("model", [])
    if not isinstance(models, list) or not models:
        raise ValueError(f"sweep file {path}: no [[model]] entries")
    entries = []
    allowed = {"model", "weights", "layers", "name", "model_args"}
    for i, m in enumerate(models):
        extra = sorted(set(m) - allowed)
        if "model" not in m or extra:
            raise ValueError(
                f"sweep file {path}: model {i + 1} needs 'model' and takes only "
                f"{sorted(allowed)} (got {sorted(m)})"
            )
        spec = str(m["model"])
        where, sep, func = spec.rpartition(":")
        if sep and where.endswith(".py") and not Path(where).is_absolute():
            spec = f"{(path.parent / where).resolve()}:{func}"
        layers = m.get("layers")
        if layers is not None and layers != "all" and not isinstance(layers, list):
            raise ValueError(f'sweep file {path}: layers of model {i + 1}: a list or "all"')
        weights = m.get("weights")
        name = str(m.get("name") or _folder_name(str(m["model"]), weights))
        entries.append(SweepEntry(spec, weights, layers, name, dict(m.get("model_args", {}))))
    names = [e.name for e in entries]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"sweep file {path}: two models share the folder name(s) {twice}; add name ="
        )
    return entries, SweepSettings(values)


def block_layers(backbone: Any) -> list[str]:
    """Every conv/attention block of a network: what ``layers = "all"`` probes.

    The aliases of a built-in network's default layers; else each element of a
    ``Sequential`` or ``ModuleList`` that is itself a block (has submodules) and produces a
    map (a residual block, a transformer block); else the network's default layers.

    Examples
    --------
    >>> from hvsprobe.backbones import get_backbone
    >>> block_layers(get_backbone("alexnet", "random:0"))
    ['relu1', 'relu2', 'relu3', 'relu4', 'relu5']
    """
    from torch import nn

    if backbone.aliases:
        return list(backbone.default_layers)
    modules = dict(backbone.model.named_modules())
    out = []
    for name in backbone.layer_names:
        parent = modules.get(name.rpartition(".")[0]) if "." in name else None
        m = modules[name]
        if isinstance(parent, nn.Sequential | nn.ModuleList) and any(True for _ in m.children()):
            out.append(name)
    return out or list(backbone.default_layers)


def _build(entry: SweepEntry) -> Any:
    from .backbones import get_backbone
    from .backbones.custom import load_model
    from .backbones.zoo import is_zoo_spec

    if is_zoo_spec(entry.model):
        return load_model(
            entry.model, weights=entry.weights or "pretrained", model_args=entry.model_args
        )
    if ":" in entry.model:
        return load_model(entry.model, model_args=entry.model_args, checkpoint=entry.weights)
    return get_backbone(entry.model, entry.weights or "imagenet")


def run_one(entry: SweepEntry, settings: SweepSettings, out: str | Path) -> dict[str, Any]:
    """Analyse one model of a sweep into ``out/NAME``; never raises for the model's failures.

    Returns
    -------
    dict
        ``name``, ``status`` (``"done"``, ``"skipped"`` or ``"failed"``), ``error`` (one
        line) and ``folder``.
    """
    from .analyze import analyze

    out = Path(out)
    folder = out / entry.name
    state = out / "sweep-state" / f"{entry.name}.json"
    key = entry.key(settings)
    result = {"name": entry.name, "model": entry.model, "folder": entry.name, "error": ""}
    if (folder / "summary.json").is_file() and state.is_file():
        if json.loads(state.read_text()).get("key") == key:
            return {**result, "status": "skipped"}
    try:
        bb = _build(entry)
        layers = block_layers(bb) if entry.layers == "all" else entry.layers
        analyze(
            bb,
            layers=layers,
            grid=settings.grid(),
            out=folder,
            response=settings.values.get("response"),
            batch_size=int(settings.values.get("batch_size", 16)),
            progress=False,
        )
    except Exception as exc:  # a failing model is reported; the others go on
        line = (str(exc).strip().splitlines() or [""])[0]
        return {**result, "status": "failed", "error": f"{type(exc).__name__}: {line}"}
    write_json_atomic(state, {"key": key, "entry": asdict(entry), "settings": settings.values})
    return {**result, "status": "done"}


def _run_ray(
    entries: Sequence[SweepEntry], settings: SweepSettings, out: Path, address: str
) -> list[dict[str, Any]]:
    try:
        import ray
    except ImportError:
        raise ValueError(
            "--ray needs ray, which is not installed: pip install hvsprobe[ray]"
        ) from None
    if not ray.is_initialized():
        ray.init(address=address)
    gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_cpus=1, num_gpus=gpus)(run_one)
    refs = [task.remote(e, settings, str(out.resolve())) for e in entries]
    return list(ray.get(refs))


def run_sweep(
    path: str | Path,
    out: str | Path,
    *,
    ray_address: str | None = None,
    log: Callable[[str], None] | None = None,
    leaderboard: bool = True,
) -> list[dict[str, Any]]:
    """Run every model of the sweep file ``path`` into ``out``; write the leaderboard.

    Returns one status dict per model (:func:`run_one`), in the file's order.

    Examples
    --------
    >>> run_sweep("models.toml", "sweep-out")  # doctest: +SKIP
    [{'name': 'vgg16-imagenet', 'status': 'done', ...}, ...]
    """
    say = log or (lambda _m: None)
    entries, settings = read_sweep(path)
    settings.grid()  # a bad [analysis] fails before any model runs
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if ray_address is None:
        results = []
        for e in entries:
            say(f"{e.name}: {e.model} ...")
            results.append(run_one(e, settings, out))
            say(f"{e.name}: {results[-1]['status']} {results[-1]['error']}".rstrip())
    else:
        results = _run_ray(entries, settings, out, ray_address)
        for r in results:
            say(f"{r['name']}: {r['status']} {r['error']}".rstrip())
    finished = [out / r["folder"] for r in results if r["status"] != "failed"]
    if leaderboard and finished:
        from .report.compare import build_leaderboard

        page = build_leaderboard(finished, out)
        say(f"leaderboard: {page}")
    return results
