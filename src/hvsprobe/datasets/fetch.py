"""Fetch, add, list and locate data sets (the library behind ``hvsprobe data``).

A fetch runs in this order, and each step must succeed before the next starts:

1. download every archive (resumable; offline: take it from ``<root>/downloads/``);
2. verify its sha256 (pinned, or recorded on an earlier first download);
3. extract it safely into a staging folder beside the target;
4. read the staging folder with the data set's reader and check the row count;
5. move the files into the data set's folder, register it in the data root's
   ``hvsprobe-data.json`` (with the sha256 of first downloads);
6. write the completion marker, last.

A failure at any step leaves no marker and no registration; the staging folder is removed
(archives already verified stay in ``downloads/`` so a rerun does not download them again).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .._io import resolve_data_root, sha256_file, write_json_atomic
from .download import DownloadError, download_archive, offline_mode
from .extract import safe_extract
from .layout import LayoutError, check_layout, check_rows
from .live import is_live_release, write_live_labels
from .registry import DatasetInfo, RemoteFile, get_dataset_info, list_datasets
from .store import DataStore, marker_path, now

__all__ = [
    "DatasetStatus",
    "FetchResult",
    "add_dataset",
    "dataset_status",
    "fetch_dataset",
    "locate_dataset",
]


@dataclass
class FetchResult:
    """Outcome of :func:`fetch_dataset` or :func:`add_dataset`.

    Attributes
    ----------
    name : str
        Data set.
    path : pathlib.Path
        Its folder.
    rows : int
        Rows read from it.
    already : bool
        It was complete before the call (nothing done).
    notes : list of str
        What happened (hashes recorded, links made, partial copy warnings).
    """

    name: str
    path: Path
    rows: int
    already: bool = False
    notes: list[str] = field(default_factory=list)


def _data_root(data_root: str | os.PathLike[str] | None) -> Path:
    return resolve_data_root(data_root, user_default=True)[0]


def _archive(
    f: RemoteFile,
    downloads: Path,
    store: DataStore,
    *,
    mirror: str | None,
    progress: bool,
    retries: int,
    timeout: float,
) -> tuple[Path, str, str]:
    """Return (archive path, sha256, how it was verified)."""
    expected = f.sha256 or store.recorded_sha256(f.filename)
    how = "pinned" if f.sha256 else ("recorded" if expected else "first download")
    url = f"{mirror.rstrip('/')}/{f.filename}" if mirror else f.url
    path = downloads / f.filename
    if offline_mode():
        if not path.is_file():
            raise DownloadError(
                f"HVSPROBE_OFFLINE is set: place {f.filename} (from {f.url}) at {path} and rerun"
            )
        digest = sha256_file(path)
        if expected and digest != expected:
            raise DownloadError(
                f"{path} has sha256 {digest}, expected {expected} ({how}); replace it with the "
                f"file from {f.url}"
            )
        return path, digest, how
    path, digest = download_archive(
        url, path, sha256=expected, progress=progress, retries=retries, timeout=timeout
    )
    return path, digest, how


def _merge_into(staging: Path, folder: Path) -> None:
    """Move the staged tree into ``folder`` (existing folders are merged, files replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in staging.iterdir():
        target = folder / item.name
        if item.is_dir() and not item.is_symlink() and target.is_dir():
            _merge_into(item, target)
        else:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)


def _link_standard(info: DatasetInfo, path: Path, root: Path) -> str:
    """Make ``<root>/<info.folder>`` point at ``path`` so the readers' defaults find it."""
    standard = root / info.folder
    relinked = ""
    if standard.is_symlink() and not standard.exists():  # the registered folder was moved
        relinked = f" (replacing the broken link to {os.readlink(standard)})"
        standard.unlink()
    if standard.exists() or standard.is_symlink():
        if standard.resolve() == path.resolve():
            return ""
        return (
            f"{standard} already exists, so readers called without a folder use it; pass "
            f"{path} explicitly"
        )
    standard.parent.mkdir(parents=True, exist_ok=True)
    standard.symlink_to(path.resolve(), target_is_directory=True)
    return f"linked {standard} -> {path}{relinked}"


_LIVE_PROVENANCE = ".hvsprobe-live-labels.json"


