"""Framewise labelling that needs the future: name the symbol ``delay`` steps away, behind at
some steps and ahead at the others."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, Batch, Metric, Settings, TaskError, accuracy_sum, percent
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask, lengths, strings_up_to


@dataclass(frozen=True)
class LookaheadSettings(Settings):
    seq_len: int = 16  # T: steps per sequence (the longest, with min_len)
    min_len: int | None = None  # variable lengths: T drawn uniformly from [min_len, seq_len]
    symbols: int = 4  # k: distinct symbols (the classes)
    delay: int = 3  # d: how far behind or ahead the named symbol is
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.symbols < 2:
            raise TaskError(f"symbols must be at least 2, got {self.symbols}")
        if self.delay < 1:
            raise TaskError(f"delay must be at least 1, got {self.delay}")
        shortest = self.seq_len if self.min_len is None else self.min_len
        if self.min_len is not None and not 1 <= self.min_len <= self.seq_len:
            raise TaskError(f"min_len must be in [1, seq_len={self.seq_len}], got {self.min_len}")
        if shortest < 2 * self.delay:
            raise TaskError(
                f"sequences must be at least 2 × delay = {2 * self.delay} steps "
                f"long, got {shortest}; lengthen them or lower delay"
            )


@register(
    "lookahead",
    kind="synthetic",
    description="label each step with the symbol d steps behind or ahead of it",
)
class Lookahead(SyntheticTask):
    """Random symbols s_0..s_{T-1} from ``symbols`` = k; the label of step t is s_{t-d}
    ("behind" steps) or s_{t+d} ("ahead" steps), every step scored. Ahead are the first d
    steps and the odd steps before the last d; behind are the rest (the even steps between,
    the last d). The input says which kind each step is: token s_t + k × ahead_t.

    A network that reads only the past (a causal one) can name s_{t-d} by remembering d
    steps, but s_{t+d} is independent of everything up to t: on the ahead steps (about half)
    it is at chance. A bidirectional network reads s_{t+d} d steps before t on its backward
    pass. Chance: 1/k accuracy overall and on the ahead steps, ln k nats; a causal network's
    ceiling is about (1 + 1/k)/2 overall.
    """

    settings_class = LookaheadSettings
    settings: LookaheadSettings

    @property
    def io(self) -> IO:
        k = self.settings.symbols
        return IO("tokens", 2 * k, "classes", k, "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        k = self.settings.symbols
        return (
            Metric("accuracy", "%", False, 100.0 / k, percent),
            Metric("ahead_accuracy", "%", False, 100.0 / k, percent),
            Metric("nll", "nats", True, math.log(k)),
        )

    def _lengths(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return lengths(self.settings.seq_len, self.settings.min_len, rng, n)

    def _distinct_sequences(self) -> float:
        s = self.settings
        return strings_up_to(s.seq_len, s.min_len, s.symbols)

    def ahead(self, lengths: np.ndarray) -> np.ndarray:
        """``[n, T]``: the steps labelled with the symbol ahead of them (False past a
        sequence's end)."""
        d, width = self.settings.delay, self.settings.seq_len
        steps = np.arange(width)[None, :]
        end = lengths[:, None]
        return (steps < end) & ((steps < d) | ((steps < end - d) & (steps % 2 == 1)))

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        s = self.settings
        width, d = s.seq_len, s.delay
        lengths = self._lengths(rng, n)
        steps = np.arange(width)
        inside = steps[None, :] < lengths[:, None]
        symbols = rng.integers(0, s.symbols, (n, width)) * inside
        ahead = self.ahead(lengths)
        source = np.where(ahead, steps + d, steps - d).clip(0, width - 1)
        y = np.take_along_axis(symbols, source, 1) * inside
        x = symbols + s.symbols * ahead
        return x.astype(np.int64), y.astype(np.int64), inside

    def _ahead_steps(self, batch: Batch) -> Tensor:
        return batch.mask & (batch.x >= self.settings.symbols)

    def _count(self, metric: str, batch: Batch) -> int:
        return int(self._ahead_steps(batch).sum()) if metric == "ahead_accuracy" else batch.scored

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        ahead = self._ahead_steps(batch)
        hits = outputs[ahead].argmax(-1) == batch.y[ahead]
        return {
            "accuracy": accuracy_sum(outputs, batch),
            "ahead_accuracy": float(hits.sum()),
            "nll": float(self._per_step_loss(outputs, batch).sum()),
        }

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """Uniform over the symbols: ln k nats; its guess (the first symbol) is right 1/k of
        the time on held-out symbols drawn uniformly."""
        return torch.zeros(*batch.x.shape, self.settings.symbols)
