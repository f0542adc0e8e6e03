"""JSB Chorales: the published split, piano rolls, chance from the marginals, bad files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tasks
from tests.tasks.data import data_dir


@pytest.fixture(scope="module")
def music() -> tasks.Task:
    return tasks.build("music", data_dir=str(data_dir()))


def test_split_and_frames_as_published(music) -> None:
    assert [len(music.pieces(s)) for s in ("train", "valid", "test")] == [229, 76, 77]
    assert [sum(len(p) for p in music.pieces(s)) for s in ("train", "valid", "test")] == \
        [13_807, 4_602, 4_725]
    for piece in music.pieces("train"):
        assert set(np.unique(piece)) <= {0.0, 1.0} and piece.sum(1).max() <= 4


def test_chance_is_the_nll_of_the_training_marginals(music) -> None:
    raw = json.loads((data_dir() / "jsb_chorales" / "jsb-chorales-quarter.json").read_text())
    counts, frames = np.zeros(88), 0
    for piece in raw["train"]:
        for step in piece:
            frames += 1
            for note in step:
                counts[note - 21] += 1
    p = (counts + 0.5) / (frames + 1)
    nll = [-sum(math.log(p[k]) if k + 21 in step else math.log(1 - p[k]) for k in range(88))
           for piece in raw["valid"] for step in piece]
    expected = sum(nll) / len(nll)
    assert music.chance["nll"] == pytest.approx(expected, rel=1e-9)
    assert music.score_trivial("valid")["nll"] == pytest.approx(expected, rel=1e-6)


def test_batches_shift_the_roll_by_one_step(music) -> None:
    batches = list(music.batches("valid"))
    assert sum(int(b.mask.sum()) for b in batches) == 4_602
    b = batches[0]
    first = music.pieces("valid")[0]
    assert (b.x[0, 0] == 0).all()  # silence before the first frame
    assert np.array_equal(b.y[: len(first), 0].numpy(), first)
    assert np.array_equal(b.x[1: len(first), 0].numpy(), first[:-1])
    assert not b.mask[len(first):, 0].any()


def test_missing_corrupt_and_out_of_range_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("tasks.datafiles.download",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network is off")))
    with pytest.raises(tasks.TaskError, match="jsb_chorales/jsb-chorales-quarter.json not "
                                              "found in .*set HARNESS_DATA"):
        tasks.build("music", data_dir=str(tmp_path / "empty")).metrics
    folder = tmp_path / "data" / "jsb_chorales"
    folder.mkdir(parents=True)
    target = folder / "jsb-chorales-quarter.json"
    target.write_text("{not json")
    with pytest.raises(tasks.TaskError, match="is not JSON"):
        tasks.build("music", data_dir=str(tmp_path / "data")).metrics
    target.write_text(json.dumps({"train": [[[60]]], "valid": [[[61]]], "test": [[[140]]]}))
    with pytest.raises(tasks.TaskError, match="test piece 0 step 0 has note 140"):
        tasks.build("music", data_dir=str(tmp_path / "data")).metrics
    target.write_text(json.dumps({"train": []}))
    with pytest.raises(tasks.TaskError, match="expected an object with train, valid and test"):
        tasks.build("music", data_dir=str(tmp_path / "data")).metrics
    assert target.read_text() == json.dumps({"train": []})  # nothing on disk touched
    with pytest.raises(tasks.TaskError, match="resolution must be one of quarter, 8th, 16th"):
        tasks.build("music", resolution="32nd")
