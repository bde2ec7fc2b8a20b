"""How much the choice of human CSF changes which channels rank as human-like.

:func:`csf_rank_study` rescores one probe result (``tuning.npz`` + ``tuning.json`` written
by ``hvsprobe analyze``) with several CSFs and compares, per layer, the PE rankings
(Spearman rank correlation over live channels) and the default selections (overlap of
the top 25 % by PE). :func:`main` writes ``docs/results/csf_study.md`` from it, together
with the in-sample and leave-one-dataset-out CSF error table of
:func:`hvsprobe.human.heldout.csf_heldout_table`. Every number on the page is computed
by the run that writes it::

    python -m hvsprobe.experiments.csf_study RESULTS_FOLDER --data-root ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from .._format import EN_DASH, format_number
from .._io import write_json_atomic, write_text_atomic
from ..errors import UserError
from ..scores import ChannelScores, ScoreConfig, compute_scores
from ..selection import select_channels
from ..tuning import Tuning
from .entry import experiment_main
from .provenance import run_meta

__all__ = ["DEFAULT_CSFS", "add_arguments", "csf_rank_study", "main", "run", "study_markdown"]

KIND = "csf_study"
SCHEMA_VERSION = 1
#: CSFs compared by default.
DEFAULT_CSFS: tuple[str, ...] = ("castle_fit", "barten", "mannos_sakrison")
#: Default output page.


def _base_config(folder: Path | None) -> ScoreConfig:
    """The score settings of the analysis in ``folder`` (``scores.json``), else the defaults.

    The CSF and its parameters are left at their defaults: they are what the study varies.
    """
    path = folder / "scores.json" if folder is not None else None
    if path is None or not path.is_file():
        return ScoreConfig()
    from .._io import read_json

    saved = read_json(path).get("config", {}).get("score", {})
    names = {f.name for f in dataclasses.fields(ScoreConfig)} - {"csf", "csf_params"}
    return ScoreConfig(**{k: v for k, v in saved.items() if k in names})


def _top_sets(scores: ChannelScores, fraction: float) -> dict[str, set[int]]:
    sel = select_channels(scores, score="pe", strategy="top_fraction", value=fraction)
    return {layer: set(entry["channels"]) for layer, entry in sel.layers.items()}


def _compare(
    layer: str,
    a: str,
    b: str,
    scores: dict[str, ChannelScores],
    tops: dict[str, dict[str, set[int]]],
) -> dict[str, Any]:
    """One table row: PE rank correlation and top-selection overlap of CSFs ``a`` and ``b``."""
    ta, tb = scores[a].layer(layer), scores[b].layer(layer)
    ok = ~ta["dead"] & ~tb["dead"] & np.isfinite(ta["pe"]) & np.isfinite(tb["pe"])
    n_ok = int(ok.sum())
    rho = float(spearmanr(ta["pe"][ok], tb["pe"][ok])[0]) if n_ok >= 3 else math.nan
    sa, sb = tops[a][layer], tops[b][layer]
    denom = max(len(sa), len(sb))
    return {
        "layer": layer,
        "csf_a": a,
        "csf_b": b,
        "n_channels": int(ta["dead"].size),
        "n_ranked": n_ok,
        "spearman_pe": rho,
        "n_top_a": len(sa),
        "n_top_b": len(sb),
        "top_overlap": len(sa & sb) / denom if denom else math.nan,
    }


def csf_rank_study(
    tuning_or_results_folder: Tuning | str | os.PathLike[str],
    csfs: Sequence[str] = DEFAULT_CSFS,
    *,
    fraction: float = 0.25,
) -> dict[str, Any]:
    """Per layer, how much PE rankings and top-PE selections change between CSFs.

    Each CSF rescores the same responses with
    ``compute_scores(tuning, replace(base, csf=name))``, where ``base`` holds the score
    settings of the folder's ``scores.json`` (defaults when absent or when a
    :class:`~hvsprobe.tuning.Tuning` is passed); the CSF's viewing condition is filled from
    the grid as usual. For every pair of CSFs and every layer it reports the Spearman
    rank correlation of PE over the channels that are live and have a finite PE under
    both, and the overlap of the default selections
    (``select_channels(scores, strategy='top_fraction', value=fraction)``):
    ``|A ∩ B| / max(|A|, |B|)``; two random selections of that size overlap by about
    ``fraction``.

    Parameters
    ----------
    tuning_or_results_folder : Tuning or path-like
        A probe result, or a folder holding ``tuning.npz`` and ``tuning.json``.
    csfs : sequence of str
        At least two distinct CSF names (see :func:`hvsprobe.human.list_csfs`).
    fraction : float
        Share of live channels per layer in the top selection, in (0, 1].

    Returns
    -------
    dict
        ``kind``, ``schema_version``, ``csfs``, ``fraction``, ``score_config`` (the base
        settings), ``tuning`` (backbone, weights sha256, layers, grid) and ``rows``: one per
        (layer, CSF pair) with ``layer``, ``csf_a``, ``csf_b``, ``n_channels``, ``n_ranked``,
        ``spearman_pe``, ``n_top_a``, ``n_top_b``, ``top_overlap``.

    Raises
    ------
    ValueError
        Fewer than two distinct CSFs, an unknown CSF, a ``fraction`` outside (0, 1], or a
        score setting in which the CSF plays no part (``mu1='vfss_v1'``).
    FileNotFoundError
        If the folder holds no probe result.

    Examples
    --------
    >>> study = csf_rank_study("/tmp/csf-dev")  # doctest: +SKIP
    >>> [(r["layer"], r["csf_b"], round(r["spearman_pe"], 2)) for r in study["rows"]][:1]
    ... # doctest: +SKIP
    """
    names = list(dict.fromkeys(csfs))
    if len(names) < 2:
        raise ValueError(f"csf_rank_study needs at least two different CSFs, got {list(csfs)}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    if isinstance(tuning_or_results_folder, Tuning):
        tuning, folder = tuning_or_results_folder, None
    else:
        folder = Path(tuning_or_results_folder)
        tuning = Tuning.load(folder)
    base = _base_config(folder)
    if base.mu1 != "csf_logslope":
        raise ValueError(
            f"the scores use mu1={base.mu1!r}, which ignores the CSF; rerun the analysis "
            "with --mu1 csf_logslope to compare CSFs"
        )
    scores = {n: compute_scores(tuning, dataclasses.replace(base, csf=n)) for n in names}
    tops = {n: _top_sets(s, fraction) for n, s in scores.items()}
    rows = [
        _compare(layer, a, b, scores, tops)
        for layer in scores[names[0]].layers
        for a, b in itertools.combinations(names, 2)
    ]
    cfg = scores[names[0]].config
    return {
        "kind": KIND,
        "schema_version": SCHEMA_VERSION,
        "csfs": names,
        "fraction": fraction,
        "score_config": {k: v for k, v in base.to_dict().items() if k not in ("csf", "csf_params")},
        "csf_params": {n: s.config["score"]["csf_params"] for n, s in scores.items()},
        "tuning": {
            "backbone": tuning.backbone,
            "weights_sha256": tuning.weights_sha256,
            "layers": list(tuning.layers),
            "grid": cfg.get("probe", {}).get("grid"),
            "response": cfg.get("probe", {}).get("response"),
        },
        "rows": rows,
    }


def _f(x: float | None, nd: int = 3) -> str:
    return format_number(x, nd, missing=EN_DASH)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def _grid_line(grid: dict[str, Any] | None) -> str:
    if not grid:
        return "grid: not recorded"
    f = grid.get("frequencies", [])
    return (
        f"{grid.get('stimulus_kind')} grid: {len(f)} frequencies "
        f"{min(f, default=math.nan):g}–{max(f, default=math.nan):g} cpd, "
        f"{len(grid.get('orientations', []))} orientations, {len(grid.get('phases', []))} "
        f"phases, {grid.get('ppd')} px/deg, {grid.get('size')} px"
    )


def study_markdown(
    study: dict[str, Any], heldout: Sequence[dict[str, Any]] | None, header: dict[str, str]
) -> str:
    """The generated page: provenance, the per-layer rank table and the CSF error table.

    Parameters
    ----------
    study : dict
        Output of :func:`csf_rank_study`.
    heldout : sequence of dict or None
        Output of :func:`hvsprobe.human.heldout.csf_heldout_table` (``None`` leaves the
        section out and says so).
    header : dict of str
        ``command``, ``date``, ``machine`` and ``seconds`` lines for the provenance block.

    Returns
    -------
    str
        Markdown text.
    """
    from ..human.heldout import best_heldout_model, heldout_table_markdown

    t = study["tuning"]
    pct = round(100 * study["fraction"])
    lines = [
        "# CSF study: held-out CSF error and how the CSF changes the PE ranking",
        "",
        "Generated page; every number below comes from the run stated here.",
        "",
        f"* command: `{header['command']}`",
        f"* date: {header['date']}; machine: {header['machine']}; run time {header['seconds']}",
        f"* probe result: {t['backbone']} (weights sha256 `{str(t['weights_sha256'])[:12]}…`), "
        f"layers {', '.join(t['layers'])}; {_grid_line(t['grid'])}; response: "
        f"{_response_line(t['response'])}",
        f"* score settings other than the CSF: `{study['score_config']}`",
        "* CSF viewing conditions (filled from the grid): "
        + "; ".join(f"{n} `{p}`" for n, p in study["csf_params"].items()),
        "",
        "## Which CSF predicts held-out human data best",
        "",
    ]
    if heldout is None:
        lines += ["Not computed (no castleCSF data given: pass `--data-root`).", ""]
    else:
        best = best_heldout_model(heldout)
        lines += [
            "RMSE in log10 sensitivity against the castleCSF static, foveal, achromatic rows "
            f"({heldout[0]['n_rows']} rows, {heldout[0]['n_datasets']} datasets). *no fit*: "
            "published constants; *in-sample*: fitted to all rows and scored on them; "
            "*LODO*: each dataset scored by a fit to the other datasets only, pooled over all "
            "rows; *mean of datasets*: unweighted mean of the per-dataset LODO RMSEs; "
            "*shape only*: LODO after removing each held-out dataset's own mean residual "
            "(the probe uses only the normalised curve); *near probe*: the rows at "
            "10–1000 cd/m² and 2–100 deg². See docs/human.md for what is fitted.",
            "",
            heldout_table_markdown(heldout),
            f"Lowest pooled LODO error: **{best}**. The castleCSF rows are a different set of "
            "conditions (many luminances, sizes and stimulus types) from the probe's single "
            "viewing condition, so this ranks how well each model generalises to unseen "
            "studies, not how well it describes the probe's display.",
            "",
        ]
    lines += [
        f"## PE ranking and top-{pct} % selection per layer",
        "",
        "Spearman ρ of PE over the channels live under both CSFs (*ranked*); overlap = "
        f"|A ∩ B| / max(|A|, |B|) of the top {pct} % by PE per layer (`select_channels`, "
        f"`top_fraction` {study['fraction']:g}); two random selections overlap by about "
        f"{study['fraction']:.2f}.",
        "",
        "| layer | channels | ranked | CSF A | CSF B | Spearman ρ (PE) | top A | top B "
        "| top overlap |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in study["rows"]:
        lines.append(
            f"| {r['layer']} | {r['n_channels']} | {r['n_ranked']} | {r['csf_a']} "
            f"| {r['csf_b']} | {_f(r['spearman_pe'])} | {r['n_top_a']} | {r['n_top_b']} "
            f"| {_f(r['top_overlap'], 2)} |"
        )
    return "\n".join(lines) + "\n"


def _response_line(resp: Any) -> str:
    """The response method in a few words (the full torus plan stays in the JSON)."""
    if not isinstance(resp, dict):
        return str(resp or "whole_map")
    text = str(resp.get("method", "whole_map"))
    torus = resp.get("torus")
    if isinstance(torus, dict):
        text += (
            f" (unit {torus.get('unit_px')} px, frequency within "
            f"{100 * torus.get('max_relative_frequency_error', 0):.2f} %, orientation within "
            f"{torus.get('max_orientation_error_deg', 0):.2f} deg of the grid)"
        )
    return text


DESCRIPTION = (
    "Rescore an `hvsprobe analyze` results folder with several CSFs and write "
    "docs/results/csf_study.md (PE rank changes per layer + held-out CSF errors)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The study's options (``python -m`` and ``hvsprobe experiment csf_study``)."""
    parser.add_argument("results", type=Path, help="folder with tuning.npz and tuning.json")
    parser.add_argument("--csfs", nargs="+", default=list(DEFAULT_CSFS), help="CSFs to compare")
    parser.add_argument("--fraction", type=float, default=0.25, help="top share per layer")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding psychophysics/castleCSF (default $HVSPROBE_DATA)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="page to write, e.g. docs/results/csf_study.md (required; its JSON goes beside it)",
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """Run the study and write the page and its JSON."""
    from ..human.heldout import csf_heldout_table

    start = time.perf_counter()
    heldout = csf_heldout_table(args.data_root)
    study = csf_rank_study(args.results, args.csfs, fraction=args.fraction)
    if args.out is None:
        raise UserError("--out PAGE is required (e.g. docs/results/csf_study.md)")
    meta = run_meta("csf_study", argv, start)
    header = {
        "command": meta["command"],
        "date": meta["date"],
        "machine": _machine(),
        "seconds": f"{meta['wall_s']:.0f} s",
    }
    write_text_atomic(args.out, study_markdown(study, heldout, header))
    doc = {**study, "heldout_csf_error": list(heldout), "generated": header}
    write_json_atomic(args.out.with_suffix(".json"), doc)
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the study on a results folder and write the page and its JSON.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0, or 2 for a missing or unusable input.
    """
    return experiment_main("csf_study", DESCRIPTION, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
