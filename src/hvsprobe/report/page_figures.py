"""The figures of the report page: which are drawn, from what, with which caption.

Every figure goes through :class:`hvsprobe.report.cache.FigureCache`, so a figure whose
inputs did not change since the last build is reused. :func:`draw_page_figures` draws them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__ as _version
from ..scores import ChannelScores
from ..selection import Selection
from ..tuning import Tuning
from .cache import FigureCache, file_digest
from .channels import channel_page_name
from .inputs import CSFCurve, csf_for

if TYPE_CHECKING:
    from .tuning_figures import TuningFigure

__all__ = ["FigureContext", "PageFigure", "PageFigures", "draw_page_figures", "input_digest"]


@dataclass
class PageFigure:
    """One figure of the page: anchor, title, file (src relative to the page) and caption."""

    key: str
    title: str
    path: Path
    caption: str
    src: str = ""


def input_digest(results: Path, selections: list[Path]) -> str:
    """Digest of everything every figure depends on: results files, figure code, versions."""
    here = Path(__file__).parent
    code = [
        here / "figures.py",
        here / "tuning_figures.py",
        here / "frequency_map.py",
        here / "scatter.py",
        *sorted((here.parent / "human").glob("*.py")),
    ]
    files = [results / n for n in ("tuning.json", "tuning.npz", "scores.json", "scores.csv")]
    extra = f"{version('matplotlib')}\0{version('pillow')}\0{_version}\0"
    return file_digest([*files, *selections, *code]) + extra


def _draw(module: str, name: str) -> Callable[..., Path]:
    """The drawing function ``name`` of ``hvsprobe.report.<module>``, imported when called."""

    def call(*args: Any, **kwargs: Any) -> Path:
        function = getattr(importlib.import_module(f"{__package__}.{module}"), name)
        return Path(function(*args, **kwargs))

    return call


def _defer(
    cache: FigureCache,
    name: str,
    args: Any,
    draw: Callable[[Path], Path],
    *,
    group: str | None = None,
) -> Path:
    """:meth:`FigureCache.defer` with ``draw`` run in the report's style (:func:`_styled`)."""
    return cache.defer(name, args, _styled(draw), group=group)


