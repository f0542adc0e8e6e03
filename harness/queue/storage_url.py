"""Where runs are stored: the URL as the user gave it, and the URL as it may be shown.

A database URL can carry a password (``postgresql://user:PASSWORD@host/db``). It is used to
connect and nowhere else: every message, report and stored record shows it masked
(``postgresql://user:***@host/db``). To keep it off the command line too, where every user
of the machine can read it in the process list, give the URL in ``HARNESS_STORAGE``, or leave
the password out and let libpq find it (``PGPASSWORD``, ``~/.pgpass``, ``PGSERVICE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

ENVIRONMENT = "HARNESS_STORAGE"
# Everything the harness writes by default goes under OUTPUT (relative to where it runs): the
# journal, the kept models beside it, the reports. Not a package folder: versions before
# this kept the journal in the ``results`` package's folder, LEGACY, which is still read.
OUTPUT = "outputs"
DEFAULT = f"{OUTPUT}/harness.journal"
LEGACY = "results/harness.journal"
MASK = "***"


def resolve(url: str | None) -> str | None:
    """The storage asked for: ``--storage``, else ``HARNESS_STORAGE``, else None (the
    default journal file, ``default_journal()``)."""
    return url or os.environ.get(ENVIRONMENT) or None


def default_journal() -> str:
    """``outputs/harness.journal``; or, where only an earlier version's
    ``results/harness.journal`` exists here, that one (it goes on being used)."""
    if not Path(DEFAULT).exists() and Path(LEGACY).is_file():
        return LEGACY
    return DEFAULT


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
