"""castleCSF: the ``castle_fit`` CSF fit and the errors of every CSF against the data.

The castleCSF measurements (Ashraf, Mantiuk, Chapiro & Wuerger 2024, "castleCSF — A
contrast sensitivity function of color, area, spatiotemporal frequency, luminance and
eccentricity", J. Vision 24(4):5) aggregate 18 psychophysical datasets. This module
takes their static, foveal, achromatic grating/Gabor rows (:mod:`.castle_data`), fits
the ``castle_fit`` form of :func:`hvsprobe.human.castle_fit.castle_fit_csf` to them, and
scores every CSF of :func:`hvsprobe.human.list_csfs` against them.

Regenerate the packaged fit (``hvsprobe/data/castle_csf_fit.json``) with::

    python -m hvsprobe.human.castle --data-root ../shared/data

and print the markdown tables of ``docs/human.md`` with ``--write-doc``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy

from .._io import write_json_atomic
from .castle_data import (
    ACHROMATIC_MAX_ANGLE_DEG,
    ENV_VAR,
    load_achromatic_rows,
    load_castle_achromatic,
)
from .castle_fit import (
    CASTLE_FIT_KIND,
    CASTLE_FIT_PARAM_NAMES,
    CASTLE_FIT_SCHEMA_VERSION,
    cached_packaged_document,
    packaged_fit_path,
)
from .fitting import NEAR_PROBE, fit_castle_coeffs, fit_settings, predict_at_rows
from .models import CSFModel, get_csf, list_csfs

__all__ = [
    "NEAR_PROBE",
    "PROBE_CONDITION",
    "build_castle_fit_document",
    "castle_fit_cross_validation",
    "csf_error_table",
    "error_table_markdown",
    "fit_castle_csf",
    "main",
    "write_castle_fit",
]

#: Viewing condition of the hvsprobe grating probe: 224 px at 60 px/deg on ~100 cd/m^2.
PROBE_CONDITION = {"luminance": 100.0, "field_size_deg": 224 / 60}


def _model_from_coeffs(coeffs: Mapping[str, float]) -> CSFModel:
    return get_csf("castle_fit", **dict(coeffs))


def fit_castle_csf(data_root: str | os.PathLike[str] | None = None) -> CSFModel:
    """Fit the ``castle_fit`` CSF to the castleCSF static, foveal, achromatic rows.

    Deterministic: a fixed start point and bounded trust-region least squares on
    ``log10`` sensitivity with tight tolerances.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.

    Returns
    -------
    CSFModel
        ``castle_fit`` model with the fitted coefficients, ``luminance=100`` and
        ``area_deg2=16``.
    """
    coeffs, _ = fit_castle_coeffs(load_castle_achromatic(data_root))
    return _model_from_coeffs(coeffs)


def build_castle_fit_document(data_root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Fit and return the JSON document stored as ``hvsprobe/data/castle_csf_fit.json``.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.

    Returns
    -------
    dict
        ``kind``, ``schema_version``, ``params`` (the coefficients), ``fit`` (settings and
        result), ``data`` (file hashes and the selection rule), ``software``.
    """
    data, meta = load_achromatic_rows(data_root)
    coeffs, info = fit_castle_coeffs(data)
    datasets, n_per = np.unique(data["dataset"], return_counts=True)
    return {
        "kind": CASTLE_FIT_KIND,
        "schema_version": CASTLE_FIT_SCHEMA_VERSION,
        "model": "castle_fit",
        "params": coeffs,
        "fit": {
            "settings": fit_settings(),
            "result": info,
            "rows_per_dataset": {str(d): int(n) for d, n in zip(datasets, n_per, strict=True)},
        },
        "data": {
            "source": "castleCSF data_aggregated.csv (Ashraf et al. 2024, MIT licence)",
            "file": "psychophysics/castleCSF/data_aggregated.csv",
            "sha256": meta["sha256"]["data_aggregated.csv"],
            "sha256_color_directions": meta["sha256"]["color_directions.csv"],
            "sha256_backgrounds": meta["sha256"]["backgrounds.csv"],
            "selection": (
                "t_frequency == 0, eccentricity == 0, s_frequency > 0, sensitivity > 0, and "
                "angle between (L_delta, M_delta, S_delta) of (col_dir_id, dataset) and the "
                f"background (L, M, S) of bkg_id <= {ACHROMATIC_MAX_ANGLE_DEG} deg"
            ),
            "row_counts": meta["counts"],
        },
        "software": {"numpy": np.__version__, "scipy": scipy.__version__},
        "generated_by": "python -m hvsprobe.human.castle --data-root <data folder>",
    }


