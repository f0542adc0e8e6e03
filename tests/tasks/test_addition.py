"""The addition task: its layout (source, start symbol, answer), lengths that differ, chance
levels a model that learned nothing scores, scoring, and bad settings in one line."""

from __future__ import annotations

from itertools import islice

import numpy as np
import pytest
import torch

import tasks
from tasks.addition import SYMBOLS


def text(ids) -> str:
    return "".join(SYMBOLS[int(i)] for i in ids)


def test_an_example_is_the_source_then_the_answer_after_the_start_symbol() -> None:
    task = tasks.build("addition", digits=3)
    x, y, mask = task.layout(*task.encode(123, 45))
    assert text(x) == " 123+45=168 "  # left-padded source, "=", the answer fed back
    assert text(y[mask]) == "168."  # scored: the answer and its end
    assert mask.nonzero()[0].min() == task.source_steps == 7
    # training and held-out rows are sums, and their answers' lengths differ
    lengths = set()
    for batch in islice(task.batches("train", 2), 3):
        for k in range(batch.x.shape[1]):
            source = text(batch.x[: task.source_steps, k]).strip()
            a, b = map(int, source.split("+"))
            assert text(batch.y[batch.mask[:, k], k]) == f"{a + b}."
            lengths.add(int(batch.mask[:, k].sum()))
    assert len(lengths) > 1


def test_the_trivial_predictor_scores_chance_on_both_held_out_splits() -> None:
    task = tasks.build("addition", digits=3, eval_size=2000)
    chance = task.chance
    assert 0 < chance["exact"] < 10 and 20 < chance["token_accuracy"] < 60
    assert task.score_trivial("valid") == pytest.approx(chance, rel=1e-9)
    test = task.score_trivial("test")
    assert test["token_accuracy"] == pytest.approx(chance["token_accuracy"], abs=3)
    assert test["exact"] == pytest.approx(chance["exact"], abs=1.5)


def test_exact_match_needs_every_symbol_and_token_accuracy_counts_them() -> None:
    task = tasks.build("addition", digits=2, eval_size=64)
    batch = next(task.batches("valid"))
    perfect = torch.nn.functional.one_hot(batch.y, len(SYMBOLS)).float()
    assert task.summarize(task.score(perfect, batch)) == {"exact": 100.0, "token_accuracy": 100.0}
    wrong = perfect.clone()
    first = batch.mask.float().argmax(0)  # each sequence's first answer step
    wrong[first, torch.arange(batch.x.shape[1])] = wrong[
        first, torch.arange(batch.x.shape[1])
    ].roll(1, -1)
    scored = task.summarize(task.score(wrong, batch))
    assert scored["exact"] == 0.0
    assert scored["token_accuracy"] == pytest.approx(100 * (1 - batch.x.shape[1] / batch.scored))


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"min_digits": 0}, "min_digits must be in [1, digits=3], got 0"),
        ({"digits": 2, "min_digits": 3}, "min_digits must be in [1, digits=2], got 3"),
        ({"digits": 12}, "digits must be at most 9, got 12"),
        ({"digits": 1, "eval_size": 1000}, "only 100 distinct sequences"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings: dict, message: str) -> None:
    with pytest.raises(tasks.TaskError) as error:
        tasks.build("addition", **settings).metrics
    assert message in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(tasks.TaskError, match="two numbers of 1 to 3 digits"):
        tasks.build("addition").parse("12+")


def test_rows_drawn_together_are_each_examples_layout() -> None:
    """``_generate`` builds all rows at once; each is ``layout(*encode(a, b))`` of its
    operands, the one-example form that sampling and answers use."""
    task = tasks.build("addition", digits=4, min_digits=1)
    x, y, mask = task._generate(np.random.default_rng(0), 300, heldout=False)
    rng = np.random.default_rng(0)
    operands = zip(task._operands(rng, 300), task._operands(rng, 300))
    for row, (a, b) in enumerate(operands):
        for drawn, example in zip((x, y, mask), task.layout(*task.encode(int(a), int(b)))):
            assert drawn[row].dtype == example.dtype and (drawn[row] == example).all()
