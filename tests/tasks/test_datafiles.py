"""Finding data: the data folder first, then the cache, then a download checked by sha256."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasks import TaskError
from tasks.datafiles import Source, locate

PAYLOAD = b"the quick brown fox\n" * 100
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    return tmp_path / "cache"


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on this machine (the downloads go through pooch, as from a
    dataset's real source): (folder, its base URL)."""
    folder = tmp_path / "origin"
    folder.mkdir()
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        """No line per request."""


def test_the_data_folder_wins(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "data" / "corp").mkdir(parents=True)
    (tmp_path / "data" / "corp" / "a.txt").write_bytes(PAYLOAD)
    found = locate("corp", "a.txt", SHA, Source("file:///nowhere"), str(tmp_path / "data"))
    assert found == tmp_path / "data" / "corp" / "a.txt" and not cache.exists()


def test_download_once_into_the_cache(origin: tuple[Path, str], cache: Path) -> None:
    folder, url = origin
    (folder / "a.txt").write_bytes(PAYLOAD)
    found = locate("corp", "a.txt", SHA, Source(f"{url}/a.txt"), None)
    assert found == cache / "corp" / "a.txt" and found.read_bytes() == PAYLOAD
    (folder / "a.txt").unlink()  # the second time it comes from the cache
    assert locate("corp", "a.txt", SHA, Source(f"{url}/a.txt"), None) == found


def test_a_member_of_an_archive(origin: tuple[Path, str], cache: Path) -> None:
    folder, url = origin
    with tarfile.open(folder / "bundle.tgz", "w:gz") as tar:
        info = tarfile.TarInfo("bundle/data/a.txt")
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    found = locate("corp", "a.txt", SHA, Source(f"{url}/bundle.tgz", "bundle/data/a.txt"), None)
    assert found.read_bytes() == PAYLOAD
    with pytest.raises(TaskError, match="could not be read from the archive"):
        locate("corp", "b.txt", SHA, Source(f"{url}/bundle.tgz", "bundle/b.txt"), None)
    assert sorted(p.name for p in (cache / "corp").iterdir()) == ["a.txt"]  # nothing else


def test_a_download_that_does_not_match_is_refused_and_not_kept(
    origin: tuple[Path, str], cache: Path
) -> None:
    folder, url = origin
    (folder / "a.txt").write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(TaskError, match=f"checksum mismatch: expected sha256 {SHA}"):
        locate("corp", "a.txt", SHA, Source(f"{url}/a.txt"), None)
    assert not (cache / "corp" / "a.txt").exists()


def test_a_source_that_is_not_there_says_what_to_set(origin: tuple[Path, str], cache: Path) -> None:
    _, url = origin
    with pytest.raises(
        TaskError,
        match=r"downloading it from .*/gone.txt failed \(404 "
        r"Client Error.*set HARNESS_DATA",
    ):
        locate("corp", "a.txt", SHA, Source(f"{url}/gone.txt"), None)


def test_the_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.datafiles import cache_root

    monkeypatch.delenv("HARNESS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "rnn-harness"


def test_no_source_and_no_folder_says_what_to_set(cache: Path) -> None:
    with pytest.raises(
        TaskError,
        match=r"^corp/a.txt is not in the cache, and HARNESS_DATA "
        r"is not set; set HARNESS_DATA \(or data_dir\) to the "
        r"folder that holds corp/$",
    ):
        locate("corp", "a.txt", SHA, None, None)


@pytest.mark.parametrize(
    "raised,said",
    [
        (
            "ConnectionError: HTTPSConnectionPool(host='raw.githubusercontent.com', port=443): Max "
            'retries exceeded with url: /x (Caused by NameResolutionError("<urllib3.connection.'
            'HTTPSConnection object at 0x7f>: Failed to resolve"))',
            "no network",
        ),
        (
            "ReadTimeout: HTTPSConnectionPool(host='h', port=443): Read timed out.",
            "the download timed out",
        ),
        (
            "checksum mismatch: expected sha256 aa, got bb",
            "checksum mismatch: expected sha256 aa, got bb",
        ),
    ],
)
def test_a_failed_download_is_said_in_whole_words(
    cache: Path, monkeypatch, raised: str, said: str
) -> None:
    """Not a driver's message cut mid-word: what went wrong, then the fix, in one line."""
    monkeypatch.setattr(
        "tasks.datafiles.download", lambda *a, **k: (_ for _ in ()).throw(OSError(raised))
    )
    with pytest.raises(TaskError) as caught:
        locate("corp", "a.txt", SHA, Source("https://example.org/a.txt"), None)
    assert str(caught.value) == (
        f"corp/a.txt is not in the cache, and HARNESS_DATA is not "
        f"set, and downloading it from https://example.org/a.txt "
        f"failed ({said}); set HARNESS_DATA (or data_dir) to the "
        f"folder that holds corp/"
    )
    assert caught.value.short == f"corp/a.txt missing ({said})"
