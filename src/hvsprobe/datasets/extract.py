"""Safe extraction of zip, tar and rar archives.

Every member is checked *before anything is written*: an absolute name, a ``..``
component, a symbolic or hard link whose target leaves the destination, or a device /
FIFO member makes the whole archive refused with :class:`UnsafeArchiveError`.  Members are
then written one by one by this module (never by ``extractall``), so nothing can land
outside the destination folder.

Why not pooch's ``Unzip``/``Untar`` processors: they hand the archive to ``extractall``, which
for tar archives on Python 3.11 applies no filter (links and ``..`` names can write outside
the folder), they check nothing before writing, and pooch has no rar support (TID2013 ships as
a rar archive).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["UnsafeArchiveError", "archive_members", "safe_extract"]


class UnsafeArchiveError(ValueError):
    """An archive member would be written outside the destination; nothing was extracted."""


@dataclass(frozen=True)
class _Member:
    name: str  # normalised POSIX path inside the archive
    kind: str  # "file", "dir", "symlink", "hardlink"
    link: str  # link target ("" for files and folders)
    open: Callable[[], IO[bytes]] | None  # opener of a file's content


def _clean_name(archive: Path, raw: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or name.startswith("//"):
        raise UnsafeArchiveError(
            f"archive {archive.name}: member {raw!r} has an absolute path; refusing to extract"
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(
            f"archive {archive.name}: member {raw!r} contains '..' and would land outside the "
            "target folder; refusing to extract"
        )
    return "/".join(parts)


def _check_link(archive: Path, member: _Member) -> None:
    target = member.link.replace("\\", "/")
    if member.kind == "symlink":
        base = posixpath.dirname(member.name)
        resolved = posixpath.normpath(posixpath.join(base, target))
    else:  # hard links name another member, relative to the archive root
        resolved = posixpath.normpath(target)
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(
            f"archive {archive.name}: {member.kind} {member.name!r} points to {member.link!r}, "
            "outside the target folder; refusing to extract"
        )


def _tar_members(archive: Path, tar: tarfile.TarFile) -> Iterator[_Member]:
    for info in tar.getmembers():
        name = _clean_name(archive, info.name)
        if info.isdir():
            yield _Member(name, "dir", "", None)
        elif info.issym():
            yield _Member(name, "symlink", info.linkname, None)
        elif info.islnk():
            yield _Member(name, "hardlink", _clean_name(archive, info.linkname), None)
        elif info.isfile():
            yield _Member(name, "file", "", lambda info=info: tar.extractfile(info))  # type: ignore[misc,return-value]
        else:
            raise UnsafeArchiveError(
                f"archive {archive.name}: member {info.name!r} is a device or FIFO; refusing "
                "to extract"
            )


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        name = _clean_name(archive, info.filename)
        mode = info.external_attr >> 16
        if info.is_dir():
            yield _Member(name, "dir", "", None)
        elif stat.S_ISLNK(mode):
            yield _Member(name, "symlink", zf.read(info).decode("utf-8"), None)
        else:
            yield _Member(name, "file", "", lambda info=info: zf.open(info))


def _rar_members(archive: Path, rf: Any) -> Iterator[_Member]:
    for info in rf.infolist():
        name = _clean_name(archive, info.filename)
        if info.is_dir():
            yield _Member(name, "dir", "", None)
        elif info.is_symlink():
            raise UnsafeArchiveError(
                f"archive {archive.name}: member {info.filename!r} is a link; refusing to "
                "extract links from RAR archives"
            )
        else:
            yield _Member(name, "file", "", lambda info=info: rf.open(info))


@contextmanager
def _open_archive(archive: Path) -> Iterator[list[_Member]]:
    try:
        with _open_any(archive) as members:
            yield members
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as exc:
        raise ValueError(
            f"{archive} is not a readable archive ({exc}); delete it and fetch again"
        ) from None


@contextmanager
def _open_any(archive: Path) -> Iterator[list[_Member]]:
    lower = archive.name.lower()
    if lower.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            yield list(_zip_members(archive, zf))
    elif lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        with tarfile.open(archive) as tar:
            yield list(_tar_members(archive, tar))
    elif lower.endswith(".rar"):
        try:
            import rarfile
        except ImportError:
            raise ValueError(
                f"{archive} is a RAR archive: install `rarfile` and one of unrar, unar, "
                "bsdtar or 7z, or extract it yourself and run `hvsprobe data add`"
            ) from None
        try:
            with rarfile.RarFile(archive) as rf:
                yield list(_rar_members(archive, rf))
        except rarfile.Error as exc:
            raise ValueError(
                f"{archive}: cannot read the RAR archive ({exc}); install unrar, unar, bsdtar "
                "or 7z, or extract it yourself and run `hvsprobe data add`"
            ) from None
    else:
        raise ValueError(f"{archive.name}: unknown archive type (expected .zip, .tar*, .rar)")


def _strip(members: list[_Member]) -> str:
    tops = {m.name.split("/", 1)[0] for m in members if m.name}
    if len(tops) != 1:
        return ""
    top = tops.pop()
    if any(m.name == top and m.kind != "dir" for m in members):
        return ""  # a single file, not a folder
    return top + "/"


def archive_members(archive: str | os.PathLike[str]) -> list[str]:
    """Names of an archive's members after the safety checks.

    Parameters
    ----------
    archive : path-like
        A ``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, ``.tar.bz2``, ``.tar.xz`` or ``.rar`` file.

    Returns
    -------
    list of str
        Normalised member names.

    Raises
    ------
    UnsafeArchiveError
        If a member would land outside the destination.

    Examples
    --------
    >>> import io, zipfile, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.zip"
    >>> with zipfile.ZipFile(p, "w") as z:
    ...     z.writestr("data/x.txt", "1")
    >>> archive_members(p)
    ['data/x.txt']
    """
    path = Path(archive)
    with _open_archive(path) as members:
        for m in members:
            if m.kind in ("symlink", "hardlink"):
                _check_link(path, m)
        return [m.name for m in members]


def safe_extract(
    archive: str | os.PathLike[str], dest: str | os.PathLike[str], *, strip_top: bool = False
) -> int:
    """Extract an archive into ``dest`` after checking every member.

    Parameters
    ----------
    archive : path-like
        The archive (see :func:`archive_members` for the types).
    dest : path-like
        Destination folder (created).
    strip_top : bool
        Drop the top-level folder all members share, if they share one.

    Returns
    -------
    int
        Number of files written.

    Raises
    ------
    UnsafeArchiveError
        Before anything is written, if any member has an absolute path, a ``..``
        component, is a link pointing outside ``dest`` or is a device / FIFO.

    Examples
    --------
    >>> import zipfile, tempfile, pathlib
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(tmp / "a.zip", "w") as z:
    ...     z.writestr("top/x.txt", "1")
    >>> safe_extract(tmp / "a.zip", tmp / "out", strip_top=True)
    1
    >>> (tmp / "out" / "x.txt").read_text()
    '1'
    """
    path, out = Path(archive), Path(dest)
    with _open_archive(path) as members:
        prefix = _strip(members) if strip_top else ""
        for m in members:
            if m.kind in ("symlink", "hardlink"):
                _check_link(path, m)
        out.mkdir(parents=True, exist_ok=True)
        root = out.resolve()
        written: dict[str, Path] = {}
        n = 0
        for m in members:
            rel = m.name[len(prefix) :] if prefix and m.name.startswith(prefix) else m.name
            if not rel or rel == prefix.rstrip("/"):
                continue
            target = root / rel
            if os.path.commonpath([root, target.parent.resolve()]) != str(root):
                raise UnsafeArchiveError(
                    f"archive {path.name}: member {m.name!r} resolves outside the target "
                    "folder (through a link); refusing to extract"
                )
            if m.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if m.kind == "symlink":
                os.symlink(m.link, target)
            elif m.kind == "hardlink":
                source = written.get(m.link)
                if source is None:
                    raise UnsafeArchiveError(
                        f"archive {path.name}: hard link {m.name!r} names {m.link!r}, which is "
                        "not an earlier file of the archive; refusing to extract"
                    )
                shutil.copyfile(source, target)
            else:
                assert m.open is not None
                with m.open() as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                written[m.name] = target
                n += 1
    return n
