"""A plugin that holds every harness process at start until the test lets them all go at
once. The test holds an exclusive lock on the file named by ``BARRIER_LOCK``; each process
says it is ready (a file ``BARRIER_LOCK.PID.ready``) and waits for a shared lock on it, which
it gets when the test lets go: so several processes check and enqueue one grid at the same
moment, every time, without a clock.

    python -m harness run --grid --plugin tests.harness.barrier_plugin ...
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

if os.environ.get("BARRIER_LOCK"):
    _lock = os.environ["BARRIER_LOCK"]
    Path(f"{_lock}.{os.getpid()}.ready").touch()
    with open(_lock, "rb") as barrier:
        fcntl.flock(barrier, fcntl.LOCK_SH)  # blocks while the test holds LOCK_EX
        fcntl.flock(barrier, fcntl.LOCK_UN)
