"""hvsprobe.datasets: fetch from a loopback HTTP server, verify, extract safely, register.

Real downloads cannot run here, so every test serves small generated archives of the
supported layouts from ``http.server`` on 127.0.0.1 (a thread, with Range support, a bound
on the number of requests, stopped by the fixture) and points the registry entry at it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import socket
import stat
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import data_root
from hvsprobe import datasets as ds
from hvsprobe._io import DATA_ENV_VAR, DATA_REGISTRY_FILE, resolve_data_root
from hvsprobe.cli import main
from hvsprobe.evaluate.bapps import read_2afc, read_jnd
from hvsprobe.evaluate.iqa import read_kadid10k, read_live, read_tid2013

# --------------------------------------------------------------------------------------------
# fixture layouts (tiny generated files, never real data)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 60, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _npy(value: float) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.array([value], dtype=np.float32))
    return buf.getvalue()


def kadid_files() -> dict[str, bytes]:
    """2 references x 2 distortions: 4 rows, all under one top folder as distributed."""
    files = {"kadid10k/images/I01.png": _png(), "kadid10k/images/I02.png": _png()}
    lines = ["dist_img,ref_img,dmos,var"]
    for r in (1, 2):
        for t in (1, 11):
            name = f"I{r:02d}_{t:02d}_01.png"
            files[f"kadid10k/images/{name}"] = _png()
            lines.append(f"{name},I{r:02d}.png,{3.0 + r / 10 + t / 100:.3f},0.5")
    files["kadid10k/dmos.csv"] = ("\n".join(lines) + "\n").encode()
    return files


def tid_files() -> dict[str, bytes]:
    """TID2013 at the archive root (no top folder), 3 rows."""
    files = {"reference_images/I01.BMP": _png(), "reference_images/I02.BMP": _png()}
    lines = []
    for name in ("i01_01_1.bmp", "i01_08_2.bmp", "i02_10_1.bmp"):
        files[f"distorted_images/{name}"] = _png()
        lines.append(f"5.1 {name}")
    files["mos_with_names.txt"] = ("\n".join(lines) + "\n").encode()
    return files


_2AFC_SUBSETS = ("cnn", "color", "deblur", "frameinterp", "superres", "traditional")


def bapps_2afc_files() -> dict[str, bytes]:
    """As in twoafc_val.tar.gz: members start at val/ (extracted into 2afc/)."""
    files = {}
    for s in _2AFC_SUBSETS:
        for k in ("ref", "p0", "p1"):
            files[f"val/{s}/{k}/000000.png"] = _png()
        files[f"val/{s}/judge/000000.npy"] = _npy(0.25)
    return files


def bapps_jnd_files() -> dict[str, bytes]:
    files = {}
    for s in ("cnn", "traditional"):
        for i in (0, 1):
            files[f"jnd/val/{s}/p0/{i:06d}.png"] = _png()
            files[f"jnd/val/{s}/p1/{i:06d}.png"] = _png()
            files[f"jnd/val/{s}/same/{i:06d}.npy"] = _npy(0.5)
    return files


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def make_zip(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


def make_tar(files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info)
    return buf.getvalue()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


# --------------------------------------------------------------------------------------------
# the loopback server


class LoopbackServer:
    """Serves ``files`` on 127.0.0.1 with Range support; can drop a file's first transfer."""

    def __init__(self, files: dict[str, bytes], max_requests: int = 20) -> None:
        self.files = dict(files)
        self.drop_first: set[str] = set()
        self.requests: list[tuple[str, str | None]] = []
        self.max_requests = max_requests
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                owner._serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        name = h.path.lstrip("/")
        rng = h.headers.get("Range")
        self.requests.append((name, rng))
        if len(self.requests) > self.max_requests:
            h.send_error(503, "request bound reached")
            return
        data = self.files.get(name)
        if data is None:
            h.send_error(404)
            return
        start = 0
        if rng:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.end_headers()
                return
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            h.send_response(200)
        body = data[start:]
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if name in self.drop_first:
            self.drop_first.discard(name)
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)  # drop the connection midway
            h.close_connection = True
            return
        h.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer({})
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Never touch the real user data folder; never run offline by accident."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HVSPROBE_OFFLINE", raising=False)
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)


