"""Writing a report so that a failure leaves the earlier one whole.

A report is built in a staging folder inside its folder (same file system), and its files
replace the earlier report's one by one with ``os.replace`` only once every one of them has
been written. A full disk, a file-size limit or a read-only folder therefore stops the
build before anything the user already had is touched, and says so in one line. Files in
the folder that the report does not write (the user's own) are never moved or deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

STAGING = ".report-writing"
ORIGIN = ".storage"  # the storage (as shown, never with a password) the report was read from


class ReportWriteError(ValueError):
    """The report could not be written; the one line says why and what to do."""


def write(folder: Path, build: Callable[[Path], Path], origin: str | None = None) -> Path:
    """Run ``build(staging)`` (it writes a report into the folder it is given and returns
    its main file) and move what it wrote into ``folder``; returns the main file's path
    there. ``origin`` names the storage the report is read from: a folder holding the
    report of another storage is left alone, with one line saying so."""
    if origin is not None:
        _same_origin(folder, origin)
    with staged(folder) as staging:
        built = build(staging)
        if origin is not None:
            (staging / ORIGIN).write_text(origin + "\n")
    return final_path(built, staging, folder)


def _same_origin(folder: Path, origin: str) -> None:
    try:
        before = (folder / ORIGIN).read_text().strip()
    except OSError:
        return
    if before != origin:
        raise ReportWriteError(
            f"{folder} holds the report of another storage ({before}); "
            f"this one is of {origin}: it was left as it is; choose "
            "another folder with --out"
        )


@contextlib.contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """Yields the folder to build the report in; on success its files move into ``folder``;
    an ``OSError`` becomes one line (a ``ReportWriteError``) and ``folder`` stays as it
    was."""
    staging = folder / STAGING
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(staging, ignore_errors=True)  # left by a build that was killed
        staging.mkdir()
        yield staging
        _move_into(staging, folder)
    except OSError as error:
        raise ReportWriteError(
            f"cannot write the report to {folder}: {error.strerror or error}{_free(folder)}; "
            "the report there before is as it was: free some space or choose another "
            "folder with --out"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def final_path(path: Path, staging: Path, folder: Path) -> Path:
    """Where a file built at ``path`` in ``staging`` lives once moved into ``folder``."""
    return folder / Path(path).relative_to(staging)


def _move_into(staging: Path, folder: Path) -> None:
    for source in sorted(p for p in staging.rglob("*") if p.is_file()):
        target = final_path(source, staging, folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


def _free(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder if folder.exists() else folder.parent).free
    except OSError:
        return ""
    return f" ({free:,} bytes free there)"
