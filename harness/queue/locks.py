"""One process at a time may enqueue into a study, on one machine or many.

Several ``run --grid`` processes started together (a job array, a second terminal) would
otherwise each read "point not queued yet" and each enqueue it. The lock is the storage's
own kind: a lock file beside a journal (Optuna's ``JournalFileSymlinkLock``, which works on
network file systems) or a SQLite file, and a PostgreSQL advisory lock on a connection of
its own. Other databases get no lock; workers still never run two copies of a point
(``worker._take`` drops a duplicate), but one may be queued.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
from collections.abc import Iterator

from optuna.storages import BaseStorage, RDBStorage
from optuna.storages.journal import JournalFileSymlinkLock

from harness.queue.journal import LOCK_GRACE, JournalFile, held


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(storage: BaseStorage, name: str) -> Iterator[None]:
    """Held by one process at a time for the study ``name`` (see the module)."""
    if isinstance(storage, JournalFile):
        path = f"{storage.backend.path}.{_key(name) & 0xFFFF:04x}.enqueue"
        with held(JournalFileSymlinkLock(path, grace_period=LOCK_GRACE)):
            yield
        return
    url = storage.url if isinstance(storage, RDBStorage) else ""
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _key(name)})
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _key(name)})
        finally:
            engine.dispose()
        return
    if url.startswith("sqlite:///"):
        with open(url.removeprefix("sqlite:///") + ".enqueue.lock", "a") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        return
    yield
