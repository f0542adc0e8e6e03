"""The task registry: names, defaults, overrides checked by name, type and range."""

from __future__ import annotations

import pytest

import tasks


def test_names() -> None:
    assert {"parity", "memory-add", "long-dependency", "lm", "reber"} <= set(tasks.names())
    assert tasks.names() == sorted(tasks.names())


def test_unknown_task_names_the_closest() -> None:
    with pytest.raises(tasks.UnknownTaskError, match="did you mean memory-add"):
        tasks.build("memory_add")


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("parity", {"seqlen": 5}, "no setting 'seqlen'; did you mean 'seq_len'"),
        ("parity", {"seq_len": "20"}, "setting 'seq_len' expects int, got '20'"),
        ("parity", {"seq_len": 2.5}, "expects a whole number, got 2.5"),
        ("parity", {"seq_len": 0}, "seq_len must be at least 1"),
        ("parity", {"min_len": 30}, r"min_len must be in \[1, seq_len=16\]"),
        ("parity", {"lr": -1.0}, "lr must be positive"),
        ("memory-add", {"reset": 1}, "expects bool"),
        ("memory-add", {"seq_len": 3, "queries": 2}, "too short for 2 segment"),
        ("long-dependency", {"delay": -4}, "delay must be at least 1"),
        ("long-dependency", {"alphabet": 1}, "alphabet at least 2"),
        ("reber", {"max_len": 5}, "max_len must be at least 9"),
        ("lm", {"batch_size": 0}, "batch_size must be at least 1"),
    ],
)
def test_impossible_settings_are_clear_errors(name: str, overrides: dict, message: str) -> None:
    with pytest.raises(tasks.TaskError, match=message):
        tasks.build(name, **overrides)


def test_overrides_apply_and_ints_pass_for_floats() -> None:
    task = tasks.build("parity", seq_len=24, lr=1, min_len=None)
    assert task.settings.seq_len == 24 and task.settings.lr == 1.0
    assert isinstance(task.settings.lr, float)
    assert tasks.build("parity").settings.seq_len == 16  # defaults untouched
