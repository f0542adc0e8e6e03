"""The handwriting task: deterministic lines and writers, CTC worked out by hand, best-path
decoding and the character error rate, the population loss equal to each trial's, a tiny
model that learns, and ``harness sample`` and ``inspect`` on a bidirectional model."""

from __future__ import annotations

import math
import sys
from itertools import islice
from pathlib import Path

import pandas as pd
import pytest
import torch

import tasks
from harness.command import cli
from harness.training.evaluate import stack_batches
from harness.training.model import SequenceModel
from tasks.base import Batch
from tasks.handwriting import CHARACTERS, _font, best_path, decode, edit_distance, encode

TINY = {"eval_size": 8, "batch_size": 4, "max_chars": 10}


def build(**overrides: object) -> tasks.Task:
    return tasks.build("handwriting", **{**TINY, **overrides})


def same(a: list[Batch], b: list[Batch]) -> bool:
    return all(
        torch.equal(p.x, q.x) and torch.equal(p.y, q.y) and torch.equal(p.mask, q.mask)
        for p, q in zip(a, b, strict=True)
    )


def logits(probabilities: list[list[float]]) -> torch.Tensor:
    """Per frame, logits whose softmax is the given distribution, ``[T, 1, C]`` float64."""
    return torch.tensor(probabilities, dtype=torch.float64).log().unsqueeze(1)


def one_line(labels: list[int], frames: int) -> Batch:
    y = torch.zeros(frames, 1, dtype=torch.int64)
    y[: len(labels), 0] = torch.tensor(labels)
    return Batch(torch.zeros(frames, 1, 3), y, torch.ones(frames, 1, dtype=torch.bool))


def test_a_seed_decides_the_writers_and_never_the_held_out_lines() -> None:
    task = build()
    train = list(islice(task.batches("train", 1), 2))
    assert same(train, list(islice(build().batches("train", 1), 2)))
    assert not same(train, list(islice(task.batches("train", 2), 2)))
    assert same(list(task.batches("valid", 0)), list(build().batches("valid", 99)))
    assert not same(list(task.batches("valid")), list(task.batches("test")))


def test_splits_hold_different_lines_of_the_characters() -> None:
    task = build()
    lines = {s: set(task.lines(s)) for s in ("train", "valid", "test")}
    assert min(map(len, lines.values())) > 500
    assert (
        not lines["train"] & (lines["valid"] | lines["test"]) and not lines["valid"] & lines["test"]
    )
    assert all(set(t) <= set(CHARACTERS) and len(t) <= 10 for s in lines.values() for t in s)


def test_a_batch_holds_the_samples_and_the_labels_from_step_0() -> None:
    batch = next(build().batches("valid"))
    chars, samples = (batch.y != 0).sum(0), batch.mask.sum(0)
    for k in range(batch.y.shape[1]):
        assert bool((batch.y[: chars[k], k] > 0).all()) and bool(
            (batch.y[chars[k] :, k] == 0).all()
        )
        assert bool(batch.mask[: samples[k], k].all()) and not bool(
            batch.mask[samples[k] :, k].any()
        )
    assert bool((samples > 4 * chars).all())  # hundreds of samples for a dozen characters
    assert bool((batch.x[0, :, 2] == 1).all())  # every line starts with the pen put down


def test_ctc_of_one_label_in_two_frames_sums_its_three_alignments() -> None:
    # classes blank, "a": paths a a, a -, - a
    frames = [[0.6, 0.4] + [1e-9] * (len(CHARACTERS) - 1), [0.3, 0.7] + [1e-9] * 29]
    task = build()
    outputs, batch = logits(frames), one_line([1], 2)
    expected = -math.log(0.4 * 0.7 + 0.4 * 0.3 + 0.6 * 0.7)  # 0.19845...
    assert float(task.loss(outputs, batch)) == pytest.approx(expected, rel=1e-6)
    assert float(task.loss(outputs.float(), batch)) == pytest.approx(expected, rel=1e-4)


def test_ctc_of_a_repeated_label_needs_the_blank_between() -> None:
    task = build()
    frames = [[0.5, 0.5], [0.2, 0.8], [0.1, 0.9]]
    padded = [f + [1e-12] * (len(CHARACTERS) - 1) for f in frames]
    outputs, batch = logits(padded), one_line([1, 1], 3)  # "aa" in 3 frames: only a - a
    per_char = -math.log(0.5 * 0.2 * 0.9) / 2
    assert float(task.loss(outputs, batch)) == pytest.approx(per_char, rel=1e-6)
    # summed per line, as loss_reduction="sum" computes it
    scale = task.sequence_scale(Batch(batch.x, batch.y.unsqueeze(1), batch.mask.unsqueeze(1)))
    assert float(scale[0] * task.loss(outputs, batch)) == pytest.approx(2 * per_char)


def test_a_line_longer_than_its_samples_costs_nothing_and_trains_nothing() -> None:
    task = build()
    batch = one_line([1, 2, 3], 3)
    batch.mask[2:] = False  # three labels, two samples: no alignment
    outputs = torch.randn(3, 1, len(CHARACTERS) + 1, requires_grad=True)
    loss = task.loss(outputs, batch)
    loss.backward()
    assert loss.item() == 0.0 and bool(torch.isfinite(outputs.grad).all())


