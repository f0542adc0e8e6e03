"""Where a training step's time goes: an optional recorder the training loop times its
phases with (``harness bench --runs``).

The loop (``train._train_population``) wraps each part of a step in ``phases.phase(NAME)``:
``data`` (drawing each trial's batch, stacking it, moving it to the device, carrying the
state), ``forward`` (the model and the losses), ``backward``, ``optimiser`` (clipping and the
update) and ``evaluation`` (validation and the gradient probes); ``bookkeeping`` is the rest
of the loop (divergence checks, curves, ``on_step``), the loop's wall time less the named
phases. The first ``warmup`` steps are not recorded. On the CPU every run records its own
(``per_trial``: what its record stores); on a GPU, where timing means waiting for the
device, the loop uses ``OFF``, whose ``phase`` is one shared null context: nothing is
timed, nothing synchronised. The numerics and random streams of training are the same
either way (the recorder only reads the clock, and calls its ``companion``, a reference
timed beside each step, which draws on no random stream of training).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

PHASES = ("data", "forward", "backward", "optimiser", "evaluation")
BOOKKEEPING = "bookkeeping"
ALL = (*PHASES, BOOKKEEPING)


class Off:
    """No recording: what the loop uses by default (a shared null context per phase)."""

    _none = contextlib.nullcontext()

    def phase(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self._none

    def begin(self, device: torch.device) -> None:
        pass

    def end(self, steps: int) -> None:
        pass

    def keep(self, model: Any, batch: Any) -> None:
        pass


OFF = Off()


class Phases(Off):
    """Wall seconds per phase over one training loop (a GPU is synchronised at each phase's
    edges, so a phase is charged with the kernels it launched)."""

    def __init__(self, warmup: int = 0, companion: Callable[[], None] | None = None) -> None:
        self.warmup = warmup  # first steps not recorded (one-time costs of first calls)
        # called and timed before every recorded step, outside the loop's time: a reference
        # that then meets the same load as the steps (``companion_seconds``, one per step)
        self.companion = companion
        self.companion_seconds: list[float] = []
        self.step_seconds: list[float] = []  # each recorded step's, evaluation left out
        self._excluded = 0.0
        self._step_start: float | None = None
        self._step_evaluation = 0.0
        self.seen = 0  # steps begun (a step begins with its data phase)
        self.calls: dict[str, int] = dict.fromkeys(PHASES, 0)
        self.seconds: dict[str, float] = dict.fromkeys(PHASES, 0.0)
        self.loop_seconds = 0.0
        self.steps = 0
        self.device = torch.device("cpu")
        self.model: Any = None  # the trained stack and its last batch (cell-only timing)
        self.batch: Any = None
        self._loop_start = 0.0

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if name == "data":
            self.seen += 1
            self._close_step()
            if self.seen > self.warmup and self.companion is not None:
                self._sync()
                start = time.perf_counter()
                self.companion()
                self._sync()
                self.companion_seconds.append(time.perf_counter() - start)
                if self.seen > self.warmup + 1:
                    self._excluded += self.companion_seconds[-1]
            if self.seen == self.warmup + 1:
                self._sync()
                self._loop_start = time.perf_counter()
            if self.seen > self.warmup:
                self._step_start = time.perf_counter()
        if self.seen <= self.warmup:
            yield
            return
        self.calls[name] += 1
        self._sync()
        start = time.perf_counter()
        try:
            yield
        finally:
            self._sync()
            self.seconds[name] += time.perf_counter() - start
            if name == "evaluation":
                self._step_evaluation += time.perf_counter() - start

    def _close_step(self) -> None:
        if self._step_start is not None:
            self._sync()
            self.step_seconds.append(time.perf_counter() - self._step_start - self._step_evaluation)
        self._step_start, self._step_evaluation = None, 0.0

    def begin(self, device: torch.device) -> None:
        self.device = device
        self._sync()
        self._loop_start = time.perf_counter()

    def end(self, steps: int) -> None:
        if steps <= self.warmup:
            return
        self._close_step()
        self._sync()
        self.loop_seconds += time.perf_counter() - self._loop_start - self._excluded
        self.steps += steps - self.warmup

    def amortise(self, name: str, every: int) -> None:
        """Charge ``name`` (a phase that runs once every ``every`` steps, like validation) at
        that rate: its mean time per call × steps / ``every``, the loop's time adjusted to
        match; so a short run's shares are those of a full one."""
        if not self.calls[name] or not self.steps:
            return
        charged = self.seconds[name] / self.calls[name] * self.steps / every
        self.loop_seconds += charged - self.seconds[name]
        self.seconds[name] = charged

    def keep(self, model: Any, batch: Any) -> None:
        self.model, self.batch = model, batch

    def breakdown(self) -> dict[str, float]:
        """Seconds of every phase, ``bookkeeping`` included (never negative)."""
        named = sum(self.seconds.values())
        return {**self.seconds, BOOKKEEPING: max(self.loop_seconds - named, 0.0)}

    def shares(self) -> dict[str, float]:
        """Each phase's share of the loop's time (they sum to 1)."""
        parts = self.breakdown()
        total = sum(parts.values())
        return {k: (v / total if total > 0 else 0.0) for k, v in parts.items()}


OUTSIDE = "outside"  # a run's time outside its loop: building the model, scoring the test set


def per_trial(recorder: Off, wall: float, trials: int) -> dict[str, float]:
    """What a trial's record says of its population's time (``time.PHASE`` seconds, each
    phase's seconds over the trials, and ``time.outside``): nothing without a recorder, or
    where the recorder left steps out (a warm-up: then the phases do not add up to the
    wall time)."""
    if not isinstance(recorder, Phases) or recorder.warmup or not recorder.steps:
        return {}
    parts = recorder.breakdown()
    parts[OUTSIDE] = max(wall - recorder.loop_seconds, 0.0)
    return {f"time.{name}": seconds / trials for name, seconds in parts.items()}
