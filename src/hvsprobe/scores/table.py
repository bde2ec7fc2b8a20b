"""The score table :class:`ChannelScores`: one row per (layer, channel), saved as CSV + JSON."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_path, check_schema, read_json, write_json_atomic
from .config import COLUMNS, FLAG_COLUMNS, SCHEMA_VERSION

__all__ = ["ChannelScores"]


@dataclass
class ChannelScores:
    """A table with one row per (layer, channel) and the configuration that produced it.

    ``columns`` maps each name of :data:`COLUMNS` to a numpy array of equal length.

    Examples
    --------
    >>> import tempfile
    >>> from hvsprobe.scores import COLUMNS, FLAG_COLUMNS
    >>> cols = {c: np.zeros(2, dtype=bool) if c in FLAG_COLUMNS else np.ones(2) for c in COLUMNS}
    >>> cols["layer"], cols["channel"] = np.array(["a", "a"], dtype=object), np.arange(2)
    >>> scores = ChannelScores(cols, config={})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     again = ChannelScores.load(scores.save(d))
    >>> len(again), again.layers, again.summary()[0]["selectable"]
    (2, ['a'], 0)
    """

    columns: dict[str, np.ndarray]
    config: dict[str, Any]

    def __len__(self) -> int:
        return len(self.columns["channel"])

    @property
    def layers(self) -> list[str]:
        """Layer names in the order they appear."""
        return list(dict.fromkeys(self.columns["layer"].tolist()))

    def layer(self, name: str) -> dict[str, np.ndarray]:
        """The rows of one layer."""
        mask = self.columns["layer"] == name
        if not mask.any():
            raise ValueError(f"no scores for layer {name!r}; have {self.layers}")
        return {k: v[mask] for k, v in self.columns.items()}

    def summary(self) -> list[dict[str, Any]]:
        """Per layer: counts of every flag, medians of the scores, selective shares.

        Medians are over live channels. The median best frequency comes with the share of
        live channels whose peak sits at the top (or bottom) of the frequency grid: for
        those the true peak lies beyond the grid, so the median is a bound, not an estimate.
        """
        rows = []
        for name in self.layers:
            t = self.layer(name)
            live = ~t["dead"]
            n_live = int(live.sum())
            ok = t["selectable"] if "selectable" in t else live
            by = "pe" if np.isfinite(t["pe"][ok]).any() else "mu1"  # concentric: no PE
            top = np.argsort(-np.where(ok, np.nan_to_num(t[by], nan=-np.inf), -np.inf))[:5]

            def med(col: str, t: dict[str, np.ndarray] = t, live: np.ndarray = live) -> float:
                vals = t[col][live]
                vals = vals[np.isfinite(vals)]
                return float(np.median(vals)) if vals.size else math.nan

            def count(col: str, t: dict[str, np.ndarray] = t) -> int:
                return int(t[col].sum()) if col in t else 0

            def share(n: int, n_live: int = n_live) -> float:
                return n / n_live if n_live else math.nan

            rows.append(
                {
                    "layer": name,
                    "channels": int(live.size),
                    "dead": int((~live).sum()),
                    "weak": count("weak"),
                    "border_dominated": count("border_dominated"),
                    "peak_at_top": count("peak_at_top"),
                    "peak_at_bottom": count("peak_at_bottom"),
                    "bandwidth_censored": count("bandwidth_censored"),
                    "selectable": count("selectable"),
                    "median_mu1": med("mu1"),
                    "median_mu2": med("mu2"),
                    "median_pe": med("pe"),
                    "median_best_frequency_cpd": med("best_frequency_cpd"),
                    "share_peak_at_top": share(count("peak_at_top")),
                    "share_peak_at_bottom": share(count("peak_at_bottom")),
                    "orientation_selective": count("orientation_selective"),
                    "share_orientation_selective": share(count("orientation_selective")),
                    "orientation_selective_peak": count("orientation_selective_peak"),
                    "share_orientation_selective_peak": share(count("orientation_selective_peak")),
                    "top_channels": [int(t["channel"][i]) for i in top if ok[i]],
                    "top_channels_by": by,
                }
            )
        return rows

    def save(self, path: str | Path) -> Path:
        """Write ``scores.csv`` (the table) and ``scores.json`` (config) atomically.

        ``path`` is a folder.
        """
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with atomic_path(path / "scores.csv") as tmp:
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(COLUMNS)
                for i in range(len(self)):
                    row = []
                    for col in COLUMNS:
                        v = self.columns[col][i]
                        if isinstance(v, np.floating | float):
                            row.append("" if not np.isfinite(v) else f"{float(v):.9g}")
                        elif isinstance(v, np.bool_ | bool):
                            row.append("1" if v else "0")
                        else:
                            row.append(str(v))
                    w.writerow(row)
        write_json_atomic(
            path / "scores.json",
            {
                "kind": "scores",
                "schema_version": SCHEMA_VERSION,
                "columns": list(COLUMNS),
                "config": self.config,
            },
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> ChannelScores:
        """Read a folder written by :meth:`save`."""
        path = Path(path)
        meta = read_json(path / "scores.json")
        check_schema(meta, "scores", SCHEMA_VERSION, path / "scores.json")
        with open(path / "scores.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        cols: dict[str, np.ndarray] = {}
        have = set(rows[0]) if rows else set(COLUMNS)
        missing = [c for c in COLUMNS if c not in have]
        if missing:
            raise ValueError(
                f"{path / 'scores.csv'} lacks columns {missing} (written by an older hvsprobe); "
                "rerun `hvsprobe analyze` (the cached tuning is reused)"
            )
        for col in COLUMNS:
            vals = [r[col] for r in rows]
            if col == "layer":
                cols[col] = np.array(vals, dtype=object)
            elif col == "channel":
                cols[col] = np.array([int(v) for v in vals], dtype=np.int64)
            elif col in FLAG_COLUMNS:
                cols[col] = np.array([v == "1" for v in vals], dtype=bool)
            else:
                cols[col] = np.array([float(v) if v != "" else np.nan for v in vals])
        return cls(columns=cols, config=meta["config"])
