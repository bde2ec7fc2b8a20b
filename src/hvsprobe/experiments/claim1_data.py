"""Claim 1's human data: the LIVE pairs, the ModelFest stimuli and the castleCSF rows it uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .claim1 import Claim1Config

__all__ = ["HumanData", "load_human_data"]

#: Display resolution (pixels per degree) at which the castleCSF stimuli are drawn.
CASTLE_PPD = 60.0


@dataclass
class HumanData:
    """What claim 1 compares its metrics with (psychophysics fields empty with ``live_only``)."""

    live: Any
    live_human: np.ndarray
    live_groups: np.ndarray
    counts: dict[str, Any]
    mf_ids: list[int] = field(default_factory=list)
    mf_waves: list[Any] = field(default_factory=list)
    mf_human: np.ndarray | None = None
    castle_keys: dict[tuple, int] = field(default_factory=dict)
    castle_waves: list[Any] = field(default_factory=list)
    castle_index: np.ndarray | None = None
    castle_human: np.ndarray | None = None
    castle_rows: int = 0
    castle_excluded: int = 0

    def extra(self, live_only: bool) -> dict[str, Any] | None:
        """The psychophysics counts stored with the results (``None`` with ``live_only``)."""
        if live_only:
            return None
        return {
            "castle_rows": self.castle_rows,
            "castle_excluded": self.castle_excluded,
            "castle_stimuli": len(self.castle_waves),
            "modelfest_ids": self.mf_ids,
        }


def load_human_data(cfg: Claim1Config) -> HumanData:
    """Read LIVE (files checked) and, unless ``cfg.live_only``, ModelFest and castleCSF."""
    from ..evaluate.iqa import read_live

    live = read_live(data_root=cfg.data_root)
    live.check_files()
    live_human = np.array([p.score for p in live.pairs]) * (1.0 if live.higher_is_better else -1.0)
    live_groups = np.array([p.ref_id for p in live.pairs])
    counts = {
        "live_root": str(live.root),
        "live_rows": len(live.pairs),
        "live_refs": len(live.ref_ids),
        "live_types": live.dist_types,
    }
    hd = HumanData(live, live_human, live_groups, counts)
    if not cfg.live_only:
        _load_psychophysics(hd, cfg)
    return hd


def _load_psychophysics(hd: HumanData, cfg: Claim1Config) -> None:
    """ModelFest waveforms and thresholds; castleCSF's kept rows, their distinct stimuli."""
    from ..evaluate.psychophysics import SUPPORTED_MODELFEST_IDS, load_modelfest
    from ..evaluate.psychophysics.castle_csf import _castle_plan, _castle_wave
    from ..evaluate.psychophysics.modelfest import _waveform_cached
    from ..human import load_castle_achromatic

    mf = load_modelfest(cfg.data_root)
    hd.mf_ids = list(SUPPORTED_MODELFEST_IDS)
    hd.mf_waves = [_waveform_cached(i, str(mf.folder)) for i in hd.mf_ids]
    hd.mf_human = mf.human(hd.mf_ids)
    castle = load_castle_achromatic(cfg.data_root)
    keep, sizes, excluded = _castle_plan(
        castle,
        ppd=CASTLE_PPD,
        luminance_range=(10.0, 1000.0),
        max_frequency_fraction=0.8,
        min_aperture_px=4.0,
        extent_sigma=3.0,
        min_size=64,
        max_size=cfg.castle_max_size,
    )
    castle_index = []
    for i, size in zip(keep, sizes, strict=True):
        key = (
            str(castle["stimulus"][i]),
            float(castle["frequency"][i]),
            float(castle["area"][i]),
            size,
        )
        if key not in hd.castle_keys:
            hd.castle_keys[key] = len(hd.castle_waves)
            hd.castle_waves.append(_castle_wave(key[1], key[2], key[0], CASTLE_PPD, size))
        castle_index.append(hd.castle_keys[key])
    hd.castle_index = np.array(castle_index)
    hd.castle_human = castle["log10_sensitivity"][keep]
    hd.castle_rows, hd.castle_excluded = len(keep), len(excluded)
    hd.counts.update(
        {
            "modelfest_stimuli": len(hd.mf_ids),
            "castle_rows": len(keep),
            "castle_stimuli": len(hd.castle_waves),
        }
    )
