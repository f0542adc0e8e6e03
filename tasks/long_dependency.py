"""The copy-memory task: remember a few symbols across a long delay."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, Batch, Metric, Settings, TaskError, percent
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask

_CERTAIN = 30.0  # a logit this far apart is probability 1 to within 1e-13


@dataclass(frozen=True)
class CopySettings(Settings):
    delay: int = 50  # T: blanks between the symbols and the request to reproduce them
    variable: bool = False  # draw each sequence's delay uniformly from [1, delay]
    copy_len: int = 10  # symbols to remember
    alphabet: int = 8  # distinct symbols
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.delay < 1:
            raise TaskError(f"delay must be at least 1, got {self.delay}")
        if self.copy_len < 1 or self.alphabet < 2:
            raise TaskError(
                "copy_len must be at least 1 and alphabet at least 2, got "
                f"copy_len={self.copy_len}, alphabet={self.alphabet}"
            )


@register(
    "long-dependency",
    kind="synthetic",
    description="copy memory: reproduce 10 symbols after a delay of T blanks",
)
class LongDependency(SyntheticTask):
    """The copy-memory task of Arjovsky, Shah & Bengio 2016 (after Hochreiter & Schmidhuber).

    Symbols a_0..a_9 (here ``alphabet`` = 8 data symbols, then blank a_8 and delimiter a_9).
    Input, length T + 20: ten symbols drawn uniformly from a_0..a_7, T - 1 blanks, the
    delimiter, ten blanks. Target: T + 10 blanks, then the ten symbols. Loss: cross-entropy
    averaged over all T + 20 steps. A memoryless model predicts blanks for T + 10 steps and
    guesses uniformly for the last ten, scoring 10 ln 8 / (T + 20) nats: that is chance; on
    the recalled symbols alone its accuracy is 1/8. ``variable`` draws the delay of each
    sequence from [1, T] (Henaff et al. 2016); the chance uses the mean delay (T + 1)/2.
    """

    settings_class = CopySettings
    settings: CopySettings

    @property
    def _blank(self) -> int:
        return self.settings.alphabet

    @property
    def io(self) -> IO:
        size = self.settings.alphabet + 2
        return IO("tokens", size, "classes", size, "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        s = self.settings
        delay = (s.delay + 1) / 2 if s.variable else s.delay
        chance = s.copy_len * math.log(s.alphabet) / (delay + 2 * s.copy_len)
        return (
            Metric("ce", "nats/step", True, chance),
            Metric("recall_accuracy", "%", False, 100.0 / s.alphabet, percent),
        )

    def _distinct_sequences(self) -> float:
        s = self.settings
        return float(s.alphabet) ** s.copy_len * (s.delay if s.variable else 1)

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        s, blank = self.settings, self._blank
        width = s.delay + 2 * s.copy_len
        delays = rng.integers(1, s.delay + 1, n) if s.variable else np.full(n, s.delay)
        symbols = rng.integers(0, s.alphabet, (n, s.copy_len))
        x = np.full((n, width), blank, dtype=np.int64)
        y = np.full((n, width), blank, dtype=np.int64)
        x[:, : s.copy_len] = symbols
        recall = s.copy_len + delays[:, None]  # where each row's recall starts
        x[np.arange(n), recall[:, 0] - 1] = blank + 1  # the delimiter
        steps = np.arange(width)
        # each row's copy_len recall steps, in order: the row's symbols in order
        y[(steps >= recall) & (steps < recall + s.copy_len)] = symbols.ravel()
        return x, y, steps < recall + s.copy_len

    def _recalled(self, batch: Batch) -> Tensor:
        return batch.mask & (batch.y < self._blank)

    def _count(self, metric: str, batch: Batch) -> int:
        return int(self._recalled(batch).sum()) if metric == "recall_accuracy" else batch.scored

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        recalled = self._recalled(batch)
        hits = outputs[recalled].argmax(-1) == batch.y[recalled]
        return {
            "ce": float(self._per_step_loss(outputs, batch).sum()),
            "recall_accuracy": float(hits.sum()),
        }

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """Memoryless: a certain blank until the recall, then uniform over the symbols."""
        size = self.io.output_size
        out = torch.full((*batch.x.shape, size), -_CERTAIN)
        recall = batch.y < self._blank  # where the recall happens is known, not what
        out[..., self._blank] = torch.where(recall, -_CERTAIN, _CERTAIN)
        out[..., : self.settings.alphabet] = torch.where(recall, 0.0, -_CERTAIN).unsqueeze(-1)
        return out
