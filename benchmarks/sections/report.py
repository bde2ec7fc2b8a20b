"""The results as markdown tables (``results.md``, pasted into docs/performance.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _rng(pair: Sequence[float] | None) -> str:
    """``lo-hi`` of a per-round ratio range, ``—`` when absent."""
    return "—" if not pair else f"{pair[0]:.2f}-{pair[1]:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def _md_probe(p: dict[str, Any]) -> list[str]:
    rows = [
        ["command", f"`{p['command']}`"],
        ["stimuli x layers", f"{p['n_stimuli']} x {len(p['layers'])}"],
        ["probe settings", ", ".join(f"{k} {v}" for k, v in p["probe_config"].items())],
        ["wall time (whole command)", f"{p['wall_s']:.1f} s"],
        ["probe time", f"{p['timings_s']['probe_s']:.1f} s"],
        [
            "conv FLOPs executed",
            f"{p['flops_total'] / 1e12:.2f} TFLOP ({p['flops_per_image'] / 1e9:.2f} GFLOP per stimulus)",
        ],
        ["achieved", f"{p['gflops_achieved']:.1f} GFLOP/s"],
    ]
    if "share_of_peak" in p:
        rows.append(
            ["share of the fp32 peak measured just before", f"{100 * p['share_of_peak']:.0f} %"]
        )
    eff = p.get("efficiency_side_by_side")
    if eff:
        rounds = "; ".join(f"{x['probe_gflops']} of {x['peak_gflops']}" for x in eff["rounds"])
        rows.append(
            [
                "share of peak, side by side (16 stimuli, default settings)",
                f"{100 * eff['share_of_peak']:.0f} % (GFLOP/s per round: {rounds})",
            ]
        )
    need = f"{p['required_gflops_for_30s']:.0f} GFLOP/s"
    if "required_over_peak" in p:
        need += f" ({p['required_over_peak']:.1f}x the measured fp32 peak)"
    rows += [
        ["needed for 30 s", need],
        ["peak RSS", f"{p['peak_rss_gb']:.2f} GB ({p['peak_rss_source']})"],
        [
            "load average during (1 min)",
            f"mean {p['load_average_during']['mean']}, max {p['load_average_during']['max']}",
        ],
    ]
    return _table(["", ""], rows)


def _md_paper(p: dict[str, Any]) -> list[str]:
    rows = [
        [
            "measured",
            f"{p['n_passes']} passes in {p['measured_s']:.1f} s ({p['s_per_pass']:.3f} s/pass, "
            f"{p['gflops_achieved']:.1f} GFLOP/s)",
        ],
        [
            "extrapolated to the whole grid",
            f"{p['extrapolated_whole_grid_s']:.0f} s ({p['extrapolated_whole_grid_h']:.2f} h): "
            f"{p['extrapolation']}",
        ],
    ]
    if "speedup_vs_analyze_probe" in p:
        rows.append(
            [
                "speed-up of the batched probe",
                f"{p['speedup_vs_analyze_probe']:.1f}x (vs analyze's probe time), "
                f"{p['speedup_vs_analyze_wall']:.1f}x (vs its whole wall time)",
            ]
        )
    if "speedup_side_by_side" in p:
        lo, hi = p["speedup_side_by_side_range"]
        rows.append(
            [
                "speed-up per stimulus, side by side (default probe on 16 stimuli)",
                f"{p['speedup_side_by_side']:.1f}x (rounds {lo:.1f}-{hi:.1f}x)",
            ]
        )
    if "max_abs_difference_vs_analyze_over_layer_scale" in p:
        rows.append(
            [
                "agreement with analyze's arrays",
                f"max abs difference {p['max_abs_difference_vs_analyze_over_layer_scale']:.1e} "
                "x the layer's largest response",
            ]
        )
    return _table(["", ""], rows)


def _md_levers(lv: dict[str, Any]) -> list[str]:
    rows = []
    labels = {
        "memory_format": "memory format (batch 16)",
        "batch_size": "batch size (channels_last)",
        "threads": "threads",
        "early_stop": "early stop (7 layers of blocks 1-3)",
        "bf16": "precision",
    }
    for key, label in labels.items():
        for name, v in lv[key]["results"].items():
            rows.append(
                [
                    label,
                    name,
                    v["n_stimuli"],
                    f"{v['median_s']:.2f}",
                    f"{v['s_per_stimulus_median']:.3f}",
                    f"{v['gflops_median']:.1f}",
                ]
            )
    es, bf = lv["early_stop"], lv["bf16"]
    lines = _table(["lever", "variant", "stimuli", "median s", "s / stimulus", "GFLOP/s"], rows)
    lines += [
        "",
        f"* channels_last vs contiguous: {lv['memory_format']['speedup_channels_last']:.2f}x "
        f"(median of paired ratios; rounds {_rng(lv['memory_format'].get('speedup_range'))}).",
        f"* best batch size: {lv['batch_size']['best']}; speed-up vs batch 1: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in lv["batch_size"]["speedup_vs_batch_1"].items())
        + ".",
        f"* {lv['threads']['default']} threads (torch default) vs 1: "
        f"{lv['threads']['speedup_default_vs_1']:.2f}x (rounds {_rng(lv['threads'].get('speedup_range'))}).",
        f"* early stop at relu3_3 vs running the whole trunk: {es['speedup']:.2f}x measured "
        f"(rounds {_rng(es.get('speedup_range'))}), "
        f"{es['flop_ratio']:.2f}x in FLOPs; {es['note']}.",
        f"* bf16 autocast: {bf['slowdown_bf16_vs_fp32']:.1f}x the fp32 time with channels_last, "
        f"{bf['slowdown_bf16_vs_fp32_contiguous']:.1f}x with contiguous tensors; largest "
        "deviation of a mean from fp32, over the layer's largest response: "
        f"{max(bf['max_abs_deviation_over_layer_scale'].values()):.1e}.",
        f"* stimulus rendering: {1e3 * lv['render']['s_per_stimulus']:.1f} ms per stimulus, "
        f"{100 * lv['render']['share_of_probe_time']:.1f} % of the probe time.",
    ]
    return lines


def _md_metric(mt: dict[str, Any]) -> list[str]:
    rows = []
    for c in mt["configs"]:
        for name, v in c["results"].items():
            info = mt["metrics"][name]
            rows.append(
                [
                    f"{c['batch']} x {c['size']} px",
                    name,
                    len(info["layers"]),
                    info["channels"] if info["channels"] is not None else "—",
                    f"{v['pairs_per_s']:.3f}",
                    f"{c['speed_vs_lpips'].get(name, 1.0):.2f}x",
                    _rng(c.get("speed_vs_lpips_range", {}).get(name)),
                    f"{c['flop_bound_speed_vs_lpips'].get(name, 1.0):.2f}x",
                ]
            )
    lines = [f"Selection: top 25 % by PE per layer; source: {mt['selection_source']}.", ""]
    lines += _table(
        [
            "batch",
            "metric",
            "layers",
            "channels",
            "pairs/s",
            "speed vs LPIPS-VGG",
            "rounds",
            "FLOP bound",
        ],
        rows,
    )
    lines.append("")
    for c in mt["configs"]:
        share = c["share_outside_trunk"]
        lines.append(
            f"* {c['batch']} x {c['size']} px: time outside the trunk: selected top-25 % "
            f"{100 * share['selected_top25']:.0f} %, LPIPS {100 * share['lpips_vgg']:.0f} %; "
            f"with NCHW tensors {100 * share['selected_top25_nchw']:.0f} % and "
            f"{100 * share['lpips_vgg_nchw']:.0f} % (NCHW value = default value to "
            f"{c['nchw_max_rel_difference']:.0e} relative)."
        )
    for c in mt["configs"]:
        ar = c.get("distance_arithmetic")
        if ar:
            sec = ar["seconds"]
            lines.append(
                f"* {c['batch']} x {c['size']} px: distance arithmetic alone (features given): "
                + ", ".join(f"{k} {v:.3f} s" for k, v in sec.items())
                + "."
            )
    lines += [
        "* trunk_only_relu5_3: both images through the trunk to relu5_3 as one channels_last "
        "batch, no distance (the floor).",
        "* *_nchw: the same metric with `channels_last=False` (contiguous NCHW tensors), the "
        "layout used before.",
    ]
    return lines


def _md_header(r: dict[str, Any]) -> list[str]:
    """Title, command, dates and the machine."""
    m = r["machine"]
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in m["flags"].items())
    return [
        f"# hvsprobe benchmark{' (--quick)' if r['config']['quick'] else ''}",
        "",
        f"`{r['config']['command']}`, {r['started']} to {r['finished']}.",
        "",
        f"Machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs ({flags}); torch "
        f"{m['torch_version']}, CPU capability {m['torch_cpu_capability']}, "
        f"{m['torch_num_threads']} threads. Load average (1/5/15 min): start "
        f"{m['load_average_start']}, end {r['load_average_end']}.",
        "",
    ]


def _md_peak(r: dict[str, Any]) -> list[str]:
    """The measured peak at the start (and end) of the run."""
    p = r["peak"]
    end = r.get("peak_end")
    lines = ["## Measured peak (best of a few calls, GFLOP/s)", ""]
    if end:
        rows = [[k, v, end["gflops"].get(k, "—")] for k, v in p["gflops"].items()]
        lines += _table(["kernel", "start of run", "end of run"], rows)
    else:
        lines += _table(["kernel", "GFLOP/s"], [[k, v] for k, v in p["gflops"].items()])
    est = r["machine"].get("theoretical_fp32_gflops")
    lines += [
        "",
        f"Peak used for analyze's share (measured just before it): fp32 "
        f"{p['peak_gflops']['fp32']}, bf16 {p['peak_gflops']['bf16']} GFLOP/s. Load at start "
        f"{p['load_average']}"
        + (f", at end {end['load_average']}" if end else "")
        + (
            f". Theoretical AVX2 fp32 rate at the reported clock ~{est:.0f} GFLOP/s "
            "(logical CPUs x clock x 32 FLOP/cycle; a boosted clock exceeds it, SMT "
            "siblings would halve it)"
            if est
            else ""
        )
        + ".",
        "",
    ]
    return lines


def _md_loss(ls: dict[str, Any]) -> list[str]:
    """The SR training step with each loss."""
    rows = [
        [
            name,
            len(ls["layers"][name]),
            f"{v['median_s']:.3f}",
            f"{ls['step_time_vs_all_channel'].get(name, 1.0):.2f}x",
            _rng(ls.get("step_time_vs_all_channel_range", {}).get(name)),
        ]
        for name, v in ls["results"].items()
    ]
    return [
        f"## Loss: SR training step (batch {ls['batch']}, {ls['hr_size']} px, "
        f"L1 + {ls['lambda']:g} x perceptual, Adam)",
        "",
        *_table(
            ["loss", "layers", "median step s", "step time vs all-channel VGG", "rounds"], rows
        ),
        "",
    ]


def _md_targets(targets: list[dict[str, Any]]) -> list[str]:
    """The targets table."""
    rows = [
        [
            t["target"],
            t["goal"],
            t["measured"],
            "met" if t["met"] else "**missed**",
            t["limited_by"],
        ]
        for t in targets
    ]
    return ["## Targets", "", *_table(["target", "goal", "measured", "", "limited by"], rows), ""]


def render_markdown(r: dict[str, Any]) -> str:
    """The results as markdown tables (pasted into docs/performance.md)."""
    lines = _md_header(r)
    if "peak" in r:
        lines += _md_peak(r)
    if "probe" in r:
        lines += ["## Probe: `hvsprobe analyze vgg16`", "", *_md_probe(r["probe"]), ""]
    if "paper" in r:
        lines += [
            "## Paper protocol (one stimulus per pass, one layer per run, whole trunk)",
            "",
            *_md_paper(r["paper"]),
            "",
        ]
    if "levers" in r:
        lines += [
            "## Levers (224-px stimuli, 13 layers, ImageNet VGG-16)",
            "",
            *_md_levers(r["levers"]),
            "",
        ]
    if "metric" in r:
        lines += ["## Metric: image pairs per second (inference)", "", *_md_metric(r["metric"]), ""]
    if "loss" in r:
        lines += _md_loss(r["loss"])
    if r.get("targets"):
        lines += _md_targets(r["targets"])
    return "\n".join(lines)
