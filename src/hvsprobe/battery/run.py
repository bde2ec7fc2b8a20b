"""Run the battery on a subject and keep or write the results (``docs/battery.md``)."""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._io import read_json
from ..stimuli.physical import (
    ACHROMATIC,
    Display,
    gabor_wave_deg,
    grating_wave_deg,
    physical_images,
)
from . import human
from .stats import (
    MULTIPLIERS,
    match_contrasts,
    matching_rmse,
    pooled_spearman,
    threshold_errors,
    threshold_rmse,
)
from .subjects import Subject

__all__ = [
    "BATTERY_SCHEMA_VERSION",
    "CONSTANCY_CONTRASTS",
    "TESTS",
    "BatteryResult",
    "load_battery",
    "run_battery",
]

BATTERY_SCHEMA_VERSION = 1
#: Every test, in the order they run.
TESTS: tuple[str, ...] = (*human.DETECTION_DIRECTIONS, "masking", "constancy")
#: Test contrasts of the contrast-matching ladder: 31 values, 0.001 to 1, log-spaced.
CONSTANCY_CONTRASTS = np.logspace(-3.0, 0.0, 31)
MASKING = {"background_cd": 32.0, "frequency": 2.0, "sigma_deg": 0.5}
CONSTANCY = {"background_cd": 10.0, "reference_frequency": 5.0}


def _chunks(x: torch.Tensor, n: int) -> Iterator[torch.Tensor]:
    for i in range(0, int(x.shape[0]), n):
        yield x[i : i + n]


def _respond(subject: Subject, test: torch.Tensor, ref: torch.Tensor, batch: int) -> np.ndarray:
    return np.concatenate([subject.respond(t, ref) for t in _chunks(test, batch)], axis=0)


def _ladder(
    subject: Subject,
    display: Display,
    background: float,
    base: np.ndarray,
    target: np.ndarray,
    contrasts: np.ndarray,
    direction: object,
    batch: int,
) -> np.ndarray:
    """Responses (K, V) to ``base + c target`` against ``base`` for each contrast ``c``."""
    v = len(subject.variants)
    out = np.full((contrasts.size, v), math.nan)
    ref, ok_ref = physical_images(display, background, base, direction)
    if not ok_ref[0]:
        return out
    shown = contrasts <= 1.0
    if not shown.any():
        return out
    mod = base[None] + contrasts[shown, None, None] * target[None]
    imgs, ok = physical_images(display, background, mod, direction)
    idx = np.nonzero(shown)[0][ok]
    if idx.size:
        out[idx] = _respond(subject, imgs[torch.from_numpy(ok)], ref, batch)
    return out


def _detection(subject: Subject, test: str, display: Display, data_root: Any, batch: int, bar: Any):
    cid = human.DETECTION_DIRECTIONS[test]
    rows = human.detection_rows(
        cid, max_luminance=display.peak / 2, max_frequency=display.ppd / 2, data_root=data_root
    )
    direction = ACHROMATIC if cid == 9 else human.cone_direction(cid, data_root)
    zero = np.zeros((display.size, display.size))
    resp = []
    for lum, s, f, t in zip(
        rows["luminance"], rows["sigma"], rows["frequency"], rows["threshold"], strict=True
    ):
        wave = gabor_wave_deg(display, f, s)
        resp.append(_ladder(subject, display, lum, zero, wave, t * MULTIPLIERS, direction, batch))
        bar.update(1)
    return {
        "conditions": rows,
        "direction": np.asarray(direction, dtype=np.float64),
        "responses": np.stack(resp),  # (C, M, V)
    }


def _masking(subject: Subject, display: Display, data_root: Any, batch: int, bar: Any):
    d = human.foley_masking(data_root)
    mask = grating_wave_deg(display, MASKING["frequency"])
    target = gabor_wave_deg(display, MASKING["frequency"], MASKING["sigma_deg"])
    resp = []
    for mc, t in zip(d["mask_contrast"], d["threshold"], strict=True):
        resp.append(
            _ladder(
                subject, display, MASKING["background_cd"], mc * mask, target,
                t * MULTIPLIERS, ACHROMATIC, batch,
            )
        )  # fmt: skip
        bar.update(1)
    return {"conditions": d, "responses": np.stack(resp)}