def point_at(monkeypatch, srv: LoopbackServer, name: str, archive: bytes, **changes) -> str:
    """Serve ``archive`` under the entry's file name and point the entry at the server."""
    info = ds.DATASETS[name]
    f = dataclasses.replace(info.files[0], **changes.pop("file", {}))
    srv.files[f.filename] = archive
    f = dataclasses.replace(f, url=f"{srv.url}/{f.filename}")
    monkeypatch.setitem(ds.DATASETS, name, dataclasses.replace(info, files=(f,), **changes))
    return f.filename


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# registry


def test_registry_entries_say_source_terms_and_how_to_get_them():
    for name in ds.list_datasets():
        info = ds.get_dataset_info(name)
        assert info.title and info.size and info.terms and info.layout
        assert info.source.startswith(("http://", "https://"))
        if info.downloadable:
            assert all(f.url.startswith(("http://", "https://")) for f in info.files)
            assert info.hash_policy in ("pinned", "recorded on first download")
        else:
            assert f"hvsprobe data add {name}" in info.obtain
    assert {"kadid10k", "tid2013", "bapps-2afc-val", "bapps-jnd"} <= {
        n for n in ds.list_datasets() if ds.get_dataset_info(n).downloadable
    }
    assert {"live", "csiq", "pipal"} <= set(ds.list_datasets())
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        ds.get_dataset_info("nope")


# --------------------------------------------------------------------------------------------
# fetch: every downloadable layout


def _readers(root: Path) -> dict:
    return {
        "kadid10k": lambda: read_kadid10k(data_root=root),
        "tid2013": lambda: read_tid2013(data_root=root),
        "bapps-2afc-val": lambda: read_2afc(root / "bapps"),
        "bapps-jnd": lambda: read_jnd(root / "bapps"),
    }


_ARCHIVES = {  # name -> (archive builder, rows, pin the hash in the entry)
    "kadid10k": (lambda: make_zip(kadid_files()), 4, False),
    "tid2013": (lambda: make_tar(tid_files()), 3, False),
    "bapps-2afc-val": (lambda: make_tar(bapps_2afc_files()), 6, True),
    "bapps-jnd": (lambda: make_tar(bapps_jnd_files()), 4, False),
}


@pytest.mark.parametrize("name", sorted(_ARCHIVES))
def test_fetch_gives_a_folder_the_reader_loads(tmp_path, monkeypatch, server, name):
    build, rows, pin = _ARCHIVES[name]
    archive = build()
    info = ds.DATASETS[name]
    changes: dict = {"rows": rows} if info.rows is not None else {}
    fname = info.files[0].filename
    if name == "tid2013":  # the real archive is a RAR; serve the same layout as a tar
        fname = "tid2013.tar.gz"
    file_changes = {"filename": fname, "sha256": sha(archive) if pin else None}
    point_at(monkeypatch, server, name, archive, file=file_changes, **changes)
    root = tmp_path / "data"
    res = ds.fetch_dataset(name, data_root=root, progress=False, timeout=5)
    assert res.rows == rows and not res.already
    assert len(_readers(root)[name]()) == rows
    store = ds.DataStore.load(root)
    assert store.datasets[name]["rows"] == rows and store.is_present(name)
    assert ds.marker_path(res.path, name).is_file()
    assert (store.recorded_sha256(fname) == sha(archive)) is (not pin)
    assert not (root / "downloads" / fname).exists()  # archive removed after extraction
    assert not list(res.path.parent.glob(".*partial*"))
    n_requests = len(server.requests)
    again = ds.fetch_dataset(name, data_root=root, progress=False, timeout=5)
    assert again.already and len(server.requests) == n_requests
    assert ds.locate_dataset(name, root) == res.path


def test_recorded_hash_is_checked_on_later_fetches(tmp_path, monkeypatch, server):
    good = make_zip(kadid_files())
    fname = point_at(monkeypatch, server, "kadid10k", good, rows=4)
    root = tmp_path / "data"
    ds.fetch_dataset("kadid10k", data_root=root, progress=False, timeout=5)
    server.files[fname] = make_zip({**kadid_files(), "kadid10k/extra.txt": b"changed"})
    other = tmp_path / "elsewhere"
    with pytest.raises(ds.DownloadError, match="does not match the expected sha256"):
        ds.fetch_dataset("kadid10k", to=other, data_root=root, progress=False, timeout=5)
    assert not other.exists()
    assert ds.DataStore.load(root).datasets["kadid10k"]["path"] == str(root / "iqa/KADID-10k")


