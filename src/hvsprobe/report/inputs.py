"""Reading a results folder for the report: checks, summary, selections, CSF, info tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._io import read_json
from ..results_folder import verify_checksums
from ..scores import ChannelScores
from ..selection import Selection
from ..tuning import Tuning

#: Files every report needs, and the command that writes them.
REQUIRED = ("tuning.json", "tuning.npz", "scores.json", "scores.csv")
MAKE = "hvsprobe analyze BACKBONE --out {dir}"
#: What each ``tuning.response_method`` means, in words for the page.
RESPONSE_METHODS = {
    "torus": "spatial mean over a periodic stimulus on a network with circular padding "
    "(no border: the response to an infinite grating)",
    "interior": "spatial mean over the interior of the feature map, away from the border",
    "whole_map": "spatial mean over the whole feature map, border included (the paper's "
    "definition)",
}


#: A CSF for the plots: ``normalized(f)`` (peak 1), its peak frequency and a label.
CSFCurve = tuple[Callable[[np.ndarray], np.ndarray], float, str]


def response_method_text(tuning: Tuning) -> str:
    """The response definition of a tuning, in words (``'?'`` parts when unknown)."""
    method = str(getattr(tuning, "response_method", "") or "")
    if method in RESPONSE_METHODS:
        return f"{method}: {RESPONSE_METHODS[method]}"
    return method or str(tuning.config.get("response", "unknown"))


def check_inputs(results: Path) -> None:
    make = MAKE.format(dir=results)
    if not results.exists():
        raise FileNotFoundError(
            f"results folder {results} does not exist; make it with `{make}` "
            "(or hvsprobe.analyze.analyze(..., out=...))"
        )
    if not results.is_dir():
        raise FileNotFoundError(f"{results} is not a folder; expected a results folder ({make})")
    missing = [name for name in REQUIRED if not (results / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"results folder {results} lacks {', '.join(missing)}: the report needs the probe "
            f"responses (tuning.json, tuning.npz) and the channel scores (scores.json, "
            f"scores.csv); `{make}` writes them all"
        )
    verify_checksums(results)  # files changed after analyze wrote them


def check_consistent(tuning: Tuning, scores: ChannelScores, results: Path) -> None:
    sha_t = tuning.weights_sha256
    sha_s = str(scores.config.get("weights_sha256", ""))
    rerun = f"rerun `{MAKE.format(dir=results)}`"
    if sha_t and sha_s and sha_t != sha_s:
        raise ValueError(
            f"{results}: scores.json was computed for weights {sha_s[:12]}… but tuning.json "
            f"holds weights {sha_t[:12]}…; {rerun}"
        )
    for name in scores.layers:
        if name not in tuning.responses:
            raise ValueError(f"{results}: scores has layer {name!r}, tuning does not; {rerun}")
        n_s = len(scores.layer(name)["channel"])
        if tuning.channels(name) != n_s:
            raise ValueError(
                f"{results}: layer {name!r} has {n_s} scored channels but "
                f"{tuning.channels(name)} probed; {rerun}"
            )


def read_summary(results: Path, notes: list[str]) -> dict[str, Any]:
    path = results / "summary.json"
    if not path.is_file():
        return {}
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        notes.append(f"summary.json could not be read ({exc}); timings are not shown.")
        return {}
    return data if isinstance(data, dict) else {}


def selection_files(results: Path) -> list[Path]:
    out = [results / "selection.json"] if (results / "selection.json").is_file() else []
    return out + sorted(p for p in results.glob("selection-*.json") if p.is_file())


def load_selections(results: Path, notes: list[str]) -> list[tuple[str, Selection]]:
    loaded = []
    for path in selection_files(results):
        try:
            loaded.append((path.name, Selection.load(path)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"{path.name} is not a readable selection and is left out: {exc}")
    return loaded


def csf_for(score_cfg: dict[str, Any], notes: list[str]) -> CSFCurve | None:
    """The CSF that weighted mu1 (normalised), its peak frequency and a label."""
    from ..human import get_csf

    if score_cfg.get("mu1") == "vfss_v1":
        name, params = "mannos_sakrison_v1", {}
    else:
        name = str(score_cfg.get("csf", "castle_fit"))
        params = dict(score_cfg.get("csf_params") or {})
    try:
        model = get_csf(name, **params)
        peak = float(model.peak_frequency())
    except (ValueError, TypeError, KeyError) as exc:
        notes.append(f"the CSF {name!r} could not be built ({exc}); it is not drawn.")
        return None

    def normalized(f: np.ndarray) -> np.ndarray:
        return np.asarray(model.normalized(f), dtype=np.float64)

    return normalized, peak, f"human CSF ({name})"


def grid_items(tuning: Tuning) -> list[tuple[str, Any]]:
    g = tuning.grid
    h, w = g.size
    f = g.frequencies
    items: list[tuple[str, Any]] = [
        ("stimulus kind", g.kind),
        ("image size", f"{h} × {w} px ({h / g.ppd:.2f}° × {w / g.ppd:.2f}°)"),
        ("pixels per degree", f"{g.ppd:g} (Nyquist {g.ppd / 2:g} cpd)"),
        ("frequencies", f"{len(f)}, {f[0]:.3g} – {f[-1]:.3g} cpd"),
        ("orientations", f"{len(g.orientations)}: " + ", ".join(f"{o:g}°" for o in g.orientations)),
        (
            "phases",
            f"{len(g.phases)}{' (averaged)' if len(g.phases) > 1 else ''}: "
            + ", ".join(f"{p:g}°" for p in g.phases),
        ),
        ("contrasts", ", ".join(f"{c:g}" for c in g.contrasts)),
        ("mean luminance", g.mean),
    ]
    if g.gabor_sigma_deg is not None:
        items.append(("Gabor sigma", f"{g.gabor_sigma_deg:g}°"))
    items.append(("number of stimuli", len(g)))
    return items


def run_items(
    tuning: Tuning, scores: ChannelScores, summary: dict[str, Any]
) -> list[tuple[str, Any]]:
    cfg = tuning.config
    items: list[tuple[str, Any]] = [
        ("backbone", scores.config.get("backbone") or cfg.get("backbone", "?")),
        ("weights", cfg.get("weights", "?")),
        ("weights sha256", cfg.get("weights_sha256", "?")),
    ]
    if summary.get("weights_origin"):
        items.append(("weights origin", summary["weights_origin"]))
    items += [
        ("layers", ", ".join(tuning.layers)),
        ("number of stimuli", summary.get("n_stimuli", len(tuning.grid))),
        ("response", response_method_text(tuning)),
        ("precision, batch size", f"{cfg.get('precision', '?')}, {cfg.get('batch_size', '?')}"),
        ("hvsprobe version", summary.get("hvsprobe_version", cfg.get("hvsprobe_version", "?"))),
    ]
    return items


def score_items(score_cfg: dict[str, Any]) -> list[tuple[str, Any]]:
    names = {
        "mu1": "μ1 (frequency score)",
        "mu2": "μ2 (orientation score)",
        "pe": "PE (combination)",
        "csf": "CSF",
        "csf_params": "CSF parameters",
        "frequency_curve": "frequency curve",
        "contrast_index": "contrast index",
        "selective_osi": "orientation selective if peak OSI ≥",
        "dead_rtol": "dead channel: relative tolerance",
        "dead_atol": "dead channel: absolute tolerance",
        "selective_circular": "orientation selective if 1 − circular variance ≥",
        "weak_fraction": "weak if peak < this × layer median peak",
        "weak_max_fraction": "weak if peak < this × layer largest peak",
        "border_max_share": "border dominated if border share >",
    }
    items = [(names.get(k, k), v) for k, v in score_cfg.items()]
    if score_cfg.get("mu1") == "vfss_v1":
        items.append(("note", "vfss_v1 always weights by the v1 Mannos–Sakrison CSF"))
    return items


def timing_items(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    t = summary.get("timings") or {}
    items: list[tuple[str, Any]] = []
    labels = {
        "load_backbone_s": "load backbone",
        "probe_s": "probe",
        "score_select_s": "score and select",
        "total_s": "total",
    }
    for k, v in t.items():
        text = f"{v:.2f} s" if isinstance(v, int | float) else v
        items.append((labels.get(k, k), text))
    if "reused_tuning" in summary:
        items.append(("tuning reused from cache", bool(summary["reused_tuning"])))
    return items
