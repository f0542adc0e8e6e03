"""Temporal parity: is the number of ones in a bit string odd?"""

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
class ParitySettings(Settings):
    seq_len: int = 16  # T: bits per string (the longest, with min_len)
    min_len: int | None = None  # variable lengths: T drawn uniformly from [min_len, seq_len]
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.seq_len < 1:
            raise TaskError(f"seq_len must be at least 1, got {self.seq_len}")
        if self.min_len is not None and not 1 <= self.min_len <= self.seq_len:
            raise TaskError(f"min_len must be in [1, seq_len={self.seq_len}], got {self.min_len}")


@register("parity", kind="synthetic", description="parity of the ones in a bit string")
class Parity(SyntheticTask):
    """Bit strings x_1..x_T in {0, 1}; after the last bit, say whether the count of ones is
    odd (the lecture's "YES if the number of 1s is even" is the same task, labels swapped).

    The answer depends on every bit equally, so nothing short of remembering a running XOR
    over all T steps beats chance (Bengio et al. 1994; Hochreiter & Schmidhuber 1996).
    Chance: 50 % accuracy, ln 2 nats (held-out labels are balanced exactly).
    """

    settings_class = ParitySettings
    settings: ParitySettings

    io = IO("tokens", 2, "classes", 2, "per-sequence")
    metrics = (
        Metric("accuracy", "%", False, 50.0, percent),
        Metric("nll", "nats", True, math.log(2)),
    )

    def _lengths(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return lengths(self.settings.seq_len, self.settings.min_len, rng, n)

    def _distinct_sequences(self) -> float:
        s = self.settings
        return strings_up_to(s.seq_len, s.min_len, 2)

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        width = self.settings.seq_len
        last = self._lengths(rng, n)[:, None] - 1
        steps = np.arange(width)
        bits = rng.integers(0, 2, (n, width)) * (steps <= last)
        mask = steps == last
        if heldout:  # balanced labels: set the last bit so that row k has parity k % 2
            bits[mask] = 0
            bits[mask] = (bits.sum(1) + np.arange(n)) % 2
        return bits, mask * (bits.sum(1, keepdims=True) % 2), mask

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        return {
            "accuracy": accuracy_sum(outputs, batch),
            "nll": float(self._per_step_loss(outputs, batch).sum()),
        }

    def trivial_outputs(self, batch: Batch) -> Tensor:
        return torch.zeros(*batch.x.shape, 2)
