"""What a command hears of the runs it set going: one object, passed down once.

With one worker the runs train in this process, and the worker calls ``started``, ``step``
and ``finished``; with worker processes the parent reads finished runs back from the
storage and calls ``found``. A command overrides what it shows; the rest stay no-ops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.plans.config import RunConfig
    from harness.training.train import RunResult


class Progress:
    def started(self, config: RunConfig) -> None:
        """A population (of runs like ``config``) starts training here."""

    def step(self, step: int, total: int, loss: float) -> None:
        """A training step here: its number, the steps in all, the mean training loss."""

    def finished(self, config: RunConfig, result: RunResult | None) -> None:
        """A run trained here has ended (``None``: it failed)."""

    def found(self, records: dict[str, dict]) -> None:
        """Every finished run of the work, read back from the storage (key -> record)."""


QUIET = Progress()
