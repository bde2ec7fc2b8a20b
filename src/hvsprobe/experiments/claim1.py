"""Claim 1: channels with higher scores predict human judgments better.

For each backbone the experiment builds metrics from subsets of the channels of the LPIPS
layers — the top k % by PE, by mu1 alone and by mu2 alone, the bottom k % by PE, ``n_random``
seeded random k % subsets, every channel (LPIPS's unweighted baseline) and LPIPS's learned
linear weights — for k in {10, 25, 50} %, and evaluates each on the human data sets of
``Claim1Config.datasets`` (:mod:`.claim1_datasets`; default LIVE, ModelFest, castleCSF):

* rated images (LIVE, TID2013, KADID-10k, CSIQ, a CSV): SRCC / PLCC against the human score,
  intervals over reference images;
* BAPPS 2AFC agreement with the human votes and BAPPS JND mAP (means over source sets);
* ModelFest detection thresholds and castleCSF sensitivities (one fitted criterion each:
  Pearson r, Spearman rho, RMSE in log10 sensitivity);
* agreement of mu1 / mu2 / PE with LPIPS's learned channel weights (Spearman, permutation p).

Paired comparisons per data set and one pooled verdict per backbone and k across data sets
come from :mod:`.claim1_stats` (rule: docs/evaluate.md).  Every subset metric is a weighted sum
of per-channel distances (see :mod:`hvsprobe.metrics.decompose`), so one forward pass per image
serves all of them; for image pairs the distances are streamed in content-keyed chunks
(:mod:`hvsprobe.evaluate.extract`: resumable, ``workers`` processes or Ray tasks).
Thresholds come from distance curves sampled at log-spaced contrasts and interpolated in
log-log coordinates (:func:`hvsprobe.evaluate.psychophysics.fit_single_criterion`)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .._io import atomic_path, config_hash
from .claim1_data import HumanData, load_human_data
from .claim1_datasets import ALL_DATASETS, DEFAULT_DATASETS, PairSet, pair_statistic
from .claim1_report import write_outputs
from .claim1_stats import compare_variants, pool_comparisons

__all__ = ["Claim1Config", "LPIPS_LAYERS", "run_claim1"]

LPIPS_LAYERS = {
    "vgg16": ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"],
    "alexnet": ["relu1", "relu2", "relu3", "relu4", "relu5"],
    # the last block at each resolution (strides 2, 4, 8, 16, 32)
    "mobilenet_v2": ["block1", "block3", "block6", "block13", "block17"],
}


@dataclass
class Claim1Config:
    """Settings of the claim-1 experiment (all recorded with the results)."""

    backbones: tuple[str, ...] = ("vgg16", "alexnet")
    fractions: tuple[float, ...] = (0.10, 0.25, 0.50)
    n_random: int = 20
    seed: int = 0
    n_boot: int = 1000
    contrasts: tuple[float, float, int] = (1e-3, 1.0, 16)
    castle_max_size: int = 512
    data_root: str | None = None
    results_root: str = "hvsprobe-results"
    out: str = "hvsprobe-results/claim1"
    #: markdown page to write besides ``out/claim1.md``; none unless given explicitly
    doc: str | None = None
    #: LIVE only (the same as ``datasets=("live",)``; kept for old command lines)
    live_only: bool = False
    level: float = 0.95
    #: folder of the per-channel distance caches (default: ``out``)
    cache_dir: str | None = None
    #: human data sets (:data:`~.claim1_datasets.ALL_DATASETS`); default LIVE + thresholds
    datasets: tuple[str, ...] = DEFAULT_DATASETS
    #: the generic CSV data set's file (``datasets`` holding ``'csv'``)
    csv: str | None = None
    #: backbone weights: ``'imagenet'`` or ``'random:SEED'`` (scores folder ``BB-<weights>``)
    weights: str = "imagenet"
    #: rows per cached chunk of per-channel distances
    chunk_rows: int = 64
    #: precision of the trunk for the image pairs: ``'float32'`` or ``'bfloat16'``
    dtype: str = "float32"

    def dataset_names(self) -> tuple[str, ...]:
        """The data sets of this run, in page order."""
        names = ("live",) if self.live_only else tuple(dict.fromkeys(self.datasets))
        unknown = [n for n in names if n not in ALL_DATASETS]
        if unknown:
            raise ValueError(
                f"unknown data set(s) {', '.join(unknown)}; choose from {', '.join(ALL_DATASETS)}"
            )
        return tuple(n for n in ALL_DATASETS if n in names)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------------------
# per-channel distances (the expensive part, cached)


def _cached(
    path: Path,
    key: str,
    compute: Callable[[], dict[str, np.ndarray]],
    timings: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Load ``path`` if it holds arrays for ``key``, else compute and save them.

    The compute time is stored with the arrays; when they come from the cache it is added to
    ``timings["cached_s"]``, so reports can state the full cost of the results.
    """
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            if str(data["__key__"]) == key:
                if timings is not None and "__seconds__" in data.files:
                    timings["cached_s"] = timings.get("cached_s", 0.0) + float(data["__seconds__"])
                return {k: data[k] for k in data.files if k not in ("__key__", "__seconds__")}
    t0 = time.perf_counter()
    arrays = compute()
    seconds = time.perf_counter() - t0
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, __key__=key, __seconds__=seconds, **arrays)
    return arrays


