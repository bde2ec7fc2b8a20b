"""The border pass before and after issue 24, side by side in one process.

    python benchmarks/border_pass.py [--rounds 2] [--n-frequencies 6] [--n-orientations 4]

The border pass gives each channel its whole-map response to its best stimulus (the
scores' border share). This script probes VGG-16 (ImageNet weights, all 13 ReLU layers) on
the torus route with a reduced grid at the default size and ppd, then times the border pass
as it was (:func:`border_pass_before`: one forward pass of ``n_phases`` images per distinct
best stimulus, through every probed layer) and as it is now
(:func:`hvsprobe.probe.best_stimulus_whole_map`: stimuli grouped by the deepest layer that
needs them, batched, recording only the needed layers), alternating the two ``--rounds``
times, and checks that they give the same numbers. It prints a markdown table for
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from hvsprobe.backbones import get_backbone
from hvsprobe.probe import best_stimulus_whole_map, probe
from hvsprobe.stimuli import StimulusGrid


def _mean(act):
    return act.float().mean(dim=(2, 3))


def border_pass_before(backbone, grid, responses, channels_last, precision, dev):
    """The border pass as it was before issue 24 (kept here to measure against; fp32 only)."""
    n_f, n_o, n_p, n_k = grid.shape
    names = list(responses)
    best = {}
    for name, arr in responses.items():
        r = arr.astype(np.float64).mean(axis=3)[..., -1].reshape(arr.shape[0], -1)
        best[name] = np.argmax(r, axis=1)
    pairs = np.unique(np.concatenate(list(best.values())))
    table = {}
    for flat_fo in pairs.tolist():
        i, j = divmod(int(flat_fo), n_o)
        idx = [((i * n_o + j) * n_p + p) * n_k + (n_k - 1) for p in range(n_p)]
        images = grid.render(np.asarray(idx), device=dev)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        layers = backbone.iter_layers(images, names, check=False, reduce=_mean)
        means = {n: m.T.cpu().numpy() for n, m in layers}
        table[flat_fo] = {k: v.astype(np.float64).mean(axis=1) for k, v in means.items()}
    out = {}
    for name, b in best.items():
        rows = np.empty((b.size, 3), dtype=np.float64)
        rows[:, 0], rows[:, 1] = np.divmod(b, n_o)
        rows[:, 2] = [table[int(b[m])][name][m] for m in range(b.size)]
        out[name] = rows
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--n-frequencies", type=int, default=6)
    p.add_argument("--n-orientations", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=16)
    args = p.parse_args()
    bb = get_backbone("vgg16")
    grid = StimulusGrid.default(
        n_frequencies=args.n_frequencies, n_orientations=args.n_orientations
    )
    t0 = time.perf_counter()
    tuning = probe(bb, grid, progress=False)
    probe_s = time.perf_counter() - t0
    main_s = probe_s - tuning.run.border_pass_s
    dev = torch.device("cpu")
    bb = bb.to(memory_format=torch.channels_last)  # as inside probe() on the CPU
    times = {"before": [], "after": []}
    results = {}
    with torch.inference_mode():
        for _ in range(args.rounds):
            for kind in ("before", "after"):
                t = time.perf_counter()
                if kind == "before":
                    results[kind] = border_pass_before(
                        bb, grid, tuning.responses, True, "fp32", dev
                    )
                else:
                    results[kind] = best_stimulus_whole_map(
                        bb, grid, tuning.responses, True, "fp32", dev, batch_size=args.batch_size
                    )
                times[kind].append(time.perf_counter() - t)
    diff = max(
        float(np.max(np.abs(results["before"][n][:, 2] - results["after"][n][:, 2])))
        / max(float(np.max(np.abs(results["before"][n][:, 2]))), 1e-30)
        for n in results["before"]
    )
    same_index = all(
        np.array_equal(results["before"][n][:, :2], results["after"][n][:, :2])
        for n in results["before"]
    )
    pairs = len({int(v) for r in results["after"].values() for v in r[:, 0] * 1000 + r[:, 1]})
    before, after = min(times["before"]), min(times["after"])
    print(f"VGG-16 ImageNet, 13 layers, grid {grid.shape} at {grid.size[0]} px, {pairs} distinct")
    print(f"best stimuli; torch {torch.__version__}, {torch.get_num_threads()} threads, load")
    print(f"{os.getloadavg()}; rounds {args.rounds} (min shown), batch {args.batch_size}")
    print()
    print("| | border pass s | share of the probe (main pass + border pass) |")
    print("|---|---|---|")
    print(f"| before | {before:.2f} | {100 * before / (main_s + before):.0f} % |")
    print(f"| after | {after:.2f} | {100 * after / (main_s + after):.0f} % |")
    print()
    print(f"main (torus) pass {main_s:.2f} s; speed-up {before / after:.2f}x; all times {times}")
    print(f"largest difference of a whole-map response, over its layer's largest: {diff:.3g}; "
          f"same best stimuli: {same_index}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
