"""The adding problem, and the lecture's memory example built on it (resets, queries)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, Batch, Metric, Settings, TaskError
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask


@dataclass(frozen=True)
class MemoryAddSettings(Settings):
    seq_len: int = 50  # T
    markers: int = 2  # marked values to add per segment
    queries: int = 1  # segments; the sum is asked for at the end of each
    reset: bool = False  # a reset marker opens every segment after the first
    every_step: bool = False  # the sum so far is the target at every step, not only at queries
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.markers < 1 or self.queries < 1:
            raise TaskError(
                "markers and queries must be at least 1, "
                f"got markers={self.markers}, queries={self.queries}"
            )
        if self.seq_len < self.queries * self.markers:
            raise TaskError(
                f"seq_len={self.seq_len} is too short for {self.queries} segment(s) "
                f"of {self.markers} marker(s); make it at least "
                f"{self.queries * self.markers}"
            )


@register(
    "memory-add",
    kind="synthetic",
    description="add the marked values, report the sum (adding problem)",
)
class MemoryAdd(SyntheticTask):
    """The adding problem in its Le et al. 2015 / Arjovsky et al. 2016 form, by default:
    each step carries a value u_t ~ U[0, 1] and a marker m_t; exactly two steps are marked,
    one in each half, and after the last step the model outputs u_a + u_b (squared error).
    Predicting the mean, 1, scores Var(u_a + u_b) = 1/6: that is chance.

    Knobs make it the lecture's memory example. ``queries = Q`` cuts the sequence into Q
    segments, each with ``markers`` marked values (one in each equal part of the segment) and
    a query at its last step asking for the sum so far. With ``reset``, a reset marker at the
    start of every later segment empties the memory, so each answer is the sum of its own
    segment's values: remembering is not enough, the cell must also forget on cue.
    Input channels: value, add marker, then a reset channel (with ``reset``) and a query
    channel (with Q > 1). Chance (best constant per query): markers/12 with resets, else
    markers/12 · (Q + 1)/2.

    ``every_step`` scores the sum so far at every step (a framewise target, as in the
    speech and music tasks of Greff et al., whose per-sequence summed error gives their
    learning rates their scale). Chance is then the best prediction from the position alone,
    E[y_t] = Σ_j p_j(t) / 2, scoring the mean over steps of Var(y_t) = Σ_j p_j(t)/3 -
    p_j(t)²/4, where p_j(t) is the probability that counted marker j lies at or before t.
    """

    settings_class = MemoryAddSettings
    settings: MemoryAddSettings

    @property
    def _channels(self) -> int:
        return 2 + int(self.settings.reset) + int(self.settings.queries > 1)

    @property
    def io(self) -> IO:
        s = self.settings
        per = "per-step" if s.queries > 1 or s.every_step else "per-sequence"
        return IO("features", self._channels, "regression", 1, per)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        s = self.settings
        if s.every_step:
            chance = float(self._position_moments()[1].mean())
        else:
            chance = s.markers / 12 * (1 if s.reset else (s.queries + 1) / 2)
        return (Metric("mse", "squared error", True, chance),)

    def _position_moments(self) -> tuple[np.ndarray, np.ndarray]:
        """E[y_t] and Var(y_t) at every step t, from the markers' placement alone."""
        s = self.settings
        t = np.arange(s.seq_len, dtype=np.float64)
        mean, var = np.zeros(s.seq_len), np.zeros(s.seq_len)
        for start, stop, parts in self._segments:
            counted = (t >= start) if not s.reset else (t >= start) & (t < stop)
            for low, high in zip(parts[:-1], parts[1:]):
                p = np.clip((t - low + 1) / (high - low), 0.0, 1.0) * counted
                mean += p / 2
                var += p / 3 - p**2 / 4
        return mean, var

    @cached_property
    def _segments(self) -> list[tuple[int, int, np.ndarray]]:
        """Each segment's start and stop, and the edges of its parts (a marker in each);
        computed once, not for every batch drawn."""
        s = self.settings
        edges = np.linspace(0, s.seq_len, s.queries + 1).astype(int)
        return [
            (start, stop, np.linspace(start, stop, s.markers + 1).astype(int))
            for start, stop in zip(edges[:-1], edges[1:])
        ]

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        s = self.settings
        x = np.zeros((n, s.seq_len, self._channels), dtype=np.float32)
        x[:, :, 0] = rng.random((n, s.seq_len), dtype=np.float32)
        y = np.zeros((n, s.seq_len, 1), dtype=np.float32)
        mask = np.zeros((n, s.seq_len), dtype=bool)
        rows, total = np.arange(n), np.zeros(n, dtype=np.float64)
        for q, (start, stop, parts) in enumerate(self._segments):
            if s.reset and q > 0:
                x[:, start, 2] = 1.0
                total[:] = 0.0
            for low, high in zip(parts[:-1], parts[1:]):
                where = rng.integers(low, high, n)
                x[rows, where, 1] = 1.0
                total += x[rows, where, 0]
            if s.queries > 1:
                x[:, stop - 1, -1] = 1.0
            y[:, stop - 1, 0] = total
            mask[:, stop - 1] = True
            if s.every_step:  # the running sum since the last reset, at every step
                added = (x[:, start:stop, 0] * x[:, start:stop, 1]).astype(np.float64)
                before = 0.0 if s.reset or q == 0 else y[:, start - 1, :1]
                y[:, start:stop, 0] = (before + np.cumsum(added, 1)).reshape(n, -1)
                mask[:, start:stop] = True
        return x, y, mask

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        return {"mse": float(self._per_step_loss(outputs, batch).sum())}

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """The expected answer at each query: markers/2 per segment counted (with
        ``every_step``, the expected sum so far at each position)."""
        if self.settings.every_step:
            mean = torch.from_numpy(self._position_moments()[0][: batch.mask.shape[0]])
            return mean.float().view(-1, 1, 1).expand(*batch.mask.shape, 1)
        half = self.settings.markers / 2
        counted = (
            torch.ones_like(batch.mask, dtype=torch.float32)
            if self.settings.reset
            else batch.mask.float().cumsum(0)
        )
        return (counted * half).unsqueeze(-1)
