"""Time and FLOPs of the three response routes, side by side, on every built-in backbone.

    python benchmarks/border_routes.py [--rounds 3] [--out benchmarks/border_routes.json]

The same measurement feeds docs/results/border_study.md; this script runs it alone (more
rounds, no agreement check) and prints a table: seconds per stimulus of the whole-map,
torus and interior (2x) routes on the same 48 stimuli of the default grid, alternated in one
process so the ratios are fair on a shared machine, and the convolution FLOPs of each route
over the whole default grid.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hvsprobe._io import write_json_atomic
from hvsprobe.backbones import get_backbone
from hvsprobe.experiments.border_routes import route_flops, route_times
from hvsprobe.experiments.border_study import ROUTE_LAYERS
from hvsprobe.stimuli import StimulusGrid


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbones", nargs="+", default=list(ROUTE_LAYERS))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=Path("benchmarks/border_routes.json"))
    args = p.parse_args()
    grid = StimulusGrid.default()
    result = {"kind": "border_routes_benchmark", "schema_version": 1, "backbones": {}}
    for name in args.backbones:
        bb, layers = get_backbone(name), ROUTE_LAYERS[name]
        fl = route_flops(bb, layers, grid)
        t = route_times(bb, layers, grid, rounds=args.rounds)
        result["backbones"][name] = {"layers": layers, "flops": fl, "times": t}
        ratio = t["ratio_to_whole_map"]
        tf = {k: (v / 1e12 if v else None) for k, v in fl.items()}
        print(
            f"{name:13s} TFLOP whole {tf['whole_map']:.2f} torus {tf['torus']:.2f} "
            f"interior {tf['interior'] if tf['interior'] is None else round(tf['interior'], 2)}; "
            f"time torus/whole {ratio['torus']:.2f}x"
            + (f", interior/whole {ratio['interior']:.2f}x" if "interior" in ratio else "")
            + f"; load {t['load_average_1min']}"
        )
    write_json_atomic(args.out, result)
    print(json.dumps({"wrote": str(args.out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