def write_castle_fit(
    data_root: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Fit and write the parameter file atomically (default: the packaged JSON).

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.
    out : path-like or None
        Output path; ``None`` rewrites ``hvsprobe/data/castle_csf_fit.json``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    doc = build_castle_fit_document(data_root)
    path = Path(out) if out is not None else Path(str(packaged_fit_path()))
    _write_document(path, doc)
    return path


def _write_document(path: Path, doc: Mapping[str, Any]) -> None:
    write_json_atomic(path, doc)
    # the atomic write goes through a private temporary file (mode 0600); a package data
    # file must be readable by everyone
    os.chmod(path, 0o644)
    cached_packaged_document.cache_clear()


def _rmse(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2))) if x.size else math.nan


def csf_error_table(
    data_root: str | os.PathLike[str] | None = None, *, fitted: CSFModel | None = None
) -> list[dict[str, Any]]:
    """RMSE of every CSF in log10 sensitivity against the castle achromatic rows.

    Each model is evaluated at each row's own luminance and field size (``sqrt(area)``
    for Barten, ``area`` for castle_fit) where it takes them. Reported both raw and after
    the one constant log10 gain shift that minimises the RMSE (the mean residual), since
    Mannos–Sakrison is a relative sensitivity.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.
    fitted : CSFModel or None
        castle_fit model to score; ``None`` uses the packaged fit. Note that castle_fit
        was fitted to these rows, so its error is in-sample.

    Returns
    -------
    list of dict
        One entry per model: ``model``, ``absolute``, ``conditions``, ``n_rows``,
        ``rmse_log10``, ``log10_gain_shift`` (add to log10 model), ``rmse_log10_shifted``
        ``per_dataset`` (``{name: {n_rows, rmse_log10, rmse_log10_shifted,
        mean_residual_log10}}``, shifted by the model's global shift; residual =
        data - shifted model) and ``near_probe`` (the rows within :data:`NEAR_PROBE`:
        ``n_rows``, ``rmse_log10``, and ``rmse_log10_shifted`` after *their own* best
        shift ``log10_gain_shift``).
    """
    data = load_castle_achromatic(data_root)
    target = data["log10_sensitivity"]
    datasets = sorted(set(data["dataset"].tolist()))
    table = []
    for name in list_csfs():
        model = fitted if (name == "castle_fit" and fitted is not None) else get_csf(name)
        resid = target - np.log10(predict_at_rows(model, data))
        shift = float(np.mean(resid))
        shifted = resid - shift
        takes = [k for k in ("luminance", "field_size_deg", "area_deg2") if k in model.params]
        lo_l, hi_l = NEAR_PROBE["luminance"]
        lo_a, hi_a = NEAR_PROBE["area_deg2"]
        near = (data["luminance"] >= lo_l) & (data["luminance"] <= hi_l)
        near &= (data["area"] >= lo_a) & (data["area"] <= hi_a)
        near_shift = float(np.mean(resid[near])) if near.any() else math.nan
        per = {}
        for ds in datasets:
            m = data["dataset"] == ds
            per[ds] = {
                "n_rows": int(m.sum()),
                "rmse_log10": _rmse(resid[m]),
                "rmse_log10_shifted": _rmse(shifted[m]),
                "mean_residual_log10": float(np.mean(shifted[m])),
            }
        table.append(
            {
                "model": name,
                "absolute": model.is_absolute,
                "conditions": ", ".join(takes) if takes else "none (one fixed curve)",
                "n_rows": int(target.size),
                "rmse_log10": _rmse(resid),
                "log10_gain_shift": shift,
                "rmse_log10_shifted": _rmse(shifted),
                "per_dataset": per,
                "near_probe": {
                    "n_rows": int(near.sum()),
                    "rmse_log10": _rmse(resid[near]),
                    "log10_gain_shift": near_shift,
                    "rmse_log10_shifted": _rmse(resid[near] - near_shift),
                },
            }
        )
    return table


