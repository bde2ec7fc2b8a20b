"""Small file helpers: atomic writes, JSON with a schema version, sha256, CSV rows, the data folder."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    A crash or exception inside the block leaves any earlier ``path`` untouched and
    removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give them the usual mode
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"object of type {type(obj).__name__} is not JSON serialisable")


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default, allow_nan=True)
    return write_text_atomic(path, text + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file; a malformed one raises ``ValueError`` naming the file.

    The error is a ``json.JSONDecodeError`` (a ``ValueError``) whose message starts with
    the path, or a plain ``ValueError`` for a file that is not UTF-8 text.
    """
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as exc:
            raise json.JSONDecodeError(
                f"{path} is not valid JSON ({exc.msg}; is it a hvsprobe file?)", exc.doc, exc.pos
            ) from None
        except UnicodeDecodeError:
            raise ValueError(f"{path} is not a JSON text file (not UTF-8)") from None


def check_schema(data: dict[str, Any], kind: str, supported: int, path: object = "") -> None:
    """Raise ``ValueError`` unless ``data`` is a ``kind`` document of a supported schema version."""
    found_kind = data.get("kind")
    version = data.get("schema_version")
    if found_kind != kind:
        raise ValueError(f"{path}: expected a hvsprobe {kind!r} file, found kind {found_kind!r}")
    if not isinstance(version, int) or version > supported or version < 1:
        raise ValueError(
            f"{path}: {kind} schema version {version!r} is not supported (this hvsprobe reads "
            f"versions 1..{supported}); upgrade hvsprobe"
        )


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Return the hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def config_hash(config: Any) -> str:
    """Stable short hash of a JSON-serialisable configuration (for cache keys)."""
    text = json.dumps(config, sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: Environment variable naming the data folder (the one holding ``iqa/``,
#: ``psychophysics/``, ``sr/`` ...), used wherever a ``data_root`` argument is omitted.
DATA_ENV_VAR = "HVSPROBE_DATA"

#: File in a data folder recording the data sets ``hvsprobe data`` fetched or registered
#: there (and the sha256 of archives recorded on first download).
DATA_REGISTRY_FILE = "hvsprobe-data.json"


def user_data_dir() -> Path:
    """The per-user data folder (``platformdirs``), e.g. ``~/.local/share/hvsprobe`` on Linux.

    Returns
    -------
    pathlib.Path
        The folder (it need not exist).

    Examples
    --------
    >>> user_data_dir().name
    'hvsprobe'
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("hvsprobe", appauthor=False))


def resolve_data_root(
    data_root: str | os.PathLike[str] | None = None,
    *,
    holds: str = "",
    user_default: bool = False,
) -> tuple[Path, str]:
    """The data folder: ``data_root``, else ``$HVSPROBE_DATA``, else the user data folder.

    The user data folder (:func:`user_data_dir`) is used when ``hvsprobe data fetch`` or
    ``hvsprobe data add`` has registered something there (it holds
    :data:`DATA_REGISTRY_FILE`), or always when ``user_default`` is true (the ``data``
    commands, which create it).

    Parameters
    ----------
    data_root : path-like, optional
        The data folder; ``None`` reads :data:`DATA_ENV_VAR`.
    holds : str
        What the caller looks for in it (e.g. ``"sr/train and sr/test"``), for the message.
    user_default : bool
        Fall back to the user data folder even if nothing is registered there yet.

    Returns
    -------
    (pathlib.Path, str)
        The folder (``~`` expanded; existence is the caller's to check) and where it came
        from, for error messages (``"data_root='...'"`` or ``"environment variable ..."``).

    Raises
    ------
    FileNotFoundError
        If ``data_root`` is ``None``, the variable is unset or empty and the user data
        folder holds no registry (and ``user_default`` is false).

    Examples
    --------
    >>> resolve_data_root("/data/hvs")[0].as_posix()
    '/data/hvs'
    """
    if data_root is not None:
        return Path(data_root).expanduser(), f"data_root={str(data_root)!r}"
    env = os.environ.get(DATA_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser(), f"environment variable {DATA_ENV_VAR}={env!r}"
    user = user_data_dir()
    if user_default or (user / DATA_REGISTRY_FILE).is_file():
        return user, f"the user data folder {str(user)!r}"
    what = f" (the folder that holds {holds})" if holds else ""
    raise FileNotFoundError(
        f"no data folder given: pass --data-root (data_root=... in Python) or set the "
        f"environment variable {DATA_ENV_VAR}{what}, or fill the user data folder {user} "
        "with `hvsprobe data fetch` / `hvsprobe data add`"
    )


def read_csv_rows(path: str | os.PathLike[str], required: Sequence[str]) -> list[dict[str, str]]:
    """Read a CSV file with a header into one dict per row, values stripped of spaces.

    Parameters
    ----------
    path : path-like
        The CSV file (UTF-8).
    required : sequence of str
        Columns the header must name.

    Returns
    -------
    list of dict
        Column name to value (``""`` for a missing trailing value).

    Raises
    ------
    ValueError
        If a required column is missing (the message names the file and the columns).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a,b\\n1, 2\\n", encoding="utf-8")
    >>> read_csv_rows(path, ["a"])
    [{'a': '1', 'b': '2'}]
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        return [{k: (v or "").strip() for k, v in r.items()} for r in reader]
