"""music21's Bach chorales: the offline stand-in for JSB Chorales, converted deterministically
and used only where the JSB file cannot be had (or on request)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import tasks
import tasks.music
from harness.command import cli
from tasks import music21_chorales
from tasks.datafiles import MissingData

pytest.importorskip("music21")
FEW = 10  # chorales: enough for a 6/2/2 split, a second or two to convert


@pytest.fixture
def few(monkeypatch, tmp_path: Path) -> list[str]:
    """A cache of its own and the first FEW chorales standing for all 371."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    names = music21_chorales.chorale_names()[:FEW]
    monkeypatch.setattr(music21_chorales, "chorale_names", lambda: names)
    return names


def _jsb_missing(monkeypatch) -> None:
    def missing(*_args, **_kwargs):
        raise MissingData("jsb_chorales/jsb-chorales-quarter.json is nowhere", "no network")

    monkeypatch.setattr(tasks.music, "locate", missing)


def test_all_371_chorales_in_riemenschneiders_order() -> None:
    names = music21_chorales.chorale_names()
    assert len(names) == 371 and names[:3] == ["bach/bwv269", "bach/bwv347", "bach/bwv153.1"]


def test_a_chorale_sampled_at_each_beat() -> None:
    # bwv347 opens A4 E4 C#4 over A3, the bass moving to G#3 on the half beat
    quarters = music21_chorales.frames("bach/bwv347", 1.0)
    eighths = music21_chorales.frames("bach/bwv347", 0.5)
    assert len(quarters) == 52 and len(eighths) == 104  # 52 quarter notes long
    assert quarters[0] == [57, 61, 64, 69] and eighths[1] == [56, 61, 64, 69]
    assert eighths[::2] == quarters


def test_the_split_is_fixed_and_sixty_twenty_twenty(few: list[str]) -> None:
    one = music21_chorales.build(few, "quarter")
    assert {k: len(v) for k, v in one.items()} == {"train": 6, "valid": 2, "test": 2}
    assert music21_chorales.build(few, "quarter") == one
    firsts = {json.dumps(p[:4]) for split in one.values() for p in split}
    assert len(firsts) == FEW  # every chorale once


def test_offline_without_jsb_music_trains_on_the_stand_in_and_says_so_once(
    few, monkeypatch, caplog
) -> None:
    _jsb_missing(monkeypatch)
    caplog.set_level(logging.WARNING)
    task = tasks.build("music")
    again = tasks.build("music")
    assert task.corpus == again.corpus == "music21"
    assert "music21's Bach chorales (stand-in)" in task.source_label
    assert [len(task.pieces(s)) for s in ("train", "valid", "test")] == [6, 2, 2]
    assert 1 < task.metrics[0].chance < 20
    batch = next(task.batches("train"))
    assert batch.x.shape[2] == 88 and batch.x.shape[1] == 6  # all 6 training pieces (batches of 8)
    said = [r.getMessage() for r in caplog.records if "using music21's" in r.getMessage()]
    assert len(said) == 1 and "no network" in said[0]
    # ten chorales are not the 371 whose sha256 is recorded: said, not hidden
    assert "differs from the published sha256" in task.source


def test_corpus_jsb_refuses_the_stand_in(few, monkeypatch) -> None:
    _jsb_missing(monkeypatch)
    with pytest.raises(MissingData, match="is nowhere$"):
        tasks.build("music", corpus="jsb").metrics
    with pytest.raises(tasks.TaskError, match="corpus must be one of auto, jsb, music21"):
        tasks.build("music", corpus="bach")


def test_without_music21_the_error_says_how_to_work_offline(few, monkeypatch) -> None:
    _jsb_missing(monkeypatch)
    monkeypatch.setattr(music21_chorales, "available", lambda: False)
    with pytest.raises(
        MissingData,
        match=r"is nowhere; or, offline, pip install -e "
        r"'\.\[music\]' for music21's Bach chorales",
    ):
        tasks.build("music").metrics


def test_reproduce_refuses_without_the_jsb_file(few, monkeypatch, tmp_path, capsys) -> None:
    _jsb_missing(monkeypatch)
    journal = tmp_path / "r.journal"
    assert (
        cli.main(["reproduce", "--profile", "ci", "--tasks", "music", "--storage", str(journal)])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "harness: error: reproduce judges Greff et al.'s findings on JSB Chorales "
        "itself: jsb_chorales/jsb-chorales-quarter.json is nowhere"
    ]
    assert not journal.exists()
    assert (
        cli.main(
            [
                "reproduce",
                "--profile",
                "ci",
                "--tasks",
                "music",
                "--set",
                "task.corpus=music21",
                "--storage",
                str(journal),
            ]
        )
        == 2
    )
    assert "drop corpus=music21" in capsys.readouterr().err


def test_the_stand_in_rolls_are_binary_piano_rolls(few, monkeypatch) -> None:
    task = tasks.build("music", corpus="music21", resolution="8th")
    roll = task.pieces("train")[0]
    assert roll.shape[1] == 88 and set(np.unique(roll)) <= {0.0, 1.0}
    assert 1 <= roll.sum(1).max() <= 4  # four voices at most
