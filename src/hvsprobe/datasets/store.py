"""What a data folder holds: the registry file and the completion markers.

``<data root>/hvsprobe-data.json`` (kind ``hvsprobe_data_registry``) records every data set
fetched or added there (its folder, row count, whether it is a partial copy) and the sha256
of archives whose hash is recorded on first download.  A fetched data set's folder gets a
marker ``.hvsprobe-complete-<name>.json``, written last: a folder without it is never
reported complete.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import DATA_REGISTRY_FILE, check_schema, read_json, write_json_atomic

__all__ = ["DataStore", "marker_path"]

_KIND = "hvsprobe_data_registry"
_SCHEMA = 1


def marker_path(folder: str | os.PathLike[str], name: str) -> Path:
    """The completion marker of data set ``name`` in ``folder``.

    Examples
    --------
    >>> marker_path("/data/iqa/TID2013", "tid2013").name
    '.hvsprobe-complete-tid2013.json'
    """
    return Path(folder) / f".hvsprobe-complete-{name}.json"


def now() -> str:
    """UTC time stamp, ISO 8601."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class DataStore:
    """The registry file of one data root.

    Attributes
    ----------
    root : pathlib.Path
        The data root.
    datasets : dict
        Name -> ``{path, rows, partial, source, registered_at, ...}``.
    hashes : dict
        Archive file name -> ``{sha256, url, recorded_at}`` (hashes recorded on first
        download).

    Examples
    --------
    >>> import tempfile
    >>> store = DataStore.load(tempfile.mkdtemp())
    >>> store.datasets
    {}
    """

    root: Path
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The registry file."""
        return self.root / DATA_REGISTRY_FILE

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> DataStore:
        """Read the registry of ``root`` (empty if there is none yet)."""
        store = cls(Path(root))
        if store.path.is_file():
            data = read_json(store.path)
            check_schema(data, _KIND, _SCHEMA, store.path)
            store.datasets = dict(data.get("datasets", {}))
            store.hashes = dict(data.get("hashes", {}))
        return store

    def save(self) -> Path:
        """Write the registry atomically."""
        from .. import __version__

        return write_json_atomic(
            self.path,
            {
                "kind": _KIND,
                "schema_version": _SCHEMA,
                "hvsprobe_version": __version__,
                "datasets": self.datasets,
                "hashes": self.hashes,
            },
        )

    def recorded_sha256(self, filename: str) -> str | None:
        """The sha256 recorded for an archive on its first download, if any."""
        entry = self.hashes.get(filename)
        return entry.get("sha256") if entry else None

    def is_present(self, name: str) -> bool:
        """Whether ``name`` is registered and complete (marker for fetched copies)."""
        entry = self.datasets.get(name)
        if not entry:
            return False
        folder = Path(entry["path"])
        if entry.get("source") == "fetch":
            return marker_path(folder, name).is_file()
        return folder.is_dir()


def moved_registration(root: str | os.PathLike[str], name: str) -> str | None:
    """Why a data set registered in ``root`` cannot be found, or ``None``.

    ``hvsprobe data add NAME PATH`` records ``PATH`` and links the standard folder under
    ``root`` to it; when the folder is moved or deleted later, the link is left pointing
    nowhere and the readers would only say that no folder was found.

    Returns
    -------
    str or None
        One sentence naming the registered path, the broken link and the command that
        registers the new place; ``None`` when ``name`` is not registered or its folder is
        still there.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> store = DataStore(root, {"live": {"path": str(root / "gone"), "source": "add"}})
    >>> _ = store.save()
    >>> print(moved_registration(root, "live"))  # doctest: +ELLIPSIS
    live was registered at .../gone, which no longer exists (moved or deleted?); ...
    """
    try:
        entry = DataStore.load(root).datasets.get(name)
    except (OSError, ValueError):
        return None
    if not entry or "path" not in entry:
        return None
    path = Path(entry["path"])
    if path.is_dir():
        return None
    links = sorted(
        str(p)
        for sub in (Path(root), Path(root) / "iqa")
        if sub.is_dir()
        for p in sub.iterdir()
        if p.is_symlink() and not p.exists() and os.readlink(p) == str(path)
    )
    link = f"; the link {links[0]} -> {path} is broken" if links else ""
    return (
        f"{name} was registered at {path}, which no longer exists (moved or deleted?){link}; "
        f"register its new place with `hvsprobe data add {name} NEWPATH`"
    )
