"""The report's summary tables: per-layer summary (linked to the channel browser), flags,
selections.

>>> fixed(0.12345, 2), fixed(float("nan"), 2)
('0.12', '—')
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from .._format import format_number
from ..scores import ChannelScores
from ..selection import Selection
from .html import esc, fmt_share, table

__all__ = ["FLAG_TABLE", "fixed", "flag_table", "selection_table", "summary_table"]


def fixed(value: Any, decimals: int) -> str:
    """``value`` with a fixed number of decimals; a dash for a missing or NaN value."""
    return format_number(value, decimals)


def _top_links(r: dict[str, Any], href: str) -> Markup:
    links = [f'<a href="{esc(href)}#c{c}">{c}</a>' for c in r["top_channels"]]
    return Markup(", ".join(links) if links else "—")


def summary_table(scores: ChannelScores, pages: dict[str, str]) -> Markup:
    header = [
        "layer",
        "channels",
        "live",
        "median μ1",
        "median μ2",
        "median PE",
        "median best f (cpd)",
        "peak at grid edge",
        "orientation selective",
        "top channels",
    ]
    rows = []
    for r in scores.summary():
        live = r["channels"] - r["dead"]
        edge = r["peak_at_top"] + r["peak_at_bottom"]
        by = "PE" if r.get("top_channels_by", "pe") == "pe" else "μ1"
        rows.append(
            [
                Markup(f'<a href="{esc(pages[r["layer"]])}">{esc(r["layer"])}</a>'),
                r["channels"],
                live,
                fixed(r["median_mu1"], 3),
                fixed(r["median_mu2"], 3),
                fixed(r["median_pe"], 3),
                fixed(r["median_best_frequency_cpd"], 2),
                f"{edge} ({fmt_share(edge, live)})",
                f"{r['orientation_selective']} ({fmt_share(r['orientation_selective'], live)})",
                Markup(f'{_top_links(r, pages[r["layer"]])} <span class="muted">by {by}</span>'),
            ]
        )
    numeric = [False, True, True, True, True, True, True, True, True, False]
    return table(header, rows, numeric=numeric)


#: Flag columns of the flag table: summary key, header, denominator.
FLAG_TABLE = (
    ("dead", "dead", "all"),
    ("weak", "weak", "live"),
    ("border_dominated", "border dominated", "live"),
    ("peak_at_top", "peak at top", "live"),
    ("peak_at_bottom", "peak at bottom", "live"),
    ("bandwidth_censored", "censored bandwidth", "live"),
    ("selectable", "selectable", "live"),
)


def flag_table(scores: ChannelScores) -> Markup:
    header = ["layer", "channels"] + [h for _, h, _ in FLAG_TABLE]
    rows = []
    for r in scores.summary():
        live = r["channels"] - r["dead"]
        row: list[Any] = [r["layer"], r["channels"]]
        for key, _, denom in FLAG_TABLE:
            n = int(r.get(key, 0))
            row.append(f"{n} ({fmt_share(n, r['channels'] if denom == 'all' else live)})")
        rows.append(row)
    return table(header, rows, numeric=[False] + [True] * (len(header) - 1))


def selection_table(selections: list[tuple[str, Selection]]) -> Markup:
    rows = []
    for name, s in selections:
        st = s.strategy
        rows.append(
            [
                name,
                s.score,
                st.get("name", "?"),
                st.get("value", ""),
                st.get("scope", ""),
                bool(st.get("bottom", False)),
                s.n_selected,
            ]
        )
    header = ["file", "score", "strategy", "value", "scope", "bottom (control)", "channels"]
    return table(header, rows, numeric=[False, False, False, True, False, False, True])
