"""Addition as a sequence-to-sequence task: read "123+45", answer "168".

Inputs and outputs share one vocabulary (``SYMBOLS``) and one time axis, so that the
harness's loop and batches serve it unchanged (``model(batch.x)``, scored where ``mask``):

    steps 0 .. S-1    the source, left-padded with blanks: "  123+45" (S = 2 digits + 1)
    step  S           "=", the decoder's start symbol
    steps S+1 ..      the answer's earlier symbols (teacher forcing), then blanks

The targets, scored from step S on, are the answer's digits and the end symbol "."; their
count differs from the source's. A model must read the source first and answer after "=":
``sequence_to_sequence`` marks the task for the encoder-decoder architecture
(``harness.training.seq2seq``), which feeds the decoder the given previous symbols in
training and its own previous answers (greedy) at evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, Batch, Metric, Settings, TaskError, percent
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask

SYMBOLS = "0123456789+=. "  # digits, plus, start ("="), end ("."), blank
PLUS, START, END, BLANK = 10, 11, 12, 13


@dataclass(frozen=True)
class AdditionSettings(Settings):
    digits: int = 3  # most digits of an operand
    min_digits: int = 1  # fewest digits of an operand
    steps: int = 3000
    lr: float = 5e-3

    def check(self) -> None:
        super().check()
        if not 1 <= self.min_digits <= self.digits:
            raise TaskError(
                f"min_digits must be in [1, digits={self.digits}], got {self.min_digits}"
            )
        if self.digits > 9:
            raise TaskError(f"digits must be at most 9, got {self.digits}")


@register(
    "addition",
    kind="synthetic",
    description="add two numbers given as digits (sequence to sequence)",
)
class Addition(SyntheticTask):
    """Two operands of ``min_digits`` to ``digits`` digits (the count uniform, then the
    number uniform among those with that many digits), written "a+b"; the answer is the
    sum's digits, most significant first, then "." (so its length differs from the
    source's and from one example to another).

    Scored by ``exact`` (the share of answers right in every symbol, the end included) and
    ``token_accuracy`` (the share of answer symbols right). Chance is what the best
    prediction from the position alone scores: at each answer step the most frequent
    symbol there on the validation split (``trivial_outputs``), both metrics measured on it.
    """

    settings_class = AdditionSettings
    settings: AdditionSettings
    sequence_to_sequence = True
    symbols = SYMBOLS
    start, end, blank = START, END, BLANK

    io = IO("tokens", len(SYMBOLS), "classes", len(SYMBOLS), "per-step")

    @property
    def source_steps(self) -> int:
        """Steps of the source: the encoder reads them, the decoder starts after them."""
        return 2 * self.settings.digits + 1

    @property
    def answer_steps(self) -> int:
        """The most answer steps: the sum's digits (one more than an operand's) and '.'."""
        return self.settings.digits + 2

    @property
    def metrics(self) -> tuple[Metric, ...]:
        exact, token = self._chance
        return (
            Metric("exact", "%", False, exact, percent),
            Metric("token_accuracy", "%", False, token, percent),
        )

    def _counts(self) -> list[int]:
        return [
            10 if d == 1 else 9 * 10 ** (d - 1)
            for d in range(self.settings.min_digits, self.settings.digits + 1)
        ]

    def _distinct_sequences(self) -> float:
        return float(sum(self._counts())) ** 2

    def _operands(self, rng: np.random.Generator, n: int) -> np.ndarray:
        s = self.settings
        lengths = rng.integers(s.min_digits, s.digits + 1, n)
        low = np.where(lengths == 1, 0, 10 ** (lengths - 1))
        return rng.integers(low, 10**lengths)

    def encode(self, a: int, b: int) -> tuple[list[int], list[int]]:
        """The source's and the answer's symbol ids for ``a + b``."""
        source = [SYMBOLS.index(c) for c in f"{a}+{b}"]
        return source, [SYMBOLS.index(c) for c in str(a + b)] + [END]

    def parse(self, text: str) -> list[int]:
        """A source typed as "123+45" as symbol ids (a one-line TaskError if it is none)."""
        s, text = self.settings, text.strip()
        parts = text.split("+")
        if (
            len(parts) != 2
            or not all(p.isdigit() for p in parts)
            or not all(1 <= len(p) <= s.digits for p in parts)
        ):
            raise TaskError(
                f"an input of task 'addition' is two numbers of 1 to {s.digits} "
                f"digits joined by '+', e.g. '123+45'; got {text!r}"
            )
        return [SYMBOLS.index(c) for c in text]

    def layout(self, source: list[int], answer: list[int]) -> tuple[np.ndarray, ...]:
        """One example's x, y and mask, ``[source_steps + answer_steps]`` each."""
        width, start = self.source_steps + self.answer_steps, self.source_steps
        x = np.full(width, BLANK, dtype=np.int64)
        y = np.zeros(width, dtype=np.int64)
        mask = np.zeros(width, dtype=bool)
        x[start - len(source) : start] = source
        x[start] = START
        x[start + 1 : start + len(answer)] = answer[:-1]
        y[start : start + len(answer)] = answer
        mask[start : start + len(answer)] = True
        return x, y, mask

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        """``layout(*encode(a, b))`` of every row, built for all rows at once with numpy
        (a row at a time in Python took a third of a training step)."""
        a, b = self._operands(rng, n), self._operands(rng, n)
        total, start = a + b, self.source_steps
        # the source "a+b" right-aligned before ``start``: r counts steps back from its end
        r, b_digits = np.arange(start)[::-1][None, :], _digit_count(b)
        a_at = r - b_digits - 1  # the place of a's digit at each step
        source = np.where(r < b_digits, _digit(b, r), BLANK)
        source[r == b_digits] = PLUS
        source = np.where((a_at >= 0) & (a_at < _digit_count(a)), _digit(a, a_at), source)
        # the answer: the sum's digits, most significant first, then the end symbol
        k = np.arange(self.answer_steps)[None, :]
        place = _digit_count(total) - 1 - k
        answer = np.where(place >= 0, _digit(total, place), np.where(place == -1, END, 0))
        fed = np.where(place >= -1, np.roll(answer, 1, 1), BLANK)  # the previous symbols
        fed[:, 0] = START
        blank = np.zeros((n, start), dtype=np.int64)
        return (
            np.hstack([source, fed]),
            np.hstack([blank, answer]),
            np.hstack([blank.astype(bool), place >= -1]),
        )

    @cached_property
    def _modes(self) -> np.ndarray:
        """The most frequent target symbol at each step of the validation split."""
        _, y, mask = self._heldout["valid"]
        modes = np.full(y.shape[1], END, dtype=np.int64)
        for t in range(y.shape[1]):
            if mask[:, t].any():
                modes[t] = np.bincount(y[mask[:, t], t], minlength=len(SYMBOLS)).argmax()
        return modes

    @cached_property
    def _chance(self) -> tuple[float, float]:
        _, y, mask = self._heldout["valid"]
        right = (y == self._modes[None]) | ~mask
        return 100.0 * float(right.all(1).mean()), 100.0 * float(
            ((y == self._modes[None]) & mask).sum() / mask.sum()
        )

    def trivial_outputs(self, batch: Batch) -> Tensor:
        modes = torch.from_numpy(self._modes[: batch.mask.shape[0]])
        out = torch.zeros(*batch.mask.shape, len(SYMBOLS))
        out.scatter_(2, modes.view(-1, 1, 1).expand(*batch.mask.shape, 1), 1.0)
        return out

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        right = outputs.argmax(-1) == batch.y
        whole = (right | ~batch.mask).all(0) & batch.mask.any(0)
        return {"exact": float(whole.sum()), "token_accuracy": float((right & batch.mask).sum())}

    def _count(self, metric: str, batch: Batch) -> int:
        return int(batch.mask.any(0).sum()) if metric == "exact" else batch.scored


def _digit_count(values: np.ndarray) -> np.ndarray:
    """``[n, 1]``: how many digits each of ``values`` (``[n]``, below 10^10) is written
    with (0 with one)."""
    return 1 + (values[:, None] >= 10 ** np.arange(1, 11)).sum(1, keepdims=True)


def _digit(values: np.ndarray, place: np.ndarray) -> np.ndarray:
    """The digit of each of ``values`` (``[n]``) at ``place`` (10^place; ``[n or 1, T]``,
    negative places read as 0)."""
    return values[:, None] // 10 ** np.maximum(place, 0) % 10