def _live_labels(release: Path, target: Path) -> tuple[Path, str]:
    """Write ``target/labels.csv`` for the LIVE release in ``release`` (left unchanged)."""
    if target.is_symlink() or (target.exists() and not (target / _LIVE_PROVENANCE).is_file()):
        raise LayoutError(
            f"live: {target} already exists, so the labels.csv for the LIVE release in "
            f"{release} cannot go there; remove it or pass another --data-root"
        )
    try:
        _, n = write_live_labels(release, target / "labels.csv")
    except ValueError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise LayoutError(f"live: {exc}") from None
    write_json_atomic(
        target / _LIVE_PROVENANCE,
        {"kind": "hvsprobe_live_labels", "schema_version": 1, "release": str(release)},
    )
    return target, f"wrote {target / 'labels.csv'} ({n} rows) for the LIVE release in {release}"


def fetch_dataset(
    name: str,
    *,
    to: str | os.PathLike[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
    mirror: str | None = None,
    keep_archive: bool = False,
    progress: bool = True,
    retries: int = 3,
    timeout: float = 60.0,
) -> FetchResult:
    """Download, verify, extract, check and register a data set.

    Parameters
    ----------
    name : str
        A downloadable data set (see :func:`hvsprobe.datasets.list_datasets`).
    to : path-like, optional
        Its folder; default ``<data root>/<standard folder>`` (where the readers look). Any
        other folder is also linked from the standard place when that is free.
    data_root : path-like, optional
        Data root holding the registry and ``downloads/``; default ``$HVSPROBE_DATA``, else
        the user data folder.
    mirror : str, optional
        Base URL to fetch the archives from instead of the authors' (``<mirror>/<file>``);
        hashes are checked all the same.
    keep_archive : bool
        Keep the archives in ``<data root>/downloads`` after extraction.
    progress : bool
        Show progress bars.
    retries : int
        Resumed attempts after a dropped connection.
    timeout : float
        Network timeout in seconds.

    Returns
    -------
    FetchResult

    Raises
    ------
    ValueError
        (``DownloadError``, ``UnsafeArchiveError``, ``LayoutError``) with one line saying what
        failed; nothing is registered and no marker is written.

    Examples
    --------
    >>> fetch_dataset("kadid10k")  # doctest: +SKIP
    """
    info = get_dataset_info(name)
    if not info.downloadable:
        raise DownloadError(f"{name} cannot be downloaded automatically: {info.obtain}")
    root = _data_root(data_root)
    store = DataStore.load(root)
    folder = Path(to).expanduser() if to is not None else root / info.folder
    if store.is_present(name) and Path(store.datasets[name]["path"]) == folder:
        entry = store.datasets[name]
        return FetchResult(name, folder, int(entry.get("rows", 0)), already=True)
    downloads = root / "downloads"
    got = [
        _archive(
            f,
            downloads,
            store,
            mirror=mirror,
            progress=progress,
            retries=retries,
            timeout=timeout,
        )
        for f in info.files
    ]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.partial-{name}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        for f, (archive, _, _) in zip(info.files, got, strict=True):
            safe_extract(archive, staging / f.extract_to, strip_top=f.strip_top)
        report = check_layout(name, staging)
        warning = check_rows(info, report.rows)
        _merge_into(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    notes = [warning] if warning else []
    for f, (archive, digest, how) in zip(info.files, got, strict=True):
        if how == "first download":
            store.hashes[f.filename] = {"sha256": digest, "url": f.url, "recorded_at": now()}
            notes.append(f"recorded sha256 {digest} of {f.filename} (first download)")
        if not keep_archive:
            archive.unlink(missing_ok=True)
    if to is not None:
        link = _link_standard(info, folder, root)
        notes.extend([link] if link else [])
    store.datasets[name] = {
        "path": str(folder),
        "rows": report.rows,
        "per_subset": report.per_subset,
        "partial": False,
        "source": "fetch",
        "archives": {f.filename: d for f, (_, d, _) in zip(info.files, got, strict=True)},
        "registered_at": now(),
    }
    store.save()
    write_json_atomic(
        marker_path(folder, name),
        {"kind": "hvsprobe_dataset_complete", "schema_version": 1, **store.datasets[name]},
    )
    return FetchResult(name, folder, report.rows, notes=notes)


def add_dataset(
    name: str,
    path: str | os.PathLike[str],
    *,
    data_root: str | os.PathLike[str] | None = None,
    partial: bool = False,
) -> FetchResult:
    """Register a local copy after checking its layout and row count.

    The copy stays where it is; the registry of the data root records it and, when the
    standard folder ``<data root>/<folder>`` is free, a link there lets the readers and the
    experiments find it without a path.  A LIVE Release 2 folder as distributed (``.mat``
    files, no ``labels.csv``) gets a ``labels.csv`` written to ``<data root>/iqa/LIVE``
    (:func:`hvsprobe.datasets.live.write_live_labels`), which is then registered.

    Parameters
    ----------
    name : str
        Registry name.
    path : path-like
        The copy's folder.
    data_root : path-like, optional
        Data root; default ``$HVSPROBE_DATA``, else the user data folder.
    partial : bool
        Accept fewer rows than a complete copy (a known subset); the count is recorded and
        shown by ``hvsprobe data list``.

    Returns
    -------
    FetchResult

    Raises
    ------
    LayoutError
        If the layout or the row count is wrong (nothing is registered).

    Examples
    --------
    >>> add_dataset("live", "../shared/data/iqa/LIVE_subset", partial=True)  # doctest: +SKIP
    """
    info = get_dataset_info(name)
    folder = Path(path).expanduser().resolve()
    root = _data_root(data_root)
    notes: list[str] = []
    if name == "live" and not (folder / "labels.csv").is_file() and is_live_release(folder):
        folder, note = _live_labels(folder, root / info.folder)
        notes.append(note)
    report = check_layout(name, folder)
    warning = check_rows(info, report.rows, partial=partial)
    store = DataStore.load(root)
    notes.extend([warning] if warning else [])
    link = _link_standard(info, folder, root)
    notes.extend([link] if link else [])
    store.datasets[name] = {
        "path": str(folder),
        "rows": report.rows,
        "per_subset": report.per_subset,
        "partial": bool(info.rows is not None and report.rows < info.rows),
        "source": "add",
        "registered_at": now(),
    }
    store.save()
    return FetchResult(name, folder, report.rows, notes=notes)


@dataclass
class DatasetStatus:
    """One line of ``hvsprobe data list``.

    Attributes
    ----------
    info : DatasetInfo
        The registry entry.
    present : bool
        Registered and complete in this data root.
    path : pathlib.Path
        Where it is (or would go).
    rows : int or None
        Rows registered.
    partial : bool
        A registered partial copy.
    """

    info: DatasetInfo
    present: bool
    path: Path
    rows: int | None = None
    partial: bool = False


def dataset_status(data_root: str | os.PathLike[str] | None = None) -> list[DatasetStatus]:
    """Every supported data set with its local state in a data root.

    Parameters
    ----------
    data_root : path-like, optional
        Default ``$HVSPROBE_DATA``, else the user data folder.

    Returns
    -------
    list of DatasetStatus

    Examples
    --------
    >>> import tempfile
    >>> [s.present for s in dataset_status(tempfile.mkdtemp())][:2]
    [False, False]
    """
    root = _data_root(data_root)
    store = DataStore.load(root)
    out = []
    for name in list_datasets():
        info = get_dataset_info(name)
        entry = store.datasets.get(name)
        if entry:
            out.append(
                DatasetStatus(
                    info,
                    store.is_present(name),
                    Path(entry["path"]),
                    entry.get("rows"),
                    bool(entry.get("partial")),
                )
            )
        else:
            out.append(DatasetStatus(info, False, root / info.folder))
    return out


def locate_dataset(name: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a registered, complete data set.

    Parameters
    ----------
    name : str
        Registry name.
    data_root : path-like, optional
        Default ``$HVSPROBE_DATA``, else the user data folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileNotFoundError
        One line saying how to get it.

    Examples
    --------
    >>> locate_dataset("kadid10k")  # doctest: +SKIP
    """
    info = get_dataset_info(name)
    root = _data_root(data_root)
    store = DataStore.load(root)
    if store.is_present(name):
        return Path(store.datasets[name]["path"])
    how = f"`hvsprobe data fetch {name}`" if info.downloadable else info.obtain
    raise FileNotFoundError(f"{name} is not registered in {root}; get it with {how}")