def _constancy(subject: Subject, display: Display, data_root: Any, batch: int, bar: Any):
    d = human.georgeson_sullivan(data_root)
    keep = d["frequency"] < display.ppd / 2  # rows at or above the Nyquist limit are left out
    d = {k: v[keep] for k, v in d.items()}
    bg = CONSTANCY["background_cd"]
    zero = np.zeros((display.size, display.size))
    freqs = np.unique(d["frequency"])
    ladders = []
    for f in freqs:
        wave = grating_wave_deg(display, float(f))
        ladders.append(
            _ladder(subject, display, bg, zero, wave, CONSTANCY_CONTRASTS, ACHROMATIC, batch)
        )
        bar.update(1)
    refs = np.unique(d["reference"])
    ref_wave = grating_wave_deg(display, CONSTANCY["reference_frequency"])
    ref_resp = _ladder(subject, display, bg, zero, ref_wave, refs, ACHROMATIC, batch)  # (R, V)
    bar.update(1)
    return {
        "conditions": d,
        "frequencies": freqs,
        "reference_contrasts": refs,
        "ladders": np.stack(ladders),  # (F, K, V)
        "reference_responses": ref_resp,
    }


def constancy_matches(t: dict[str, Any], variant: int) -> tuple[np.ndarray, np.ndarray]:
    """log10 matching contrasts (rows,) and censoring of one variant of a constancy test."""
    d = t["conditions"]
    fi = np.searchsorted(t["frequencies"], d["frequency"])
    ri = np.searchsorted(t["reference_contrasts"], d["reference"])
    ladder = t["ladders"][fi, :, variant]
    target = t["reference_responses"][ri, variant]
    return match_contrasts(ladder, CONSTANCY_CONTRASTS, target)


