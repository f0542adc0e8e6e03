"""Optuna's storage opened: a journal file or a database, and the studies in it (one per
task of a grid or search, or a grid stored by an older version as one study)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage

from harness.queue import liveness, storage_url
from harness.queue.journal import JournalFile


class StorageError(ValueError):
    """A storage URL or study that cannot be used (the message says what to do)."""


def open_storage(url: str | None) -> BaseStorage:
    """A journal file (a path, or ``journal:PATH``; safe for several local processes) or a
    database URL (``postgresql://...``, ``sqlite:///...``) through Optuna's RDB storage."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = url or storage_url.default_journal()
    if "://" not in url or url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        with _readable(None, path):  # the journal is read back here
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return JournalFile(str(path))
            except OSError as error:
                raise StorageError(f"cannot use journal file {path}: "
                                   f"{error.strerror or error}") from None
    shown = storage_url.shown(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    try:
        with warnings.catch_warnings():  # Optuna calls its heartbeat options experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True},
                              **liveness.rdb_options())
    except ImportError as error:
        module = getattr(error.__cause__, "name", None) or error.name or "its DB-API module"
        hint = ("pip install -e '.[postgres]'" if scheme.startswith("postgres")
                else "install SQLAlchemy's driver for it")
        raise StorageError(f"the database driver for {scheme} is missing ({module}); "
                           f"{hint}") from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's many connection errors
        reason = storage_url.scrub(str(getattr(error, "orig", None) or error),
                                   url).strip().splitlines()
        raise StorageError(f"cannot reach the database at {shown} "
                           f"({reason[0] if reason else type(error).__name__}); check the URL "
                           "and that the server is running") from None


def open_study(storage: BaseStorage, name: str, create: bool = True,
               direction: str = "minimize") -> optuna.Study:
    """The study ``name``; created (with ``direction``) when missing and ``create``."""
    with _readable(storage):
        if create:
            return optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                       direction=direction)
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            pass
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(f"no study named {name!r} in this storage; studies: "
                           f"{', '.join(known) or 'none'}") from None


@contextlib.contextmanager
def _readable(storage: BaseStorage | None, path: object = None) -> Iterator[None]:
    """A journal file that cannot be read back (a record overwritten) is a clear error, and
    the file is left as it is. (A record cut off at the end, by a worker killed while
    writing, is skipped by Optuna: the complete ones before it read.)"""
    try:
        yield
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        journal = storage is None or isinstance(storage, JournalStorage)
        if not journal or isinstance(error, StorageError):
            raise
        if path is None:
            path = getattr(getattr(storage, "_backend", None), "_file_path", "the journal")
        raise StorageError(f"journal file {path} is damaged ({type(error).__name__}: "
                           f"{str(error).splitlines()[0][:80]}); it was not changed: restore "
                           "it from a copy, or move it aside to start a new one") from None


def legacy_grid(storage: BaseStorage, name: str) -> str | None:
    """``name`` when it is a grid stored by a version before one study per task."""
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name == name and "grid" in summary.user_attrs:
            return name
    return None


def family_of(study: optuna.Study | optuna.study.StudySummary) -> str | None:
    """The grid or search a study belongs to (its studies are named ``FAMILY-TASK``)."""
    for kind in ("grid", "search"):
        prefix = (study.user_attrs.get(kind) or {}).get("prefix")
        if prefix:
            return str(prefix)
    return None


def named_studies(storage: BaseStorage, name: str) -> list[optuna.Study]:
    """The study ``name``, or every study of the grid or search ``name`` (named
    ``name-TASK``; each records its prefix, so ``reproduce-quick`` is not
    ``reproduce-quick-seed1``)."""
    with _readable(storage):
        summaries = optuna.get_all_study_summaries(storage)
    names = [s.study_name for s in summaries]

    def of_search(summary: optuna.study.StudySummary) -> bool:
        prefix = family_of(summary)
        return prefix == name if prefix else summary.study_name.startswith(f"{name}-")
    chosen = [n for n in names if n == name] or [s.study_name for s in summaries
                                                 if of_search(s)]
    if not chosen:
        searches = sorted({n.rsplit("-", 1)[0] for n in names if "-" in n})
        raise StorageError(f"no study named {name!r} or {name}-TASK in this storage; "
                           f"studies: {', '.join(names) or 'none'}"
                           + (f" (searches: {', '.join(searches)})" if searches else ""))
    return [open_study(storage, n, create=False) for n in sorted(chosen)]