def test_wrong_pinned_hash_is_refused_and_nothing_registered(tmp_path, monkeypatch, server):
    point_at(
        monkeypatch, server, "kadid10k", make_zip(kadid_files()), rows=4, file={"sha256": "0" * 64}
    )
    root = tmp_path / "data"
    with pytest.raises(ds.DownloadError, match="does not match the expected sha256 0000"):
        ds.fetch_dataset("kadid10k", data_root=root, progress=False, timeout=5)
    store = ds.DataStore.load(root)
    assert store.datasets == {} and store.hashes == {}
    assert not (root / "iqa" / "KADID-10k").exists()
    assert list((root / "downloads").glob("*")) == []  # neither the file nor a .part kept


def _padded_kadid() -> bytes:
    """KADID fixture plus 300 kB of incompressible bytes, so a transfer spans many chunks."""
    pad = np.random.default_rng(0).bytes(300_000)
    return make_zip({**kadid_files(), "kadid10k/padding.bin": pad})


def test_interrupted_download_resumes_across_runs(tmp_path, monkeypatch, server):
    archive = _padded_kadid()
    fname = point_at(monkeypatch, server, "kadid10k", archive, rows=4)
    server.drop_first.add(fname)
    root = tmp_path / "data"
    with pytest.raises(ds.DownloadError, match="rerun to resume"):
        ds.fetch_dataset("kadid10k", data_root=root, retries=0, progress=False, timeout=5)
    part = root / "downloads" / f"{fname}.part"
    kept = part.stat().st_size
    assert 0 < kept < len(archive)
    assert ds.DataStore.load(root).datasets == {}
    assert not ds.marker_path(root / "iqa/KADID-10k", "kadid10k").exists()
    res = ds.fetch_dataset("kadid10k", data_root=root, retries=0, progress=False, timeout=5)
    assert server.requests[-1] == (fname, f"bytes={kept}-")
    assert len(read_kadid10k(res.path)) == 4
    assert ds.DataStore.load(root).recorded_sha256(fname) == sha(archive)


def test_dropped_connection_is_resumed_within_one_fetch(tmp_path, monkeypatch, server):
    pad = {"jnd/padding.bin": np.random.default_rng(1).bytes(300_000)}
    archive = make_tar({**bapps_jnd_files(), **pad})
    fname = point_at(monkeypatch, server, "bapps-jnd", archive)
    server.drop_first.add(fname)
    res = ds.fetch_dataset("bapps-jnd", data_root=tmp_path, retries=2, progress=False, timeout=5)
    assert res.rows == 4
    (_, first), (_, second) = server.requests  # exactly two requests
    resumed_at = int(re.fullmatch(r"bytes=(\d+)-", second).group(1))
    assert first is None and 0 < resumed_at <= len(archive) // 2


# --------------------------------------------------------------------------------------------
# safe extraction


_UNSAFE = {
    "zip traversal": ("a.zip", lambda: make_zip({"ok.txt": b"1", "../evil.txt": b"x"})),
    "zip absolute": ("a.zip", lambda: make_zip({"/tmp/evil.txt": b"x"})),
    "zip symlink out": ("a.zip", lambda: make_zip({"ok.txt": b"1"}, {"ln": "../../outside"})),
    "tar traversal": ("a.tar.gz", lambda: make_tar({"d/../../evil.txt": b"x"})),
    "tar absolute": ("a.tar.gz", lambda: make_tar({"/evil.txt": b"x"})),
    "tar symlink out": (
        "a.tar.gz",
        lambda: make_tar({"ok.txt": b"1"}, [_link("images/ln", "../../outside")]),
    ),
    "tar absolute symlink": ("a.tar.gz", lambda: make_tar({}, [_link("ln", "/etc/passwd")])),
    "tar hardlink out": (
        "a.tar.gz",
        lambda: make_tar({"ok.txt": b"1"}, [_link("hl", "../outside", tarfile.LNKTYPE)]),
    ),
}


@pytest.mark.parametrize("case", sorted(_UNSAFE))
def test_unsafe_members_are_refused_before_anything_is_written(tmp_path, case):
    name, build = _UNSAFE[case]
    archive = tmp_path / "in" / name
    archive.parent.mkdir()
    archive.write_bytes(build())
    out = tmp_path / "deep" / "out"
    with pytest.raises(ds.UnsafeArchiveError, match="refusing"):
        ds.safe_extract(archive, out)
    assert not out.exists()  # checked before the destination is even created
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "deep" / "evil.txt").exists()


def test_links_inside_the_target_are_kept(tmp_path):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(make_tar({"top/d/x.txt": b"1"}, [_link("top/d/y.txt", "x.txt")]))
    assert ds.safe_extract(archive, tmp_path / "out", strip_top=True) == 1
    assert (tmp_path / "out" / "d" / "y.txt").read_text() == "1"


