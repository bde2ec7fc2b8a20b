"""Human-judgment data sets: fetched, verified and registered in one command.

``hvsprobe data list|fetch|add`` is a thin layer over this package:

* :mod:`~hvsprobe.datasets.registry` — the supported data sets (:data:`DATASETS`): size,
  terms, source, hash policy, layout, row count;
* :mod:`~hvsprobe.datasets.download` — resumable downloads through pooch, sha256 checks,
  ``HVSPROBE_OFFLINE``;
* :mod:`~hvsprobe.datasets.extract` — extraction that refuses members landing outside the
  target;
* :mod:`~hvsprobe.datasets.layout` — layout and row-count checks through the readers of
  :mod:`hvsprobe.evaluate`;
* :mod:`~hvsprobe.datasets.live` — ``labels.csv`` for the LIVE Release 2 distribution;
* :mod:`~hvsprobe.datasets.store` — the data root's registry file and completion markers;
* :mod:`~hvsprobe.datasets.fetch` — :func:`fetch_dataset`, :func:`add_dataset`,
  :func:`dataset_status`, :func:`locate_dataset`.
"""

from __future__ import annotations

from .download import OFFLINE_ENV_VAR, DownloadError, ResumableDownloader, offline_mode
from .extract import UnsafeArchiveError, archive_members, safe_extract
from .fetch import (
    DatasetStatus,
    FetchResult,
    add_dataset,
    dataset_status,
    fetch_dataset,
    locate_dataset,
)
from .layout import LayoutError, LayoutReport, check_layout, check_rows
from .live import write_live_labels
from .registry import DATASETS, DatasetInfo, RemoteFile, get_dataset_info, list_datasets
from .store import DataStore, marker_path

__all__ = [
    "DATASETS",
    "OFFLINE_ENV_VAR",
    "DataStore",
    "DatasetInfo",
    "DatasetStatus",
    "DownloadError",
    "FetchResult",
    "LayoutError",
    "LayoutReport",
    "RemoteFile",
    "ResumableDownloader",
    "UnsafeArchiveError",
    "add_dataset",
    "archive_members",
    "check_layout",
    "check_rows",
    "dataset_status",
    "fetch_dataset",
    "get_dataset_info",
    "list_datasets",
    "locate_dataset",
    "marker_path",
    "offline_mode",
    "safe_extract",
    "write_live_labels",
]
