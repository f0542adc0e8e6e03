"""The lookahead task: each step's label is the symbol ``delay`` steps behind or ahead of it;
a reader of the past alone is at chance on the ahead steps, one of both directions is not.
(Chance of the trivial predictor, splits and seeds: tests/tasks/test_contract.py.)"""

from __future__ import annotations

import pytest
import torch

import tasks


def _valid(task: tasks.Task) -> tasks.Batch:
    return next(task.batches("valid"))


@pytest.mark.parametrize("settings", [{}, {"min_len": 6, "delay": 2, "symbols": 3}])
def test_labels_name_the_symbol_behind_or_ahead(settings) -> None:
    task = tasks.build("lookahead", eval_size=64, **settings)
    k, d = task.settings.symbols, task.settings.delay
    batch = _valid(task)
    symbols, ahead = batch.x % k, batch.x >= k
    lengths = batch.mask.sum(0)
    assert torch.all(batch.mask == (torch.arange(batch.x.shape[0]).unsqueeze(1) < lengths))
    for b in range(batch.x.shape[1]):
        for t in range(int(lengths[b])):
            source = t + d if ahead[t, b] else t - d
            assert 0 <= source < lengths[b]
            assert batch.y[t, b] == symbols[source, b]
    share = float(ahead[batch.mask].float().mean())
    assert 0.35 < share < 0.65  # about half the steps look ahead


def _oracle(task: tasks.Task, batch: tasks.Batch, future: bool) -> torch.Tensor:
    """Certain of every label it can know: the past ones, and the future ones if ``future``."""
    k = task.settings.symbols
    out = torch.zeros(*batch.x.shape, k)
    known = batch.mask & ((batch.x < k) | future)
    out[known] = 50.0 * torch.nn.functional.one_hot(batch.y[known], k).float()
    return out


def test_a_causal_reader_is_at_chance_on_the_ahead_steps() -> None:
    task = tasks.build("lookahead", eval_size=2000)
    chance = task.chance
    causal = task.evaluate(lambda batch, state: (_oracle(task, batch, False), None))
    both = task.evaluate(lambda batch, state: (_oracle(task, batch, True), None))
    assert both["accuracy"] == 100.0 and both["ahead_accuracy"] == 100.0
    assert causal["ahead_accuracy"] == pytest.approx(chance["ahead_accuracy"], abs=2.0)
    k = task.settings.symbols
    share = 0.5  # about half the steps look ahead
    assert causal["accuracy"] == pytest.approx(100 * (1 - share + share / k), abs=4.0)


@pytest.mark.parametrize(
    "settings,message",
    [
        ({"delay": 0}, "delay must be at least 1"),
        ({"symbols": 1}, "symbols must be at least 2"),
        ({"seq_len": 5}, "at least 2 × delay = 6 steps"),
        ({"min_len": 4}, "at least 2 × delay = 6 steps"),
        ({"min_len": 20}, "min_len must be in"),
    ],
)
def test_bad_settings_say_what_to_change(settings, message) -> None:
    with pytest.raises(tasks.TaskError, match=message) as error:
        tasks.build("lookahead", **settings)
    assert "\n" not in str(error.value)
