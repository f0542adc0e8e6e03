"""A plugin cell that lets a test interrupt a grid at a known point, without a clock.

``blocker`` is the Elman cell, except that when ``BLOCKER_ARMED=1`` is in the environment
its first training step prints ``BLOCKED`` on stderr and then waits for a signal: a test
reads stderr until that line, knows that every run queued before the blocker's is finished
and that none after it has started, and sends its signal. Without the variable it trains
like ``rnn``, so the resumed grid finishes.

    python -m harness run --grid --plugin tests.harness.blocking_plugin --variants lstm,blocker
"""

from __future__ import annotations

import os
import sys
import time

import torch

import variants

MARKER = "BLOCKED"


class BlockingCell(variants.ElmanCell):
    def forward(self, x, state=None):  # type: ignore[no-untyped-def]
        if os.environ.get("BLOCKER_ARMED") == "1" and torch.is_grad_enabled():
            print(MARKER, file=sys.stderr, flush=True)
            # until a signal's handler raises here (Ctrl-C, SIGTERM). Not signal.pause():
            # the kernel may hand the signal to another thread of the process (a heartbeat,
            # a queue's feeder), which wakes no pause() in this one; a short sleep returns,
            # and Python runs the handler on the main thread. What the test waits for is
            # still the marker above, not a clock.
            while True:
                time.sleep(0.05)
        return super().forward(x, state)


if "blocker" not in variants.names():
    variants.register(
        "blocker",
        BlockingCell,
        family="test",
        paper="-",
        description="an Elman cell that waits for a signal (tests)",
    )
