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
    return (
        Path(chosen).expanduser()
        if chosen
        else Path(platformdirs.user_cache_dir("rnn-harness", appauthor=False))
    )


def sha256_of(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def locate(
    folder: str, name: str, sha256: str, source: Source | None, data_dir: str | None
) -> Path:
    """The path of ``folder/name``: from the data folder, the cache, or a download."""
    root = data_root(data_dir)
    if root is not None:
        for candidate in (root / folder / name, root / name):
            if candidate.is_file():
                return candidate
    cached = cache_root() / folder / name
    if cached.is_file():
        return cached
    where = (
        f"is neither in {root / folder} nor in the cache"
        if root is not None
        else "is not in the cache, and HARNESS_DATA is not set"
    )
    fix = f"set HARNESS_DATA (or data_dir) to the folder that holds {folder}/"
    if source is None:
        raise MissingData(f"{folder}/{name} {where}; {fix}", f"{folder}/{name} missing")
    try:
        return download(source, cached, sha256)
    except OSError as error:
        raise MissingData(
            f"{folder}/{name} {where}, and downloading it from {source.url} "
            f"failed ({short_reason(error)}); {fix}",
            f"{folder}/{name} missing ({short_reason(error)})",
        ) from None


class MissingData(TaskError):
    """A data file that is nowhere to be had; ``short`` says so in a few words (a table's
    cell), the message in a whole sentence with the fix."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


def short_reason(error: BaseException) -> str:
    """Why a download failed, in a few whole words: no network, a timeout, an HTTP status,
    a checksum; else the error's first sentence, cut at a word."""
    text = str(error)
    if any(
        k in text
        for k in (
            "NameResolution",
            "ConnectionError",
            "Network is unreachable",
            "Max retries",
            "Failed to establish",
        )
    ):
        return "no network"
    if "Timeout" in text or "timed out" in text:
        return "the download timed out"
    if "checksum mismatch" in text:
        return text  # which sha256 was expected and which came
    if "HTTPError" in text:
        return text.split(":", 1)[-1].strip().split(" for url")[0][:60]
    first = text.split(". ")[0]
    return first if len(first) <= 80 else first[:80].rsplit(" ", 1)[0] + " …"


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
            fetched = pooch.retrieve(
                source.url,
                known_hash=None,
                path=folder,
                processor=processor,
                progressbar=False,
                downloader=pooch.HTTPDownloader(timeout=timeout),
            )
        except (ValueError, KeyError) as error:  # pooch: a protocol or member it cannot read
            raise OSError(str(error).splitlines()[0]) from None
        except Exception as error:  # noqa: BLE001 - requests' and tar's many errors
            raise OSError(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}") from None
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
