"""The generated tasks compute what their definitions say (recomputed here from the inputs)."""

from __future__ import annotations

from itertools import islice

import pytest
import torch

import tasks
from tasks.reber import _GRAMMAR, ALPHABET


def batches(task: tasks.Task, split: str = "train", n: int = 5) -> list[tasks.Batch]:
    return list(islice(task.batches(split, seed=2), n))


@pytest.mark.parametrize("overrides", [{}, {"seq_len": 30, "min_len": 3}])
def test_parity_label_is_the_parity_at_the_last_bit(overrides: dict) -> None:
    task = tasks.build("parity", **overrides)
    lengths = set()
    for b in batches(task) + batches(task, "valid"):
        last = b.mask.float().argmax(0)  # the one scored step per sequence
        for k in range(b.x.shape[1]):
            t = int(last[k])
            lengths.add(t + 1)
            assert int(b.y[t, k]) == int(b.x[: t + 1, k].sum()) % 2
            assert int(b.x[t + 1 :, k].sum()) == 0  # nothing after the end
    assert lengths == ({16} if not overrides else set(range(3, 31)))
    labels = torch.cat([b.y[b.mask] for b in task.batches("valid")])
    assert labels.float().mean() == 0.5  # held-out labels balanced exactly


def test_parity_refuses_a_space_too_small_to_hold_out() -> None:
    with pytest.raises(tasks.TaskError, match="only 64 distinct sequences"):
        next(tasks.build("parity", seq_len=6).batches("train"))


@pytest.mark.parametrize(
    ("overrides", "channels", "chance"),
    [
        ({}, 2, 1 / 6),
        ({"queries": 3}, 3, 2 / 12 * 2),
        ({"queries": 3, "reset": True}, 4, 2 / 12),
        ({"queries": 2, "markers": 3, "reset": True, "seq_len": 40}, 4, 3 / 12),
    ],
)
def test_memory_add_targets_are_the_sums_since_the_last_reset(overrides, channels, chance):
    task = tasks.build("memory-add", **overrides)
    assert task.io.input_size == channels and task.chance["mse"] == pytest.approx(chance)
    queries = overrides.get("queries", 1)
    for b in batches(task):
        value, add = b.x[..., 0], b.x[..., 1]
        reset = b.x[..., 2] if overrides.get("reset") else torch.zeros_like(value)
        memory = torch.zeros(b.x.shape[1])
        for t in range(b.x.shape[0]):
            memory = torch.where(reset[t] > 0, torch.zeros_like(memory), memory)
            memory = memory + value[t] * add[t]
            scored = b.mask[t]
            torch.testing.assert_close(b.y[t, scored, 0], memory[scored])
        assert torch.all(b.mask.sum(0) == queries)
        assert torch.all(add.sum(0) == queries * overrides.get("markers", 2))
    # classic form: one marker in each half
    if not overrides:
        b = batches(task, n=1)[0]
        half = b.x.shape[0] // 2
        assert torch.all(b.x[:half, :, 1].sum(0) == 1) and torch.all(b.x[half:, :, 1].sum(0) == 1)


@pytest.mark.parametrize("variable", [False, True])
def test_copy_memory_layout(variable: bool) -> None:
    task = tasks.build("long-dependency", delay=30, variable=variable)
    blank, delimiter = 8, 9
    delays = set()
    for b in batches(task):
        for k in range(b.x.shape[1]):
            length = int(b.mask[:, k].sum())
            delay = length - 20
            delays.add(delay)
            x, y = b.x[:length, k], b.y[:length, k]
            assert torch.all(x[:10] < 8)
            assert int(x[10 + delay - 1]) == delimiter
            assert torch.all(x[10 : 10 + delay - 1] == blank) and torch.all(
                x[10 + delay :] == blank
            )
            assert torch.all(y[: delay + 10] == blank) and torch.equal(y[delay + 10 :], x[:10])
    assert delays == {30} if not variable else len(delays) > 20
    assert task.chance["ce"] == pytest.approx(
        10 * torch.log(torch.tensor(8.0)).item() / ((15.5 if variable else 30) + 20)
    )


def test_reber_strings_follow_the_grammar_and_targets_are_the_legal_sets() -> None:
    task = tasks.build("reber")
    for b in batches(task) + batches(task, "valid", 2):
        for k in range(b.x.shape[1]):
            steps = int(b.mask[:, k].sum())
            text = "".join(ALPHABET[int(i)] for i in b.x[:steps, k].argmax(-1))
            legal = ["".join(ALPHABET[j] for j in range(7) if b.y[t, k, j]) for t in range(steps)]
            assert text[0] == "B" and text[1] in "TP" and text[2] == "B"
            assert legal[0] == "TP" and legal[1] == "B" and legal[-1] == "E"
            assert legal[-2] == text[1]  # after the inner E only the 2nd symbol is legal
            state = 0
            for t, symbol in enumerate(text[2:-2], start=2):  # walk the inner automaton
                nxt = dict(_GRAMMAR[state])
                assert symbol in nxt, text
                state = nxt[symbol]
                assert set(legal[t]) == ({s for s, _ in _GRAMMAR[state]} if state != 6 else {"E"})
            assert state == 6 and text[-2] == "E" and text[-1] == text[1]
    inner = [
        int(b.mask[:, k].sum()) - 3 for b in task.batches("valid") for k in range(b.x.shape[1])
    ]
    assert min(inner) >= task.settings.heldout_min_len


def test_a_model_that_remembers_scores_full_marks_on_reber() -> None:
    # the oracle output: legal symbols get +10, others -10
    task = tasks.build("reber", eval_size=200)
    scores = task.evaluate(lambda b, s: ((b.y * 20 - 10), None))
    assert scores["remembered"] == 100.0 and scores["solved"] == 100.0
    assert scores["nll"] < 1e-3
