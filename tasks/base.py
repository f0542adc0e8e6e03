"""What every task provides: its input/output description, batches, loss, metrics, chance.

Every batch is time-major, with one target slot per step and a mask saying which slots are
scored, so one label per sequence (parity at the last step), several query points
(memory-add) and a target at every step (language modelling) are the same thing to a model:
``outputs [T, B, K]`` scored where ``mask [T, B]`` is true.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

SPLITS = ("train", "valid", "test")
INPUT_KINDS = ("tokens", "features")
OUTPUT_KINDS = ("classes", "multilabel", "regression")


class TaskError(ValueError):
    """A task setting, name or data file that cannot work (the message says what to do)."""


@dataclass(frozen=True)
class IO:
    """What goes in and what comes out, so the harness can attach an encoder and a head.

    input: ``"tokens"`` (x is ``[T, B]`` int64 ids below ``input_size``: use an embedding)
        or ``"features"`` (x is ``[T, B, input_size]`` float: use a linear layer).
    output: ``"classes"`` (y is ``[T, B]`` int64 below ``output_size``; softmax head),
        ``"multilabel"`` (y is ``[T, B, output_size]`` in {0, 1}; independent sigmoids) or
        ``"regression"`` (y is ``[T, B, output_size]`` float; linear head, squared error).
    targets: ``"per-sequence"`` (one scored step per sequence) or ``"per-step"``.
    stateful: the hidden state carries over from one training batch to the next (truncated
        back-propagation through time) unless ``Batch.reset`` is set.
    """

    input: str
    input_size: int
    output: str
    output_size: int
    targets: str
    stateful: bool = False


@dataclass(frozen=True)
class Metric:
    """A reported number: mean over scored steps of a per-step value, then ``transform``."""

    name: str
    unit: str
    lower_is_better: bool
    chance: float  # what a model that learned nothing scores, at the task's settings
    transform: Callable[[float], float] | None = field(default=None, compare=False, repr=False)

    def finish(self, mean: float) -> float:
        return self.transform(mean) if self.transform is not None else mean


@dataclass
class Batch:
    """One batch; ``reset`` is False where it continues the previous batch's sequences."""

    x: Tensor
    y: Tensor
    mask: Tensor
    reset: bool = True

    @property
    def scored(self) -> int:
        return int(self.mask.sum())

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.x.to(device), self.y.to(device), self.mask.to(device), self.reset)


@dataclass(frozen=True)
class Settings:
    """Settings every task has; each task adds its own knobs with their defaults."""

    batch_size: int = 32
    steps: int = 2000  # training steps of a default run
    lr: float = 1e-2  # default learning rate (Adam)
    eval_size: int = 1000  # sequences in each held-out split (synthetic tasks)

    def check(self) -> None:
        for name in ("batch_size", "steps", "eval_size"):
            if getattr(self, name) < 1:
                raise TaskError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise TaskError(f"lr must be positive, got {self.lr}")


