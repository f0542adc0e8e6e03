"""A model's answers beside the targets on held-out examples of a synthetic task: what a
metric of 60 % accuracy or 0.02 squared error looks like, example by example.

Every task is read the same way (the scored steps of its test split, by its kind of
output: a class, a set of labels, a value); a ``View`` says, per built-in task, how an
example's input reads in short and which of its scored steps carry the answer (the ten
recalled symbols of the copy task, not its blanks). A task without a view (a plugin's) shows
every scored step and no input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

import tasks
from harness.training.evaluate import evaluating
from harness.training.model import SequenceModel
from tasks.addition import Addition
from tasks.long_dependency import LongDependency
from tasks.memory_add import MemoryAdd
from tasks.parity import Parity
from tasks.reber import ALPHABET, Reber


@dataclass(frozen=True)
class Answer:
    """One held-out example: its input in short, the target, the model's answer, and how
    far they agree (``yes``/``no``, hits of several steps, or a value's error)."""

    input: str
    target: str
    answer: str
    agrees: str


@dataclass(frozen=True)
class Example:
    """One sequence of a batch, time-major: inputs, targets, scored steps, model outputs."""

    x: Tensor
    y: Tensor
    mask: Tensor
    outputs: Tensor


@dataclass(frozen=True)
class View:
    """How a task's example reads: its input in short, the scored steps that carry the
    answer, and the names of its classes or labels (None: their numbers)."""

    input: Callable[[tasks.Task, Example], str]
    steps: Callable[[tasks.Task, Example], Tensor]
    symbols: Callable[[tasks.Task], Sequence[str]] | None = None


def held_out_answers(model: SequenceModel, task: tasks.Task, count: int) -> list[Answer]:
    """The model's answers on the first ``count`` sequences of ``task``'s test split."""
    view = VIEWS.get(type(task), View(lambda task, e: "", _scored))
    answers: list[Answer] = []
    with evaluating(model):
        for batch in task.batches("test"):
            outputs, _ = model(batch.x, lengths=model.lengths_of(batch.mask))
            for b in range(batch.x.shape[1]):
                if len(answers) == count:
                    return answers
                example = Example(
                    batch.x[:, b], batch.y[:, b], batch.mask[:, b], outputs[:, b].float()
                )
                answers.append(_answer(task, view, example))
    return answers


def decode(model: SequenceModel, task: Addition, text: str) -> str:
    """A sequence-to-sequence model's answer to one typed input (``task.parse``: a one-line
    error when it is none), decoded greedily as evaluation decodes: the decoder is fed its
    own previous answers, so the answer steps of the input are left blank."""
    source = task.parse(text)
    x, _, _ = task.layout(source, [task.blank] * task.answer_steps)
    with evaluating(model):
        outputs, _ = model(torch.as_tensor(x).unsqueeze(1))
    answer = ""
    for symbol in outputs[task.source_steps :, 0].argmax(-1).tolist():
        if symbol == task.end:
            break
        answer += task.symbols[symbol]
    return answer


def _answer(task: tasks.Task, view: View, example: Example) -> Answer:
    steps = view.steps(task, example)
    targets, outputs = example.y[steps], example.outputs[steps]
    kind = task.io.output
    if kind == "regression":
        error = float((outputs - targets).abs().max())
        return Answer(
            view.input(task, example), _values(targets), _values(outputs), f"off by {error:.3g}"
        )
    if kind == "classes":
        wanted, given = targets.long(), outputs.argmax(-1)
    else:  # multilabel: the set of labels on at each step
        wanted, given = targets > 0.5, outputs > 0
    hits = [bool((w == g).all()) for w, g in zip(wanted, given)]
    symbols = view.symbols(task) if view.symbols else [str(k) for k in range(task.io.output_size)]
    show = _classes if kind == "classes" else _label_sets
    agrees = ("yes" if hits[0] else "no") if len(hits) == 1 else f"{sum(hits)}/{len(hits)}"
    return Answer(view.input(task, example), show(wanted, symbols), show(given, symbols), agrees)


def _values(values: Tensor) -> str:
    return ", ".join(f"{v:.3f}" for v in values.flatten().tolist())


def _classes(ids: Tensor, symbols: Sequence[str]) -> str:
    names = [symbols[k] for k in ids.tolist()]
    return ("" if all(len(n) == 1 for n in names) else " ").join(names)


def _label_sets(on: Tensor, symbols: Sequence[str]) -> str:
    return " ".join(
        "".join(symbols[k] for k in row.nonzero().flatten().tolist()) or "-" for row in on
    )


def _scored(task: tasks.Task, example: Example) -> Tensor:
    return example.mask.nonzero().flatten()


# --- the built-in synthetic tasks -----------------------------------------------------------


def _parity_input(task: tasks.Task, example: Example) -> str:
    last = int(_scored(task, example)[-1])
    return "".join(str(bit) for bit in example.x[: last + 1].tolist())


def _copy_symbols(task: tasks.Task) -> list[str]:
    alphabet = task.settings.alphabet  # type: ignore[attr-defined]
    return [str(k) if alphabet <= 10 else f"a{k}" for k in range(alphabet)] + ["_", ":"]


def _copy_input(task: tasks.Task, example: Example) -> str:
    copied = example.x[: task.settings.copy_len]  # type: ignore[attr-defined]
    return _classes(copied, _copy_symbols(task))


def _recalled(task: tasks.Task, example: Example) -> Tensor:
    blank = task.settings.alphabet  # type: ignore[attr-defined]
    return (example.mask & (example.y < blank)).nonzero().flatten()


def _marked_values(task: tasks.Task, example: Example) -> str:
    values, markers = example.x[:, 0], example.x[:, 1] > 0.5
    return " + ".join(f"{v:.2f}" for v in values[markers].tolist())


def _queries(task: tasks.Task, example: Example) -> Tensor:
    """The scored steps; with ``every_step`` (the sum so far at every step) the last."""
    steps = _scored(task, example)
    return steps[-1:] if task.settings.every_step else steps  # type: ignore[attr-defined]


def _reber_string(task: tasks.Task, example: Example) -> str:
    read = example.x[example.mask].argmax(-1).tolist()
    return "".join(ALPHABET[k] for k in read) + "E"


def _remembered_step(task: tasks.Task, example: Example) -> Tensor:
    """The step after which only the second symbol (T or P) is legal (``Reber._last``)."""
    return (example.mask.sum() - 2).view(1)


def _sum_source(task: tasks.Task, example: Example) -> str:
    """The two numbers read, "123+45" (the answer's symbols after them are fed back)."""
    return "".join(task.symbols[int(i)] for i in example.x[: task.source_steps]).strip()


VIEWS: dict[type[tasks.Task], View] = {
    Parity: View(_parity_input, _scored, lambda task: ["even", "odd"]),
    LongDependency: View(_copy_input, _recalled, _copy_symbols),
    MemoryAdd: View(_marked_values, _queries),
    Reber: View(_reber_string, _remembered_step, lambda task: list(ALPHABET)),
    Addition: View(_sum_source, _scored, lambda task: list(task.symbols)),
}