def _styled(draw: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """``draw`` in the report's matplotlib style, importing the figure code when it runs.

    Nothing here imports matplotlib until a figure is drawn: the figures are drawn by forked
    workers, so the process that writes the pages never loads it (nor pays for it at exit),
    and a rebuild whose figures are all reused does not load it at all.
    """

    def styled(path: Path) -> Path:
        from .figures import report_style

        with report_style():
            return draw(path)

    return styled


@dataclass
class FigureContext:
    """What the figures of one report are drawn from.

    The CSF is built on first use only (its import is the slowest part of a rebuild whose
    figures are all reused); what it said is kept for the page in ``csf_state``.
    """

    tuning: Tuning
    scores: ChannelScores
    score_cfg: dict[str, Any]
    selections: list[tuple[str, Selection]]
    n_curves: int
    csf_state: dict[str, Any] = field(default_factory=dict)

    @property
    def csf(self) -> CSFCurve | None:
        if "curve" not in self.csf_state:
            notes: list[str] = []
            self.csf_state["curve"] = csf_for(self.score_cfg, notes)
            self.csf_state["notes"] = notes
        return self.csf_state["curve"]

    def csf_facts(self, cache: FigureCache) -> tuple[bool, list[str]]:
        """Whether a CSF is drawn and its notes, from this build or the cached record."""
        if "curve" not in self.csf_state and "csf" in cache.meta:
            return bool(cache.meta["csf"]["drawn"]), list(cache.meta["csf"]["notes"])
        drawn, notes = self.csf is not None, list(self.csf_state["notes"])
        cache.meta["csf"] = {"drawn": drawn, "notes": notes}
        return drawn, notes


def _layer_figs(
    ctx: FigureContext, cache: FigureCache, say: Callable[[str], None]
) -> list[PageFigure]:
    contrast_index = int(ctx.score_cfg.get("contrast_index", -1))
    frequency_curve = str(ctx.score_cfg.get("frequency_curve", "preferred"))
    out = []
    drawers: list[TuningFigure] = []  # one per process, made on first use (needs the CSF)

    def drawer() -> TuningFigure:
        from .tuning_figures import TuningFigure

        if not drawers:
            drawers.append(
                TuningFigure(
                    ctx.tuning.grid,
                    n=ctx.n_curves,
                    csf=ctx.csf,
                    frequency_curve=frequency_curve,
                    contrast_index=contrast_index,
                )
            )
        return drawers[0]

    for i, name in enumerate(ctx.scores.layers):
        file = f"tuning_{i:02d}_{channel_page_name(i, name)[3:-5]}.png"

        def draw(p: Path, name: str = name) -> Path:
            return drawer().draw(name, ctx.tuning.responses[name], ctx.scores.layer(name), p)

        args = (name, ctx.n_curves, frequency_curve, contrast_index)  # CSF: in the salt
        out.append(
            PageFigure(
                f"tuning-{i}",
                name,
                _defer(cache, file, args, draw, group="tuning"),
                f"Layer {name}: frequency and orientation tuning of the {ctx.n_curves} "
                f"highest-PE (top row) and {ctx.n_curves} lowest-PE (bottom row) selectable "
                "channels; each curve divided by its largest absolute value (the legend gives "
                "each channel's peak relative to the layer's median peak).",
            )
        )
    return out


#: Caption of the best-frequency heat map.
_BEST_FREQUENCY_CAPTION = (
    "One row per layer (network order, top to bottom), one column per sampled "
    "frequency (log axis). Colour: share of the layer's live channels whose best "
    "frequency falls in the column (square-root scale; white: none); left the "
    "selectable channels, right the weak or border-dominated ones, so the two maps "
    "of a row add up to 100 %. The outlined outer columns hold the channels peaking "
    "at the grid's lowest or highest frequency, whose true peak may lie beyond it. "
    "Circles: the layer's median best frequency (all live channels); red dashed: "
    "peak of the human CSF used by μ1. On the right, per layer: live channels, "
    "those peaking at a grid edge, the weak or border-dominated share and the "
    "median in cycles/degree."
)


def _score_figs(ctx: FigureContext, cache: FigureCache) -> dict[str, PageFigure]:
    scores, cfg = ctx.scores, ctx.score_cfg
    log_mu1 = cfg.get("mu1") == "vfss_v1"
    default_sel = next((s for name, s in ctx.selections if name == "selection.json"), None)
    sel_map = {k: v["channels"] for k, v in default_sel.layers.items()} if default_sel else None
    made = {
        "distributions": PageFigure(
            "distributions",
            "Score distributions per layer",
            _defer(
                cache,
                "score_distributions.png",
                log_mu1,
                lambda p: _draw("figures", "score_distributions")(scores, p, log_mu1=log_mu1),
            ),
            "μ1 (CSF-weighted frequency score), μ2 (orientation selectivity) and PE (their "
            "combination) over the live channels of each layer. Violins: density; black bar: "
            "quartiles; white dot: median.",
        ),
        "shares": PageFigure(
            "shares",
            "Flags and orientation selectivity per layer",
            _defer(
                cache, "layer_shares.png", 1, lambda p: _draw("figures", "layer_shares")(scores, p)
            ),
            "Shares of live channels that are orientation selective (μ2's own index reaches "
            "its threshold), weak, border dominated, or peak at the top or bottom of the "
            "frequency grid; red: share of all channels that never respond. Labels below "
            "10 % carry two significant digits, so only an exact 0 reads 0.",
        ),
        "best_frequency": PageFigure(
            "best-frequency",
            "Best frequencies",
            _defer(
                cache,
                "best_frequency.png",
                2,
                lambda p: _draw("frequency_map", "best_frequency_map")(
                    scores,
                    ctx.tuning.grid,
                    p,
                    csf_peak=ctx.csf[1] if ctx.csf is not None else None,
                    csf_label="CSF peak",
                ),
            ),
            _BEST_FREQUENCY_CAPTION,
        ),
        "scatter": PageFigure(
            "scatter",
            "μ1 against μ2",
            _defer(
                cache,
                "mu1_mu2_scatter.png",
                (sel_map is not None, log_mu1),
                lambda p: _draw("scatter", "mu1_mu2_scatter")(
                    scores,
                    p,
                    selected=sel_map,
                    selection_label="selected (selection.json)",
                    log_mu1=log_mu1,
                ),
            ),
            "One panel per layer, all on the same μ2 axis (0 to 1, labelled on the left); "
            "each mark is a live channel; red crosses: flagged channels (weak, border "
            "dominated, or peak at a grid edge). Each title counts the layer's live channels, "
            "its crosses (flagged)"
            + (
                " and the channels kept by selection.json. Orange: the kept channels, drawn orange "
                "even when flagged (the default selection leaves out weak and border-dominated "
                "channels but keeps those peaking at a grid edge)."
                if default_sel is not None
                else ". No selection.json in the folder, so no selection is highlighted."
            ),
        ),
    }
    return made


def _selection_fig(ctx: FigureContext, cache: FigureCache) -> PageFigure | None:
    if not ctx.selections:
        return None
    layers = ctx.scores.layers
    live = {n: int((~ctx.scores.layer(n)["dead"]).sum()) for n in layers}
    all_layers = list(layers)
    for _, s in ctx.selections:
        all_layers += [k for k in s.layers if k not in all_layers]
    counts = [
        (name, {k: len(v["channels"]) for k, v in s.layers.items()}) for name, s in ctx.selections
    ]
    return PageFigure(
        "selection",
        "Channels kept per layer",
        _defer(
            cache,
            "selection.png",
            (all_layers, live, counts),
            lambda p: _draw("figures", "selection_counts")(all_layers, live, counts, p),
        ),
        "Number of channels each selection file keeps per layer; grey: the layer's live channels.",
    )


@dataclass
class PageFigures:
    """The figures of one page, in their sections."""

    stimuli: PageFigure
    scores: dict[str, PageFigure]
    tuning: list[PageFigure]
    selection: PageFigure | None

    @property
    def all(self) -> list[PageFigure]:
        """Every figure, in page order."""
        sel = [self.selection] if self.selection else []
        return [self.stimuli, *self.scores.values(), *self.tuning, *sel]


def _stimuli_fig(ctx: FigureContext, cache: FigureCache) -> PageFigure:
    contrast_index = int(ctx.score_cfg.get("contrast_index", -1))
    return PageFigure(
        "stimuli",
        "Example stimuli",
        _defer(
            cache,
            "stimuli.png",
            contrast_index,
            lambda p: _draw("figures", "stimulus_examples")(
                ctx.tuning.grid, p, contrast_index=contrast_index
            ),
        ),
        "Stimuli from the probe grid (a flat, bordered rendering; with the 'torus' "
        "response method the network saw the same gratings exactly periodic): frequencies "
        "in rows (cycles/degree, and cycles across the image), orientations in columns "
        "(direction of the wave vector, counter-clockwise; 0° = vertical bars).",
    )


def draw_page_figures(
    ctx: FigureContext, cache: FigureCache, say: Callable[[str], None], workers: int = 1
) -> tuple[PageFigures, Callable[[], None]]:
    """Start drawing (or reuse) every figure of the page, in the report's matplotlib style.

    The figures to draw go to ``workers`` processes (:mod:`hvsprobe.report.parallel`; the
    per-layer tuning figures as one group, sharing their background) while the caller goes
    on. Returns the figures and the call that waits until they are on disk.
    """
    stimuli = _stimuli_fig(ctx, cache)
    made = _score_figs(ctx, cache)
    tuning = _layer_figs(ctx, cache, say)
    selection = _selection_fig(ctx, cache)
    for name in cache.pending:
        say(f"figure: {name}")
    if cache.pending:
        _ = ctx.csf  # built once here, not in every worker
    finish = cache.draw_pending(workers)
    return PageFigures(stimuli, made, tuning, selection), finish
