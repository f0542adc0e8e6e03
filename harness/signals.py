"""Stopping cleanly: Ctrl-C (SIGINT) and a scheduler's SIGTERM (SLURM, Kubernetes, systemd)
both interrupt the work in hand the same way, as a ``KeyboardInterrupt``: the runs in hand go
back in the queue, finished results stay stored, and the command exits with 130 or 143.

After the first signal the process ignores further ones, so that putting the runs back in
the queue is not itself interrupted (a scheduler may send SIGTERM to the whole process group,
and the parent forwards it to its workers as well).
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process was, like Ctrl-C's KeyboardInterrupt."""


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def _stop(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def install() -> None:
    """Make SIGINT and SIGTERM interrupt this process (main thread only)."""
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
