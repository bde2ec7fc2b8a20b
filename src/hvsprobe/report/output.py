"""Where a report is written: built beside its folder and renamed into place as a whole.

A report is several files (the page, ``figures/``, ``channels/``) that link to each other, so
writing them one by one into the folder the reader opens leaves broken links and pages of two
builds mixed whenever a build is killed, runs out of disk or races another build. The report
is therefore built the way ``hvsprobe analyze`` builds a results folder, with the same code
and the same lock (:class:`hvsprobe.results_folder.ResultsWriter`):

- the folder ``X`` that will hold the page is rebuilt as ``.X.hvsprobe-run/report-new/``;
  its other entries (a results folder's scores, tuning, selections, an earlier comparison)
  are hard-linked in unchanged, and so are the previous ``figures/`` (the figure cache then
  still finds them; figures are replaced by rename, never written into);
- the finished folder replaces ``X`` by two renames; a build killed in between is finished
  or undone by the next one, as for analyze;
- an ``fcntl`` lock on the work folder refuses a second build (or an analyze) of the same
  folder at the same time in one line.

A kill at any point therefore leaves the previous report whole or the new one whole; a full
disk leaves the previous one. ``X`` is refused, as for ``analyze``, when it is the current
folder or holds files hvsprobe did not write, unless it is a results folder (whose other
entries, such as an experiment's ``claim1.md``, are carried over).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..results_folder import ResultsWriter, check_replaceable

__all__ = ["report_folder"]


@contextlib.contextmanager
def report_folder(
    html_path: str | os.PathLike[str],
    log: Callable[[str], None] | None = None,
    *,
    rebuilt: tuple[str, ...] = ("channels",),
) -> Iterator[tuple[Path, Path]]:
    """Build the folder of ``html_path`` in its work folder; rename it into place on success.

    Parameters
    ----------
    html_path : path
        The page to write; its folder is the one replaced.
    log : callable, optional
        Receives one-line notes.
    rebuilt : tuple of str
        Entries of the folder the build makes afresh (not carried over), besides the page.

    Yields
    ------
    (pathlib.Path, pathlib.Path)
        The folder to write into, and the folder the page will be in (for relative links
        to files outside it).

    Raises
    ------
    hvsprobe.errors.ResultsFolderError
        The folder holds files hvsprobe did not write, is the current folder, or another
        process is writing it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> page = pathlib.Path(tempfile.mkdtemp()) / "rep" / "report.html"
    >>> with report_folder(page) as (write_dir, final_dir):
    ...     _ = (write_dir / page.name).write_text("<html></html>")
    >>> sorted(p.name for p in page.parent.iterdir()), final_dir == page.parent.resolve()
    (['report.html'], True)
    """
    html_path = Path(html_path)
    final_dir = check_replaceable(html_path.parent, keep_others=True, what="report folder")
    skip = {html_path.name, *rebuilt}
    writer = ResultsWriter(
        final_dir, log, new_name="report-new", keep_partial=False, what="report folder"
    )
    with writer:
        writer.carry_entries(lambda p: p.name not in skip)
        yield writer.new, final_dir
        writer.commit(results=False)
