"""The contract every registered task keeps; parametrized over the registry, so a newly
registered task is tested with no edit here."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from itertools import islice

import pytest
import torch

import tasks
from tests.tasks.data import data_dir

NEEDS_DATA = {"music"}  # tasks whose defaults read the data folder


def build(name: str, **overrides: object) -> tasks.Task:
    if name in NEEDS_DATA:
        overrides.setdefault("data_dir", str(data_dir()))
    return tasks.build(name, **overrides)


def fingerprint(batches) -> str:
    digest = hashlib.sha256()
    for b in batches:
        for t in (b.x, b.y, b.mask):
            digest.update(t.numpy().tobytes())
        digest.update(bytes([b.reset]))
    return digest.hexdigest()


def first(task: tasks.Task, split: str, seed: int = 0, n: int = 3) -> list[tasks.Batch]:
    return list(islice(task.batches(split, seed), n))


@pytest.mark.parametrize("name", tasks.names())
def test_batches_match_the_io_description(name: str) -> None:
    task = build(name)
    io = task.io
    for split in ("train", "valid"):
        for b in first(task, split):
            steps, batch = b.mask.shape
            assert b.mask.dtype == torch.bool and b.scored > 0
            if io.input == "tokens":
                assert b.x.shape == (steps, batch) and b.x.dtype == torch.int64
                assert 0 <= int(b.x.min()) and int(b.x.max()) < io.input_size
            else:
                assert b.x.shape == (steps, batch, io.input_size) and b.x.is_floating_point()
            if io.output == "classes":
                assert b.y.shape == (steps, batch) and int(b.y[b.mask].max()) < io.output_size
            else:
                assert b.y.shape == (steps, batch, io.output_size)
            if io.targets == "per-sequence":
                assert torch.all(b.mask.sum(0) == 1)
    assert task.metrics[0].name in task.chance


@pytest.mark.parametrize("name", tasks.names())
def test_seeds_decide_training_data_and_never_the_held_out_data(name: str) -> None:
    task = build(name)
    assert fingerprint(first(task, "train", 3)) == fingerprint(first(build(name), "train", 3))
    assert fingerprint(first(task, "train", 3)) != fingerprint(first(task, "train", 4))
    for split in ("valid", "test"):
        assert fingerprint(first(task, split, 0)) == fingerprint(first(build(name), split, 99))
    assert fingerprint(first(task, "valid")) != fingerprint(first(task, "test"))


def test_same_seed_same_batches_in_another_process() -> None:
    names = [n for n in tasks.names() if n not in NEEDS_DATA]
    script = (
        "import json, sys, tasks\n"
        "from itertools import islice\n"
        "from tests.tasks.test_contract import fingerprint\n"
        f"names = {names!r}\n"
        "print(json.dumps({n: [fingerprint(islice(tasks.build(n).batches(s, 7), 3))\n"
        "                      for s in ('train', 'valid', 'test')] for n in names}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    theirs = json.loads(out.stdout)
    for n in names:
        ours = [fingerprint(first(tasks.build(n), s, 7)) for s in ("train", "valid", "test")]
        assert theirs[n] == ours, n


def _sequences(batches) -> set[bytes]:
    """Each sequence of the batches as bytes (its scored steps' inputs)."""
    keys = set()
    for b in batches:
        for k in range(b.mask.shape[1]):
            length = int(b.mask[:, k].nonzero().max()) + 1
            keys.add(b.x[:length, k].numpy().tobytes())
    return keys


@pytest.mark.parametrize(
    "name", [n for n in tasks.names() if issubclass(tasks.info(n).cls, tasks.SyntheticTask)]
)
def test_splits_never_share_a_sequence(name: str) -> None:
    # short sequences make collisions likely, so the test is also run where they would happen
    small = {"parity": {"seq_len": 12}, "long-dependency": {"copy_len": 6, "alphabet": 4}}
    task = build(name, eval_size=300, **small.get(name, {}))
    valid, test = _sequences(task.batches("valid")), _sequences(task.batches("test"))
    train = _sequences(islice(task.batches("train", 1), 200))
    assert valid and test and len(train) > 100
    assert not valid & test and not train & (valid | test)


CHANCE_CHECK = {  # settings that make the held-out sets large enough, and the tolerance
    "parity": ({}, 1e-6),
    "reber": ({}, 1e-6),
    "long-dependency": ({"eval_size": 5000}, 0.03),
    "memory-add": ({"eval_size": 20000}, 0.03),
    "lm": ({"eval_tokens": 20000}, 1e-5),
    "music": ({}, 1e-6),
    "addition": ({}, 1e-6),  # chance measured on the validation split itself
    "lookahead": ({"eval_size": 5000}, 0.03),  # uniform symbols: the first is right 1/k
    "speech": ({}, 1e-5),  # the valid frames' phone frequencies; nll in float32
    "handwriting": ({}, 1e-6),  # blanks read nothing; the ctc chance is the valid split's
}


@pytest.mark.parametrize("name", tasks.names())
def test_the_trivial_predictor_scores_the_stated_chance(name: str) -> None:
    assert name in CHANCE_CHECK, f"add {name} to CHANCE_CHECK with a tolerance"
    overrides, rel = CHANCE_CHECK[name]
    task = build(name, **overrides)
    scored = task.score_trivial("valid")
    for metric in task.metrics:
        assert scored[metric.name] == pytest.approx(metric.chance, rel=rel, abs=1e-9), metric.name
    # the training loss of the trivial predictor is the chance of the loss-like metric
    batch = next(task.batches("valid"))
    assert torch.isfinite(task.loss(task.trivial_outputs(batch), batch))
