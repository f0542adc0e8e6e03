"""Finding real data files: a data folder, else a checked download into a cache.

A named dataset lives in ``<data folder>/<folder>/<file>`` (the layout of the shared data
folder). The data folder is the task's ``data_dir`` setting, else the ``HARNESS_DATA``
environment variable. Where a file is absent there and the network works, pooch downloads
it once from its canonical source (extracting the member of an archive with its Untar or
Unzip processor) into the per-user cache (``$HARNESS_CACHE``, else platformdirs' cache
folder, which honours ``XDG_CACHE_HOME``: ``~/.cache/rnn-harness`` on Linux), and the file
is checked against its sha256; a file that does not match is refused and not kept. Our own
code here is only the lookup order and the check of an archive's member (pooch checks a
download as a whole; the datasets' READMEs give the members' checksums).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

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
    chosen = os.environ.get("HARNESS_CACHE")
    return Path(chosen).expanduser() if chosen else \
        Path(platformdirs.user_cache_dir("rnn-harness", appauthor=False))


def sha256_of(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


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
    import pooch

    pooch.get_logger().setLevel(logging.WARNING)  # no lines about every download
    with tempfile.TemporaryDirectory() as folder:  # nothing in the cache until it checks
        processor = None
        if source.member is not None:
            kind = pooch.Unzip if source.url.endswith(".zip") else pooch.Untar
            processor = kind(members=[source.member], extract_dir="members")
        try:
            fetched = pooch.retrieve(source.url, known_hash=None, path=folder,
                                     processor=processor, progressbar=False,
                                     downloader=pooch.HTTPDownloader(timeout=timeout))
        except (ValueError, KeyError) as error:  # pooch: a protocol or member it cannot read
            raise OSError(str(error).splitlines()[0]) from None
        except Exception as error:  # noqa: BLE001 - requests' and tar's many errors
            raise OSError(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
                          ) from None
        files = fetched if isinstance(fetched, list) else [fetched]
        if not files or not Path(files[0]).is_file():
            raise OSError(f"{source.member} could not be read from the archive")
        path = Path(files[0])
        got = sha256_of(path)
        if got != sha256:
            raise OSError(f"checksum mismatch: expected sha256 {sha256}, got {got}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, staged = tempfile.mkstemp(dir=dest.parent)  # then renamed: never half a file
        os.close(handle)
        shutil.copyfile(path, staged)
        os.replace(staged, dest)
    return dest
