"""The embedded Reber grammar: predict the legal next symbols, and remember the second one."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, Batch, Metric, Settings, TaskError, percent
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask

ALPHABET = "BTPSXVE"
_ID = {c: k for k, c in enumerate(ALPHABET)}
# Reber automaton (Cleeremans et al. 1989): state -> [(symbol, next state)], branches equiprobable
_GRAMMAR = {
    0: [("B", 1)],
    1: [("T", 2), ("P", 3)],
    2: [("S", 2), ("X", 4)],
    3: [("T", 3), ("V", 5)],
    4: [("X", 3), ("S", 6)],
    5: [("P", 4), ("V", 6)],
}
_END = 6


@dataclass(frozen=True)
class ReberSettings(Settings):
    max_len: int = 50  # longest embedded string kept (longer draws are drawn again)
    heldout_min_len: int = 15  # held-out inner strings are at least this long
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.max_len < 9:
            raise TaskError(
                f"max_len must be at least 9 (the shortest embedded string), got {self.max_len}"
            )
        if not 5 <= self.heldout_min_len <= self.max_len - 4:
            raise TaskError(
                f"heldout_min_len must be in [5, max_len - 4 = {self.max_len - 4}], "
                f"got {self.heldout_min_len}"
            )


class _Coins:
    """Fair coin flips drawn from ``rng`` a few thousand at a time (one call per flip is slow)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng, self.flips, self.next = rng, np.empty(0, dtype=np.int64), 0

    def __call__(self) -> int:
        if self.next == len(self.flips):
            self.flips, self.next = self.rng.integers(0, 2, 4096), 0
        self.next += 1
        return int(self.flips[self.next - 1])


# a step's target as bits, bit k for symbol k of ALPHABET; _LEGAL[state]: what may follow
# a symbol that took the automaton to ``state`` (the inner string's E, at _END)
_BIT = {c: 1 << k for k, c in enumerate(ALPHABET)}
_LEGAL = {
    state: sum(_BIT[s] for s, _ in _GRAMMAR.get(state, [("E", None)])) for state in range(_END + 1)
}


def _inner(coin: _Coins) -> tuple[list[int], list[int]]:
    """One Reber string's symbol ids (its E included) and, after each symbol before the E,
    the legal next symbols as bits (``_BIT``)."""
    state, ids, legal = 0, [], []
    while state != _END:
        options = _GRAMMAR[state]
        symbol, state = options[coin()] if len(options) == 2 else options[0]
        ids.append(_ID[symbol])
        legal.append(_LEGAL[state])
    return ids + [_ID["E"]], legal


@register(
    "reber",
    kind="synthetic",
    description="embedded Reber grammar: legal next symbols; remember the 2nd symbol",
)
class Reber(SyntheticTask):
    """The embedded Reber grammar (Hochreiter & Schmidhuber 1997, experiment 1).

    Strings B (T|P) <Reber string> (same T|P) E over the alphabet B T P S X V E, one-hot in;
    at every step the target is the set of legal next symbols (independent sigmoids, binary
    cross-entropy summed over the 7 symbols). Inside the inner string the next symbol is a
    coin flip between two, but after the inner E only the T or P seen at step 2 is legal:
    ``remembered`` is the share of strings where the model prefers it over the other
    (chance 50 %, held-out strings balanced). ``solved`` is the share of strings whose every
    step's most likely symbol is legal (the 1997 success criterion; chance 0). ``nll`` has
    chance 7 ln 2 (every output 1/2). Held-out inner strings are at least
    ``heldout_min_len`` long: rare enough that training can do without them, and a harder
    test of memory than the typical string (inner length: median 7, 99th percentile 20).
    """

    settings_class = ReberSettings
    predicts_next = True  # the target at t is (what follows) the input at t + 1
    settings: ReberSettings

    io = IO("features", 7, "multilabel", 7, "per-step")
    metrics = (
        Metric("nll", "nats/step", True, 7 * math.log(2)),
        Metric("remembered", "%", False, 50.0, percent),
        Metric("solved", "%", False, 0.0, percent),
    )

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        s = self.settings
        width = s.max_len - 1
        # every row's symbol ids and legal next symbols (bits) one after the other, then
        # one-hot for all rows at once: setting them symbol by symbol took half of a step
        symbols: list[int] = []
        legal: list[int] = []
        lengths = np.zeros(n, dtype=np.int64)
        coin = _Coins(rng)
        for k in range(n):
            while True:
                inner, inner_legal = _inner(coin)
                long_enough = len(inner) >= s.heldout_min_len or not heldout
                if long_enough and len(inner) + 4 <= s.max_len:
                    break
            second = "TP"[k % 2] if heldout else "TP"[coin()]
            symbols += [_ID["B"], _ID[second], *inner, _ID[second]]  # the final E: no input
            legal += [_BIT["T"] | _BIT["P"], _BIT["B"], *inner_legal, _BIT[second], _BIT["E"]]
            lengths[k] = len(inner) + 3
        mask = np.arange(width) < lengths[:, None]
        ids = np.arange(7)
        x = np.zeros((n, width, 7), dtype=np.float32)
        y = np.zeros((n, width, 7), dtype=np.float32)
        x[mask] = np.array(symbols)[:, None] == ids
        y[mask] = np.array(legal)[:, None] >> ids & 1
        return x, y, mask

    def _last(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(time index, batch index) of the step whose target is the remembered symbol."""
        last = batch.mask.sum(0) - 2  # the target after it is the final E
        return last, torch.arange(batch.mask.shape[1])

    def _count(self, metric: str, batch: Batch) -> int:
        return batch.scored if metric == "nll" else batch.mask.shape[1]

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        t, b = self._last(batch)
        tp = [_ID["T"], _ID["P"]]
        chosen = outputs[t, b][:, tp].argmax(-1)
        wanted = batch.y[t, b][:, tp].argmax(-1)
        picked = outputs.argmax(-1, keepdim=True)
        legal = batch.y.gather(-1, picked).squeeze(-1) > 0
        solved = (legal | ~batch.mask).all(0)
        return {
            "nll": float(self._per_step_loss(outputs, batch).sum()),
            "remembered": float((chosen == wanted).sum()),
            "solved": float(solved.sum()),
        }

    def trivial_outputs(self, batch: Batch) -> Tensor:
        return torch.zeros(*batch.mask.shape, 7)

    def baseline(self) -> float:
        """The marginal model of the valid split: each symbol legal next with its own
        frequency over the scored steps, whatever came before; nats per step (the sum of
        the 7 symbols' binary entropies)."""
        legal, steps = np.zeros(7), 0
        for batch in self.batches("valid"):
            legal += batch.y[batch.mask].sum(0).double().numpy()
            steps += batch.scored
        p = np.clip(legal / steps, 1e-12, 1 - 1e-12)
        return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).sum())
