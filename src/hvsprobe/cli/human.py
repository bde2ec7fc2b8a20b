"""``hvsprobe csf``: the human CSF models and their error against castleCSF data."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError


def build_csf(p: argparse.ArgumentParser) -> None:
    """The options of ``hvsprobe csf``."""
    p.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding psychophysics/castleCSF (default: $HVSPROBE_DATA, else the "
        "folder `hvsprobe data` registered)",
    )
    p.add_argument("--per-dataset", action="store_true", help="also print each held-out dataset")


def run_csf(args: argparse.Namespace) -> int:
    """Run ``hvsprobe csf``; returns the exit status."""
    from ..human import get_csf, list_csfs
    from ..human.heldout import best_heldout_model, csf_heldout_table

    if args.data_root is not None and not args.data_root.is_dir():
        raise UserError(
            f"--data-root {args.data_root}: no such folder; give the folder that holds "
            "psychophysics/castleCSF (or set HVSPROBE_DATA)"
        )
    # a missing data root raises FileNotFoundError before anything is printed: main()
    # reports it on stderr and exits 2
    table = csf_heldout_table(args.data_root)
    for name in list_csfs():
        m = get_csf(name)
        print(f"{name:20s} peak {m.peak_frequency():6.2f} cpd (at its default parameters)")
    r0 = table[0]
    print(
        "\nRMSE in log10 sensitivity against the castleCSF static foveal achromatic rows "
        f"({r0['n_rows']} rows, {r0['n_datasets']} datasets).\n"
        "  no fit: published constants; in-sample: fitted and scored on all rows;\n"
        "  LODO: each dataset scored by a fit to the other datasets only (pooled over rows);\n"
        "  LODO/ds: unweighted mean of the per-dataset LODO RMSEs;\n"
        "  LODO shape: LODO after removing each held-out dataset's own mean residual;\n"
        f"  near in/LODO: in-sample and LODO on the {r0['n_rows_near_probe']} rows at "
        "10-1000 cd/m^2 and 2-100 deg^2."
    )
    head = ("model", "fitted", "no fit", "in-sample", "LODO", "LODO/ds", "LODO shape")
    head += ("near in/LODO",)
    print(f"{head[0]:19s} {head[1]:20s} " + " ".join(f"{h:>10s}" for h in head[2:]))
    for r in table:
        raw = r["unfitted_rmse_log10"]
        cells = ["-" if raw is None else f"{raw:.3f}"]
        cells += [f"{r[k]:.3f}" for k in ("in_sample_rmse_log10", "lodo_rmse_log10")]
        cells += [f"{r[k]:.3f}" for k in ("lodo_mean_dataset_rmse_log10", "lodo_shape_rmse_log10")]
        near = (r["in_sample_near_probe_rmse_log10"], r["lodo_near_probe_rmse_log10"])
        cells.append(f"{near[0]:.3f}/{near[1]:.3f}")
        print(f"{r['model']:19s} {r['fitted']:20s} " + " ".join(f"{c:>10s}" for c in cells))
    if args.per_dataset:
        for r in table:
            print(f"\n{r['model']}: dataset, rows, in-sample, LODO, LODO mean residual")
            for ds, p in r["per_dataset"].items():
                print(
                    f"  {ds:12s} {p['n_rows']:4d} {p['in_sample_rmse_log10']:.3f} "
                    f"{p['lodo_rmse_log10']:.3f} {p['lodo_mean_residual_log10']:+.3f}"
                )
    print(f"\nlowest held-out (LODO) error: {best_heldout_model(table)} (docs/human.md)")
    return 0
