"""Stopping cleanly: Ctrl-C (SIGINT) and a scheduler's SIGTERM (SLURM, Kubernetes, systemd)
both interrupt the work in hand the same way, as a ``KeyboardInterrupt``: the runs in hand go
back in the queue, finished results stay stored, and the command exits with 130 or 143.

After the first signal the process lets further ones pass (its handler stays installed and
does nothing), so that putting the runs back in the queue is not itself interrupted: a
terminal's Ctrl-C reaches the whole process group and the parent then forwards SIGTERM to its
workers, a scheduler may signal the group twice. (Switching to SIG_IGN instead loses a race:
a signal already caught by the interpreter but not yet handled then prints "Signal 15 ignored
due to race condition".) A step that must not be cut in half (taking a run from the queue and
noting it as in hand) runs ``deferred``: a signal that arrives meanwhile interrupts right after
it. A process starting workers holds signals back while it starts them (``held_back``): a
worker then receives them only once it can stop cleanly.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_held = 0  # nesting depth of ``deferred`` blocks
_pending: list[int] = []  # the signal that arrived inside one
_stopping = False  # a signal has interrupted this process: later ones pass
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, like Ctrl-C's KeyboardInterrupt."""


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def _interrupt(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _stop(signum: int, frame: FrameType | None) -> None:
    global _stopping
    if _stopping:
        return
    _stopping = True
    if _held:
        _pending.append(signum)
        return
    raise _interrupt(signum)


def settle() -> None:
    """From now on signals pass without interrupting (the work is done; the process is
    reporting and exiting)."""
    global _stopping
    _stopping = True


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold back an interruption (SIGINT, SIGTERM) until the block has run; it is raised
    as the block ends (in the main thread; another thread's blocks run as they are).
    (Blocking the signal itself would not do: another thread may take it, and Python runs
    the handler in the main thread all the same.)"""
    global _held
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run in the main thread only: nothing to hold back here
        return
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            raise _interrupt(_pending.pop())


def install() -> None:
    """Make SIGINT and SIGTERM interrupt this process (main thread only), once."""
    global _stopping
    _stopping = False
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in this thread while the block runs, delivered as it ends.
    Processes started meanwhile inherit the block and call :func:`release` once they can
    stop cleanly (a signal to the group during their start would otherwise interrupt their
    imports). In this process another thread may still take a signal sent to the whole
    process; its handler then interrupts the main thread as usual."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        release()


def release() -> None:
    """Deliver the signals held back (see :func:`held_back`)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
