"""Shared test settings: deterministic, small, and one torch thread per process.

One thread: a test checks behaviour, not speed, and a single thread cannot be stalled by a
busy machine. With torch's default of one thread per core, every OpenMP parallel region
waits at its barrier for a thread that the other processes' load has descheduled: measured
on 2 cores with both kept busy, the suite took 20 minutes instead of 5, and one benchmark
call 4 s instead of 20 ms. The variable also reaches every harness process a test starts
(they inherit the environment), unless a test sets its own threads.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import importlib  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from harness.plans import plugins  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# a user's plugin named in HARNESS_PLUGINS joins the registries before the tests are
# collected, so that every registry-wide test runs its cells too (tests/harness/
# test_plugin_family.py does this with a new family)
for _module in plugins.requested():
    importlib.import_module(_module)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
