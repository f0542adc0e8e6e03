"""Finding real data files: a data folder, else a checked download into a cache.

A named dataset lives in ``<data folder>/<folder>/<file>`` (the layout of the shared data
folder). The data folder is the task's ``data_dir`` setting, else the ``HARNESS_DATA``
environment variable. Where a file is absent there and the network works, it is downloaded
once from its canonical source into ``$HARNESS_CACHE`` (default ``~/.cache/rnn-harness``)
and checked against its sha256; a file that does not match is refused and not kept.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tasks.base import TaskError


@dataclass(frozen=True)
class Source:
    """Where a file comes from: a URL, and the member's path if the URL is an archive."""

    url: str
    member: str | None = None


def data_root(data_dir: str | None) -> Path | None:
    chosen = data_dir or os.environ.get("HARNESS_DATA")
    return Path(chosen).expanduser() if chosen else None


def cache_root() -> Path:
    return Path(os.environ.get("HARNESS_CACHE", "~/.cache/rnn-harness")).expanduser()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate(folder: str, name: str, sha256: str, source: Source | None,
           data_dir: str | None) -> Path:
    """The path of ``folder/name``: from the data folder, the cache, or a download."""
    root = data_root(data_dir)
    if root is not None:
        for candidate in (root / folder / name, root / name):
            if candidate.is_file():
                return candidate
    cached = cache_root() / folder / name
    if cached.is_file():
        return cached
    where = f"{root / folder}" if root is not None else "no data folder (HARNESS_DATA unset)"
    if source is None:
        raise TaskError(f"{folder}/{name} not found in {where}; set HARNESS_DATA or data_dir "
                        f"to the folder that holds {folder}/")
    try:
        return download(source, cached, sha256)
    except OSError as error:
        raise TaskError(f"{folder}/{name} not found in {where}, and downloading it from "
                        f"{source.url} failed ({error}); set HARNESS_DATA or data_dir to the "
                        f"folder that holds {folder}/") from None


def download(source: Source, dest: Path, sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``source`` into ``dest`` (atomically) if its sha256 matches."""
    with urllib.request.urlopen(source.url, timeout=timeout) as response:
        payload = response.read()
    if source.member is not None:
        payload = _extract(payload, source.member)
    got = hashlib.sha256(payload).hexdigest()
    if got != sha256:
        raise OSError(f"checksum mismatch: expected sha256 {sha256}, got {got}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=dest.parent, delete=False) as tmp:
        tmp.write(payload)
    os.replace(tmp.name, dest)
    return dest


def _extract(archive: bytes, member: str) -> bytes:
    try:
        if zipfile.is_zipfile(io.BytesIO(archive)):
            with zipfile.ZipFile(io.BytesIO(archive)) as z:
                return z.read(member)
        with tarfile.open(fileobj=io.BytesIO(archive)) as t:
            handle = t.extractfile(member)
            if handle is None:
                raise KeyError(member)
            return handle.read()
    except (KeyError, tarfile.TarError, zipfile.BadZipFile) as error:
        raise OSError(f"{member} could not be read from the archive ({error!r})") from None