def castle_fit_cross_validation(
    data_root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Leave-one-dataset-out error of the castle_fit form.

    For each dataset, fit on the others and score the held-out rows (raw log10 RMSE).
    The castle_fit row of :func:`hvsprobe.human.heldout.csf_heldout_table`, which also
    scores the other CSFs the same way.

    Parameters
    ----------
    data_root : path-like or None
        Folder holding ``psychophysics/castleCSF/``; ``None`` reads ``HVSPROBE_DATA``.

    Returns
    -------
    dict
        ``per_dataset`` (``{name: {n_rows, rmse_log10}}``) and ``pooled_rmse_log10``
        over all held-out rows.
    """
    from .heldout import castle_model, csf_heldout_table

    (row,) = csf_heldout_table(data_root, models=[castle_model()])
    per = {
        ds: {"n_rows": p["n_rows"], "rmse_log10": p["lodo_rmse_log10"]}
        for ds, p in row["per_dataset"].items()
    }
    return {"per_dataset": per, "pooled_rmse_log10": row["lodo_rmse_log10"]}


# --------------------------------------------------------------------------------------
# markdown and command line
# --------------------------------------------------------------------------------------


def error_table_markdown(
    table: Sequence[Mapping[str, Any]], cv: Mapping[str, Any] | None = None
) -> str:
    """Markdown tables (overall and per dataset) for :func:`csf_error_table` output.

    Parameters
    ----------
    table : sequence of dict
        Output of :func:`csf_error_table`.
    cv : dict or None
        Output of :func:`castle_fit_cross_validation`, added as a column when given.

    Returns
    -------
    str
        Markdown text.
    """
    lines = [
        "| model | evaluated at row's | rows | RMSE log10 (raw) | best log10 gain shift "
        "| RMSE log10 (after shift) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for e in table:
        lines.append(
            f"| {e['model']} | {e['conditions']} | {e['n_rows']} | {e['rmse_log10']:.3f} "
            f"| {e['log10_gain_shift']:+.3f} | {e['rmse_log10_shifted']:.3f} |"
        )
    if cv is not None:
        lines.append(
            f"| castle_fit, leave-one-dataset-out | luminance, area_deg2 | {table[0]['n_rows']} "
            f"| {cv['pooled_rmse_log10']:.3f} | – | – |"
        )
    near = table[0]["near_probe"]
    lo_l, hi_l = NEAR_PROBE["luminance"]
    lo_a, hi_a = NEAR_PROBE["area_deg2"]
    lines += [
        "",
        f"Rows near the probe condition ({lo_l:g}-{hi_l:g} cd/m^2, {lo_a:g}-{hi_a:g} deg^2; "
        f"{near['n_rows']} rows), shift fitted on these rows only:",
        "",
        "| model | RMSE log10 (raw) | best log10 gain shift | RMSE log10 (after shift) |",
        "|---|---:|---:|---:|",
    ]
    for e in table:
        n = e["near_probe"]
        lines.append(
            f"| {e['model']} | {n['rmse_log10']:.3f} | {n['log10_gain_shift']:+.3f} "
            f"| {n['rmse_log10_shifted']:.3f} |"
        )
    lines += ["", "Per dataset, RMSE log10 raw / after the model's global shift:", ""]
    names = [e["model"] for e in table]
    head = "| dataset | rows | " + " | ".join(names)
    head += " | castle_fit held out |" if cv is not None else " |"
    lines.append(head)
    lines.append("|---|---:|" + "---:|" * (len(names) + (1 if cv is not None else 0)))
    for ds, info in table[0]["per_dataset"].items():
        cells = [
            f"{e['per_dataset'][ds]['rmse_log10']:.3f} / "
            f"{e['per_dataset'][ds]['rmse_log10_shifted']:.3f}"
            for e in table
        ]
        row = f"| {ds} | {info['n_rows']} | " + " | ".join(cells)
        row += f" | {cv['per_dataset'][ds]['rmse_log10']:.3f} |" if cv is not None else " |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def _params_markdown(doc: Mapping[str, Any]) -> str:
    lines = ["| coefficient | value |", "|---|---:|"]
    for n in CASTLE_FIT_PARAM_NAMES:
        lines.append(f"| `{n}` | {doc['params'][n]:.6g} |")
    res = doc["fit"]["result"]
    lines.append("")
    lines.append(
        f"In-sample RMSE {res['rmse_log10']:.4f} log10 units over {res['n_rows']} rows; "
        f"data sha256 `{doc['data']['sha256'][:16]}…`."
    )
    return "\n".join(lines) + "\n"


def _probe_markdown(fitted: CSFModel) -> str:
    lum, x0 = PROBE_CONDITION["luminance"], PROBE_CONDITION["field_size_deg"]
    models = {
        "mannos_sakrison": get_csf("mannos_sakrison"),
        "mannos_sakrison_v1": get_csf("mannos_sakrison_v1"),
        "barten": get_csf("barten", luminance=lum, field_size_deg=x0),
        "castle_fit": get_csf(
            "castle_fit", **{**fitted.params, "luminance": lum, "area_deg2": x0**2}
        ),
    }
    freqs = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
    lines = [
        f"Probe condition: {lum:g} cd/m^2, {x0:.3f} deg field ({x0 * x0:.2f} deg^2).",
        "",
        "| model | peak (cpd) | peak S | " + " | ".join(f"S/S_peak @{f:g}" for f in freqs) + " |",
        "|---|---:|---:|" + "---:|" * len(freqs),
    ]
    for name, m in models.items():
        w = m.normalized(freqs)
        lines.append(
            f"| {name} | {m.peak_frequency():.2f} | {m.peak_sensitivity():.4g} | "
            + " | ".join(f"{v:.3f}" for v in w)
            + " |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: fit castle_fit, rewrite its JSON, optionally print the doc tables.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m hvsprobe.human.castle",
        description="Fit the castle_fit CSF to the castleCSF static foveal achromatic rows "
        "and write hvsprobe/data/castle_csf_fit.json (atomically).",
    )
    parser.add_argument(
        "--data-root",
        default=None,
        help=f"folder holding psychophysics/castleCSF/ (default: ${ENV_VAR})",
    )
    parser.add_argument("--out", default=None, help="output JSON (default: the packaged file)")
    parser.add_argument("--dry-run", action="store_true", help="fit and report, write nothing")
    parser.add_argument(
        "--write-doc",
        action="store_true",
        help="print the markdown tables for docs/human.md (fit, error table, probe peaks)",
    )
    args = parser.parse_args(argv)
    try:
        doc = build_castle_fit_document(args.data_root)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fitted = _model_from_coeffs(doc["params"])
    if args.dry_run:
        print("dry run: nothing written")
    else:
        path = Path(args.out) if args.out else Path(str(packaged_fit_path()))
        _write_document(path, doc)
        print(f"wrote {path}")
    res = doc["fit"]["result"]
    print(
        f"castle_fit: {res['n_rows']} rows, RMSE {res['rmse_log10']:.4f} log10, "
        f"nfev {res['nfev']}, status {res['status']}"
    )
    for n in CASTLE_FIT_PARAM_NAMES:
        print(f"  {n:22s} {doc['params'][n]:.6g}")
    if args.write_doc:
        table = csf_error_table(args.data_root, fitted=fitted)
        cv = castle_fit_cross_validation(args.data_root)
        print()
        print("### Fitted castle_fit coefficients\n")
        print(_params_markdown(doc))
        print("### Error table\n")
        print(error_table_markdown(table, cv))
        print("### Models at the probe condition\n")
        print(_probe_markdown(fitted))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
