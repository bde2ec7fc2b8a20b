"""How much mu1 and the default selection move when the torus route's realised frequencies
replace the nominal grid (docs/method.md, "Nominal frequencies").

    python benchmarks/nominal_vs_realised.py RESULTS_FOLDER

mu1 (``csf_logslope``, the folder's CSF) is recomputed here from ``tuning.npz`` with numpy
alone, once on the nominal frequencies (it must reproduce ``scores.csv``) and once on the
realised frequencies of the preferred orientation's column (``tuning.json``:
``config.response.torus.realised_frequency_cpd``); PE (``product_layer_max``) and the top
25 % per layer over the selectable channels follow from each. Prints the largest change of
mu1 per layer and the layers whose selection changes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from hvsprobe.human import get_csf
from hvsprobe.results_folder import load_scores
from hvsprobe.scores.frequency import resolve_csf_params
from hvsprobe.tuning import Tuning


def mu1_logslope(a: np.ndarray, f: np.ndarray, s: np.ndarray) -> float:
    """CSF-weighted mean absolute log-slope of the gain-normalised curve (docs/method.md)."""
    lnf = np.log(f)
    order = np.argsort(lnf)
    lnf, a, s = lnf[order], a[order], s[order]
    w = np.zeros_like(lnf)
    w[:-1] += np.diff(lnf) / 2
    w[1:] += np.diff(lnf) / 2
    slope = np.abs(np.gradient(a / np.max(np.abs(a)), lnf))
    return float(np.sum(w * s * slope) / np.sum(w * s))


def top_fraction(pe: np.ndarray, ok: np.ndarray, k: float = 0.25) -> set[int]:
    v = np.where(ok & np.isfinite(pe), pe, -np.inf)
    n = int(np.isfinite(np.where(ok, pe, np.nan)).sum())
    return {int(i) for i in np.argsort(-v, kind="stable")[: math.ceil(k * n)]}


def pe(mu1: np.ndarray, mu2: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """``product_layer_max``: both factors normalised by their maxima over selectable channels."""
    return mu1 / np.nanmax(mu1[ok]) * mu2 / np.nanmax(mu2[ok])


def main(folder: Path) -> None:
    tuning = Tuning.load(folder)
    scores = load_scores(folder)
    meta = json.loads((folder / "tuning.json").read_text())
    realised = np.asarray(meta["config"]["response"]["torus"]["realised_frequency_cpd"])  # F x O
    cfg = scores.config["score"]
    csf_name = cfg.get("csf") or "barten"
    csf = get_csf(
        csf_name, **resolve_csf_params(csf_name, dict(cfg.get("csf_params") or {}), tuning.grid)
    )
    f_nom = np.asarray(tuning.grid.frequencies, dtype=np.float64)
    changed, worst = [], 0.0
    print("| layer | channels | max abs mu1 change | median abs change | channels swapped |")
    print("|---|---:|---:|---:|---|")
    for layer in scores.layers:
        col = scores.layer(layer)
        r = np.asarray(tuning.responses[layer], dtype=np.float64).mean(axis=3)[..., -1]
        dead = np.asarray(col["dead"], dtype=bool)
        nom, real = np.full(len(r), np.nan), np.full(len(r), np.nan)
        for m in np.flatnonzero(~dead):
            _, oi = np.unravel_index(np.argmax(r[m]), r[m].shape)
            a = r[m, :, oi]
            nom[m] = mu1_logslope(a, f_nom, csf(f_nom))
            f_r = realised[:, oi]
            real[m] = mu1_logslope(a, f_r, csf(f_r))
        np.testing.assert_allclose(nom, col["mu1"], rtol=1e-6, atol=1e-9, equal_nan=True)
        ok = np.asarray(col["selectable"], dtype=bool)
        mu2 = np.asarray(col["mu2"], dtype=np.float64)

        diff = np.abs(real - nom)
        worst = max(worst, float(np.nanmax(diff)))
        a, b = top_fraction(pe(nom, mu2, ok), ok), top_fraction(pe(real, mu2, ok), ok)
        changed += [layer] if a != b else []
        print(f"| {layer} | {len(r)} | {np.nanmax(diff):.4f} | {np.nanmedian(diff):.4f} | "
              f"{len(a - b)} of {len(a)} |")  # fmt: skip
    print(f"\nlargest mu1 change {worst:.4f}; {len(changed)} of {len(scores.layers)} layers' "
          f"selections change: {', '.join(changed) or 'none'}")  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))
