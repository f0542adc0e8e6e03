"""Finding data: the data folder first, then the cache, then a download checked by sha256."""

from __future__ import annotations

import hashlib
import io
import tarfile
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


def test_the_data_folder_wins(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "data" / "corp").mkdir(parents=True)
    (tmp_path / "data" / "corp" / "a.txt").write_bytes(PAYLOAD)
    found = locate("corp", "a.txt", SHA, Source("file:///nowhere"), str(tmp_path / "data"))
    assert found == tmp_path / "data" / "corp" / "a.txt" and not cache.exists()


def test_download_once_into_the_cache(tmp_path: Path, cache: Path) -> None:
    origin = tmp_path / "origin.txt"
    origin.write_bytes(PAYLOAD)
    found = locate("corp", "a.txt", SHA, Source(origin.as_uri()), None)
    assert found == cache / "corp" / "a.txt" and found.read_bytes() == PAYLOAD
    origin.unlink()  # the second time it comes from the cache
    assert locate("corp", "a.txt", SHA, Source(origin.as_uri()), None) == found


def test_a_member_of_an_archive(tmp_path: Path, cache: Path) -> None:
    archive = tmp_path / "bundle.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("./bundle/data/a.txt")
        info.size = len(PAYLOAD)
        tar.addfile(info, io.BytesIO(PAYLOAD))
    found = locate("corp", "a.txt", SHA, Source(archive.as_uri(), "./bundle/data/a.txt"), None)
    assert found.read_bytes() == PAYLOAD
    with pytest.raises(TaskError, match="could not be read from the archive"):
        locate("corp", "b.txt", SHA, Source(archive.as_uri(), "./bundle/b.txt"), None)


def test_a_download_that_does_not_match_is_refused_and_not_kept(tmp_path: Path,
                                                                cache: Path) -> None:
    origin = tmp_path / "origin.txt"
    origin.write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(TaskError, match=f"checksum mismatch: expected sha256 {SHA}"):
        locate("corp", "a.txt", SHA, Source(origin.as_uri()), None)
    assert not (cache / "corp" / "a.txt").exists()


def test_no_source_and_no_folder_says_what_to_set(cache: Path) -> None:
    with pytest.raises(TaskError, match=r"corp/a.txt not found in no data folder \(HARNESS_DATA "
                                        r"unset\); set HARNESS_DATA"):
        locate("corp", "a.txt", SHA, None, None)
