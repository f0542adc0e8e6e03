"""Where runs are stored: the URL as the user gave it, as it may be shown, and the
storage it names, opened (a journal file, or a database through Optuna's RDB storage).

A database URL can carry a password (``postgresql://user:PASSWORD@host/db``). It is used to
connect and nowhere else: every message, report and stored record shows it masked
(``postgresql://user:***@host/db``). To keep it off the command line too, where every user
of the machine can read it in the process list, give the URL in ``HARNESS_STORAGE``, or leave
the password out and let libpq find it (``PGPASSWORD``, ``~/.pgpass``, ``PGSERVICE``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

import optuna
from optuna.storages import BaseStorage, RDBStorage

from harness.queue import liveness
from harness.queue.journal import JournalFile

ENVIRONMENT = "HARNESS_STORAGE"
# Everything the harness writes by default goes under OUTPUT (relative to where it runs): the
# journal, the kept models beside it, the reports. Not a package folder: pre-releases of
# 0.1.0 kept the journal in the ``results`` package's folder, EARLIER, which is not read.
OUTPUT = "outputs"
DEFAULT = f"{OUTPUT}/harness.journal"
EARLIER = "results/harness.journal"
MASK = "***"


def resolve(url: str | None) -> str | None:
    """The storage asked for: ``--storage``, else ``HARNESS_STORAGE``, else None (the
    default journal file, ``default_journal()``)."""
    return url or os.environ.get(ENVIRONMENT) or None


def default_journal() -> str:
    """``outputs/harness.journal``."""
    return DEFAULT


def earlier_default() -> str | None:
    """A line for the user where only a 0.1.0 pre-release's default journal
    (``results/harness.journal``) is here: it is not read unless named."""
    if Path(DEFAULT).exists() or not Path(EARLIER).is_file():
        return None
    return (
        f"harness: {EARLIER} was written by a pre-release of harness 0.1.0, which kept its "
        f"journal there; this version reads {DEFAULT}: move the file and its .models "
        f"folder to {OUTPUT}/, or pass --storage {EARLIER}"
    )


def report_folder(url: str | None, name: str) -> Path:
    """Where the report of study ``name`` in the storage at ``url`` goes by default: the
    default journal's under ``outputs/NAME``; another journal file's beside it, in
    ``JOURNAL.reports/NAME`` (as its models are in ``JOURNAL.models``); a database's under
    ``outputs/NAME@HOST-DATABASE``. Two storages with a study of the same name therefore
    never share a report folder."""
    if not url or Path(url) == Path(default_journal()):
        return Path(OUTPUT) / name
    parts = _parts(url)
    if parts is None:
        return Path(url).with_suffix(".reports") / name
    where = "-".join(p for p in (parts.hostname or "local", parts.path.strip("/")) if p)
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in where)
    return Path(OUTPUT) / f"{name}@{safe}"


def _parts(url: str) -> SplitResult | None:
    if "://" not in url:
        return None
    try:
        return urlsplit(url)
    except ValueError:
        return None


def password(url: str | None) -> str | None:
    """The password in ``url``, if it has one."""
    parts = _parts(url) if url else None
    return unquote(parts.password) if parts is not None and parts.password else None


def shown(url: str | None) -> str:
    """``url`` as it may be printed or stored: its password, if any, replaced by ***."""
    if not url:
        return default_journal()
    parts = _parts(url)
    if parts is None or parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:{MASK}@{host}").geturl()


def scrub(text: str, url: str | None) -> str:
    """``text`` (a driver's error message, say) with ``url``'s password masked wherever it
    appears, raw or percent-encoded."""
    secret = password(url)
    if not secret:
        return text
    parts = _parts(url or "")
    raw = parts.netloc.rsplit("@", 1)[0].split(":", 1)[1] if parts else secret
    for form in {secret, raw}:
        text = text.replace(form, MASK)
    return text


class StorageError(ValueError):
    """A storage URL or study that cannot be used (the message says what to do)."""


def _rdb(url: str, attempts: int = 3) -> RDBStorage:
    """Optuna's RDB storage. Processes that open a new database at the same moment (two
    machines starting one search) race to create its tables, and the loser's CREATE fails
    on what the winner made: the tables are there then, and opening again finds them."""
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():  # Optuna calls its heartbeat options experimental
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url, engine_kwargs={"pool_pre_ping": True}, **liveness.rdb_options()
                )
        except Exception as error:  # noqa: BLE001 - only the creation race is retried
            if attempt == attempts - 1 or not _lost_creation_race(error):
                raise
    raise AssertionError("unreachable")


def _lost_creation_race(error: BaseException) -> bool:
    text = str(getattr(error, "orig", None) or error)
    return "already exists" in text or "pg_type_typname_nsp_index" in text


def open_storage(url: str | None) -> BaseStorage:
    """A journal file (a path, or ``journal:PATH``; safe for several local processes) or a
    database URL (``postgresql://...``, ``sqlite:///...``) through Optuna's RDB storage."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = url or default_journal()
    if "://" not in url or url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalFile(str(path))  # read back here: a damaged one says so
        except OSError as error:
            raise StorageError(
                f"cannot use journal file {path}: {error.strerror or error}"
            ) from None
    masked = shown(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    try:
        return _rdb(url)
    except ImportError as error:
        module = getattr(error.__cause__, "name", None) or error.name or "its DB-API module"
        hint = (
            "pip install -e '.[postgres]'"
            if scheme.startswith("postgres")
            else "install SQLAlchemy's driver for it"
        )
        raise StorageError(
            f"the database driver for {scheme} is missing ({module}); {hint}"
        ) from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's many connection errors
        reason = scrub(str(getattr(error, "orig", None) or error), url).strip().splitlines()
        raise StorageError(
            f"cannot reach the database at {masked} "
            f"({reason[0] if reason else type(error).__name__}); check the URL "
            "and that the server is running"
        ) from None
