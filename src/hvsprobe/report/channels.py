"""The per-channel browser: one static HTML page per layer, every channel reachable.

Each page lists every channel of its layer (scores, flags, rank) in a plain HTML table, and
embeds the layer's responses as JSON in the page; a small inline script draws the selected
channel (``page.html#c163``) on canvases: its frequency x orientation response map and its
frequency and orientation tuning curves in absolute response, over the layer's median and
90th-percentile curves for scale. Nothing is loaded from the network or from other files, so
a page works from ``file://``.

>>> from hvsprobe.report.channels import channel_page_name
>>> channel_page_name(3, "relu3_3")
'03_relu3_3.html'
"""

from __future__ import annotations

import base64
import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from .._io import write_text_atomic
from ..scores import ChannelScores
from ..tuning import Tuning, tuning_curve_data
from .html import fmt_value, render

__all__ = [
    "FLAG_LABELS",
    "channel_page_name",
    "channel_ranks",
    "pack_ints",
    "unpack_ints",
    "write_channel_pages",
]

#: Per-channel flags shown in the browser, with their labels.
FLAG_LABELS = (
    ("dead", "dead"),
    ("weak", "weak"),
    ("border_dominated", "border"),
    ("peak_at_top", "peak at top"),
    ("peak_at_bottom", "peak at bottom"),
    ("bandwidth_censored", "bandwidth censored"),
)
_SCORE_COLUMNS = (
    ("mu1", "μ1"),
    ("mu2", "μ2"),
    ("pe", "PE"),
    ("best_frequency_cpd", "best f (cpd)"),
    ("preferred_orientation_deg", "preferred θ (°)"),
    ("bandwidth_oct", "bandwidth (oct)"),
    ("peak_response", "peak response"),
    ("peak_rel_median", "peak / layer median"),
    ("border_share", "border share"),
)


def channel_page_name(index: int, layer: str) -> str:
    """File name of a layer's browser page (inside ``channels/``)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", layer).strip("_") or "layer"
    return f"{index:02d}_{safe}.html"


def channel_ranks(t: dict[str, np.ndarray]) -> np.ndarray:
    """1-based rank of each channel by PE (mu1 when PE is undefined) among ranked channels.

    Ranked channels are the selectable ones (live, not weak, not border dominated) when the
    scores have that column, else the live ones; others get 0.

    Examples
    --------
    >>> t = {"dead": np.array([False, False, True]), "pe": np.array([0.2, 0.5, np.nan])}
    >>> channel_ranks(t).tolist()
    [2, 1, 0]
    """
    ok = ~np.asarray(t["dead"], dtype=bool)
    if "selectable" in t:
        ok &= np.asarray(t["selectable"], dtype=bool)
    by = "pe" if np.isfinite(np.asarray(t["pe"], np.float64)[ok]).any() else "mu1"
    v = np.asarray(t.get(by, t["pe"]), dtype=np.float64)
    ok &= np.isfinite(v)
    idx = np.nonzero(ok)[0]
    order = idx[np.argsort(-v[idx], kind="stable")]
    ranks = np.zeros(v.shape, dtype=np.int64)
    ranks[order] = np.arange(1, order.size + 1)
    return ranks


def _num(x: float, digits: int = 4) -> float | None:
    """A JSON-safe float rounded to ``digits`` significant digits (NaN -> None)."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


#: Responses are embedded as integers in [-LEVELS, LEVELS] times the channel's ``s / LEVELS``.
LEVELS = 9999
#: The packed integer that stands for a missing (NaN) value.
MISSING = -32768


def pack_ints(values: np.ndarray) -> list[str]:
    """Each row of ``values`` (scaled to [-LEVELS, LEVELS]) as base64 of little-endian int16.

    NaN becomes :data:`MISSING`. Packed rows are written several times faster than JSON
    lists of integers (no per-number encoding), at about the same page size.

    Examples
    --------
    >>> rows = pack_ints(np.array([[1.2, -9999.0, np.nan]]))
    >>> unpack_ints(rows[0]).tolist()
    [1.0, -9999.0, nan]
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    q = np.where(finite, np.rint(np.where(finite, values, 0.0)), MISSING).astype("<i2")
    return [base64.b64encode(row.tobytes()).decode("ascii") for row in q]


def unpack_ints(text: str) -> np.ndarray:
    """The integers of one :func:`pack_ints` row, as floats with NaN for missing values."""
    q = np.frombuffer(base64.b64decode(text), dtype="<i2").astype(np.float64)
    q[q == MISSING] = np.nan
    return q


def _channel_scales(r: np.ndarray) -> np.ndarray:
    """Each channel's largest absolute response (6 significant digits; 1 for an all-zero map)."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN map
        peak = np.nanmax(np.abs(r.reshape(r.shape[0], -1)), axis=1)
    peak = np.where(np.isfinite(peak) & (peak > 0), peak, 1.0)
    return np.array([float(f"{x:.6g}") for x in peak])


