"""A plugin that lets a test interrupt ``harness evolve`` at a known point, without a clock.

With ``BLOCKER_ARMED=1`` in the environment, the first training of a candidate that is no
baseline (a graph cell, ``graph-HASH``) prints ``BLOCKED`` on stderr and waits for a signal:
the baselines are stored by then, and the candidate in hand is the one a Ctrl-C interrupts.
Without the variable it changes nothing.

    python -m harness evolve --plugin tests.harness.evolve_blocking --candidates 1 ...
"""

from __future__ import annotations

import os
import sys
import time

from harness.evolution import evaluate

MARKER = "BLOCKED"
_train = evaluate.train_population


def _blocking(configs, *args, **kwargs):  # type: ignore[no-untyped-def]
    if os.environ.get("BLOCKER_ARMED") == "1" and configs[0].variant.startswith("graph-"):
        print(MARKER, file=sys.stderr, flush=True)
        while True:  # until a signal's handler raises here (see blocking_plugin)
            time.sleep(0.05)
    return _train(configs, *args, **kwargs)


evaluate.train_population = _blocking
