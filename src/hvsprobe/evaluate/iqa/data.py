"""What an IQA data set is: rated pairs, the direction of the score, its distortion names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

__all__ = ["DATASETS", "IQADataset", "IQAPair", "KADID_TYPES", "TID2013_TYPES"]

#: Distortion types of TID2013 by the number ``YY`` in ``iXX_YY_Z.bmp``.
TID2013_TYPES: dict[int, str] = {
    1: "additive_gaussian_noise",
    2: "additive_color_noise",
    3: "spatially_correlated_noise",
    4: "masked_noise",
    5: "high_frequency_noise",
    6: "impulse_noise",
    7: "quantization_noise",
    8: "gaussian_blur",
    9: "image_denoising",
    10: "jpeg",
    11: "jpeg2000",
    12: "jpeg_transmission_errors",
    13: "jpeg2000_transmission_errors",
    14: "non_eccentricity_pattern_noise",
    15: "local_blockwise_distortions",
    16: "mean_shift",
    17: "contrast_change",
    18: "color_saturation_change",
    19: "multiplicative_gaussian_noise",
    20: "comfort_noise",
    21: "lossy_compression_of_noisy_images",
    22: "color_quantization_with_dither",
    23: "chromatic_aberrations",
    24: "sparse_sampling_and_reconstruction",
}

#: Distortion types of KADID-10k by the number ``YY`` in ``IXX_YY_ZZ.png``.
KADID_TYPES: dict[int, str] = {
    1: "gaussian_blur",
    2: "lens_blur",
    3: "motion_blur",
    4: "color_diffusion",
    5: "color_shift",
    6: "color_quantization",
    7: "color_saturation_1",
    8: "color_saturation_2",
    9: "jpeg2000",
    10: "jpeg",
    11: "white_noise",
    12: "white_noise_color_component",
    13: "impulse_noise",
    14: "multiplicative_noise",
    15: "denoise",
    16: "brighten",
    17: "darken",
    18: "mean_shift",
    19: "jitter",
    20: "non_eccentricity_patch",
    21: "pixelate",
    22: "quantization",
    23: "color_block",
    24: "high_sharpen",
    25: "contrast_change",
}

# CSIQ: distortion names as written in the DMOS sheet -> (canonical type, folder, file tag)
CSIQ_TYPES: dict[str, tuple[str, str, str]] = {
    "noise": ("awgn", "awgn", "AWGN"),
    "awgn": ("awgn", "awgn", "AWGN"),
    "jpeg": ("jpeg", "jpeg", "JPEG"),
    "jpeg2000": ("jpeg2000", "jpeg2000", "jpeg2000"),
    "fnoise": ("fnoise", "fnoise", "fnoise"),
    "blur": ("blur", "blur", "BLUR"),
    "contrast": ("contrast", "contrast", "contrast"),
}

#: Dataset names understood by :func:`load_iqa_dataset`.
DATASETS: tuple[str, ...] = ("live", "tid2013", "kadid10k", "csiq", "csv")

# default folders under <data_root>/iqa/, tried in order
DEFAULT_FOLDERS: dict[str, tuple[str, ...]] = {
    "live": ("LIVE_subset", "LIVE", "live"),
    "tid2013": ("TID2013", "tid2013"),
    "kadid10k": ("KADID-10k", "kadid10k", "kadid-10k"),
    "csiq": ("CSIQ", "csiq"),
}


class IQAPair(NamedTuple):
    """One rated distorted image.

    Attributes
    ----------
    ref_path, dist_path : pathlib.Path
        Reference and distorted image files.
    score : float
        Human score (MOS or DMOS, direction given by the dataset).
    dist_type : str
        Distortion type.
    ref_id : str
        Identifier of the reference image (the bootstrap resampling unit).
    """

    ref_path: Path
    dist_path: Path
    score: float
    dist_type: str
    ref_id: str


@dataclass
class IQADataset:
    """A full-reference IQA dataset.

    Attributes
    ----------
    name : str
        Dataset name.
    pairs : list of IQAPair
        The rated pairs.
    higher_is_better : bool
        Direction of the human score (``False`` for DMOS: higher = worse).
    score_name : str
        ``'MOS'`` or ``'DMOS'`` (or the CSV's own name).
    root : pathlib.Path
        Where the dataset was read from.
    notes : list of str
        Remarks made while reading (merged duplicates, ...).
    """

    name: str
    pairs: list[IQAPair]
    higher_is_better: bool
    score_name: str
    root: Path
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def dist_types(self) -> list[str]:
        """Distortion types in order of first appearance."""
        return list(dict.fromkeys(p.dist_type for p in self.pairs))

    @property
    def ref_ids(self) -> list[str]:
        """Reference ids in order of first appearance."""
        return list(dict.fromkeys(p.ref_id for p in self.pairs))

    def check_files(self) -> None:
        """Raise ``FileNotFoundError`` listing (up to 5) missing image files."""
        files = {Path(p) for pair in self.pairs for p in (pair.ref_path, pair.dist_path)}
        missing = sorted(str(p) for p in files if not p.is_file())
        if missing:
            raise FileNotFoundError(
                f"{self.name}: {len(missing)} image file(s) missing, e.g. {missing[:5]}"
            )
