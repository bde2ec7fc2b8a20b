"""docs/results/battery.md: the battery on the built-in networks, their random-weight controls,
the selection, LPIPS/SSIM/PSNR and the raw pixels, with claim 1 on supra-threshold data.

Run ``python -m hvsprobe.battery.page --help``; every subject's results folder is kept under
``--work`` and reused when its configuration is unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..stimuli.physical import Display
from .run import TESTS, BatteryResult, constancy_matches, load_battery, run_battery
from .stats import threshold_errors, threshold_rmse

SUBJECTS: tuple[tuple[str, str, bool], ...] = (
    ("vgg16", "imagenet", True),
    ("alexnet", "imagenet", True),
    ("lpips-alex", "", False),
    ("ssim", "", False),
    ("psnr", "", False),
    ("pixels", "", False),
    ("alexnet", "random:0", False),
    ("vgg16", "random:0", False),
)
RANDOM_PREFIX = "random "


def _slug(name: str, weights: str) -> str:
    return f"{name}-{weights.replace(':', '')}" if weights else name


def _run_subject(
    name: str, weights: str, subsets: bool, args: argparse.Namespace, display: Display
) -> BatteryResult:
    from .subjects import make_subject

    folder = Path(args.work) / _slug(name, weights)
    if (folder / "battery.json").is_file():
        res = load_battery(folder)
        if res.config["display"] == display.to_dict():
            return res
    scores = getattr(args, f"scores_{name}", None) if subsets else None
    subject = make_subject(
        name,
        weights=weights or "imagenet",
        scores=scores,
        subsets=("selection", "bottom", "all", "random") if scores else (),
        n_random=args.n_random,
    )
    return run_battery(subject, TESTS, display=display, data_root=args.data_root, out=folder)


# --------------------------------------------------------------------------------------------
# claim 1


def _masking_rmse(resp: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Threshold RMSE of every variant on the conditions ``idx`` (criterion recomputed)."""
    return np.array(
        [threshold_rmse(threshold_errors(resp[idx, :, v])[0]) for v in range(resp.shape[2])]
    )


def claim1(res: BatteryResult, n_boot: int, seed: int) -> list[dict[str, Any]]:
    """Top-k by PE against random subsets, the bottom-k and all channels, paired intervals."""
    from ..evaluate.paired import difference_from_replicates, random_control_from_replicates

    names = res.variants
    top = next(i for i, n in enumerate(names) if n.startswith("top "))
    rnd = [i for i, n in enumerate(names) if n.startswith(RANDOM_PREFIX)]
    others = {n: i for i, n in enumerate(names) if n.startswith("bottom ") or n == "all channels"}
    rng = np.random.default_rng(seed)
    out = []
    for test in ("masking", "constancy"):
        t = res.tests[test]
        if test == "masking":
            resp = np.asarray(t["responses"], dtype=np.float64)
            n = resp.shape[0]

            def stat(idx: np.ndarray, resp: np.ndarray = resp) -> np.ndarray:
                return _masking_rmse(resp, idx)

            label = "masking threshold RMSE"
        else:
            human = np.log10(np.asarray(t["conditions"]["match"], dtype=np.float64))
            err = np.stack([constancy_matches(t, v)[0] - human for v in range(len(names))], 1)
            n = err.shape[0]

            def stat(idx: np.ndarray, err: np.ndarray = err) -> np.ndarray:
                return np.sqrt(np.nanmean(err[idx] ** 2, axis=0))

            label = "constancy matching RMSE"
        point = stat(np.arange(n))
        reps = np.stack([stat(rng.integers(0, n, n)) for _ in range(n_boot)])
        rc = random_control_from_replicates(
            point[top], point[rnd], reps[:, top], reps[:, rnd], statistic=label, n_rows=n,
            n_groups=n, higher_is_better=False,
        )  # fmt: skip
        row = {"test": test, "statistic": label, "n": n, "random": rc}
        for other, i in others.items():
            row[other] = difference_from_replicates(
                point[top], point[i], reps[:, top], reps[:, i], statistic=label, n_rows=n,
                n_groups=n, higher_is_better=False,
            )  # fmt: skip
        out.append(row)
    return out


# --------------------------------------------------------------------------------------------
# figures


