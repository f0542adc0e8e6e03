"""JSB Chorales: the published split, piano rolls, chance from the marginals, batches, seeds
and bad files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch

import tasks
import tasks.music  # registers "music" even before the package imports it
from tests.tasks.data import data_dir

QUARTER_SHA = "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"


@pytest.fixture(scope="module")
def music() -> tasks.Task:
    return tasks.build("music", data_dir=str(data_dir()))


@pytest.fixture(scope="module")
def raw() -> dict:
    path = data_dir() / "jsb_chorales" / "jsb-chorales-quarter.json"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == QUARTER_SHA
    return json.loads(path.read_text())


def fingerprint(batches) -> str:
    digest = hashlib.sha256()
    for b in batches:
        for t in (b.x, b.y, b.mask):
            digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def test_split_frames_and_rolls_as_published(music) -> None:
    splits = ("train", "valid", "test")
    assert [len(music.pieces(s)) for s in splits] == [229, 76, 77]
    assert [sum(len(p) for p in music.pieces(s)) for s in splits] == [13_807, 4_602, 4_725]
    lengths = {s: [len(p) for p in music.pieces(s)] for s in splits}
    assert [(min(v), max(v)) for v in lengths.values()] == [(25, 129), (32, 144), (32, 160)]
    for split, (low, high) in zip(splits, [(43, 96), (48, 96), (45, 96)]):  # README pitches
        roll = np.concatenate(music.pieces(split))
        assert roll.shape[1] == 88 and roll.dtype == np.float32
        assert set(np.unique(roll)) == {0.0, 1.0}
        assert roll.sum(1).min() >= 0 and roll.sum(1).max() == 4  # 0-4 notes per frame
        keys = np.flatnonzero(roll.any(0))
        assert (keys.min() + 21, keys.max() + 21) == (low, high)
    first = music.pieces("train")[0]
    with pytest.raises(ValueError):  # the cached rolls cannot be changed by a caller
        first[0, 0] = 1.0
    assert music.io == tasks.IO("features", 88, "multilabel", 88, "per-step")
    assert (
        music.source == f"{data_dir() / 'jsb_chorales' / 'jsb-chorales-quarter.json'} "
        f"sha256 {QUARTER_SHA}"
    )


def test_chance_is_the_nll_of_the_training_marginals(music, raw) -> None:
    # independent numpy computation from the raw JSON
    train_notes = np.array([n for piece in raw["train"] for step in piece for n in step])
    frames = sum(len(piece) for piece in raw["train"])
    p = (np.bincount(train_notes - 21, minlength=88) + 0.5) / (frames + 1)
    assert p[0] == pytest.approx(0.5 / 13_808)  # A0 is never heard: smoothed, not zero
    valid = np.zeros((4_602, 88))
    rows = [step for piece in raw["valid"] for step in piece]
    for t, step in enumerate(rows):
        valid[t, np.array(step, dtype=int) - 21] = 1
    expected = float(-(valid * np.log(p) + (1 - valid) * np.log(1 - p)).sum(1).mean())
    assert expected == pytest.approx(10.9505, abs=1e-4)
    assert music.chance == {"nll": pytest.approx(expected, rel=1e-9)}
    assert music.score_trivial("valid")["nll"] == pytest.approx(expected, abs=1e-6)
    assert music.score_trivial("valid")["nll"] == pytest.approx(music.chance["nll"], abs=1e-6)
    # the training loss is the same NLL per step: one batch holding the whole valid split
    whole = tasks.build("music", data_dir=str(data_dir()), batch_size=76)
    (batch,) = whole.batches("valid")
    logits = whole.trivial_outputs(batch)
    assert logits.shape == (144, 76, 88)
    assert torch.allclose(torch.sigmoid(logits[5, 3]), torch.from_numpy(p).float())
    assert float(whole.loss(logits, batch)) == pytest.approx(expected, abs=1e-5)


def test_batches_shift_the_roll_and_mask_the_padding(music) -> None:
    valid = list(music.batches("valid"))
    assert len(valid) == 10  # ceil(76 / 8)
    assert sum(int(b.mask.sum()) for b in valid) == 4_602
    assert sum(b.scored for b in music.batches("test")) == 4_725
    pieces = music.pieces("valid")
    for n, b in enumerate(valid):
        group = pieces[8 * n : 8 * n + 8]
        steps = max(len(p) for p in group)
        assert b.x.shape == b.y.shape == (steps, len(group), 88)
        assert b.x.dtype == b.y.dtype == torch.float32 and b.mask.dtype == torch.bool
        assert b.mask.shape == (steps, len(group))
        for k, piece in enumerate(group):
            length = len(piece)
            assert b.mask[:, k].tolist() == [True] * length + [False] * (steps - length)
            assert (b.x[0, k] == 0).all()  # silence before the first frame
            assert np.array_equal(b.x[1:length, k].numpy(), piece[:-1])
            assert np.array_equal(b.y[:length, k].numpy(), piece)
            assert not b.x[length:, k].any() and not b.y[length:, k].any()


def test_seeds_decide_the_training_order_only(music) -> None:
    again = tasks.build("music", data_dir=str(data_dir()))
    assert fingerprint(islice(music.batches("train", 1), 3)) == fingerprint(
        islice(again.batches("train", 1), 3)
    )
    assert fingerprint(islice(music.batches("train", 1), 3)) != fingerprint(
        islice(music.batches("train", 2), 3)
    )
    for split in ("valid", "test"):
        assert fingerprint(music.batches(split, 0)) == fingerprint(again.batches(split, 99))
    # an epoch is every training piece once (29 batches, the last of 5), then a new order
    train = {p.tobytes(): k for k, p in enumerate(music.pieces("train"))}
    epochs = list(islice(music.batches("train", 1), 58))
    assert [b.mask.shape[1] for b in epochs[:29]] == [8] * 28 + [5]
    orders = []
    for epoch in (epochs[:29], epochs[29:]):
        order = []
        for b in epoch:
            for k in range(b.mask.shape[1]):
                order.append(train[b.y[: int(b.mask[:, k].sum()), k].numpy().tobytes()])
        assert sorted(order) == list(range(229))
        orders.append(order)
    assert orders[0] != orders[1]


def test_same_seed_same_batches_in_another_process(music) -> None:
    script = (
        "import sys, tasks.music\n"
        "from itertools import islice\n"
        "from tests.tasks.test_music import fingerprint\n"
        "task = tasks.build('music', data_dir=sys.argv[1])\n"
        "print(fingerprint(islice(task.batches('train', 7), 3)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(data_dir())],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == fingerprint(islice(music.batches("train", 7), 3))


def test_a_batch_larger_than_the_training_set_still_comes() -> None:
    big = tasks.build("music", data_dir=str(data_dir()), batch_size=300)
    first, second = islice(big.batches("train", 0), 2)
    assert first.mask.shape[1] == second.mask.shape[1] == 229
    assert first.scored == second.scored == 13_807


@pytest.mark.parametrize(
    ("resolution", "frames"), [("8th", [27_614, 9_204, 9_450]), ("16th", [55_228, 18_408, 18_900])]
)
def test_finer_resolutions_with_float_notes(resolution: str, frames: list[int]) -> None:
    task = tasks.build("music", resolution=resolution, data_dir=str(data_dir()))
    splits = ("train", "valid", "test")
    assert [len(task.pieces(s)) for s in splits] == [229, 76, 77]
    assert [sum(len(p) for p in task.pieces(s)) for s in splits] == frames
    roll = np.concatenate([p for s in splits for p in task.pieces(s)])
    keys = np.flatnonzero(roll.any(0))
    assert (keys.min() + 21, keys.max() + 21) == (36, 81) and roll.sum(1).max() == 4
    assert task.score_trivial("valid")["nll"] == pytest.approx(task.chance["nll"], abs=1e-6)


GOOD = {"train": [[[60, 64], []]], "valid": [[[61]]], "test": [[[62.0]]]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"is not valid JSON \(Expecting property name"),
        ("\xff\xfe", "is not valid JSON"),
        ([1, 2], "holds a JSON list, not an object"),
        (GOOD | {"valid": None}, "has no 'valid' list of pieces"),
        ({"train": GOOD["train"], "valid": GOOD["valid"]}, "has no 'test' list of pieces"),
        (GOOD | {"test": []}, "the test split is empty"),
        (GOOD | {"train": [[]]}, "train piece 0 is not a non-empty list of frames"),
        (GOOD | {"valid": [[[61], 62]]}, "valid piece 0 frame 1 is 62, not a list of MIDI notes"),
        (
            GOOD | {"test": [[[62]], [[60], [140]]]},
            r"test piece 1 frame 1 has note 140; notes "
            r"must be whole MIDI numbers 21\.\.108",
        ),
        (GOOD | {"train": [[[20]]]}, "train piece 0 frame 0 has note 20"),
        (GOOD | {"train": [[[109]]]}, "has note 109"),
        (GOOD | {"train": [[[74.5]]]}, "has note 74.5"),
        (GOOD | {"train": [[["60"]]]}, "has note '60'"),
        (GOOD | {"train": [[[True]]]}, "has note True"),
        ('{"train": [[[NaN]]], "valid": [[[61]]], "test": [[[62]]]}', "has note nan"),
        ('{"train": [[[1e999]]], "valid": [[[61]]], "test": [[[62]]]}', "has note inf"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path: Path, content: object, message: str) -> None:
    folder = tmp_path / "jsb_chorales"
    folder.mkdir()
    target = folder / "jsb-chorales-quarter.json"
    if isinstance(content, str):
        target.write_bytes(content.encode("latin-1"))
    else:
        target.write_text(json.dumps(content))
    before = target.read_bytes()
    with pytest.raises(tasks.TaskError, match=message):
        tasks.build("music", data_dir=str(tmp_path)).metrics
    assert target.read_bytes() == before and list(folder.iterdir()) == [target]  # untouched


def test_a_small_good_file_with_whole_float_notes(tmp_path: Path, caplog) -> None:
    (tmp_path / "jsb-chorales-quarter.json").write_text(json.dumps(GOOD))  # root also works
    task = tasks.build("music", data_dir=str(tmp_path))
    again = tasks.build("music", data_dir=str(tmp_path))  # a grid builds it many times
    assert task.source == again.source
    assert (
        sum("differs from the published file" in r.getMessage() for r in caplog.records) == 1
    )  # said once
    assert task.pieces("test")[0].nonzero() == (np.array([0]), np.array([62 - 21]))
    assert task.pieces("train")[0].sum(1).tolist() == [2.0, 0.0]
    p = task.marginals
    assert p[60 - 21] == pytest.approx(1.5 / 3) and p[0] == pytest.approx(0.5 / 3)
    assert "differs from the published sha256" in task.source


def test_a_missing_file_says_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tasks.music, "_URL", (tmp_path / "nowhere").as_uri() + "/")
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        tasks.TaskError,
        match=r"jsb_chorales/jsb-chorales-quarter.json is "
        r"neither in .*empty/jsb_chorales nor in the "
        r"cache, and downloading it from file://.* failed "
        r"\(.*\); set "
        r"HARNESS_DATA",
    ):
        tasks.build("music", data_dir=str(tmp_path / "empty"), corpus="jsb").metrics
    assert not any((tmp_path / "empty").iterdir()) and not (tmp_path / "cache").exists()


def test_unknown_split(music) -> None:
    with pytest.raises(tasks.TaskError, match="unknown split 'dev'; splits are train, valid"):
        next(music.batches("dev"))
    with pytest.raises(tasks.TaskError, match="unknown split 'training'"):
        music.pieces("training")


def test_unknown_resolution() -> None:
    with pytest.raises(
        tasks.TaskError, match="resolution must be one of quarter, 8th, 16th, got '32nd'"
    ):
        tasks.build("music", resolution="32nd")
    with pytest.raises(tasks.TaskError, match="resolution must be one of"):
        tasks.music.MusicSettings(resolution="Quarter").check()
