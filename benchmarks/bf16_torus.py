"""Why bf16 loses the PE ranking at relu1_2 on the torus route: peaks that flip.

    python benchmarks/bf16_torus.py

The grid and network of ``tests/test_performance_paths.py::test_bf16_keeps_the_pe_ranking``
(VGG-16 ``random:0``; 32 px at 16 px/deg, 6 frequencies x 4 orientations x 2 phases), probed
in fp32 and under bf16 autocast on the torus and whole-map routes. Per layer it prints the
Spearman correlation of PE (and of mu1, mu2), the bf16 error of the responses relative to
each channel's tuning span, and the channels whose PE moved most, with their frequency
curves: a channel whose two highest responses are closer than the bf16 error switches its
best frequency, and mu2 (taken at the best frequency) and PE with it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from hvsprobe.backbones import get_backbone
from hvsprobe.probe import probe
from hvsprobe.scores import compute_scores
from hvsprobe.stimuli import StimulusGrid

LAYERS = ["relu1_1", "relu1_2"]


def main() -> int:
    vgg = get_backbone("vgg16", "random:0")
    grid = StimulusGrid.default(
        ppd=16.0, size=32, n_frequencies=6, n_orientations=4, n_phases=2, f_min=0.5
    )
    for route in ("torus", "whole_map"):
        kw = {"batch_size": 48, "response": route, "progress": False}
        a = probe(vgg, grid, LAYERS, **kw)
        b = probe(vgg, grid, LAYERS, precision="bf16", **kw)
        sa, sb = compute_scores(a), compute_scores(b)
        for name in LAYERS:
            ta, tb = sa.layer(name), sb.layer(name)
            rho = {}
            for col in ("pe", "mu1", "mu2"):
                ok = np.isfinite(ta[col]) & np.isfinite(tb[col])
                rho[col] = spearmanr(ta[col][ok], tb[col][ok]).statistic
            ra, rb = a.responses[name], b.responses[name]
            span = ra.max(axis=(1, 2, 3, 4)) - ra.min(axis=(1, 2, 3, 4))
            err = np.abs(rb - ra).max(axis=(1, 2, 3, 4)) / np.maximum(span, 1e-30)
            fa, fb = ta["best_frequency_cpd"], tb["best_frequency_cpd"]
            flipped = int(np.sum(np.abs(fa - fb) > 1e-3 * np.abs(fa)))
            print(
                f"{route:9s} {name}: Spearman PE {rho['pe']:.4f}, mu1 {rho['mu1']:.4f}, "
                f"mu2 {rho['mu2']:.4f}; bf16 error / tuning span: median {np.median(err):.2g}, "
                f"max {err.max():.2g}; best frequency moved > 0.1 % in {flipped} of {len(fa)} channels"
            )
            d = np.nan_to_num(np.abs(tb["pe"] - ta["pe"]))
            for c in np.argsort(-d)[:2]:
                curve_a = ra[c].mean(axis=2)[..., -1].max(axis=1)
                curve_b = rb[c].mean(axis=2)[..., -1].max(axis=1)
                print(
                    f"    channel {c}: PE {ta['pe'][c]:.3f} -> {tb['pe'][c]:.3f}, best "
                    f"{fa[c]:.2f} -> {fb[c]:.2f} cpd; peak-over-orientation curve fp32 "
                    f"{np.round(curve_a.astype(float), 4).tolist()}, bf16 {np.round(curve_b.astype(float), 4).tolist()}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
