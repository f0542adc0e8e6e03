"""A plugin cell that lets a test interrupt a grid at a known point, without a clock.

``blocker`` is the Elman cell, except that when ``BLOCKER_ARMED=1`` is in the environment
its first training step prints ``BLOCKED`` on stderr and then waits for a signal: a test
reads stderr until that line, knows that every run queued before the blocker's is finished
and that none after it has started, and sends its signal. Without the variable it trains
like ``rnn``, so the resumed grid finishes.

    python -m harness --plugin tests.harness.blocking_plugin run --grid --variants lstm,blocker
"""

from __future__ import annotations

import os
import signal
import sys

import torch

import variants

MARKER = "BLOCKED"


class BlockingCell(variants.ElmanCell):
    def forward(self, x, state=None):  # type: ignore[no-untyped-def]
        if os.environ.get("BLOCKER_ARMED") == "1" and torch.is_grad_enabled():
            print(MARKER, file=sys.stderr, flush=True)
            signal.pause()  # returns only after a signal's handler (Ctrl-C raises here)
        return super().forward(x, state)


if "blocker" not in variants.names():
    variants.register("blocker", BlockingCell, family="test", paper="-",
                      description="an Elman cell that waits for a signal (tests)")