def test_fetch_of_an_unsafe_archive_registers_nothing(tmp_path, monkeypatch, server):
    evil = make_zip(kadid_files(), {"kadid10k/images/ln": "../../../../outside"})
    point_at(monkeypatch, server, "kadid10k", evil, rows=4)
    root = tmp_path / "data"
    with pytest.raises(ds.UnsafeArchiveError, match="outside the target"):
        ds.fetch_dataset("kadid10k", data_root=root, progress=False, timeout=5)
    assert ds.DataStore.load(root).datasets == {}
    assert not (root / "iqa" / "KADID-10k").exists()
    assert not list((root / "iqa").glob(".*partial*"))


def test_a_layout_or_row_count_mismatch_after_download_is_refused(tmp_path, monkeypatch, server):
    point_at(monkeypatch, server, "kadid10k", make_zip(kadid_files()), rows=5)
    root = tmp_path / "data"
    with pytest.raises(ds.LayoutError, match="4 rows found, a complete copy has 5"):
        ds.fetch_dataset("kadid10k", data_root=root, progress=False, timeout=5)
    assert ds.DataStore.load(root).datasets == {} and not (root / "iqa" / "KADID-10k").exists()


# --------------------------------------------------------------------------------------------
# offline


def test_offline_names_the_file_and_where_to_place_it(tmp_path, monkeypatch, server):
    archive = make_zip(kadid_files())
    fname = point_at(monkeypatch, server, "kadid10k", archive, rows=4)
    monkeypatch.setenv("HVSPROBE_OFFLINE", "1")
    root = tmp_path / "data"
    place = root / "downloads" / fname
    with pytest.raises(ds.DownloadError, match=f"place {fname} .* at {re.escape(str(place))}"):
        ds.fetch_dataset("kadid10k", data_root=root, progress=False)
    place.parent.mkdir(parents=True)
    place.write_bytes(archive)
    res = ds.fetch_dataset("kadid10k", data_root=root, progress=False)
    assert res.rows == 4 and server.requests == []


# --------------------------------------------------------------------------------------------
# add


def _csiq_dir(root: Path) -> Path:
    files = {"src_imgs/1600.png": _png(), "dst_imgs/awgn/1600.AWGN.1.png": _png()}
    files["dst_imgs/blur/1600.BLUR.2.png"] = _png()
    csv = "image,dst_idx,dst_type,dst_lev,dmos_std,dmos\n1600,1,noise,1,0.1,0.2\n"
    files["csiq.DMOS.csv"] = (csv + "1600,5,blur,2,0.1,0.4\n").encode()
    return write_tree(root, files)


def _pipal_dir(root: Path) -> Path:
    files = {"Train_Ref/A0001.bmp": _png(), "Train_Dist/A0001_00_00.bmp": _png()}
    files["Train_Dist/A0001_01_02.bmp"] = _png()
    files["Train_Label/A0001.txt"] = b"A0001_00_00.bmp,1400.5\nA0001_01_02.bmp,1500.0\n"
    return write_tree(root, files)