def live_channel_distances(
    backbone: Any, layers: list[str], dataset: Any, progress: bool = True, batch_size: int = 4
) -> dict[str, np.ndarray]:
    """``d[layer]``: (pairs x channels) for every pair of an IQA dataset, in memory.

    One chunk of :func:`hvsprobe.evaluate.extract.chunk_distances` over all pairs (each
    reference's features computed once); the experiment itself streams chunks to a cache
    (:func:`hvsprobe.evaluate.extract.extract_channel_distances`).
    ``benchmarks/evaluate_features.py`` measures this against the machine's convolution peak.
    """
    from ..evaluate.extract import ExtractionSpec, chunk_distances

    del progress
    spec = ExtractionSpec(backbone.name, "given", tuple(layers), batch_size)
    pairs = [(str(p.ref_path), str(p.dist_path)) for p in dataset.pairs]
    d = chunk_distances(spec, pairs, backbone)
    edges = np.cumsum([0] + [int(backbone.channels[n]) for n in layers])
    return {n: d[:, edges[j] : edges[j + 1]].astype(np.float64) for j, n in enumerate(layers)}


def curve_channel_distances(backbone, layers, waves, mean, contrasts, progress=True, label=""):
    """``d[layer]``: (stimuli x contrasts x channels) between the grey field and each stimulus."""
    from tqdm.auto import tqdm

    from ..metrics.decompose import normalized_features, pair_channel_distances

    out = {n: np.zeros((len(waves), len(contrasts), backbone.channels[n])) for n in layers}
    blanks: dict[tuple[int, int], dict[str, torch.Tensor]] = {}
    c = np.asarray(contrasts, dtype=np.float64)
    for i, w in enumerate(
        tqdm(waves, desc=f"{label} {backbone.name}", disable=not progress, unit="stim")
    ):
        shape = tuple(w.shape)
        if shape not in blanks:
            blank = torch.full((1, 3, *shape), float(mean))
            blanks[shape] = normalized_features(backbone, blank, layers)
        lum = np.clip(mean * (1.0 + c[:, None, None] * w[None]), 0.0, 1.0)
        imgs = torch.from_numpy(lum).float()[:, None].expand(-1, 3, -1, -1).contiguous()
        for start in range(0, len(c), 8):
            nd = normalized_features(backbone, imgs[start : start + 8], layers)
            d = pair_channel_distances(blanks[shape], nd)
            for n in layers:
                out[n][i, start : start + 8] = d[n]
    return out


