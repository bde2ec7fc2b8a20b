"""Claim 1's human data: the image-pair data sets, the ModelFest stimuli and castleCSF rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .claim1_datasets import ALL_DATASETS, PairSet, how_to_get, load_pair_set

if TYPE_CHECKING:
    from .claim1 import Claim1Config

__all__ = ["HumanData", "load_human_data"]

#: Display resolution (pixels per degree) at which the castleCSF stimuli are drawn.
CASTLE_PPD = 60.0


@dataclass
class HumanData:
    """What claim 1 compares its metrics with: image-pair data sets and threshold sets."""

    counts: dict[str, Any]
    pair_sets: dict[str, PairSet] = field(default_factory=dict)
    mf_ids: list[int] = field(default_factory=list)
    mf_waves: list[Any] = field(default_factory=list)
    mf_human: np.ndarray | None = None
    castle_keys: dict[tuple, int] = field(default_factory=dict)
    castle_waves: list[Any] = field(default_factory=list)
    castle_index: np.ndarray | None = None
    castle_human: np.ndarray | None = None
    castle_rows: int = 0
    castle_excluded: int = 0

    def extra(self) -> dict[str, Any] | None:
        """The psychophysics counts stored with the results (``None`` without threshold sets)."""
        if self.mf_human is None and self.castle_human is None:
            return None
        return {
            "castle_rows": self.castle_rows,
            "castle_excluded": self.castle_excluded,
            "castle_stimuli": len(self.castle_waves),
            "modelfest_ids": self.mf_ids,
        }


def load_human_data(cfg: Claim1Config) -> HumanData:
    """Read every data set of ``cfg.dataset_names()`` (files checked) before any work starts.

    Raises
    ------
    FileNotFoundError
        For the first missing data set: one line naming it and the command that adds it.
    """
    names = cfg.dataset_names()
    hd = HumanData({"datasets": [], "absent": []})
    for name in names:
        if name not in ("modelfest", "castlecsf"):
            ps = load_pair_set(name, cfg.data_root, cfg.csv)
            hd.pair_sets[name] = ps
            hd.counts["datasets"].append({"name": name, "title": ps.title, **ps.info})
    try:
        if "modelfest" in names:
            _load_modelfest(hd, cfg)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"data set modelfest: {err}") from None
    try:
        if "castlecsf" in names:
            _load_castle(hd, cfg)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"data set castlecsf: {err}") from None
    hd.counts["absent"] = [
        {"name": n, "how": how_to_get(n)} for n in ALL_DATASETS if n not in names
    ]
    return hd


def _load_modelfest(hd: HumanData, cfg: Claim1Config) -> None:
    """ModelFest waveforms and thresholds."""
    from ..evaluate.psychophysics import SUPPORTED_MODELFEST_IDS, load_modelfest
    from ..evaluate.psychophysics.modelfest import waveform_cached

    mf = load_modelfest(cfg.data_root)
    hd.mf_ids = list(SUPPORTED_MODELFEST_IDS)
    hd.mf_waves = [waveform_cached(i, str(mf.folder)) for i in hd.mf_ids]
    hd.mf_human = mf.human(hd.mf_ids)
    hd.counts["modelfest_stimuli"] = len(hd.mf_ids)
    hd.counts["datasets"].append(
        {
            "name": "modelfest",
            "title": "ModelFest",
            "rows": len(hd.mf_ids),
            "units": len(hd.mf_ids),
            "unit": "stimuli",
            "root": str(mf.folder),
        }
    )


def _load_castle(hd: HumanData, cfg: Claim1Config) -> None:
    """castleCSF's kept rows and their distinct stimuli."""
    from ..evaluate.psychophysics.castle_csf import castle_plan, castle_wave
    from ..human import load_castle_achromatic

    castle = load_castle_achromatic(cfg.data_root)
    keep, sizes, excluded = castle_plan(
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
            hd.castle_waves.append(castle_wave(key[1], key[2], key[0], CASTLE_PPD, size))
        castle_index.append(hd.castle_keys[key])
    hd.castle_index = np.array(castle_index)
    hd.castle_human = castle["log10_sensitivity"][keep]
    hd.castle_rows, hd.castle_excluded = len(keep), len(excluded)
    hd.counts.update({"castle_rows": len(keep), "castle_stimuli": len(hd.castle_waves)})
    hd.counts["datasets"].append(
        {
            "name": "castlecsf",
            "title": "castleCSF",
            "rows": len(keep),
            "units": len(hd.castle_waves),
            "unit": "stimuli",
            "excluded": len(excluded),
        }
    )
