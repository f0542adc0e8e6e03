"""Stopping cleanly: Ctrl-C (SIGINT) and a scheduler's SIGTERM (SLURM, Kubernetes, systemd)
both interrupt the work in hand the same way, as a ``KeyboardInterrupt``: the runs in hand go
back in the queue, finished results stay stored, and the command exits with 130 or 143.

After the first signal the process ignores further ones, so that putting the runs back in
the queue is not itself interrupted (a scheduler may send SIGTERM to the whole process group,
and the parent forwards it to its workers as well). A step that must not be cut in half
(taking a run from the queue and noting it as in hand) runs ``deferred``: a signal that
arrives meanwhile interrupts right after it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

_held = 0  # nesting depth of ``deferred`` blocks
_pending: list[int] = []  # the signal that arrived inside one


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, like Ctrl-C's KeyboardInterrupt."""


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def _interrupt(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _stop(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _held:
        _pending.append(signum)
        return
    raise _interrupt(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold back an interruption (SIGINT, SIGTERM) until the block has run; it is raised
    as the block ends. (Blocking the signal itself would not do: another thread may take
    it, and Python runs the handler in the main thread all the same.)"""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held and _pending:
            raise _interrupt(_pending.pop())


def install() -> None:
    """Make SIGINT and SIGTERM interrupt this process (main thread only)."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