def _layer_data(
    responses: np.ndarray, t: dict[str, np.ndarray], *, contrast_index: int, frequency_curve: str
) -> dict[str, Any]:
    """A layer's browser data: per channel its map and curves, compactly; layer percentiles.

    A channel's values are integers ``q`` (``m``: the frequency x orientation map, row by
    row; ``fc``, ``oc``: its curves; each packed by :func:`pack_ints`) with the response
    ``q * s / LEVELS``: four significant digits of the channel's own peak, whatever the
    channel's strength.
    """
    r = np.asarray(responses, dtype=np.float64).mean(axis=3)[..., contrast_index]  # C x F x O
    fc, oc = tuning_curve_data(
        responses, frequency_curve=frequency_curve, contrast_index=contrast_index
    )
    live = ~np.asarray(t["dead"], dtype=bool)
    pct = {}
    for key, curves in (("freq", fc), ("orient", oc)):
        if live.any():
            q = np.percentile(curves[live], [50, 90], axis=0)
            pct[key] = {"median": [_num(v) for v in q[0]], "p90": [_num(v) for v in q[1]]}
        else:
            pct[key] = {"median": [], "p90": []}
    scale = _channel_scales(r)
    k = (LEVELS / scale)[:, None]
    maps = pack_ints(r.reshape(r.shape[0], -1) * k)
    fcs, ocs = pack_ints(fc * k), pack_ints(oc * k)
    channels = [
        {"c": int(c), "s": float(scale[i]), "m": maps[i], "fc": fcs[i], "oc": ocs[i]}
        for i, c in enumerate(t["channel"])
    ]
    return {"channels": channels, "layer": pct, "levels": LEVELS}


def _column_texts(t: dict[str, np.ndarray], col: str) -> list[str]:
    """One score column as table texts, as :func:`fmt_value` with 3 digits writes them."""
    if col not in t:
        return ["—"] * len(t["channel"])
    values = np.asarray(t[col], dtype=np.float64).tolist()
    return [f"{v:.3g}" if math.isfinite(v) else fmt_value(v, 3) for v in values]


def _rows(t: dict[str, np.ndarray], ranks: np.ndarray) -> list[dict[str, Any]]:
    columns = [_column_texts(t, col) for col, _ in _SCORE_COLUMNS]
    flag_columns = [
        (np.asarray(t[col], dtype=bool), label) for col, label in FLAG_LABELS if col in t
    ]
    rows = []
    for i, c in enumerate(np.asarray(t["channel"]).tolist()):
        flags = [label for on, label in flag_columns if on[i]]
        rows.append(
            {
                "c": int(c),
                "rank": int(ranks[i]) or "—",
                "flags": flags,
                "cells": [column[i] for column in columns],
                "i": i,
            }
        )
    return rows


def _script_json(obj: Any) -> Markup:
    """JSON that is safe inside a ``<script>`` element (no ``</`` sequence)."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("</", "<\\/"))


def write_channel_pages(
    tuning: Tuning,
    scores: ChannelScores,
    out_dir: Path,
    *,
    report_href: str,
    title: str,
    contrast_index: int = -1,
    frequency_curve: str = "preferred",
) -> dict[str, Path]:
    """Write one browser page per layer into ``out_dir``; return layer -> page path.

    Parameters
    ----------
    tuning, scores : Tuning, ChannelScores
        One results folder's responses and scores.
    out_dir : Path
        Folder for the pages (``channels/`` beside the report).
    report_href : str
        Link back to the report, relative to ``out_dir``.
    title : str
        The network's name for the page titles.
    contrast_index, frequency_curve
        As the scores used them.

    Returns
    -------
    dict
        Layer name -> written page.

    Examples
    --------
    >>> write_channel_pages(tuning, scores, Path("r/channels"), report_href="../report.html",
    ...                     title="vgg16")  # doctest: +SKIP
    {'relu1_2': PosixPath('r/channels/00_relu1_2.html'), ...}
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    grid = tuning.grid
    layers = scores.layers
    names = [channel_page_name(i, n) for i, n in enumerate(layers)]
    written: dict[str, Path] = {}
    for i, name in enumerate(layers):
        t = scores.layer(name)
        ranks = channel_ranks(t)
        data = _layer_data(
            tuning.responses[name],
            t,
            contrast_index=contrast_index,
            frequency_curve=frequency_curve,
        )
        data["freqs"] = [_num(f, 6) for f in grid.frequencies]
        data["orients"] = [_num(o, 6) for o in grid.orientations]
        data["name"] = name
        first = int(np.argmax(ranks == 1)) if (ranks == 1).any() else 0
        data["first"] = first
        html = render(
            "channels.html.j2",
            title=f"{title}: {name}, every channel",
            layer=name,
            report_href=report_href,
            layers=list(zip(layers, names, strict=True)),
            current=names[i],
            columns=[label for _, label in _SCORE_COLUMNS],
            rows=_rows(t, ranks),
            data=_script_json(data),
            n_ranked=int((ranks > 0).sum()),
        )
        path = out_dir / names[i]
        write_text_atomic(path, html)
        written[name] = path
    for stale in out_dir.glob("*.html"):
        if stale.name not in names:
            stale.unlink()
    return written
