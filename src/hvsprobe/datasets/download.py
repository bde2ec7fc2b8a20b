"""Downloading archives with pooch: resumable transfers, a progress bar, sha256 checks.

:func:`download_archive` hands the transfer to :func:`pooch.retrieve` (which downloads to a
temporary file, checks the sha256 and only then moves it into place) with
:class:`ResumableDownloader` as its downloader: bytes received so far are kept in
``<file>.part`` and a retry or a later run continues from there with an HTTP ``Range``
request.

Why a downloader of our own: pooch's ``HTTPDownloader`` restarts a dropped transfer from byte
0, and the request-form data sets here are 1-9 GB (KADID-10k, TID2013), so a resume is worth
the ~100 lines; everything else (temporary file, hash check, move into place) is pooch's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._io import sha256_file

__all__ = ["DownloadError", "ResumableDownloader", "download_archive", "offline_mode"]

#: Environment variable: when true (``1``, ``true``, ``yes``) nothing is downloaded.
OFFLINE_ENV_VAR = "HVSPROBE_OFFLINE"


class DownloadError(ValueError):
    """A download failed, was refused (hash mismatch) or is impossible offline."""


def offline_mode() -> bool:
    """Whether ``$HVSPROBE_OFFLINE`` forbids downloads.

    Returns
    -------
    bool

    Examples
    --------
    >>> import os
    >>> os.environ.pop("HVSPROBE_OFFLINE", None) and None
    >>> offline_mode()
    False
    """
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


class _Incomplete(Exception):
    pass


class ResumableDownloader:
    """A pooch downloader that resumes interrupted transfers.

    Parameters
    ----------
    part : path-like
        Where the bytes received so far are kept between attempts and runs.
    progress : bool
        Show a tqdm progress bar (on stderr).
    retries : int
        Further attempts after a dropped connection, each resuming where the last stopped.
    timeout : float
        Seconds to wait for the server (connect and each read).

    Examples
    --------
    >>> d = ResumableDownloader("/tmp/x.zip.part", progress=False)
    >>> d.retries
    3
    """

    def __init__(
        self,
        part: str | os.PathLike[str],
        *,
        progress: bool = True,
        retries: int = 3,
        timeout: float = 60.0,
    ) -> None:
        self.part = Path(part)
        self.progress = progress
        self.retries = retries
        self.timeout = timeout
        self.attempts = 0

    def __call__(
        self, url: str, output_file: Any, pooch: Any = None, check_only: bool = False
    ) -> Any:
        """Download ``url`` into ``output_file`` (a path; pooch checks the hash afterwards)."""
        if check_only:
            import requests

            return requests.head(url, timeout=self.timeout, allow_redirects=True).ok
        import requests

        last: Exception | None = None
        for _ in range(self.retries + 1):
            self.attempts += 1
            try:
                self._attempt(url, requests)
                break
            except (requests.RequestException, _Incomplete) as exc:
                last = exc
        else:
            kept = self.part.stat().st_size if self.part.exists() else 0
            reason = str(last)
            if isinstance(last, requests.ConnectionError):
                from urllib.parse import urlsplit

                reason = f"cannot connect to {urlsplit(url).netloc}"
            then = (
                f"{kept} bytes kept in {self.part}, rerun to resume" if kept else "rerun to retry"
            )
            raise DownloadError(
                f"download of {url} failed after {self.retries + 1} attempt(s) ({reason}); {then}"
            )
        os.replace(self.part, output_file)
        return None

    def _attempt(self, url: str, requests: Any) -> None:
        from tqdm.auto import tqdm

        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as r:
            if have and r.status_code == 416:  # nothing left to send: the part is complete
                total = r.headers.get("Content-Range", "").rpartition("/")[2]
                if total.isdigit() and int(total) == have:
                    return
                have = 0
                self.part.unlink()
                raise _Incomplete("server refused the range; restarting")
            r.raise_for_status()
            if have and r.status_code != 206:  # the server ignored the range: start over
                have = 0
            length = r.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            mode = "ab" if have else "wb"
            self.part.parent.mkdir(parents=True, exist_ok=True)
            with (
                open(self.part, mode) as fh,
                tqdm(
                    total=total,
                    initial=have,
                    unit="B",
                    unit_scale=True,
                    desc=self.part.name.removesuffix(".part"),
                    disable=not self.progress,
                ) as bar,
            ):
                for chunk in r.iter_content(chunk_size=1 << 16):
                    fh.write(chunk)
                    bar.update(len(chunk))
        size = self.part.stat().st_size
        if total is not None and size != total:
            raise _Incomplete(f"received {size} of {total} bytes")


def download_archive(
    url: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str | None,
    progress: bool = True,
    retries: int = 3,
    timeout: float = 60.0,
) -> tuple[Path, str]:
    """Download ``url`` to ``dest`` (resumably) and check its sha256.

    An existing ``dest`` whose hash matches is reused without a download.

    Parameters
    ----------
    url : str
        Source address.
    dest : path-like
        Final file path; the partial transfer lives in ``dest + '.part'``.
    sha256 : str or None
        Expected hex sha256; ``None`` accepts the file (the caller records its hash).
    progress : bool
        Show a progress bar.
    retries : int
        Resumed attempts after a dropped connection.
    timeout : float
        Network timeout in seconds.

    Returns
    -------
    (pathlib.Path, str)
        The file and its sha256.

    Raises
    ------
    DownloadError
        On a network failure (bytes kept for the next run) or a hash mismatch (the file is
        deleted).

    Examples
    --------
    >>> download_archive("http://127.0.0.1:9/x.zip", "/tmp/x.zip", sha256=None,
    ...                  progress=False, retries=0, timeout=1)  # doctest: +SKIP
    """
    import pooch

    path = Path(dest)
    downloader = ResumableDownloader(
        str(path) + ".part", progress=progress, retries=retries, timeout=timeout
    )
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # our own messages say what happens
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}" if sha256 else None,
            fname=path.name,
            path=path.parent,
            downloader=downloader,
        )
    except DownloadError:
        raise
    except ValueError as exc:  # pooch: hash mismatch (the temporary file is already deleted)
        raise DownloadError(
            f"{path.name} from {url} does not match the expected sha256 {sha256}; the download "
            "was refused and deleted"
        ) from exc
    except Exception as exc:  # requests errors outside the transfer itself
        raise DownloadError(f"download of {url} failed: {exc}") from exc
    finally:
        logger.setLevel(level)
    return path, sha256 or sha256_file(path)