class Task:
    """Base class. Subclasses set ``name``, ``settings_class``, and implement ``io``,
    ``metrics``, ``batches``, ``_score`` and ``trivial_outputs``."""

    name: ClassVar[str] = ""
    settings_class: ClassVar[type[Settings]] = Settings
    #: True where the target at step t is the input at t + 1 (language model, music, Reber):
    #: a network that reads the sequence backwards would see the answer
    predicts_next: ClassVar[bool] = False

    def __init__(self, settings: Settings) -> None:
        settings.check()
        self.settings = settings

    # --- what subclasses provide ---------------------------------------------------------
    @property
    def io(self) -> IO:
        raise NotImplementedError

    @property
    def metrics(self) -> tuple[Metric, ...]:
        """The metrics, the primary one (used for model selection) first."""
        raise NotImplementedError

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        """Training batches (an endless stream from ``seed``) or a held-out split (finite,
        the same whatever the seed)."""
        raise NotImplementedError

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """What a model that learned nothing outputs for ``batch``: it scores the chance."""
        raise NotImplementedError

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        """Sum over the scored steps of each metric's per-step value."""
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Provenance and settings, recorded with every run."""
        return {
            "task": self.name,
            "settings": asdict(self.settings),
            "io": asdict(self.io),
            "source": self.source,
        }

    @property
    def source(self) -> Any:
        """Where the data comes from, in full (recorded with results)."""
        return "generated"

    @property
    def source_label(self) -> str:
        """Where the data comes from, in a few words (for listings)."""
        return "generated from the seed"

    @property
    def chance(self) -> dict[str, float]:
        return {m.name: m.chance for m in self.metrics}

    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """The training loss: mean over scored steps (cross-entropy, summed binary
        cross-entropy over labels, or squared error), in nats or squared units."""
        return self._per_step_loss(outputs, batch).sum() / max(batch.scored, 1)

    def losses(self, outputs: Tensor, batch: Batch) -> Tensor:
        """``loss`` of K trials at once, ``[K]``: ``outputs`` ``[T, K, B, ...]`` and a batch
        whose tensors are stacked along dimension 1 (``mask`` ``[T, K, B]``)."""
        per_step = self._per_step_loss(outputs, batch)
        if per_step.numel() == batch.mask.numel():  # every slot scored: already dense
            dense = per_step.view(batch.mask.shape)
        else:
            dense = per_step.new_zeros(batch.mask.shape)
            dense[batch.mask] = per_step
        return dense.sum((0, 2)) / batch.mask.sum((0, 2)).clamp(min=1)

    def sequence_scale(self, batch: Batch) -> Tensor:
        """Per trial, ``[K]`` float64 (a batch stacked along dimension 1, as ``losses``
        takes it): the factor that turns the mean loss per scored step into the loss summed
        over each sequence's scored steps and outputs and averaged over the sequences, as
        Greff et al.'s library computes its errors (pylstm, error_functions.py; its squared
        error is halved, 0.5 Σ (y - t)², and so is this one's)."""
        scored = batch.mask.sum((0, 2)).to(torch.float64)
        sequences = batch.mask.any(0).sum(-1).clamp(min=1).to(torch.float64)
        outputs = self.io.output_size / 2 if self.io.output == "regression" else 1.0
        return scored * outputs / sequences

    def _per_step_loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Loss at each scored step, shape ``[scored]``."""
        out, y = at_scored(batch.mask, outputs, batch.y)
        # at least float32 (outputs may be bfloat16 under autocast), float64 kept as it is
        out = out if out.dtype == torch.float64 else out.float()
        kind = self.io.output
        if kind == "classes":
            return F.nll_loss(log_softmax(out), y, reduction="none")
        if kind == "multilabel":
            return F.binary_cross_entropy_with_logits(out, y.to(out.dtype), reduction="none").sum(
                -1
            )
        return (out - y.to(out.dtype)).pow(2).mean(-1)

    def score(self, outputs: Tensor, batch: Batch) -> dict[str, tuple[float, int]]:
        """Per metric, the sum over scored steps and their count (to average over batches)."""
        with torch.no_grad():
            sums = self._score(outputs, batch)
        return {m.name: (sums[m.name], self._count(m.name, batch)) for m in self.metrics}

    def _count(self, metric: str, batch: Batch) -> int:
        return batch.scored

    def summarize(self, totals: dict[str, tuple[float, int]]) -> dict[str, float]:
        return {
            m.name: m.finish(totals[m.name][0] / max(totals[m.name][1], 1)) for m in self.metrics
        }

    def evaluate(
        self, predict: Callable[[Batch, Any], tuple[Tensor, Any]], split: str = "valid"
    ) -> dict[str, float]:
        """Score ``predict(batch, state) -> (outputs, state)`` over a held-out split; the state
        is carried between batches that continue each other."""
        totals: dict[str, tuple[float, int]] = {}
        state = None
        for batch in self.batches(split):
            if batch.reset:
                state = None
            outputs, state = predict(batch, state)
            for name, (s, n) in self.score(outputs, batch).items():
                old = totals.get(name, (0.0, 0))
                totals[name] = (old[0] + s, old[1] + n)
        return self.summarize(totals)

    def baseline(self) -> float:
        """The primary metric of the task's trivial model (the frequencies of its targets,
        learned from data, not the sequence): what a trial must beat to count as trained.
        By default the chance level; a task whose chance is uniform guessing overrides it
        with its unigram or marginal model."""
        return self.metrics[0].chance

    def score_trivial(self, split: str = "valid") -> dict[str, float]:
        """The metrics of the predictor that learned nothing (equal to the chance levels)."""
        return self.evaluate(lambda batch, state: (self.trivial_outputs(batch), None), split)


def at_scored(mask: Tensor, *values: Tensor) -> tuple[Tensor, ...]:
    """Each of ``values`` at the scored slots, ``[scored, ...]``, in the order of
    ``value[mask]``: where every slot is scored (a language model, a fixed-length copy
    task), the slots flattened, without the boolean gather (and its scatter back in the
    backward pass) that costs more than the loss itself."""
    if mask.all():
        return tuple(v.reshape(-1, *v.shape[mask.dim() :]) for v in values)
    return tuple(v[mask] for v in values)


def log_softmax(logits: Tensor) -> Tensor:
    """``F.log_softmax(logits, -1)`` (``[rows, classes]``). Under 16 classes torch's CPU
    kernel along the last dimension runs one row at a time (4-7x slower forward and
    backward, measured at 2-15 classes: the copy task's 10, lookahead's 4); along the
    first dimension of the transposed logits it runs the rows side by side with the same
    arithmetic (float32 bitwise equal where the CPU has AVX-512)."""
    if logits.device.type == "cpu" and logits.shape[-1] < 16:
        return F.log_softmax(logits.t(), 0).t()
    return F.log_softmax(logits, -1)


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise TaskError(f"unknown split {split!r}; splits are {', '.join(SPLITS)}")


def nll_to_bits(nats: float) -> float:
    return nats / math.log(2)


def percent(mean: float) -> float:
    return 100.0 * mean


def accuracy_sum(outputs: Tensor, batch: Batch) -> float:
    """Number of scored steps whose most likely class is the target."""
    out, y = at_scored(batch.mask, outputs, batch.y)
    return float((out.argmax(-1) == y).sum())
