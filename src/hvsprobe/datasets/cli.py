"""``hvsprobe data list|fetch|add``: argument parsing and printing for :mod:`hvsprobe.datasets`."""

from __future__ import annotations

import argparse
import sys
import textwrap

from .registry import DatasetInfo, get_dataset_info, list_datasets

__all__ = ["add_data_arguments", "datasets_help", "run"]


def _hash_line(info: DatasetInfo) -> str:
    sources = {f.sha256_source for f in info.files if f.sha256 and f.sha256_source}
    return info.hash_policy + (f" ({'; '.join(sorted(sources))})" if sources else "")


def datasets_help(*, downloadable: bool | None = None) -> str:
    """Every data set's source, terms and hash policy, for ``--help`` texts.

    Parameters
    ----------
    downloadable : bool, optional
        Only the downloadable (``True``) or the request-form (``False``) data sets.

    Returns
    -------
    str

    Examples
    --------
    >>> "kadid10k" in datasets_help()
    True
    """
    lines = ["data sets:"]
    for name in list_datasets():
        info = get_dataset_info(name)
        if downloadable is not None and info.downloadable != downloadable:
            continue
        lines.append(f"  {name:15s} {info.title}, {info.size}")
        lines.append(f"  {'':15s} source: {info.source}")
        lines.append(f"  {'':15s} terms: {info.terms}")
        if info.downloadable:
            for f in info.files:
                lines.append(f"  {'':15s} archive: {f.url}")
            lines.append(f"  {'':15s} sha256: {_hash_line(info)}")
        else:
            lines.append(f"  {'':15s} obtain: {info.obtain}")
    return "\n".join(lines)


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """Give the ``data`` parser its description, epilog and ``list|fetch|add`` actions.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The parser of ``hvsprobe data`` (its class is used for the actions' parsers).

    Examples
    --------
    >>> p = argparse.ArgumentParser(prog="hvsprobe data")
    >>> add_data_arguments(p)
    >>> p.parse_args(["fetch", "kadid10k", "--retries", "5"]).retries
    5
    """
    p.description = (
        "Human-judgment data sets: list them, fetch the downloadable ones, "
        "register local copies of the others."
    )
    p.epilog = datasets_help()
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION", help="what to do")
    _add_list(dsub)
    _add_fetch(dsub)
    _add_add(dsub)


_ROOT_HELP = "data root (default: $HVSPROBE_DATA, else the user data folder)"


def _add_list(dsub: argparse._SubParsersAction) -> None:
    q = dsub.add_parser(
        "list",
        help="every data set: size, terms, source, hash policy, local state",
        description="Every data set: size, terms, source, hash policy and whether it is "
        "present under the data root.",
        epilog=datasets_help(),
    )
    q.add_argument("--data-root", default=None, help=_ROOT_HELP)


def _add_fetch(dsub: argparse._SubParsersAction) -> None:
    q = dsub.add_parser(
        "fetch",
        help="download, verify, extract and register a data set",
        description=textwrap.fill(
            "Download a data set's archives (resumable, progress bar), check their sha256 "
            "(pinned, or recorded on first download and checked afterwards), extract them "
            "safely into the layout the readers expect and mark the folder complete. With "
            "HVSPROBE_OFFLINE=1 nothing is downloaded: the archives are taken from "
            "<data root>/downloads/.",
            78,
        ),
        epilog=datasets_help(),
    )
    q.add_argument("name", help="data set name (see below)")
    q.add_argument(
        "--to", default=None, help="folder for it (default: <data root>/<standard layout>)"
    )
    q.add_argument("--data-root", default=None, help=_ROOT_HELP)
    q.add_argument(
        "--mirror",
        default=None,
        help="base URL serving the same archive names (default: the sources below)",
    )
    q.add_argument("--keep-archive", action="store_true", help="keep the downloaded archives")
    q.add_argument("--retries", type=int, default=3, help="resumed attempts")
    q.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _add_add(dsub: argparse._SubParsersAction) -> None:
    q = dsub.add_parser(
        "add",
        help="register a local copy after checking its layout and row count",
        description="Register a local copy of a data set after checking its layout and "
        "row count (the request-form data sets are obtained this way).",
        epilog=datasets_help(),
    )
    q.add_argument("name", help="data set name (see below)")
    q.add_argument("path", help="folder holding the copy")
    q.add_argument("--data-root", default=None, help=_ROOT_HELP)
    q.add_argument(
        "--partial",
        action="store_true",
        help="accept fewer rows than a complete copy (a known subset); the count is recorded",
    )


def _list(args: argparse.Namespace) -> int:
    from .._io import resolve_data_root
    from .fetch import dataset_status
    from .store import moved_registration

    root, source = resolve_data_root(args.data_root, user_default=True)
    print(f"data root: {root} ({source})")
    for s in dataset_status(root):
        info = s.info
        if s.present:
            state = f"present ({s.rows} rows{', partial' if s.partial else ''})"
        else:
            state = "absent"
        print(f"{info.name:15s} {state}: {s.path}")
        moved = moved_registration(root, info.name)
        if moved is not None:
            print(f"{'':15s} note: {moved}")
        print(f"{'':15s} {info.title}, {info.size}")
        print(f"{'':15s} source: {info.source}")
        for f in info.files:
            print(f"{'':15s} archive: {f.url}")
        if info.downloadable:
            print(f"{'':15s} sha256: {_hash_line(info)}")
        print(f"{'':15s} terms: {info.terms}")
        if not info.downloadable:
            print(f"{'':15s} obtain: {info.obtain}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from .fetch import fetch_dataset

    res = fetch_dataset(
        args.name,
        to=args.to,
        data_root=args.data_root,
        mirror=args.mirror,
        keep_archive=args.keep_archive,
        progress=not args.no_progress,
        retries=args.retries,
    )
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    done = "already complete" if res.already else "fetched"
    print(f"{res.name}: {done}, {res.rows} rows in {res.path}")
    return 0


def _add(args: argparse.Namespace) -> int:
    from .fetch import add_dataset

    res = add_dataset(args.name, args.path, data_root=args.data_root, partial=args.partial)
    for note in res.notes:
        prefix = "warning" if note.startswith("partial") else "note"
        print(f"{prefix}: {note}", file=sys.stderr)
    print(f"{res.name}: registered {res.path} ({res.rows} rows)")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run a parsed ``hvsprobe data`` command; user errors print one line and return 2."""
    action = {"list": _list, "fetch": _fetch, "add": _add}[args.data_command]
    try:
        return action(args)
    except (ValueError, OSError) as exc:
        msg = " ".join(str(exc).split())
        print(f"hvsprobe data {args.data_command}: error: {msg}", file=sys.stderr)
        return 2
