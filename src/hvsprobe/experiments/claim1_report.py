"""The markdown page of the claim-1 experiment, generated from its rows (no typed numbers)."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._format import format_number
from .._io import atomic_path, write_json_atomic, write_text_atomic

#: version of claim1.json and claim1_run.json, written here
# 2: data counts, machine, paired comparisons; "all channels" holds every channel
# 3: any data set (columns <data set>_<statistic>), pooled verdicts; run facts in claim1_run.json
SCHEMA_VERSION = 3

if TYPE_CHECKING:
    from .claim1 import Claim1Config, Claim1Result


def columns(data: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """``(column, header, with interval)`` of the per-variant table for the run's data sets.

    Examples
    --------
    >>> columns({"datasets": [{"name": "bapps-jnd", "title": "BAPPS JND (val)"}]})
    [('bapps_jnd_map', 'BAPPS JND (val) mAP', False)]
    """
    out: list[tuple[str, str, bool]] = []
    for ds in data.get("datasets", []):
        key, title = ds["name"].replace("-", "_"), ds["title"]
        if ds["name"] == "modelfest":
            out += [
                ("modelfest_rmse", "ModelFest RMSE", False),
                ("modelfest_r", "ModelFest r", False),
            ]
        elif ds["name"] == "castlecsf":
            out += [("castle_rmse", "castleCSF RMSE", False), ("castle_r", "castleCSF r", False)]
        elif ds["name"] == "bapps-2afc":
            out.append((f"{key}_2afc", f"{title} 2AFC", False))
        elif ds["name"] == "bapps-jnd":
            out.append((f"{key}_map", f"{title} mAP", False))
        else:
            out += [
                (f"{key}_srcc", f"{title} SRCC [95 % CI]", True),
                (f"{key}_plcc", f"{title} PLCC", False),
            ]
    return out


def _f(x: Any, nd: int = 3) -> str:
    return format_number(x, nd)


def _row(rows, backbone, variant):
    for r in rows:
        if r["backbone"] == backbone and r["variant"] == variant:
            return r
    return None


def _randoms(rows, backbone, k):
    return [
        r for r in rows if r["backbone"] == backbone and r["family"] == "random" and r["k"] == k
    ]


def _ci_text(c: dict[str, Any]) -> str:
    return f"{c['diff']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]"


def _comparison_cell(c: dict[str, Any]) -> str:
    text = f"{_ci_text(c)} {c['verdict']}"
    if c.get("p_value") is not None and math.isfinite(c["p_value"]):
        text += f" (p = {c['p_value']:.3g})"
    return text


def _verdict_lines(comparisons: list[dict[str, Any]]) -> list[str]:
    """One line per backbone and data set: top-k minus the random median per k, with its
    interval, the top-k's percentile among random subsets and the verdict word."""
    lines = []
    keys = list(dict.fromkeys((c["backbone"], c["dataset"]) for c in comparisons))
    for bb, ds in keys:
        rnd = [
            c
            for c in comparisons
            if c["backbone"] == bb and c["dataset"] == ds and c["other"] == "random subsets"
        ]
        if not rnd:
            continue
        first = rnd[0]
        parts = [
            f"k = {int(round(100 * c['k']))} %: {_ci_text(c)} **{c['verdict']}** "
            f"(beats {c['percentile']:.0f} % of random subsets "
            f"[{_f(c['percentile_low'], 0)}, {_f(c['percentile_high'], 0)}])"
            for c in rnd
        ]
        unit = "higher is better" if first["higher_is_better"] else "lower is better"
        lines.append(
            f"- **{bb}, {ds}** ({unit}; {first['n_rows']} rows, {first['n_groups']} resampled "
            "units): top-k % by PE minus the median random k % subset — " + "; ".join(parts) + "."
        )
    return lines