# ------------------------------------------------------------------------------------------
# variants: channel weightings


def weight_variants(scores, layers, fractions, n_random, seed, lpips_lin=None):
    """Name -> (family, k, {layer: weight vector}) for every channel subset in the experiment."""
    from ..selection import random_subsets, select_channels

    def vectors(sel):
        return {n: sel.weight_vector(n) for n in layers}

    variants: dict[str, tuple[str, float, dict[str, np.ndarray]]] = {}
    all_sel = select_channels(scores, strategy="all", value=1.0, layers=layers)
    variants["all channels"] = ("all", 1.0, vectors(all_sel))
    if lpips_lin is not None:
        variants["LPIPS (learned weights)"] = (
            "lpips",
            1.0,
            {n: lpips_lin[n].numpy().astype(np.float64) for n in layers},
        )
    for k in fractions:
        pct = int(round(100 * k))
        for score in ("pe", "mu1", "mu2"):
            sel = select_channels(
                scores, score=score, strategy="top_fraction", value=k, layers=layers
            )
            variants[f"top {pct}% {score}"] = (f"top_{score}", k, vectors(sel))
        sel = select_channels(
            scores, score="pe", strategy="top_fraction", value=k, layers=layers, bottom=True
        )
        variants[f"bottom {pct}% pe"] = ("bottom_pe", k, vectors(sel))
        for r, sel in enumerate(random_subsets(scores, k, n_random, seed=seed, layers=layers)):
            variants[f"random {pct}% #{r}"] = ("random", k, vectors(sel))
    return variants


# ------------------------------------------------------------------------------------------
# evaluation of one weighting


def _combine_curves(d, w):
    return sum(np.einsum("skc,c->sk", d[n], w[n]) for n in w)