def test_add_checks_layout_and_rows_and_links_the_standard_folder(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setitem(ds.DATASETS, "csiq", dataclasses.replace(ds.DATASETS["csiq"], rows=2))
    monkeypatch.setitem(ds.DATASETS, "pipal", dataclasses.replace(ds.DATASETS["pipal"], rows=2))
    res = ds.add_dataset("csiq", _csiq_dir(tmp_path / "my-csiq"), data_root=root)
    assert res.rows == 2 and (root / "iqa" / "CSIQ").is_symlink()
    assert ds.add_dataset("pipal", _pipal_dir(tmp_path / "pipal"), data_root=root).rows == 2
    status = {s.info.name: s for s in ds.dataset_status(root)}
    assert status["csiq"].present and status["pipal"].present and not status["kadid10k"].present


def test_add_rejects_a_wrong_layout_and_registers_nothing(tmp_path):
    wrong = write_tree(tmp_path / "tid", tid_files())
    root = tmp_path / "data"
    with pytest.raises(ds.LayoutError, match=r"kadid10k: .* does not hold the KADID-10k layout"):
        ds.add_dataset("kadid10k", wrong, data_root=root)
    with pytest.raises(ds.LayoutError, match="Train_Label"):
        ds.add_dataset("pipal", wrong, data_root=root)
    bad = _pipal_dir(tmp_path / "pipal")
    (bad / "Train_Ref" / "A0001.bmp").unlink()
    with pytest.raises(ds.LayoutError, match="A0001.bmp"):
        ds.add_dataset("pipal", bad, data_root=root)
    jnd = write_tree(tmp_path / "bapps", bapps_jnd_files())
    for f in jnd.glob("jnd/val/cnn/**/*"):
        f.unlink() if f.is_file() else None
    with pytest.raises(ds.LayoutError):
        ds.add_dataset("bapps-jnd", jnd, data_root=root)
    assert not (root / DATA_REGISTRY_FILE).exists()


def test_row_count_rules():
    live = ds.get_dataset_info("live")
    assert ds.check_rows(live, 779) == ""
    with pytest.raises(ds.LayoutError, match="79 rows found.*--partial"):
        ds.check_rows(live, 79)
    assert "79 of 779" in ds.check_rows(live, 79, partial=True)
    with pytest.raises(ds.LayoutError, match="780 rows found"):
        ds.check_rows(live, 780, partial=True)


LIVE_SUBSET = data_root() / "iqa" / "LIVE_subset"


@pytest.mark.skipif(not (LIVE_SUBSET / "labels.csv").is_file(), reason="LIVE subset not found")
def test_the_real_live_subset_registers_only_as_partial(tmp_path, capsys):
    root = tmp_path / "data"
    with pytest.raises(ds.LayoutError, match="79 rows found, a complete copy has 779"):
        ds.add_dataset("live", LIVE_SUBSET, data_root=root)
    rc = main(["data", "add", "live", str(LIVE_SUBSET), "--partial", "--data-root", str(root)])
    err = capsys.readouterr().err
    assert rc == 0 and "warning: partial copy: 79 of 779 rows" in err
    assert len(read_live(data_root=root)) == 79  # found through the standard folder link
    assert main(["data", "list", "--data-root", str(root)]) == 0
    assert "present (79 rows, partial)" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# data root and command line


def test_user_data_folder_is_the_fallback_once_registered(tmp_path):
    with pytest.raises(FileNotFoundError, match=DATA_ENV_VAR):
        resolve_data_root(None)
    user = tmp_path / "xdg" / "hvsprobe"
    assert resolve_data_root(None, user_default=True)[0] == user
    user.mkdir(parents=True)
    (user / DATA_REGISTRY_FILE).write_text("{}")
    assert resolve_data_root(None)[0] == user


def test_data_list_and_fetch_help_document_every_source_and_terms(tmp_path, capsys):
    assert main(["data", "list", "--data-root", str(tmp_path)]) == 0
    listing = capsys.readouterr().out
    assert main(["data", "fetch", "--help"]) == 0  # the CLI boundary turns SystemExit(0) into 0
    help_text = capsys.readouterr().out
    for name in ds.list_datasets():
        info = ds.get_dataset_info(name)
        for text in (listing, " ".join(help_text.split())):
            assert name in text and info.source in text and info.terms in text
        assert f"{name:15s} absent: {tmp_path / info.folder}" in listing
    assert "recorded on first download" in listing and "sha256: pinned" in listing


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "fetch", "live"],
        ["data", "fetch", "nope"],
        ["data", "add", "kadid10k", "{tmp}/missing"],
        ["data", "add", "tid2013", "{tmp}"],
    ],
)
def test_cli_errors_are_one_line_exit_2(tmp_path, capsys, argv):
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--data-root", str(tmp_path / "d")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hvsprobe data {argv[1]}: error: ") and "\n" not in err


def _live_release(root: Path) -> Path:
    """A LIVE Release 2 look-alike: the .mat files and 982 tiny image files (203 originals)."""
    from scipy.io import savemat

    from hvsprobe.datasets.live import LIVE_FOLDERS

    refs = ["parrots.bmp", "house.bmp", "sailing1.bmp"]
    write_tree(root, {f"refimgs/{r}": r.encode() for r in refs})
    names, dmos, orgs = [], [], []
    for folder, count in LIVE_FOLDERS:
        for k in range(1, count + 1):
            i = len(names)
            names.append(refs[i % 3])
            orgs.append(int(i % 4 == 0 and sum(orgs) < 203))
            dmos.append(0.0 if orgs[-1] else 10.0 + i % 70)
            content = b"same jpeg" if (folder, k) in (("jpeg", 3), ("jpeg", 4)) else str(i).encode()
            write_tree(root, {f"{folder}/img{k}.bmp": content})
    savemat(root / "dmos_realigned.mat", {"dmos_new": np.array([dmos]), "orgs": np.array([orgs])})
    savemat(root / "refnames_all.mat", {"refnames_all": np.array([names], dtype=object)})
    return root