def _statistics(test: str, t: dict[str, Any], variants: Sequence[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for v, name in enumerate(variants):
        if test == "constancy":
            lm, cens = constancy_matches(t, v)
            out[name] = {
                "matching_rmse": matching_rmse(lm, t["conditions"]["match"]),
                "log10_match": lm,
                "censored": cens,
            }
        else:
            r = t["responses"][:, :, v]
            e, cens, crit = threshold_errors(r)
            out[name] = {
                "threshold_rmse": threshold_rmse(e),
                "pooled_spearman": pooled_spearman(r),
                "log10_threshold_ratio": e,
                "censored": cens,
                "criterion": crit,
                "cells_dropped": int((~np.isfinite(r)).sum()),
                "conditions_not_shown": int((~np.isfinite(e)).sum()),
            }
    return out


@dataclass
class BatteryResult:
    """The battery's results for one subject (all its variants).

    Attributes
    ----------
    subject : str
    variants : list of str
    config : dict
        Display, tests, ladders, data root, versions.
    tests : dict
        Test name -> raw arrays (conditions, responses) and ``stats`` per variant.
    timings : dict
        Seconds per test and images forwarded.
    """

    subject: str
    variants: list[str]
    config: dict[str, Any]
    tests: dict[str, dict[str, Any]]
    timings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """One row per (variant, test): the primary statistic and Cai et al.'s Spearman."""
        rows = []
        for test, t in self.tests.items():
            for name, s in t["stats"].items():
                primary = "matching_rmse" if test == "constancy" else "threshold_rmse"
                rows.append(
                    {
                        "variant": name,
                        "test": test,
                        "statistic": primary,
                        "value": s[primary],
                        "pooled_spearman": s.get("pooled_spearman", math.nan),
                        "censored": int(np.count_nonzero(s["censored"])),
                        "conditions": int(
                            np.isfinite(s.get("log10_threshold_ratio", s.get("log10_match"))).sum()
                        ),
                    }
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: arrays as lists, NaN as None."""
        return _jsonable(
            {
                "kind": "battery",
                "schema_version": BATTERY_SCHEMA_VERSION,
                "subject": self.subject,
                "variants": self.variants,
                "config": self.config,
                "timings": self.timings,
                "tests": self.tests,
            }
        )

    def save(self, out: str | os.PathLike[str]) -> Path:
        """Write ``battery.json`` and ``summary.csv`` into the folder ``out``, atomically."""
        import json

        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and not (out / "battery.json").exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not a battery results folder")
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            (work / "battery.json").write_text(
                json.dumps(self.to_dict(), indent=1, allow_nan=False), encoding="utf-8"
            )
            buf = io.StringIO()
            rows = self.summary()
            w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["variant"])
            w.writeheader()
            w.writerows(rows)
            (work / "summary.csv").write_text(buf.getvalue(), encoding="utf-8")
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
                os.replace(out, old / "x")
                os.replace(work, out)
                shutil.rmtree(old)
            else:
                os.replace(work, out)
        finally:
            if work.exists():
                shutil.rmtree(work)
        return out


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _arrays(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _arrays(v) for k, v in x.items()}
    if isinstance(x, list) and x and not isinstance(x[0], str | dict):
        return np.array(x, dtype=np.float64 if _has_none(x) else None)
    return x


def _has_none(x: Any) -> bool:
    if isinstance(x, list):
        return any(_has_none(v) for v in x)
    return x is None


def load_battery(folder: str | os.PathLike[str]) -> BatteryResult:
    """Read a folder written by :meth:`BatteryResult.save` (arrays back as numpy)."""
    from .._io import check_schema

    path = Path(folder) / "battery.json"
    data = read_json(path)
    check_schema(data, "battery", BATTERY_SCHEMA_VERSION, path)
    tests = _arrays(data["tests"])
    return BatteryResult(data["subject"], data["variants"], data["config"], tests, data["timings"])


def run_battery(
    subject: Subject,
    tests: Sequence[str] = TESTS,
    *,
    display: Display | None = None,
    data_root: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    progress: bool = True,
) -> BatteryResult:
    """Run the battery's ``tests`` on ``subject``; write ``out`` when given.

    Parameters
    ----------
    subject : Subject
        :func:`hvsprobe.battery.make_subject`, or any object with ``name``, ``variants`` and
        ``respond(test, reference) -> (N, V)``.
    tests : sequence of str
        Names of :data:`TESTS`.
    display : Display, optional
        Default :class:`~hvsprobe.stimuli.physical.Display` (400 cd/m², sRGB, 60 ppd, 224 px).
    data_root : path-like, optional
        Folder holding ``psychophysics/`` (default ``HVSPROBE_DATA``).
    out : path-like, optional
        Results folder to write.
    batch_size : int
        Images per call of the subject.
    progress : bool
        Show a progress bar.

    Returns
    -------
    BatteryResult
    """
    from tqdm.auto import tqdm

    display = display or Display()
    bad = [t for t in tests if t not in TESTS]
    if bad or not tests:
        raise ValueError(f"unknown tests {bad}; choose from {', '.join(TESTS)}")
    root = str(human.psychophysics_dir(data_root).parent)
    results: dict[str, dict[str, Any]] = {}
    timings: dict[str, Any] = {}
    sizes = {"masking": 10, "constancy": 10}
    total = sum(sizes.get(t, 40) for t in tests)
    start = time.perf_counter()
    with tqdm(total=total, disable=not progress, desc=f"battery {subject.name}") as bar:
        for test in tests:
            t0 = time.perf_counter()
            if test == "masking":
                t = _masking(subject, display, data_root, batch_size, bar)
            elif test == "constancy":
                t = _constancy(subject, display, data_root, batch_size, bar)
            else:
                t = _detection(subject, test, display, data_root, batch_size, bar)
            t["stats"] = _statistics(test, t, subject.variants)
            results[test] = t
            timings[test] = round(time.perf_counter() - t0, 3)
    timings["total_s"] = round(time.perf_counter() - start, 3)
    timings["images_forwarded"] = int(getattr(subject, "images_forwarded", 0))
    from .. import __version__

    config = {
        "display": display.to_dict(),
        "tests": list(tests),
        "multipliers": MULTIPLIERS,
        "constancy_contrasts": CONSTANCY_CONTRASTS,
        "masking": MASKING,
        "constancy": CONSTANCY,
        "data_root": root,
        "hvsprobe_version": __version__,
        "torch_version": torch.__version__,
    }
    res = BatteryResult(subject.name, list(subject.variants), config, results, timings)
    if out is not None:
        res.save(out)
    return res