def _fit(contrasts, curves, human):
    from scipy import stats

    from ..evaluate.psychophysics import fit_single_criterion

    fit = fit_single_criterion(contrasts, curves, human)
    pred = fit.predicted_log10
    r = float(stats.pearsonr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    rho = float(stats.spearmanr(pred, human).statistic) if np.ptp(pred) > 0 else math.nan
    return {"rmse": float(fit.rmse), "r": r, "rho": rho, "censored": int(np.sum(fit.censored != 0))}


def _live_stats(values, human, groups, n_boot, seed):
    from ..evaluate.stats import correlation_summary

    s = correlation_summary(-np.asarray(values), human, groups, n_boot=n_boot, seed=seed)
    out = {"srcc": s.srcc, "plcc": s.plcc, "krcc": s.krcc}
    if "srcc" in s.ci:
        out["srcc_lo"], out["srcc_hi"] = s.ci["srcc"].low, s.ci["srcc"].high
    return out


# ------------------------------------------------------------------------------------------
# the driver


def _curve_spec(column, variants, d, contrasts, human, index, seed) -> dict[str, Any]:
    """Bootstrap input of a threshold data set: grid predictions per variant, rows by stimulus."""
    from .claim1_stats import criterion_grid_predictions

    values = {
        n: criterion_grid_predictions(contrasts, _combine_curves(d, w))[index]
        for n, (_, _, w) in variants.items()
    }
    return {
        "column": column,
        "higher": False,
        "kind": "rmse",
        "values": values,
        "human": np.asarray(human, dtype=np.float64),
        "groups": np.asarray(index),
        "seed": seed,
    }


def dataset_seed(seed: int, name: str) -> int:
    """The bootstrap seed of one data set: independent draws per data set (pooled verdict).

    Examples
    --------
    >>> dataset_seed(0, "live"), dataset_seed(0, "tid2013")
    (0, 1000003)
    """
    return int(seed) + 1000003 * ALL_DATASETS.index(name)


def machine_info() -> dict[str, Any]:
    """The machine a run measured on: CPU cores, torch threads, load average, platform."""
    import os
    import platform

    try:
        load = [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": load,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


@dataclass
class Claim1Result:
    """Rows (one per variant), agreement records, paired comparisons, data counts, timings."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    agreement: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    pooled: list[dict[str, Any]] = field(default_factory=list)


def run_claim1(
    config: Claim1Config | None = None,
    *,
    progress: bool = True,
    log: Callable[[str], Any] = print,
    workers: int = 1,
    ray_address: str | None = None,
) -> Claim1Result:
    """Run the claim-1 experiment; write CSV/JSON/markdown; return the rows.

    ``workers`` and ``ray_address`` choose where the per-channel distances are computed
    (:func:`hvsprobe.evaluate.extract.extract_channel_distances`); they change no result, so
    they are not part of the recorded configuration.
    """
    cfg = config or Claim1Config()
    out = Path(cfg.out)
    res = Claim1Result(machine=machine_info())
    res.machine.update({"workers": workers, "ray": ray_address})
    t_start = time.perf_counter()
    contrasts = np.geomspace(cfg.contrasts[0], cfg.contrasts[1], int(cfg.contrasts[2]))
    hd = load_human_data(cfg)
    res.data = hd.counts
    out.mkdir(parents=True, exist_ok=True)  # only once every input was found
    cache_dir = Path(cfg.cache_dir) if cfg.cache_dir else out
    cache_dir.mkdir(parents=True, exist_ok=True)
    if "live" in hd.pair_sets:
        _image_baselines(cfg, hd.pair_sets["live"], cache_dir, res)
    replicates: dict[tuple[str, str, float, str], tuple[float, np.ndarray, bool]] = {}
    for bb_name in cfg.backbones:
        _run_backbone(
            cfg,
            bb_name,
            hd,
            contrasts,
            cache_dir,
            res,
            progress,
            log,
            (workers, ray_address),
            replicates,
        )
    res.pooled = pool_comparisons(replicates, level=cfg.level)
    res.timings["total_s"] = time.perf_counter() - t_start
    write_outputs(res, cfg, out, contrasts, hd.extra())
    return res


def _image_baselines(cfg: Claim1Config, live: PairSet, cache_dir: Path, res: Claim1Result) -> None:
    """SSIM (two variants) and PSNR on LIVE: the image-metric rows."""
    from ..evaluate.iqa import evaluate_iqa
    from ..metrics import get_metric

    baselines = {
        "SSIM": get_metric("ssim"),
        "SSIM (Wang's downsampling)": get_metric("ssim", downsample=True),
        "PSNR": get_metric("psnr"),
    }
    for name, metric in baselines.items():
        t0 = time.perf_counter()
        r = evaluate_iqa(
            metric,
            live.dataset,
            progress=False,
            n_boot=cfg.n_boot,
            seed=cfg.seed,
            cache=cache_dir / "metric_values.json",
        )
        o = r.overall
        res.rows.append(
            {
                "backbone": "-",
                "variant": name,
                "family": "image",
                "k": 1.0,
                "n_channels": 0,
                "live_srcc": o.srcc,
                "live_srcc_lo": o.ci["srcc"].low if "srcc" in o.ci else math.nan,
                "live_srcc_hi": o.ci["srcc"].high if "srcc" in o.ci else math.nan,
                "live_plcc": o.plcc,
            }
        )
        res.timings[f"live_{name}_s"] = time.perf_counter() - t0


def _run_backbone(
    cfg: Claim1Config,
    bb_name: str,
    hd: HumanData,
    contrasts: np.ndarray,
    cache_dir: Path,
    res: Claim1Result,
    progress: bool,
    log: Callable[[str], Any],
    where: tuple[int, str | None],
    replicates: dict[tuple[str, str, float, str], tuple[float, np.ndarray, bool]],
) -> None:
    """Every variant of one backbone: rows, paired comparisons, score/weight agreement."""
    layers = LPIPS_LAYERS[bb_name]
    scores, bb, lin = _backbone_scores(cfg, bb_name, res, progress, log)
    t0 = time.perf_counter()
    variants = weight_variants(scores, layers, cfg.fractions, cfg.n_random, cfg.seed, lin)
    pair_values = _pair_values(
        cfg, bb_name, bb, layers, hd, variants, cache_dir, res, progress, where
    )
    d = _curve_distances(cfg, bb_name, bb, layers, hd, contrasts, cache_dir, res, progress)
    t0 = time.perf_counter()
    rows = [_variant_row(cfg, bb_name, v) for v in variants.items()]
    for name, values in pair_values.items():
        _pair_rows(cfg, rows, variants, hd.pair_sets[name], values)
    for row, (_, (_, _, w)) in zip(rows, variants.items(), strict=True):
        _curve_row(row, w, d, hd, contrasts)
    res.rows += rows
    res.timings[f"{bb_name}_evaluate_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res.comparisons += compare_variants(
        bb_name,
        variants,
        res.rows,
        _paired_data(cfg, variants, d, hd, pair_values, contrasts),
        cfg.fractions,
        n_boot=cfg.n_boot,
        seed=cfg.seed,
        level=cfg.level,
        replicates=replicates,
    )
    res.timings[f"{bb_name}_paired_stats_s"] = time.perf_counter() - t0
    if lin is not None:
        res.agreement += _agreement(cfg, bb_name, scores, layers, lin)


def scores_provenance(folder: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What a page must say about the scores behind the selections: folder, CSF, response.

    Examples
    --------
    >>> cfg = {"score": {"mu1": "csf_logslope", "csf": "barten"},
    ...        "probe": {"grid": {"ppd": 60.0}, "response": {"method": "torus"}}}
    >>> p = scores_provenance(Path("r"), cfg)
    >>> p["csf"], p["ppd"], p["response"]
    ('barten', 60.0, 'torus')
    """
    score = config.get("score", {})
    probe = config.get("probe", {})
    response = probe.get("response")
    return {
        "results": str(folder),
        "mu1": score.get("mu1"),
        "mu2": score.get("mu2"),
        "pe": score.get("pe"),
        "csf": score.get("csf"),
        "ppd": probe.get("grid", {}).get("ppd"),
        "response": response.get("method") if isinstance(response, dict) else response,
    }


def _backbone_scores(
    cfg: Claim1Config, bb_name: str, res: Claim1Result, progress: bool, log: Callable
) -> tuple[Any, Any, dict[str, torch.Tensor] | None]:
    """The backbone's channel scores (analysed first when missing), network, LPIPS weights."""
    from ..analyze import analyze
    from ..backbones import get_backbone, load_lpips_linear
    from ..scores import ChannelScores

    t0 = time.perf_counter()
    rdir = Path(cfg.results_root) / f"{bb_name}-{cfg.weights.replace(':', '-')}"
    if not (rdir / "scores.json").exists():
        log(f"[claim1] no scores for {bb_name}: running `hvsprobe analyze {bb_name}` into {rdir}")
        analyze(bb_name, out=rdir, progress=progress, log=log)
    scores = ChannelScores.load(rdir)
    res.timings[f"{bb_name}_analyze_s"] = time.perf_counter() - t0
    res.scores[bb_name] = scores_provenance(rdir, scores.config)
    bb = get_backbone(bb_name, cfg.weights)
    if scores.config.get("weights_sha256") != bb.weights_sha256:
        raise ValueError(f"{rdir} was measured on other weights than the {cfg.weights} {bb_name}")
    imagenet = cfg.weights == "imagenet" and bb_name in ("vgg16", "alexnet")
    lin = load_lpips_linear(bb_name) if imagenet else None
    return scores, bb, lin


def _pair_values(
    cfg: Claim1Config,
    bb_name: str,
    bb: Any,
    layers: list[str],
    hd: HumanData,
    variants: dict[str, Any],
    cache_dir: Path,
    res: Claim1Result,
    progress: bool,
    where: tuple[int, str | None],
) -> dict[str, np.ndarray]:
    """Per data set of image pairs: ``(pairs, V)`` distances of every variant.

    The per-channel distances are streamed chunk by chunk from the content-keyed cache
    ``<cache_dir>/distances`` (computed there first where missing).
    """
    from ..evaluate.extract import ExtractionSpec, extract_channel_distances

    spec = ExtractionSpec(bb_name, cfg.weights, tuple(layers), dtype=cfg.dtype)
    out: dict[str, np.ndarray] = {}
    for name, ps in hd.pair_sets.items():
        t0 = time.perf_counter()
        dist = extract_channel_distances(
            spec,
            ps.pairs,
            cache_dir / "distances",
            chunk_rows=cfg.chunk_rows,
            workers=where[0],
            ray_address=where[1],
            progress=progress,
            label=f"{ps.title} {bb_name}",
            backbone=bb,
        )
        w = np.stack([dist.layer_weights(v[2]) for v in variants.values()], axis=1)
        out[name] = dist.combine(w)
        res.timings[f"{bb_name}_{ps.key}_features_s"] = time.perf_counter() - t0
    return out


def _curve_distances(
    cfg: Claim1Config,
    bb_name: str,
    bb: Any,
    layers: list[str],
    hd: HumanData,
    contrasts: np.ndarray,
    cache_dir: Path,
    res: Claim1Result,
    progress: bool,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-channel distance curves of ModelFest and castleCSF (cached in ``cache_dir``)."""
    from ..evaluate.psychophysics import MODELFEST_MEAN

    key_base = {"backbone": bb_name, "sha": bb.weights_sha256, "layers": layers, "v": __version__}
    ckey = {**key_base, "contrasts": contrasts.tolist()}
    d: dict[str, dict[str, np.ndarray]] = {}
    if hd.mf_human is not None:
        t0 = time.perf_counter()
        d["modelfest"] = _cached(
            cache_dir / f"cache-{bb_name}-modelfest.npz",
            config_hash({**ckey, "ids": hd.mf_ids}),
            lambda: curve_channel_distances(
                bb, layers, hd.mf_waves, MODELFEST_MEAN, contrasts, progress, "ModelFest"
            ),
            res.timings,
        )
        res.timings[f"{bb_name}_modelfest_features_s"] = time.perf_counter() - t0
    if hd.castle_human is not None:
        t0 = time.perf_counter()
        d["castle"] = _cached(
            cache_dir / f"cache-{bb_name}-castle.npz",
            config_hash(
                {**ckey, "castle": sorted(map(str, hd.castle_keys)), "max": cfg.castle_max_size}
            ),
            lambda: curve_channel_distances(
                bb, layers, hd.castle_waves, 0.5, contrasts, progress, "castleCSF"
            ),
            res.timings,
        )
        res.timings[f"{bb_name}_castle_features_s"] = time.perf_counter() - t0
    return d


def _variant_row(
    cfg: Claim1Config, bb_name: str, variant: tuple[str, tuple[str, float, dict[str, np.ndarray]]]
) -> dict[str, Any]:
    """The identity of one variant's row (statistics are added per data set)."""
    name, (family, k, w) = variant
    return {
        "backbone": bb_name,
        "variant": name,
        "family": family,
        "k": k,
        "n_channels": int(sum(int(np.count_nonzero(v)) for v in w.values())),
    }


def _pair_rows(
    cfg: Claim1Config,
    rows: list[dict[str, Any]],
    variants: dict[str, Any],
    ps: PairSet,
    values: np.ndarray,
) -> None:
    """Add one image-pair data set's statistics to every variant's row."""
    if ps.kind == "iqa":
        for j, (row, (_, (family, _, _))) in enumerate(zip(rows, variants.items(), strict=True)):
            boot = 0 if family == "random" else cfg.n_boot
            st = _live_stats(values[:, j], ps.human, ps.groups, boot, cfg.seed)
            row.update({f"{ps.key}_{k2}": v for k2, v in st.items()})
        return
    point = pair_statistic(ps, values)(np.arange(ps.n_rows))
    for row, v in zip(rows, point, strict=True):
        row[f"{ps.key}_{ps.statistic}"] = float(v)


def _curve_row(row: dict[str, Any], w: Any, d: dict[str, Any], hd: HumanData, contrasts) -> None:
    """Add the fitted-threshold statistics of ModelFest and castleCSF to a row."""
    if "modelfest" in d:
        mf = _fit(contrasts, _combine_curves(d["modelfest"], w), hd.mf_human)
        row.update({f"modelfest_{k2}": v for k2, v in mf.items()})
    if "castle" in d:
        curves = _combine_curves(d["castle"], w)[hd.castle_index]
        row.update(
            {f"castle_{k2}": v for k2, v in _fit(contrasts, curves, hd.castle_human).items()}
        )


_STAT_LABEL = {"srcc": "SRCC", "2afc": "2AFC agreement", "map": "mAP"}


def _paired_data(
    cfg: Claim1Config,
    variants: dict[str, Any],
    d: dict[str, dict[str, np.ndarray]],
    hd: HumanData,
    pair_values: dict[str, np.ndarray],
    contrasts: np.ndarray,
) -> dict[str, dict[str, Any]]:
    """Per-row values of every variant for the paired comparisons, per data set."""
    names = list(variants)
    data: dict[str, dict[str, Any]] = {}
    for name, values in pair_values.items():
        ps = hd.pair_sets[name]
        spec: dict[str, Any] = {
            "column": f"{ps.key}_{ps.statistic}",
            "higher": True,
            "human": ps.human,
            "groups": ps.groups,
            "seed": dataset_seed(cfg.seed, name),
        }
        if ps.kind == "iqa":
            spec.update({"kind": "srcc", "values": {n: -values[:, j] for j, n in enumerate(names)}})
        else:
            spec.update({"kind": "stat", "stat": pair_statistic(ps, values)})
        data[f"{ps.title} {_STAT_LABEL[ps.statistic]}"] = spec
    if "modelfest" in d:
        data["ModelFest RMSE"] = _curve_spec(
            "modelfest_rmse",
            variants,
            d["modelfest"],
            contrasts,
            hd.mf_human,
            np.arange(len(hd.mf_ids)),
            dataset_seed(cfg.seed, "modelfest"),
        )
    if "castle" in d:
        data["castleCSF RMSE"] = _curve_spec(
            "castle_rmse",
            variants,
            d["castle"],
            contrasts,
            hd.castle_human,
            hd.castle_index,
            dataset_seed(cfg.seed, "castlecsf"),
        )
    return data


def _agreement(
    cfg: Claim1Config, bb_name: str, scores: Any, layers: list[str], lin: dict[str, torch.Tensor]
) -> list[dict[str, Any]]:
    """Spearman agreement of mu1, mu2 and PE with LPIPS's learned weights, per layer."""
    from ..evaluate.agreement import score_weight_agreement

    rows = []
    for layer in layers:
        t = scores.layer(layer)
        for score in ("mu1", "mu2", "pe"):
            vals = np.where(t["dead"], np.nan, t[score])
            a = score_weight_agreement(
                vals, lin[layer].numpy(), layer=layer, score=score, n_perm=2000, seed=cfg.seed
            )
            rows.append(
                {
                    "backbone": bb_name,
                    "layer": layer,
                    "score": score,
                    "rho": a.rho,
                    "p_value": a.p_value,
                    "n_used": a.n_used,
                    "n_dead": a.n_dead,
                }
            )
    return rows


if __name__ == "__main__":  # pragma: no cover - `python -m hvsprobe.experiments.claim1 ...`
    from .claim1_command import main

    raise SystemExit(main())