def _figures(results: dict[str, BatteryResult], fig_dir: Path, rel: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    shown = {k: v for k, v in results.items()}
    n = len(shown)
    for test in TESTS:
        ncol = min(n, 4)
        nrow = math.ceil(n / ncol)
        fig, axes = plt.subplots(
            nrow, ncol, figsize=(2.8 * ncol, 2.6 * nrow), sharey=True, squeeze=False
        )
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        for ax, (label, res) in zip(axes.flat[:n], shown.items(), strict=True):
            t = res.tests[test]
            v = res.variants[0] if len(res.variants) == 1 else "all channels"
            s = t["stats"][v]
            c = t["conditions"]
            if test == "constancy":
                lm = np.asarray(s["log10_match"], dtype=np.float64)
                for ref in np.unique(c["reference"]):
                    k = np.asarray(c["reference"]) == ref
                    f = np.asarray(c["frequency"])[k]
                    ax.plot(f, np.asarray(c["match"])[k], "k--", lw=0.8)
                    ax.plot(f, 10 ** lm[k], "-", lw=1.0)
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("test frequency (cpd)")
            else:
                e = np.asarray(s["log10_threshold_ratio"], dtype=np.float64)
                human = np.asarray(c["threshold"], dtype=np.float64)
                subj = human * 10 ** (e - np.nanmean(e))
                x = np.asarray(c["mask_contrast"] if test == "masking" else c["frequency"])
                ax.plot(x, human, "ko", ms=3, label="human")
                ax.plot(x, subj, "o", ms=3, mfc="none", label="subject")
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.set_xlabel("mask contrast" if test == "masking" else "frequency (cpd)")
            ax.set_title(label, fontsize=8)
        for row in axes:
            row[0].set_ylabel("matching contrast" if test == "constancy" else "threshold")
        fig.tight_layout()
        path = fig_dir / f"{test}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        lines.append(f"![{test}]({rel}/{test}.png)")
    return lines


# --------------------------------------------------------------------------------------------
# speed


def speed(args: argparse.Namespace) -> dict[str, Any]:
    """VGG-16 battery time (masking test, default display) against its conv FLOPs at peak."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .subjects import make_subject

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(256, 256, 3, padding=1)
    x = torch.rand(8, 3 * 0 + 256, 56, 56)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        conv(x)
    flops_conv = fc.get_total_flops()
    best = math.inf
    with torch.no_grad():
        conv(x)
        for _ in range(3):
            t0 = time.perf_counter()
            conv(x)
            best = min(best, time.perf_counter() - t0)
    peak = flops_conv / best
    subject = make_subject("vgg16", weights=args.speed_weights)
    img = torch.rand(1, 3, 224, 224)
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        subject.backbone.extract(img, subject.layers)  # type: ignore[attr-defined]
    per_image = fc.get_total_flops()
    t0 = time.perf_counter()
    res = run_battery(subject, ["masking"], data_root=args.data_root, progress=False)
    wall = time.perf_counter() - t0
    n_img = res.timings["images_forwarded"]
    ideal = per_image * n_img / peak
    return {
        "peak_gflops": peak / 1e9,
        "gflop_per_image": per_image / 1e9,
        "images": n_img,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal,
        "threads": torch.get_num_threads(),
    }


# --------------------------------------------------------------------------------------------
# the page


def _fmt(x: float, nd: int = 3) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.{nd}f}"


def write_page(args: argparse.Namespace) -> Path:
    display = Display(size=args.size, ppd=args.ppd)
    t_start = time.perf_counter()
    results: dict[str, BatteryResult] = {}
    for name, weights, subsets in SUBJECTS:
        if args.subjects and _slug(name, weights) not in args.subjects:
            continue
        label = f"{name} ({weights})" if weights else name
        results[label] = _run_subject(name, weights, subsets, args, display)
    run_s = time.perf_counter() - t_start
    out = Path(args.out)
    cmd = "python -m hvsprobe.battery.page " + " ".join(sys.argv[1:])
    default = display == Display()
    L: list[str] = [
        "# The low-level human-vision battery",
        "",
        f"Generated by `HVSPROBE_DATA=../shared/data {cmd}` (module `hvsprobe.battery.page`); "
        "definitions in [docs/battery.md](../battery.md), written before any network was run.",
        "",
        f"Display: {display.size} x {display.size} px at {display.ppd:g} px/deg "
        f"({display.size / display.ppd:.2f} deg), peak {display.peak:g} cd/m², "
        f"{display.encoding} encoding. "
        + (
            ""
            if default
            else "**Reduced size** (the default is 224 px at 60 px/deg): the 2-core CPU, shared "
            "with other jobs, could not run two VGG-16 subjects at the default size in the time "
            "available. "
            + (
                "The field of view (3.73 deg) and every stimulus's physical size are the "
                "default's; "
                if math.isclose(display.size / display.ppd, 224 / 60, rel_tol=1e-6)
                else ""
            )
            + f"the Nyquist limit is {display.ppd / 2:g} cpd: human rows at or above it are "
            "left out (the condition counts are in the tables)."
        ),
        "",
        "Battery time of each subject, as recorded in its results folder "
        f"({platform.machine()}, {os.cpu_count()} CPU cores; load average "
        f"{os.getloadavg()[0]:.1f} when this page was written): "
        + ", ".join(f"{k} {v.timings['total_s'] / 60:.1f} min" for k, v in results.items())
        + f"; this command ran or reused them in {run_s / 60:.1f} min.",
        "",
        "Channel subsets: chosen from `hvsprobe analyze` results folders ("
        + "; ".join(
            score_folder_text(folder) for folder in (args.scores_vgg16, args.scores_alexnet)
        )
        + "); top / bottom 25 % of each of the five LPIPS layers by PE, 20 seeded random 25 % "
        "subsets, all channels. Human data used to choose anything: **none** (PE comes from "
        "gratings and the Barten CSF model).",
        "",
        "## Scores",
        "",
        "Detection and masking: threshold error, the RMSE in log10 contrast of the subject's "
        "thresholds relative to the human ones about their mean (0 = thresholds proportional "
        "to the human ones; lower is better), with Cai et al.'s pooled Spearman (response "
        "against multiplier; higher is better) in brackets. Contrast constancy: RMSE of "
        "log10 matching contrast against the human matches (nothing fitted).",
        "",
        "| subject | " + " | ".join(TESTS) + " |",
        "|---|" + "---:|" * len(TESTS),
    ]
    first = next(iter(results.values()))
    counts = {r["test"]: r["conditions"] for r in first.summary()}
    L.append("| conditions used (human rows) | " + " | ".join(str(counts[t]) for t in TESTS) + " |")
    for label, res in results.items():
        shown = [v for v in res.variants if not v.startswith(RANDOM_PREFIX)]
        rnd = [v for v in res.variants if v.startswith(RANDOM_PREFIX)]
        for v in shown:
            cells = []
            for test in TESTS:
                s = res.tests[test]["stats"][v]
                if test == "constancy":
                    cells.append(_fmt(s["matching_rmse"]))
                else:
                    cells.append(f"{_fmt(s['threshold_rmse'])} ({_fmt(s['pooled_spearman'], 2)})")
            name = label if len(res.variants) == 1 else f"{label}, {v}"
            L.append(f"| {name} | " + " | ".join(cells) + " |")
        if rnd:
            cells = []
            for test in TESTS:
                key = "matching_rmse" if test == "constancy" else "threshold_rmse"
                vals = [res.tests[test]["stats"][v][key] for v in rnd]
                cells.append(f"{_fmt(float(np.nanmedian(vals)))} (median)")
            L.append(f"| {label}, {len(rnd)} random 25 % subsets | " + " | ".join(cells) + " |")
    L += [
        "",
        "Whole layers (`all channels`) is subject kind (a); the `top`/`bottom`/random rows "
        "are kind (b); LPIPS-Alex, SSIM, PSNR are kind (c); `pixels` is the raw-pixel "
        "baseline (RMS difference of the pixel arrays).",
        "",
        "## Claim 1 on supra-threshold data",
        "",
        "Top 25 % by PE minus the other subset, lower is better, [95 % paired bootstrap "
        f"interval over conditions, {args.n_boot} replicates]: **supported** when the whole "
        "interval favours the top 25 %, **contradicted** when it favours the other, **not "
        "resolved by these data** otherwise.",
        "",
        f"| backbone | test | vs random (median of {args.n_random}) | beats % of random | vs bottom 25 % | "
        "vs all channels |",
        "|---|---|---|---:|---|---|",
    ]
    for label, res in results.items():
        if not any(v.startswith("top ") for v in res.variants):
            continue
        for row in claim1(res, args.n_boot, args.seed):
            rc = row["random"]
            L.append(
                f"| {label} | {row['statistic']} ({row['n']} conditions) | "
                f"{rc.difference.text()} | {rc.percentile:.0f} [{rc.percentile_low:.0f}, "
                f"{rc.percentile_high:.0f}] | {row['bottom 25% pe'].text()} | "
                f"{row['all channels'].text()} |"
            )
    L += [
        "",
        "## Figures: the human data beside each subject",
        "",
        "Detection and masking: human thresholds (filled) and the subject's (open: human "
        "threshold x 10^(e - mean e)), per condition; detection conditions also differ in "
        "luminance and area, so points at one frequency need not agree. Contrast matching: "
        "human matches (dashed) and the subject's (solid), one line per reference contrast. "
        "Networks are shown with all channels of the five LPIPS layers.",
        "",
    ]
    L += _figures(results, out.parent / "battery", "battery")
    if args.speed:
        import json

        cache = Path(args.work) / "speed.json"
        if cache.is_file():  # measured once per work folder; delete it to measure again
            sp = json.loads(cache.read_text(encoding="utf-8"))
        else:
            sp = speed(args)
            cache.write_text(json.dumps(sp), encoding="utf-8")
        L += [
            "",
            "## Speed",
            "",
            f"VGG-16 (`{args.speed_weights}` weights: the timing does not depend on the weight "
            "values), the masking test at the default display (224 px), measured by the first run of this command with --speed (kept in WORK/speed.json): "
            f"{sp['images']} images forwarded, {sp['gflop_per_image']:.1f} GFLOP of "
            "convolutions per image to relu5_3 (`torch.utils.flop_counter.FlopCounterMode`), "
            f"measured fp32 conv peak {sp['peak_gflops']:.0f} GFLOP/s (a 256 -> 256 channel "
            f"3x3 conv on 8 x 56 x 56, best of 3, {sp['threads']} threads, same run). Ideal "
            f"time {sp['ideal_s']:.1f} s, measured {sp['wall_s']:.1f} s: "
            f"**{sp['ratio']:.2f}x** the FLOP bound (goal: within 2x).",
        ]
        whole = results.get("vgg16 (imagenet)")
        if default and whole is not None and whole.timings.get("images_forwarded"):
            n_all = int(whole.timings["images_forwarded"])
            ideal_all = n_all * sp["gflop_per_image"] / sp["peak_gflops"]
            total = float(whole.timings["total_s"])
            L += [
                "",
                "The whole battery on VGG-16 at this (default) display, from its results folder: "
                f"{n_all} images forwarded, {n_all * sp['gflop_per_image'] / 1e3:.1f} TFLOP of "
                f"convolutions; ideal time at the peak above {ideal_all:.1f} s, measured "
                f"{total:.1f} s (rendering, subsets and statistics included): "
                f"**{total / ideal_all:.2f}x** the FLOP bound (goal: within 2x).",
            ]
        elif not default:
            L += [
                "",
                "Only the masking test was timed at the default display; this page's subjects "
                "ran at the reduced size above.",
            ]
    L.append("")
    from .._io import write_text_atomic

    write_text_atomic(out, "\n".join(L))
    return out


def score_folder_text(folder: str | os.PathLike[str]) -> str:
    """What a score folder holds, read from its ``tuning.json`` (never assumed).

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> grid = {"frequencies": [1.0, 2.0], "orientations": [0.0, 90.0], "phases": [0.0],
    ...         "size": [224, 224], "ppd": 60.0}
    >>> cfg = {"backbone": "vgg16", "weights": "imagenet", "layers": ["relu1_2"], "grid": grid}
    >>> _ = (d / "tuning.json").write_text(json.dumps({"config": cfg}))
    >>> score_folder_text(d).split(": ", 1)[1]
    'vgg16 (imagenet weights), 1 probed layers, 2 frequencies x 2 orientations x 1 phases at 224 px'
    """
    cfg = json.loads((Path(folder) / "tuning.json").read_text(encoding="utf-8"))["config"]
    g = cfg["grid"]
    return (
        f"`{folder}`: {cfg['backbone']} ({cfg['weights']} weights), {len(cfg['layers'])} probed "
        f"layers, {len(g['frequencies'])} frequencies x {len(g['orientations'])} orientations "
        f"x {len(g['phases'])} phases at {g['size'][0]} px"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hvsprobe.battery.page", description=__doc__)
    p.add_argument("--out", default="docs/results/battery.md")
    p.add_argument("--work", default="hvsprobe-results/battery")
    p.add_argument("--scores-vgg16", required=True)
    p.add_argument("--scores-alexnet", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--ppd", type=float, default=60.0)
    p.add_argument("--n-random", type=int, default=20)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-root", default=None)
    p.add_argument("--subjects", nargs="+", default=None, help="slugs to include (default: all)")
    p.add_argument("--speed", action="store_true", help="add the VGG-16 speed section")
    p.add_argument("--speed-weights", default="imagenet")
    args = p.parse_args(argv)
    print(write_page(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
