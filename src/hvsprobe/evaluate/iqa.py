"""Full-reference image quality assessment (IQA) datasets and their evaluation.

Readers return an :class:`IQADataset`: a list of :class:`IQAPair` tuples
``(ref_path, dist_path, score, dist_type, ref_id)`` plus ``higher_is_better``, the direction
of the human score.  :func:`evaluate_iqa` runs a metric over the pairs and correlates.

Sign convention
---------------
Both sides are oriented so that *higher means better quality* before correlating: the metric
value is negated when ``metric.higher_is_better`` is ``False`` (a distance), the human score
is negated when ``dataset.higher_is_better`` is ``False`` (a DMOS).  A good metric therefore
always gets a **positive** SRCC, KRCC and PLCC, whatever the directions of metric and score.
The logistic maps the oriented metric value onto the oriented human score; RMSE is in the
units of the human score.

Confidence intervals resample reference images (all distorted versions of a drawn reference
come along), see :mod:`hvsprobe.evaluate.stats`.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from .._io import atomic_path, read_json, write_json_atomic
from .._validation import check_choice
from . import Metric, metric_values, resolve_data_root, resolve_metric
from .cache import metric_cache_key, pair_key
from .stats import CorrelationSummary, correlation_summary

__all__ = [
    "DATASETS",
    "IQADataset",
    "IQAPair",
    "IQAResult",
    "KADID_TYPES",
    "TID2013_TYPES",
    "compute_metric_values",
    "evaluate_iqa",
    "load_image",
    "load_iqa_dataset",
    "read_csiq",
    "read_csv_dataset",
    "read_kadid10k",
    "read_live",
    "read_tid2013",
]

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
_CSIQ_TYPES: dict[str, tuple[str, str, str]] = {
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
_DEFAULT_FOLDERS: dict[str, tuple[str, ...]] = {
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


# --------------------------------------------------------------------------------------------
# helpers


def _read_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileNotFoundError(f"label file {path} not found")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in (reader.fieldnames or [])]
        missing = [c for c in required if c not in fields]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(fields)}"
            )
        rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    return rows


def _float(text: str, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"{path}, row {line}: {column} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{path}, row {line}: {column} {text!r} is not finite")
    return v


class _CaseInsensitiveDir:
    """Find files in a folder ignoring the case of their names (TID2013 mixes I01.BMP/i01)."""

    def __init__(self, folder: Path) -> None:
        if not folder.is_dir():
            raise FileNotFoundError(f"folder {folder} not found")
        self.folder = folder
        self._names = {p.name.lower(): p for p in folder.iterdir()}

    def find(self, name: str) -> Path:
        hit = self._names.get(name.lower())
        if hit is None:
            raise FileNotFoundError(f"{name} not found in {self.folder}")
        return hit


def _resolve_root(name: str, root: str | os.PathLike[str] | None, data_root: Any) -> Path:
    if root is not None:
        return Path(root).expanduser()
    base = resolve_data_root(data_root) / "iqa"
    for folder in _DEFAULT_FOLDERS[name]:
        if (base / folder).is_dir():
            return base / folder
    raise FileNotFoundError(
        f"no {name} folder under {base} (tried {', '.join(_DEFAULT_FOLDERS[name])}); point --data-root "
        "(data_root=... in Python, or HVSPROBE_DATA) at the folder that holds iqa/, or pass "
        "root=... in Python"
    )


# --------------------------------------------------------------------------------------------
# readers


def read_live(
    root: str | os.PathLike[str] | None = None,
    *,
    merge_duplicates: bool = False,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read a LIVE IQA (Release 2) folder with a ``labels.csv``.

    Layout: ``labels.csv`` with columns ``dis_img_path, ref_img_path, dis_type, dmos, live_id,
    duplicate_group`` (paths relative to the folder), the images in ``refimgs/`` and one
    folder per distortion.  DMOS is LIVE's realigned DMOS: **higher = worse**.  The reference
    id is the reference file's stem.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/LIVE_subset`` (or ``LIVE``).
    merge_duplicates : bool
        LIVE rated a few byte-identical images more than once (rows sharing a non-empty
        ``duplicate_group``).  ``False`` (the standard protocol) keeps every row; ``True``
        keeps the first row of each group with the mean DMOS of the group.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted; default ``HVSPROBE_DATA``.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("live", root, data_root)
    path = folder / "labels.csv"
    rows = _read_rows(path, ("dis_img_path", "ref_img_path", "dis_type", "dmos"))
    pairs: list[IQAPair] = []
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows, start=2):
        ref = folder / r["ref_img_path"]
        pairs.append(
            IQAPair(
                ref,
                folder / r["dis_img_path"],
                _float(r["dmos"], path, i, "dmos"),
                r["dis_type"],
                Path(r["ref_img_path"]).stem,
            )
        )
        group = r.get("duplicate_group", "")
        if group:
            groups.setdefault(group, []).append(len(pairs) - 1)
    notes: list[str] = []
    if merge_duplicates and groups:
        drop: set[int] = set()
        for members in groups.values():
            first = members[0]
            mean = float(np.mean([pairs[k].score for k in members]))
            pairs[first] = pairs[first]._replace(score=mean)
            drop.update(members[1:])
        pairs = [p for k, p in enumerate(pairs) if k not in drop]
        notes.append(
            f"merged {len(groups)} duplicate group(s): {len(drop)} row(s) dropped, DMOS averaged"
        )
    elif groups:
        notes.append(f"{len(groups)} duplicate group(s) kept as separate rows (LIVE protocol)")
    return IQADataset("LIVE", pairs, False, "DMOS", folder, notes)


_TID_NAME = re.compile(r"^i(\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def read_tid2013(
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read TID2013 in its distributed layout.

    Layout: ``mos_with_names.txt`` (one ``<MOS> <file name>`` per line, e.g.
    ``5.51429 i01_01_1.bmp``), ``reference_images/I01.BMP ...`` and
    ``distorted_images/i01_01_1.bmp ...`` (file names are matched ignoring case).  MOS:
    **higher = better**.  The distortion type is ``YY`` of ``iXX_YY_Z`` mapped through
    :data:`TID2013_TYPES`; the reference id is ``IXX``.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/TID2013``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("tid2013", root, data_root)
    path = folder / "mos_with_names.txt"
    if not path.is_file():
        raise FileNotFoundError(f"TID2013 score file {path} not found")
    refs = _CaseInsensitiveDir(folder / "reference_images")
    dists = _CaseInsensitiveDir(folder / "distorted_images")
    pairs: list[IQAPair] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}, line {line_no}: expected '<MOS> <file name>', got {line!r}")
        mos = _float(parts[0], path, line_no, "MOS")
        m = _TID_NAME.match(parts[1])
        if m is None:
            raise ValueError(f"{path}, line {line_no}: file name {parts[1]!r} is not iXX_YY_Z.ext")
        ref_num, type_num = int(m.group(1)), int(m.group(2))
        if type_num not in TID2013_TYPES:
            raise ValueError(f"{path}, line {line_no}: unknown TID2013 distortion {type_num}")
        ref_id = f"I{ref_num:02d}"
        ref_path = refs.find(f"{ref_id}.bmp")
        pairs.append(IQAPair(ref_path, dists.find(parts[1]), mos, TID2013_TYPES[type_num], ref_id))
    if not pairs:
        raise ValueError(f"{path}: no scores")
    return IQADataset("TID2013", pairs, True, "MOS", folder)


_KADID_NAME = re.compile(r"^(i\d+)_(\d+)_(\d+)\.\w+$", re.IGNORECASE)


def read_kadid10k(
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read KADID-10k in its distributed layout.

    Layout: ``dmos.csv`` with columns ``dist_img, ref_img, dmos, var`` and all images in
    ``images/`` (``I01.png``, ``I01_01_01.png``, ...).  Despite its name the ``dmos`` column
    is a mean opinion score on 1..5: **higher = better**.  The distortion type is ``YY`` of
    ``IXX_YY_ZZ`` mapped through :data:`KADID_TYPES`; the reference id is the reference's stem.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/KADID-10k``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("kadid10k", root, data_root)
    path = folder / "dmos.csv"
    rows = _read_rows(path, ("dist_img", "ref_img", "dmos"))
    images = folder / "images"
    pairs: list[IQAPair] = []
    for i, r in enumerate(rows, start=2):
        m = _KADID_NAME.match(r["dist_img"])
        if m is None:
            raise ValueError(f"{path}, row {i}: dist_img {r['dist_img']!r} is not IXX_YY_ZZ.ext")
        type_num = int(m.group(2))
        if type_num not in KADID_TYPES:
            raise ValueError(f"{path}, row {i}: unknown KADID-10k distortion {type_num}")
        pairs.append(
            IQAPair(
                images / r["ref_img"],
                images / r["dist_img"],
                _float(r["dmos"], path, i, "dmos"),
                KADID_TYPES[type_num],
                Path(r["ref_img"]).stem,
            )
        )
    return IQADataset("KADID-10k", pairs, True, "MOS", folder)


def _csiq_type(text: str) -> tuple[str, str, str]:
    key = re.sub(r"[\s_\-]", "", text.lower())
    if key not in _CSIQ_TYPES:
        raise ValueError(
            f"unknown CSIQ distortion {text!r}; expected one of noise/awgn, jpeg, jpeg 2000, "
            "f noise, blur, contrast"
        )
    return _CSIQ_TYPES[key]


def read_csiq(
    root: str | os.PathLike[str] | None = None,
    *,
    labels: str = "csiq.DMOS.csv",
    data_root: str | os.PathLike[str] | None = None,
) -> IQADataset:
    """Read CSIQ: the original image folders plus the DMOS sheet exported to CSV.

    Layout (the original distribution, with ``csiq.DMOS.xlsx``'s ``all_by_image`` sheet
    saved as CSV)::

        CSIQ/
          csiq.DMOS.csv          columns image, dst_idx, dst_type, dst_lev, dmos_std, dmos
          src_imgs/1600.png
          dst_imgs/awgn/1600.AWGN.1.png      (dst_type 'noise')
          dst_imgs/jpeg/1600.JPEG.1.png      ('jpeg')
          dst_imgs/jpeg2000/1600.jpeg2000.1.png  ('jpeg 2000')
          dst_imgs/fnoise/1600.fnoise.1.png  ('f noise')
          dst_imgs/blur/1600.BLUR.1.png      ('blur')
          dst_imgs/contrast/1600.contrast.1.png  ('contrast')

    The distorted file is ``dst_imgs/<folder>/<image>.<tag>.<dst_lev>.png``, matched
    ignoring case.  Only the columns ``image``, ``dst_type``, ``dst_lev`` and ``dmos`` are
    used; extra columns and leading blank columns are ignored.  DMOS is on 0..1:
    **higher = worse**.  The reference id is ``image``.

    Parameters
    ----------
    root : path-like, optional
        The folder; default ``<data_root>/iqa/CSIQ``.
    labels : str
        Name of the CSV inside ``root``.
    data_root : path-like, optional
        Data folder used when ``root`` is omitted.

    Returns
    -------
    IQADataset
    """
    folder = _resolve_root("csiq", root, data_root)
    path = folder / labels
    rows = _read_rows(path, ("image", "dst_type", "dst_lev", "dmos"))
    srcs = _CaseInsensitiveDir(folder / "src_imgs")
    dst_dirs: dict[str, _CaseInsensitiveDir] = {}
    pairs: list[IQAPair] = []
    for i, r in enumerate(rows, start=2):
        if not r["image"]:
            continue  # blank lines of the exported sheet
        dist_type, sub, tag = _csiq_type(r["dst_type"])
        if sub not in dst_dirs:
            dst_dirs[sub] = _CaseInsensitiveDir(folder / "dst_imgs" / sub)
        level = int(_float(r["dst_lev"], path, i, "dst_lev"))
        image = r["image"]
        pairs.append(
            IQAPair(
                srcs.find(f"{image}.png"),
                dst_dirs[sub].find(f"{image}.{tag}.{level}.png"),
                _float(r["dmos"], path, i, "dmos"),
                dist_type,
                image,
            )
        )
    return IQADataset("CSIQ", pairs, False, "DMOS", folder)


_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def read_csv_dataset(path: str | os.PathLike[str], *, name: str | None = None) -> IQADataset:
    """Read any IQA dataset described by a CSV file.

    Columns: ``ref``, ``dist`` (paths, relative to the CSV's folder unless absolute),
    ``score``, ``higher_is_better`` (``true``/``false``/``1``/``0``, the same in every row)
    and optionally ``dist_type`` (default ``'all'``) and ``ref_id`` (default: the ``ref``
    path as written).

    Parameters
    ----------
    path : path-like
        The CSV file.
    name : str, optional
        Dataset name; default the file's stem.

    Returns
    -------
    IQADataset
    """
    p = Path(path).expanduser()
    rows = _read_rows(p, ("ref", "dist", "score", "higher_is_better"))
    hib_values = {r["higher_is_better"].lower() for r in rows}
    if len(hib_values) != 1 or not hib_values <= (_TRUE | _FALSE):
        raise ValueError(
            f"{p}: higher_is_better must be the same true/false value in every row, got "
            f"{sorted(hib_values)}"
        )
    hib = hib_values.pop() in _TRUE
    pairs = [
        IQAPair(
            p.parent / r["ref"],
            p.parent / r["dist"],
            _float(r["score"], p, i, "score"),
            r.get("dist_type") or "all",
            r.get("ref_id") or r["ref"],
        )
        for i, r in enumerate(rows, start=2)
    ]
    return IQADataset(name or p.stem, pairs, hib, "score", p.parent)


def load_iqa_dataset(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    data_root: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> IQADataset:
    """Read a dataset by name: ``'live'``, ``'tid2013'``, ``'kadid10k'``, ``'csiq'``, ``'csv'``.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS`.
    root : path-like, optional
        The dataset folder (the CSV file for ``'csv'``, where it is required); default
        ``<data_root>/iqa/<standard folder name>``.
    data_root : path-like, optional
        Data folder; default ``HVSPROBE_DATA``.
    **kwargs
        Passed to the reader (e.g. ``merge_duplicates`` for LIVE).

    Returns
    -------
    IQADataset
    """
    check_choice(name, "IQA dataset", DATASETS)
    if name == "csv":
        if root is None:
            raise ValueError("load_iqa_dataset('csv', ...) needs the CSV file as root")
        return read_csv_dataset(root, **kwargs)
    reader = {
        "live": read_live,
        "tid2013": read_tid2013,
        "kadid10k": read_kadid10k,
        "csiq": read_csiq,
    }[name]
    return reader(root, data_root=data_root, **kwargs)


# --------------------------------------------------------------------------------------------
# running a metric


def load_image(path: str | os.PathLike[str]) -> torch.Tensor:
    """Load an image file as a float32 3 x H x W tensor in [0, 1] (RGB, via PIL).

    One decoder serves the whole package: this is
    :func:`hvsprobe.metrics.load_image` without the batch dimension (8-bit / 255, 16-bit grey
    / 65535, grey repeated to RGB, alpha dropped).

    Parameters
    ----------
    path : path-like
        Image file.

    Returns
    -------
    torch.Tensor
    """
    from ..metrics.cli_support import load_image as load_batch

    return load_batch(path)[0]


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return h, w


_CACHE_KIND = "iqa_metric_cache"
# 2: pairs keyed by the sha256 of the image files (1 keyed them by absolute path)
_CACHE_SCHEMA = 2


def _pair_key(pair: IQAPair) -> str:
    return pair_key(pair.ref_path, pair.dist_path)


class _Cache:
    """Metric values by pair, in a dict or a JSON file ``{metric name: {pair key: value}}``."""

    def __init__(self, cache: str | os.PathLike[str] | MutableMapping[str, Any] | None) -> None:
        self.path: Path | None = None
        self.store: MutableMapping[str, Any]
        if cache is None:
            self.store = {}
        elif isinstance(cache, MutableMapping):
            self.store = cache
        else:
            self.path = Path(cache).expanduser()
            self.store = {}
            if self.path.is_file():
                doc = read_json(self.path)
                if doc.get("kind") != _CACHE_KIND:
                    raise ValueError(
                        f"{self.path} is not a hvsprobe IQA metric cache; pass another cache file"
                    )
                # an older schema keyed pairs by path: its values cannot be matched, start anew
                if doc.get("schema_version") == _CACHE_SCHEMA:
                    self.store = doc["values"]
        self.dirty = False

    def get(self, metric: str, key: str) -> float | None:
        v = self.store.get(metric, {}).get(key)
        return None if v is None else float(v)

    def put(self, metric: str, key: str, value: float) -> None:
        self.store.setdefault(metric, {})[key] = float(value)
        self.dirty = True

    def flush(self) -> None:
        if self.path is not None and self.dirty:
            doc = {"kind": _CACHE_KIND, "schema_version": _CACHE_SCHEMA, "values": self.store}
            write_json_atomic(self.path, doc)
            self.dirty = False


def compute_metric_values(
    metric: Metric | str,
    pairs: Sequence[IQAPair],
    *,
    batch_size: int = 8,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
) -> np.ndarray:
    """Run ``metric(ref, dist)`` over pairs, batching pairs whose images have the same size.

    Parameters
    ----------
    metric : Metric or str
        The metric.
    pairs : sequence of IQAPair
        The pairs.
    batch_size : int
        Largest number of pairs per metric call.
    device : torch.device or str, optional
        Device the images are moved to.
    progress : bool
        Show a tqdm progress bar.
    cache : path-like or mutable mapping, optional
        Metric values already computed, keyed by the metric's identity
        (:func:`~hvsprobe.evaluate.cache.metric_cache_key`: name, parameters, hvsprobe
        version) and the sha256 of both image files, so copies of the same images in another
        folder hit it; a path names a JSON file that is read first and rewritten atomically
        (also after an error, so finished batches are kept).

    Returns
    -------
    numpy.ndarray
        One float64 value per pair, in order.
    """
    m = resolve_metric(metric)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    store = _Cache(cache)
    mkey = metric_cache_key(m) if cache is not None else m.name
    values = np.full(len(pairs), np.nan)
    todo: dict[tuple[int, int], list[int]] = {}
    for i, pair in enumerate(pairs):
        hit = store.get(mkey, _pair_key(pair)) if cache is not None else None
        if hit is not None:
            values[i] = hit
            continue
        size = _image_size(Path(pair.ref_path))
        dsize = _image_size(Path(pair.dist_path))
        if size != dsize:
            raise ValueError(
                f"reference {pair.ref_path} is {size[0]} x {size[1]} but distorted "
                f"{pair.dist_path} is {dsize[0]} x {dsize[1]}"
            )
        todo.setdefault(size, []).append(i)
    from tqdm.auto import tqdm

    n_todo = sum(len(v) for v in todo.values())
    bar = tqdm(total=n_todo, disable=not progress or n_todo == 0, unit="pair", desc=m.name)
    ref_cache: dict[str, torch.Tensor] = {}
    try:
        for indices in todo.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start : start + batch_size]
                refs, dists = [], []
                for i in chunk:
                    key = str(pairs[i].ref_path)
                    if key not in ref_cache:
                        if len(ref_cache) > 16:
                            ref_cache.clear()
                        ref_cache[key] = load_image(pairs[i].ref_path)
                    refs.append(ref_cache[key])
                    dists.append(load_image(pairs[i].dist_path))
                out = metric_values(m, torch.stack(refs), torch.stack(dists), device=device)
                for i, v in zip(chunk, out, strict=True):
                    values[i] = v
                    if cache is not None and not math.isnan(float(v)):
                        store.put(mkey, _pair_key(pairs[i]), float(v))
                bar.update(len(chunk))
    finally:
        bar.close()
        store.flush()
    return values


# --------------------------------------------------------------------------------------------
# results


_SUMMARY_COLUMNS = ("subset", "n", "n_refs", "srcc", "krcc", "plcc", "rmse")


@dataclass
class IQAResult:
    """Result of :func:`evaluate_iqa`.

    Attributes
    ----------
    metric : str
        Metric name.
    metric_higher_is_better : bool
        Direction of the metric.
    dataset : str
        Dataset name.
    score_name : str
        ``'MOS'`` / ``'DMOS'``.
    score_higher_is_better : bool
        Direction of the human score.
    overall : CorrelationSummary
        All pairs.
    per_type : dict of str to CorrelationSummary
        One summary per distortion type.
    values : numpy.ndarray
        Raw metric value of every pair (before orientation).
    pairs : list of IQAPair
        The pairs, aligned with ``values``.
    settings : dict
        ``n_boot``, ``seed``, ``level``.
    notes : list of str
        Remarks (replaced infinite values, reader notes).
    """

    metric: str
    metric_higher_is_better: bool
    dataset: str
    score_name: str
    score_higher_is_better: bool
    overall: CorrelationSummary
    per_type: dict[str, CorrelationSummary]
    values: np.ndarray
    pairs: list[IQAPair]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """Flat summary rows (``all`` first, then each type) with CI bounds."""
        out = []
        for subset, s in [("all", self.overall), *self.per_type.items()]:
            row: dict[str, Any] = {"subset": subset, "n": s.n, "n_refs": s.n_groups}
            for stat in ("srcc", "krcc", "plcc", "rmse"):
                row[stat] = getattr(s, stat)
                ci = s.ci.get(stat)
                row[f"{stat}_low"] = ci.low if ci is not None else math.nan
                row[f"{stat}_high"] = ci.high if ci is not None else math.nan
            row["fit_error"] = s.fit_error or ""
            out.append(row)
        return out

    def to_dict(self, *, include_pairs: bool = False) -> dict[str, Any]:
        """JSON-serialisable result (with per-pair values when ``include_pairs``)."""
        from .. import __version__

        d: dict[str, Any] = {
            "kind": "iqa_evaluation",
            "schema_version": 1,
            "hvsprobe_version": __version__,
            "metric": self.metric,
            "metric_higher_is_better": self.metric_higher_is_better,
            "dataset": self.dataset,
            "score_name": self.score_name,
            "score_higher_is_better": self.score_higher_is_better,
            "sign_convention": (
                "metric and human score both oriented so that higher = better quality; "
                "a good metric has positive SRCC/KRCC/PLCC"
            ),
            "ci_resampling_unit": "reference image",
            "settings": dict(self.settings),
            "overall": self.overall.to_dict(),
            "per_type": {k: v.to_dict() for k, v in self.per_type.items()},
            "notes": list(self.notes),
        }
        if include_pairs:
            d["pairs"] = [
                {
                    "ref": str(p.ref_path),
                    "dist": str(p.dist_path),
                    "score": p.score,
                    "dist_type": p.dist_type,
                    "ref_id": p.ref_id,
                    "metric_value": float(v),
                }
                for p, v in zip(self.pairs, self.values, strict=True)
            ]
        return d

    def write_json(self, path: str | os.PathLike[str], *, include_pairs: bool = True) -> Path:
        """Write :meth:`to_dict` atomically."""
        return write_json_atomic(path, self.to_dict(include_pairs=include_pairs))

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the summary rows (:meth:`rows`) atomically as CSV."""
        rows = self.rows()
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return Path(path)

    def write_pairs_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write one row per pair (paths, human score, type, reference, metric value)."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["ref", "dist", "score", "dist_type", "ref_id", "metric_value"])
            for p, v in zip(self.pairs, self.values, strict=True):
                writer.writerow([p.ref_path, p.dist_path, p.score, p.dist_type, p.ref_id, v])
        return Path(path)


def _replace_infinite(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Replace +/-inf (e.g. PSNR of identical images) by finite values that keep the order."""
    v = values.copy()
    if np.isnan(v).any():
        bad = np.flatnonzero(np.isnan(v))
        raise ValueError(f"the metric returned NaN for {bad.size} pair(s), e.g. indices {bad[:5]}")
    inf = ~np.isfinite(v)
    if not inf.any():
        return v, []
    finite = v[~inf]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    step = max(hi - lo, 1.0)
    v[np.isposinf(v)] = hi + step
    v[np.isneginf(v)] = lo - step
    return v, [
        f"{int(inf.sum())} infinite metric value(s) replaced by max/min finite value +/- "
        f"{step:g} (order kept) for the statistics"
    ]


def evaluate_iqa(
    metric: Metric | str,
    dataset: IQADataset,
    *,
    batch_size: int = 8,
    device: torch.device | str | None = None,
    progress: bool = True,
    cache: str | os.PathLike[str] | MutableMapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> IQAResult:
    """Correlate a metric with the human scores of an IQA dataset.

    Computes SRCC, KRCC, PLCC (after the VQEG 5-parameter logistic) and RMSE over all pairs
    and per distortion type, each with a percentile bootstrap interval that resamples
    reference images.  Both sides are oriented to "higher = better quality" first, so a good
    metric has positive correlations (module docstring).

    Parameters
    ----------
    metric : Metric or str
        The metric (or a name for ``hvsprobe.metrics.get_metric``).
    dataset : IQADataset
        From one of the readers.
    batch_size : int
        Pairs per metric call (pairs of different image sizes never share a batch).
    device : torch.device or str, optional
        Device for the images.
    progress : bool
        Show a progress bar.
    cache : path-like or mutable mapping, optional
        Metric value cache (see :func:`compute_metric_values`).
    n_boot : int
        Bootstrap replicates (0: no intervals).
    seed : int
        Bootstrap seed.
    level : float
        Confidence level.

    Returns
    -------
    IQAResult
    """
    m = resolve_metric(metric)
    if len(dataset) < 2:
        raise ValueError(f"dataset {dataset.name} has {len(dataset)} pair(s); need at least 2")
    raw = compute_metric_values(
        m, dataset.pairs, batch_size=batch_size, device=device, progress=progress, cache=cache
    )
    values, notes = _replace_infinite(raw)
    pred = values if m.higher_is_better else -values
    scores = np.array([p.score for p in dataset.pairs], dtype=np.float64)
    human = scores if dataset.higher_is_better else -scores
    refs = np.array([p.ref_id for p in dataset.pairs])
    types = np.array([p.dist_type for p in dataset.pairs])
    kw = {"n_boot": n_boot, "seed": seed, "level": level}
    overall = _summary(pred, human, refs, kw)
    per_type = {
        t: _summary(pred[types == t], human[types == t], refs[types == t], kw)
        for t in dataset.dist_types
    }
    return IQAResult(
        m.name,
        bool(m.higher_is_better),
        dataset.name,
        dataset.score_name,
        dataset.higher_is_better,
        overall,
        per_type,
        raw,
        list(dataset.pairs),
        kw,
        [*dataset.notes, *notes],
    )


def _summary(
    pred: np.ndarray, human: np.ndarray, refs: np.ndarray, kw: dict[str, Any]
) -> CorrelationSummary:
    if pred.size < 3:
        nan = math.nan
        return CorrelationSummary(
            int(pred.size),
            len(set(refs.tolist())),
            nan,
            nan,
            nan,
            nan,
            {},
            None,
            f"only {pred.size} pair(s): no statistics",
        )
    return correlation_summary(pred, human, refs, **kw)
