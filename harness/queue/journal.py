"""The journal file as the harness writes it: appends that never leave half a record behind.

Optuna's ``JournalFileBackend`` appends each batch of records with one ``write``; when that
write fails part-way (the disk full, a file-size limit), the journal ends in half a record,
and the next append glues a whole one onto it: from then on the file no longer reads. Here
an append that fails truncates the journal back to where it was, under the journal's own
lock, and raises :class:`JournalWriteError` saying what, where and how many bytes it needed.
A journal that ends in half a record anyway (a writer killed mid-write) is cut back to its
last whole record once it has been read, under the same lock, before anything is appended.

Optuna 5.0's journal storage has no heartbeats (``JournalStorage`` does not implement
``BaseHeartbeat``); ``harness.queue.liveness`` keeps leases on the trials instead.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from harness.queue import signals

APPEND_GRACE = 30  # seconds after which an append lock left by a killed process is broken
LOCK_GRACE = 120  # the same for the enqueue lock, held while a whole grid is queued


class JournalWriteError(OSError):
    """A record that could not be written; the journal is as it was before the attempt."""


class JournalDamaged(ValueError):
    """A journal that cannot be read back (a record overwritten): the file is left as it is.
    (A record cut off at the end, by a worker killed while writing, is no damage: Optuna
    skips it, and the complete ones before it read.)"""

    READING = (ValueError, KeyError, TypeError, UnicodeDecodeError)  # what a bad record raises

    def __init__(self, path: str, error: Exception) -> None:
        super().__init__(
            f"journal file {path} is damaged ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:80] if str(error) else ''}); it was "
            "not changed: restore it from a copy, or move it aside to start a new "
            "one"
        )


@contextlib.contextmanager
def held(lock: JournalFileSymlinkLock) -> Iterator[None]:
    """The lock held for the block. A Ctrl-C or SIGTERM meanwhile interrupts only after the
    lock is released: Optuna's symlink lock, interrupted between its rename and its unlink,
    unlinks twice and replaces the interruption with a FileNotFoundError (or, interrupted
    while waiting, with "did not possess lock"), and a journal append cut in half is a
    damaged journal."""
    with signals.deferred():
        lock.acquire()
        try:
            yield
        finally:
            lock.release()


class SafeJournalBackend(JournalFileBackend):
    """Optuna's journal file, with appends that fail whole (see the module)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = JournalFileSymlinkLock(path, grace_period=APPEND_GRACE)
        super().__init__(path, lock_obj=self.lock)

    def cut_half_record(self) -> None:
        """Cut a journal that ends in half a record back to its last whole one."""
        with held(self.lock), open(self.path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            # the last newline ends the last whole record
            block, end = 1 << 16, size
            while end > 0:
                start = max(0, end - block)
                f.seek(start)
                chunk = f.read(end - start)
                at = chunk.rfind(b"\n")
                if at >= 0:
                    f.truncate(start + at + 1)
                    return
                end = start
            f.truncate(0)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode(
            "utf-8"
        )
        with held(self.lock):
            before = os.path.getsize(self.path)
            try:
                with open(self.path, "ab") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.truncate(self.path, before)
                free = free_space(Path(self.path).parent)
                free = f", {free}" if free else ""
                raise JournalWriteError(
                    error.errno,
                    f"cannot write {len(data):,} bytes to journal {self.path} "
                    f"({error.strerror or error}{free}); the journal is as it was before: "
                    "free some space (or raise the file-size limit) and run the same command "
                    "to resume",
                ) from None


def free_space(directory: str | Path) -> str:
    """ "N bytes free there" for the file system of ``directory`` ("" when unknown)."""
    try:
        stat = os.statvfs(directory)
    except OSError:
        return ""
    return f"{stat.f_bavail * stat.f_frsize:,} bytes free there"


class JournalFile(JournalStorage):
    """Optuna's journal storage on a :class:`SafeJournalBackend`, which it keeps in sight."""

    def __init__(self, path: str) -> None:
        self.backend = SafeJournalBackend(path)
        try:
            super().__init__(self.backend)  # reads the journal back
        except JournalDamaged.READING as error:
            raise self.damaged(error) from None
        self.backend.cut_half_record()  # (a half record at the end was not read either)

    def damaged(self, error: Exception) -> JournalDamaged:
        """What a read that found this journal damaged raises."""
        return JournalDamaged(self.backend.path, error)
