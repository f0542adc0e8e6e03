"""Riding out a database that goes away for a while (a restart, a failover, a network blip).

A worker's every touch of the storage goes through :func:`ride_out` (a function marked
:func:`riding_out` has it applied where it is defined): an error that says the connection
is gone is retried with backoff (1 s, doubling, at most 30 s apart), with one
line when the outage starts and one when it ends, for at most ``HARNESS_DB_PATIENCE``
seconds (default 600); then :class:`StorageDown` ends the worker with the reason. A run that
was training meanwhile finishes, and its result is stored once the database is back.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import optuna

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
PATIENCE = "HARNESS_DB_PATIENCE"
# when this process last saw the database come back (monotonic seconds): for a grace
# period after an outage nobody's heartbeat is fresh, and liveness waits before judging
_back: list[float] = []


def since_outage(clock: Callable[[], float] = time.monotonic) -> float:
    """Seconds since this process last saw the database come back (inf: never lost it)."""
    return clock() - _back[-1] if _back else float("inf")


class StorageDown(RuntimeError):
    """The database stayed unreachable longer than the worker's patience."""


def patience_seconds() -> float:
    return max(0.0, float(os.environ.get(PATIENCE, "600")))


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached or the connection broke
    (as opposed to a query the database refused)."""
    if isinstance(error, optuna.exceptions.StorageInternalError):
        return True
    try:
        from sqlalchemy import exc
    except ImportError:  # no SQLAlchemy: no database, no outage
        return False
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError))


def _reason(error: BaseException) -> str:
    """The driver's own words: Optuna wraps them in a generic "exception during the commit"."""
    cause = error.__cause__ or error.__context__ or error
    lines = str(getattr(cause, "orig", None) or cause).strip().splitlines()
    return lines[0][:120] if lines else type(error).__name__


def ride_out(
    call: Callable[[], T],
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``call()``, retried through a database outage (see the module); ``what`` names the
    work in the messages."""
    began, delay, limit = None, 1.0, patience_seconds()
    while True:
        try:
            result = call()
        except Exception as error:  # noqa: BLE001 - sorted by is_outage
            if not is_outage(error):
                raise
            now = clock()
            if began is None:
                began = now
                log.warning(
                    "the database is unreachable while %s (%s); retrying for up to %.0f s",
                    what,
                    _reason(error),
                    limit,
                )
            if now - began >= limit:
                raise StorageDown(
                    f"the database stayed unreachable for {now - began:.0f} s "
                    f"while {what}; the runs in hand are left to the other "
                    f"workers' liveness checks ({PATIENCE}={limit:.0f})"
                ) from None
            sleep(min(delay, max(0.0, limit - (now - began))))
            delay = min(2 * delay, 30.0)
            continue
        if began is not None:
            log.warning("the database is back after %.0f s; %s goes on", clock() - began, what)
            _back[:] = [time.monotonic()]
        return result


def riding_out(what: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Mark a function whose every call is :func:`ride_out` (``what`` names its work): for a
    step that repeats harmlessly, so that a retry after an outage does it whole."""

    def mark(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def ridden(*args: P.args, **kwargs: P.kwargs) -> T:
            return ride_out(lambda: function(*args, **kwargs), what)

        return ridden

    return mark