def test_best_path_collapses_repeats_and_drops_blanks() -> None:
    path = [0, 1, 1, 0, 1, 2, 2, 0, 0, 3, 5]  # the last step is past the line's samples
    outputs = torch.nn.functional.one_hot(torch.tensor(path), len(CHARACTERS) + 1).float()
    mask = torch.ones(len(path), 1, dtype=torch.bool)
    mask[-1] = False
    assert best_path(outputs.unsqueeze(1), mask) == [[1, 1, 2, 3]]
    assert edit_distance([1, 1, 2, 3], [1, 2, 3, 4]) == 2
    assert edit_distance([], [1, 2]) == 2 and edit_distance([3, 1], [1, 3]) == 2


def test_cer_is_edit_distance_over_characters_in_percent() -> None:
    task = build()
    truth, read = encode("abc"), encode("abd").tolist()  # and "" read for "ab"
    frames = torch.zeros(6, 2, len(CHARACTERS) + 1)
    frames[:3, 0] = torch.nn.functional.one_hot(torch.tensor(read), len(CHARACTERS) + 1).float()
    frames[:3, 0, 0] = -1.0
    frames[:, 1, 0] = 1.0  # blanks only
    y = torch.zeros(6, 2, dtype=torch.int64)
    y[:3, 0], y[:2, 1] = torch.from_numpy(truth), torch.from_numpy(encode("ab"))
    batch = Batch(torch.zeros(6, 2, 3), y, torch.ones(6, 2, dtype=torch.bool))
    scores = task.summarize(task.score(frames, batch))
    assert scores["cer"] == pytest.approx(100.0 * (1 + 2) / 5)


def test_the_population_loss_is_each_trials_loss() -> None:
    three, two = build(batch_size=3), build(batch_size=2)
    batches = [next(three.batches("train", 0)), next(two.batches("train", 1))]
    stacked = stack_batches(batches)
    torch.manual_seed(0)
    outputs = torch.randn(*stacked.mask.shape, len(CHARACTERS) + 1)
    losses = three.losses(outputs, stacked)
    for k, batch in enumerate(batches):
        steps, rows = batch.mask.shape
        alone = three.loss(outputs[:steps, k, :rows], batch)
        assert float(losses[k]) == pytest.approx(float(alone), rel=1e-5)
        per_line = float(alone) * float((batch.y != 0).sum()) / rows
        summed = float(losses[k] * three.sequence_scale(stacked)[k])
        assert summed == pytest.approx(per_line, rel=1e-5)


def test_the_trivial_output_reads_nothing_and_the_baseline_is_below_chance() -> None:
    task = build(eval_size=32)
    assert task.score_trivial()["cer"] == 100.0 == task.metrics[0].chance
    assert 80.0 < task.baseline() < 100.0


def test_a_tiny_bidirectional_model_learns_a_batch() -> None:
    task = build()
    batch = next(task.batches("train", 0))
    torch.manual_seed(0)
    model = SequenceModel(task.io, "lstm", 16, bidirectional=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    lengths = model.lengths_of(batch.mask)
    losses = []
    for _ in range(25):
        outputs, _ = model(batch.x, lengths=lengths)
        loss = task.loss(outputs, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_without_hershey_fonts_the_task_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "HersheyFonts", None)
    _font.cache_clear()
    try:
        with pytest.raises(tasks.TaskError, match=r'pip install -e "\.\[handwriting\]"'):
            build()
    finally:
        _font.cache_clear()


# --- through the command line ---------------------------------------------------------------
@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny bidirectional lstm on handwriting, trained and kept (study runs-handwriting)."""
    journal = tmp_path_factory.mktemp("handwriting") / "j.journal"
    settings = {"hidden_size": 6, "steps": 4, "eval_every": 2, "bidirectional": "true"}
    settings |= {f"task.{k}": v for k, v in TINY.items()}
    args = [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]
    run = ["run", "--variant", "lstm", "--task", "handwriting", "--device", "cpu"]
    assert cli.main([*run, *args, "--storage", str(journal)]) == 0
    return journal


def test_sample_prints_held_out_lines_beside_their_reading(
    journal: Path, capsys: pytest.CaptureFixture
) -> None:
    capsys.readouterr()
    args = ["--storage", str(journal), "--study", "runs", "--variant", "lstm"]
    code = cli.main(["sample", *args, "--task", "handwriting", "--examples", "3"])
    out, err = capsys.readouterr()
    assert code == 0 and "best-path transcriptions" in err
    rows = out.strip().splitlines()
    assert rows[0].split()[:2] == ["example", "line"] and len(rows) == 2 + 3
    first = next(build().batches("test"))
    truth = [decode(first.y[:, k]) for k in range(3)]
    assert all(f" {line} " in row for line, row in zip(truth, rows[2:]))


def test_inspect_writes_the_gate_saturation_of_a_bidirectional_model(
    journal: Path, tmp_path: Path
) -> None:
    args = ["--study", "runs", "--storage", str(journal), "--out", str(tmp_path), "--steps", "20"]
    assert cli.main(["inspect", *args, "--tasks", "handwriting"]) == 0
    saturation = pd.read_parquet(tmp_path / "saturation.parquet")
    assert set(saturation["unit"]) == set(range(12))  # 6 forward units and 6 backward
    models = pd.read_parquet(tmp_path / "models.parquet")
    assert float(models["deviation"].max()) < 1e-4