def _comparison_table(comparisons: list[dict[str, Any]], level: float) -> list[str]:
    out = [
        f"Each cell: top-k % by PE minus the other [{100 * level:g} % paired bootstrap "
        'interval], the verdict on "top-k is better", and for LIVE the exact swap-permutation '
        "p-value. Against random subsets the other is their median.",
        "",
        "| backbone | data set | k | vs random (median) | vs bottom-k % | vs all channels | "
        "vs LPIPS weights |",
        "|---|---|---:|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((c["backbone"], c["dataset"], c["k"]) for c in comparisons))
    for bb, ds, k in keys:
        cells = []
        for other in (
            "random subsets",
            "bottom-k % by PE",
            "all channels",
            "LPIPS learned weights",
        ):
            c = next(
                (
                    c
                    for c in comparisons
                    if (c["backbone"], c["dataset"], c["k"], c["other"]) == (bb, ds, k, other)
                ),
                None,
            )
            cells.append(_comparison_cell(c) if c else "—")
        out.append(f"| {bb} | {ds} | {int(round(100 * k))} % | " + " | ".join(cells) + " |")
    return out


def _data_sentence(data: dict[str, Any], extra: dict[str, Any] | None) -> str:
    parts = []
    for ds in data.get("datasets", []):
        text = f"{ds['title']} {ds['rows']} rows, {ds['units']} {ds['unit']}"
        if ds.get("excluded") is not None:
            text += f", {ds['excluded']} rows excluded"
        if ds.get("root") and ds["name"] not in ("modelfest", "castlecsf"):
            text += f" (`{ds['root']}`)"
        parts.append(text)
    text = "Data read by this run: " + "; ".join(parts) + "."
    absent = data.get("absent", [])
    if absent:
        text += (
            " Absent from this run (and how to add each): "
            + "; ".join(f"{a['name']} — {a['how']}" for a in absent)
            + "."
        )
    return text


def _pooled_lines(pooled: list[dict[str, Any]], level: float) -> list[str]:
    """The pooled verdicts across data sets (rule: docs/evaluate.md)."""
    if not pooled:
        return []
    out = [
        "### Pooled over the data sets",
        "",
        'Rule fixed before these numbers were computed (docs/evaluate.md, "Claim 1 across data '
        "sets\"): each data set's difference, oriented so that positive favours the top-k % by "
        "PE, divided by the standard deviation of its own bootstrap replicates; the pooled value "
        "is the equal-weight mean over data sets, with the "
        f"{100 * level:g} % percentile interval of the same mean over independent per-data-set "
        "replicates.",
        "",
        "| backbone | k | top-k % by PE vs | pooled z [interval] | verdict | data sets |",
        "|---|---:|---|---|---|---|",
    ]
    for p in pooled:
        left = f" (left out: {p['left_out']})" if p.get("left_out") else ""
        out.append(
            f"| {p['backbone']} | {int(round(100 * p['k']))} % | {p['other']} | "
            f"{p['z']:+.2f} [{p['low']:+.2f}, {p['high']:+.2f}] | **{p['verdict']}** | "
            f"{p['n_datasets']}: {p['datasets']}{left} |"
        )
    return [*out, ""]


def render_markdown(
    rows, agreement, cfg, extra, comparisons=(), data=None, scores=None, pooled=()
) -> str:
    """The full claim-1 page (``scores``: per backbone, :func:`claim1.scores_provenance`).

    Only results enter the page (no wall time or machine: those are in ``claim1_run.json``),
    so reruns, resumed runs and runs with other workers write the same bytes.
    """
    data, comparisons = data or {}, list(comparisons)
    level = getattr(cfg, "level", 0.95)
    out = _head_lines(cfg, extra, comparisons, data, level)
    out += _pooled_lines(list(pooled), level)
    if comparisons:
        out += ["### All paired comparisons", "", *_comparison_table(comparisons, level), ""]
    out += _backbone_tables(rows, list(cfg.fractions), columns(data))
    out += _image_baseline_lines(rows)
    out += _agreement_lines(agreement)
    out += _limits_lines(cfg, extra, data)
    out += _scores_lines(scores or {})
    return "\n".join(out)


def _head_lines(cfg, extra, comparisons, data, level) -> list[str]:
    """Title, provenance, what the metrics are, and the Verdict section."""
    titles = [d["title"] for d in data.get("datasets", [])]
    sets = ", ".join(titles) + (" (`--live-only`)" if cfg.live_only else "")
    return [
        "# Claim 1: do higher-scoring channels predict human judgments better?",
        "",
        "Generated by `hvsprobe experiment claim1` (module `hvsprobe.experiments.claim1`); every "
        "number on this page comes from `claim1.csv`, `claim1_comparisons.csv` and `claim1.json` "
        "in the experiment's output folder; the wall time and the machine of the run are in its "
        "`claim1_run.json`.",
        "",
        _data_sentence(data, extra),
        "",
        "Each metric is the LPIPS-style distance (unit-normalised features, squared difference, "
        "spatial mean, sum over layers) on the five LPIPS layers of the backbone, restricted to a "
        "channel subset with weight 1: the top k % of each layer by PE, mu1 or mu2, the bottom k % "
        f"by PE, {cfg.n_random} seeded random k % subsets, all channels (every channel, also those "
        "whose grating scores are NaN), or LPIPS's learned weights. Higher SRCC (rated images), "
        "2AFC agreement with the human votes (BAPPS 2AFC, mean over source sets) and mAP (BAPPS "
        "JND) are better; lower RMSE (log10 sensitivity, one fitted criterion) is better.",
        "",
        "## Verdict",
        "",
        f"Human data: {sets}. For each backbone and data set, the top-k % by PE is compared with "
        "the *median* random k % subset on the same rows (the tables print that median). The "
        f"interval is a paired percentile bootstrap ({cfg.n_boot} replicates, {100 * level:g} %) "
        "that resamples each data set's unit (reference images of rated-image sets, BAPPS "
        "reference patches (2AFC) or pairs (JND), ModelFest or castleCSF stimuli) and "
        "recomputes every subset on the same draw. **supported**: the whole interval favours the "
        "top-k; **contradicted**: the whole interval favours the other; **not resolved by these "
        "data**: the interval contains 0.",
        "",
        *_verdict_lines(comparisons),
        "",
    ]


def _backbone_tables(rows, fractions, cols) -> list[str]:
    """One table per backbone: fixed variants, then per k the scored subsets and the randoms."""
    out: list[str] = []
    backbones = list(dict.fromkeys(r["backbone"] for r in rows if r["backbone"] != "-"))
    header = "| variant | channels | " + " | ".join(h for _, h, _ in cols) + " |"
    sep = "|---|---:|" + "---|" * len(cols)
    for bb in backbones:
        out += [f"## {bb}", "", header, sep]
        fixed = [r for r in rows if r["backbone"] == bb and r["family"] in ("all", "lpips")]
        for r in fixed:
            out.append(_table_row(r, cols))
        for k in fractions:
            pct = int(round(100 * k))
            for v in (f"top {pct}% pe", f"top {pct}% mu1", f"top {pct}% mu2", f"bottom {pct}% pe"):
                r = _row(rows, bb, v)
                if r:
                    out.append(_table_row(r, cols))
            rnd = _randoms(rows, bb, k)
            if rnd:
                out.append(_random_row(rnd, pct, cols))
        out.append("")
    return out


def _image_baseline_lines(rows) -> list[str]:
    """The SSIM/PSNR table (LIVE only)."""
    out: list[str] = []
    img = [r for r in rows if r["backbone"] == "-"]
    if img:
        out += [
            "## Image-based baselines (LIVE only)",
            "",
            "| metric | LIVE SRCC [95 % CI] | LIVE PLCC |",
            "|---|---|---:|",
        ]
        for r in img:
            out.append(
                f"| {r['variant']} | {_f(r['live_srcc'])} [{_f(r.get('live_srcc_lo'))}, {_f(r.get('live_srcc_hi'))}] | {_f(r['live_plcc'])} |"
            )
        out.append("")
    return out


def _agreement_lines(agreement) -> list[str]:
    """Spearman agreement of the scores with LPIPS's learned weights, and its count."""
    if not agreement:
        return []
    out = [
        "## Agreement with LPIPS's learned channel weights",
        "",
        "Spearman correlation, per LPIPS layer, between our channel scores and the official LPIPS "
        "v0.1 linear weights (fitted to ~150k human 2AFC judgments); permutation p-value "
        "(2000 permutations, two-sided). Positive means channels we score higher get larger LPIPS weights.",
        "",
        "| backbone | layer | rho mu1 (p) | rho mu2 (p) | rho PE (p) |",
        "|---|---|---|---|---|",
    ]
    keys = list(dict.fromkeys((a["backbone"], a["layer"]) for a in agreement))
    for bb, layer in keys:
        cells = []
        for score in ("mu1", "mu2", "pe"):
            a = next(
                (
                    a
                    for a in agreement
                    if a["backbone"] == bb and a["layer"] == layer and a["score"] == score
                ),
                None,
            )
            cells.append(f"{_f(a['rho'])} ({a['p_value']:.3g})" if a else "—")
        out.append(f"| {bb} | {layer} | " + " | ".join(cells) + " |")
    pos = sum(1 for a in agreement if a["score"] == "pe" and a["rho"] > 0 and a["p_value"] < 0.05)
    neg = sum(1 for a in agreement if a["score"] == "pe" and a["rho"] < 0 and a["p_value"] < 0.05)
    tot = sum(1 for a in agreement if a["score"] == "pe")
    out += [
        "",
        f"PE agrees positively and significantly (p < 0.05) with the LPIPS weights in {pos} of {tot} "
        f"layers, negatively in {neg}.",
        "",
    ]
    return out


def _limits_lines(cfg, extra, data) -> list[str]:
    """The "How to read this, and its limits" section."""
    out = ["## How to read this, and its limits", ""]
    for ds in data.get("datasets", []):
        if ds["name"] in ("modelfest", "castlecsf"):
            continue
        out.append(
            f"- {ds['title']}: {ds['rows']} rows, {ds['units']} {ds['unit']}. The intervals "
            f"resample {ds['unit']}, so with few of them they are wide and coarse."
        )
    out.append("- Random subsets are shown as a distribution (median; mean ± sd [min, max]).")
    if extra:
        sets = []
        if extra["modelfest_ids"]:
            sets.append(f"ModelFest ({len(extra['modelfest_ids'])} stimuli)")
        if extra["castle_rows"]:
            sets.append(
                f"castleCSF ({extra['castle_rows']} static foveal achromatic rows at "
                f"10–1000 cd/m², {extra['castle_stimuli']} distinct stimuli; "
                f"{extra['castle_excluded']} rows excluded)"
            )
        out.append(
            f"- {' and '.join(sets)}: thresholds are where the distance between a mean-grey "
            "field and the stimulus reaches one fitted criterion, interpolated in log-log "
            f"coordinates between {int(cfg.contrasts[2])} contrasts from {cfg.contrasts[0]:g} "
            f"to {cfg.contrasts[1]:g}. Bootstrap replicates refit the criterion on a grid of "
            "256 candidate criteria."
        )
    else:
        out.append("- This run used no threshold data sets.")
    return out


def _csf_sentence(csf: str | None, mu1: str | None) -> str:
    """How independent the human data are of the CSF that weights mu1."""
    if mu1 == "vfss_v1":
        return (
            "mu1 is the authors' v1 score with its fixed Mannos–Sakrison CSF, chosen before any "
            "of these data were seen."
        )
    if csf == "castle_fit":
        return (
            "castleCSF is not an independent test of PE: mu1 weights frequency change by the "
            "`castle_fit` CSF, which was fitted to these same castleCSF measurements "
            "(docs/human.md), so a selection by PE is partly tuned towards them; ModelFest and "
            "LIVE are independent of that fit."
        )
    return (
        f"mu1 weights frequency change by the `{csf}` CSF with its published constants (no "
        "parameter fitted to these data). The model was chosen among the CSF models by its "
        "held-out error on the castleCSF compilation (docs/results/csf_study.md), which holds "
        "the castleCSF rows used here and the ModelFest thresholds: those data helped pick the "
        "CSF's form, not fit it. LIVE is independent of that choice."
    )


def _scores_lines(scores: dict[str, dict[str, Any]]) -> list[str]:
    """Which scores the selections came from, read from the results folders."""
    if not scores:
        return []
    out = []
    for bb, p in scores.items():
        out.append(
            f"- {bb}: scores from `{p.get('results')}` (response {p.get('response')}, gratings "
            f"at {p.get('ppd')} px/deg; mu1 {p.get('mu1')}, mu2 {p.get('mu2')}, PE {p.get('pe')}, "
            f"CSF {p.get('csf')}). " + _csf_sentence(p.get("csf"), p.get("mu1"))
        )
    out.append(
        "- The subset metrics are applied to the images at their native resolution, whatever "
        "the gratings' pixels per degree."
    )
    return [*out, ""]


def _table_row(r, cols) -> str:
    cells = []
    for col, _, ci in cols:
        text = _f(r.get(col))
        if ci and f"{col}_lo" in r:
            text += f" [{_f(r.get(f'{col}_lo'))}, {_f(r.get(f'{col}_hi'))}]"
        cells.append(text)
    return f"| {r['variant']} | {r['n_channels']} | " + " | ".join(cells) + " |"


def _random_row(rnd, pct, cols) -> str:
    def stat(col):
        v = np.array([r.get(col, math.nan) for r in rnd], dtype=float)
        v = v[np.isfinite(v)]
        if not v.size:
            return "—"
        sd = v.std(ddof=1) if v.size > 1 else 0.0
        return (
            f"median {np.median(v):.3f}; {v.mean():.3f} ± {sd:.3f} [{v.min():.3f}, {v.max():.3f}]"
        )

    return (
        f"| random {pct}% (n={len(rnd)}) | {rnd[0]['n_channels']} | "
        + " | ".join(stat(c) for c, _, _ in cols)
        + " |"
    )


def with_history(text: str, old: str | None, date: str) -> str:
    r"""``text`` with a "History" section that keeps the verdicts of earlier pages.

    The previous page's "Verdict" section (when it differs from the new one) becomes the
    newest history entry, dated by the day it was replaced; its own history follows.

    Examples
    --------
    >>> old = "# T\n\n## Verdict\n\nold words\n\n## vgg16\n"
    >>> "old words" in with_history("# T\n\n## Verdict\n\nnew\n", old, "2026-12-01")
    True
    """
    entries: list[str] = []
    if old:
        prev = _section(old, "## Verdict")
        if prev and prev.strip() != (_section(text, "## Verdict") or "").strip():
            body = prev.replace("\n### ", "\n#### ")
            entries.append(f"### Verdict of the page replaced on {date}\n\n{body.strip()}")
        hist = _section(old, "## History")
        if hist:
            entries.append(hist.strip().removeprefix(_HISTORY_INTRO).strip())
    if not entries:
        return text
    return (
        text.rstrip() + "\n\n## History\n\n" + _HISTORY_INTRO + "\n\n" + "\n\n".join(entries) + "\n"
    )


_HISTORY_INTRO = "Earlier verdicts of this page, newest first, kept so a reader sees what changed."


def _section(text: str, heading: str) -> str | None:
    """The body of the level-2 section ``heading`` (up to the next level-2 heading)."""
    lines = text.splitlines()
    try:
        i = lines.index(heading)
    except ValueError:
        return None
    body = []
    for line in lines[i + 1 :]:
        if line.startswith("## "):
            break
        body.append(line)
    return "\n".join(body).strip("\n")


# ------------------------------------------------------------------------------------------
# outputs: claim1.csv, claim1_comparisons.csv, claim1.json, claim1.md (and --doc)


def write_outputs(res: Claim1Result, cfg: Claim1Config, out: Path, contrasts, extra) -> None:
    """Write the tables, the JSON record and the page (and ``cfg.doc`` with its history)."""
    from .. import __version__

    _write_csv(out / "claim1.csv", res.rows, ("backbone", "variant", "family", "k", "n_channels"))
    _write_csv(
        out / "claim1_comparisons.csv", res.comparisons, ("backbone", "dataset", "k", "other")
    )
    _write_csv(out / "claim1_pooled.csv", res.pooled, ("backbone", "k", "other"))
    write_json_atomic(
        out / "claim1.json",
        {
            "kind": "claim1",
            "schema_version": SCHEMA_VERSION,
            "hvsprobe_version": __version__,
            "config": cfg.to_dict(),
            "data": res.data,
            "contrasts": contrasts.tolist(),
            "extra": extra,
            "rows": res.rows,
            "comparisons": res.comparisons,
            "pooled": res.pooled,
            "agreement": res.agreement,
            "scores": res.scores,
        },
    )
    write_json_atomic(
        out / "claim1_run.json",
        {
            "kind": "claim1_run",
            "schema_version": SCHEMA_VERSION,
            "machine": res.machine,
            "timings": res.timings,
        },
    )
    text = render_markdown(
        res.rows,
        res.agreement,
        cfg,
        extra,
        res.comparisons,
        res.data,
        scores=res.scores,
        pooled=res.pooled,
    )
    write_text_atomic(out / "claim1.md", text)
    if cfg.doc:
        doc = Path(cfg.doc)
        old = doc.read_text(encoding="utf-8") if doc.is_file() else None
        write_text_atomic(doc, with_history(text, old, time.strftime("%Y-%m-%d")))


def _write_csv(path: Path, rows: list[dict[str, Any]], first: tuple[str, ...]) -> None:
    cols = sorted(
        {k for r in rows for k in r},
        key=lambda c: (c not in first, first.index(c) if c in first else 0, c),
    )
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: (f"{v:.6g}" if isinstance(v, float) else v) for c, v in r.items()})