def test_add_live_release_as_distributed_writes_labels_and_registers(tmp_path):
    release = _live_release(tmp_path / "databaserelease2")
    root = tmp_path / "data"
    res = ds.add_dataset("live", release, data_root=root)
    assert res.rows == 779 and res.path == root / "iqa" / "LIVE"
    assert not (release / "labels.csv").exists()  # the user's copy is left unchanged
    live = read_live(data_root=root)
    assert len(live) == 779 and live.dist_types == ["jp2k", "jpeg", "wn", "gblur", "fastfading"]
    assert any("1 duplicate group" in n for n in live.notes)
    assert live.pairs[0].dist_path == release / "jp2k" / "img2.bmp"  # img1 is an original
    assert not ds.DataStore.load(root).datasets["live"]["partial"]


def test_unreadable_and_rar_archives_give_one_clear_line(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"<html>not found</html>")
    with pytest.raises(ValueError, match="not a readable archive.*fetch again"):
        ds.safe_extract(tmp_path / "bad.zip", tmp_path / "out")
    (tmp_path / "tid2013.rar").write_bytes(b"Rar!\x1a\x07\x00 truncated")
    with pytest.raises(ValueError, match="RAR.*hvsprobe data add"):
        ds.safe_extract(tmp_path / "tid2013.rar", tmp_path / "out")


def test_unreachable_server_is_one_line_and_registers_nothing(
    tmp_path, monkeypatch, server, capsys
):
    point_at(monkeypatch, server, "bapps-jnd", make_tar(bapps_jnd_files()))
    server.stop()  # nothing listens on the port any more
    monkeypatch.setattr(server, "stop", lambda: None)
    rc = main(["data", "fetch", "bapps-jnd", "--retries", "0", "--data-root", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "\n" not in err and "cannot connect to 127.0.0.1" in err
    assert not (tmp_path / DATA_REGISTRY_FILE).exists()


def test_both_bapps_parts_share_one_folder_and_a_lost_marker_means_absent(
    tmp_path, monkeypatch, server
):
    pinned = make_tar(bapps_2afc_files())
    point_at(monkeypatch, server, "bapps-2afc-val", pinned, file={"sha256": sha(pinned)})
    point_at(monkeypatch, server, "bapps-jnd", make_tar(bapps_jnd_files()))
    root, elsewhere = tmp_path / "data", tmp_path / "big-disk" / "bapps"
    ds.fetch_dataset("bapps-2afc-val", to=elsewhere, data_root=root, progress=False, timeout=5)
    assert (root / "bapps").resolve() == elsewhere.resolve()  # linked from the standard place
    ds.fetch_dataset("bapps-jnd", to=elsewhere, data_root=root, progress=False, timeout=5)
    assert len(read_2afc(root / "bapps")) == 6 and len(read_jnd(root / "bapps")) == 4
    present = {s.info.name: s.present for s in ds.dataset_status(root)}
    assert present["bapps-2afc-val"] and present["bapps-jnd"]
    ds.marker_path(elsewhere, "bapps-jnd").unlink()
    present = {s.info.name: s.present for s in ds.dataset_status(root)}
    assert present["bapps-2afc-val"] and not present["bapps-jnd"]
    with pytest.raises(FileNotFoundError, match="hvsprobe data fetch bapps-jnd"):
        ds.locate_dataset("bapps-jnd", root)


def test_cli_fetch_from_a_mirror(tmp_path, monkeypatch, server, capsys):
    archive = make_zip(kadid_files())
    server.files["kadid10k.zip"] = archive
    monkeypatch.setitem(
        ds.DATASETS, "kadid10k", dataclasses.replace(ds.DATASETS["kadid10k"], rows=4)
    )
    argv = ["data", "fetch", "kadid10k", "--mirror", server.url, "--no-progress"]
    assert main([*argv, "--data-root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert f"kadid10k: fetched, 4 rows in {tmp_path / 'iqa' / 'KADID-10k'}" in out
    assert f"recorded sha256 {sha(archive)} of kadid10k.zip" in err
    assert server.requests == [("kadid10k.zip", None)]
    assert main([*argv, "--data-root", str(tmp_path)]) == 0
    assert "already complete" in capsys.readouterr().out and len(server.requests) == 1
