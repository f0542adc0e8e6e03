"""Language modelling: corpora counted as published, TBPTT windows, and bad corpora."""

from __future__ import annotations

import math
from itertools import islice
from pathlib import Path

import pytest
import torch

import tasks
from tasks import corpora
from tests.tasks.data import data_dir


def test_ptb_word_counts_as_published() -> None:
    task = tasks.build("lm", corpus="ptb", data_dir=str(data_dir()))
    assert task.corpus.source["tokens"] == {"train": 929_589, "valid": 73_760, "test": 82_430}
    assert task.io.input_size == 10_000 and task.level == "word" and task.seq_len == 35
    assert task.chance["perplexity"] == pytest.approx(10_000)
    assert task.corpus.vocab.count("<eos>") == 1 and "<unk>" in task.corpus.vocab


def test_ptb_char_and_wikitext_counts_as_published() -> None:
    char = corpora.load("ptb-char", None, str(data_dir()))
    assert char.source["tokens"] == {"train": 5_017_482, "valid": 393_042, "test": 442_423}
    assert len(char.vocab) == 50
    wiki = corpora.load("wikitext-2", None, str(data_dir()))
    assert wiki.source["tokens"] == {"train": 2_088_628, "valid": 217_646, "test": 245_569}
    assert len(wiki.vocab) == 33_278


def test_tiny_shakespeare_counts_and_split() -> None:
    task = tasks.build("lm", corpus="tinyshakespeare", data_dir=str(data_dir()))
    counts = task.corpus.source["tokens"]
    assert sum(counts.values()) == 1_115_394
    assert counts["train"] == int(1_115_394 * 0.9)
    assert len(task.corpus.vocab) == 65
    assert task.chance["bpc"] == pytest.approx(math.log2(65))
    # the unigram baseline is well below uniform: characters are far from equiprobable
    assert 4.0 < task.baselines["unigram_bpc"] < math.log2(65) - 0.5


def test_pysrc_needs_no_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    task = tasks.build("lm")
    src = task.source
    assert src["corpus"] == "pysrc" and src["files"] > 100 and len(src["sha256"]) == 64
    # every character is counted once (non-ASCII ones take several bytes)
    assert sum(len(task.corpus.ids[s]) for s in ("train", "valid", "test")) <= src["bytes"]
    assert task.corpus.source == tasks.build("lm").corpus.source  # deterministic
    assert task.level == "char" and task.seq_len == 100
    assert task.describe()["baselines"]["unigram_bpc"] < task.chance["bpc"]


def test_windows_continue_each_other_and_reset_each_epoch(tmp_path: Path) -> None:
    text = "".join(chr(97 + (i * 7) % 26) for i in range(2000))
    (tmp_path / "t.txt").write_text(text)
    task = tasks.build("lm", corpus=str(tmp_path / "t.txt"), batch_size=4, seq_len=10)
    valid = list(task.batches("valid"))
    assert [b.reset for b in valid] == [True] + [False] * (len(valid) - 1)
    for a, b in zip(valid, valid[1:]):
        assert torch.equal(a.y[-1], b.x[0])  # the next window starts where this one ended
        assert torch.equal(a.x[1:], a.y[:-1])  # targets are the next tokens
    # the training stream restarts (reset) at each epoch, at a seed-dependent offset
    train = list(islice(task.batches("train", seed=3), 200))
    assert sum(b.reset for b in train) > 3
    starts = {s: next(task.batches("train", seed=s)).x[0, 0].item() for s in range(8)}
    assert len(set(starts.values())) > 1


def test_a_folder_corpus_and_word_level(tmp_path: Path) -> None:
    for k in range(3):
        (tmp_path / f"{k}.txt").write_text("the cat sat on the mat\n" * 50 + f"file {k}\n")
    task = tasks.build("lm", corpus=str(tmp_path), level="word")
    assert task.level == "word" and task.source["files"] == 3
    assert {"the", "cat", "<eos>"} <= set(task.corpus.vocab)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"corpus": "ptbb"}, "unknown corpus 'ptbb'.*did you mean ptb"),
        ({"corpus": "ptb", "level": "char"}, "word-level; drop level= or use ptb-char"),
        ({"level": "byte"}, "level must be one of char, word"),
        ({"seq_len": 0}, "seq_len must be at least 1"),
    ],
)
def test_bad_settings(overrides: dict, message: str) -> None:
    with pytest.raises(tasks.TaskError, match=message):
        tasks.build("lm", **overrides).io


def test_missing_empty_and_non_utf8_corpora(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(
        "tasks.datafiles.download", lambda *a, **k: (_ for _ in ()).throw(OSError("network is off"))
    )
    with pytest.raises(
        tasks.TaskError,
        match=r"ptb/ptb.train.txt is neither in .*empty.* "
        r"nor in the cache, and downloading it from .* "
        r"failed \(network is off\); set HARNESS_DATA",
    ):
        tasks.build("lm", corpus="ptb", data_dir=str(tmp_path / "empty")).io
    (tmp_path / "blank.txt").write_text("  \n\n")
    with pytest.raises(tasks.TaskError, match="holds no text"):
        tasks.build("lm", corpus=str(tmp_path / "blank.txt")).io
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\xe9 au lait ".encode("latin-1") * 100)
    with pytest.raises(tasks.TaskError, match="latin1.txt is not UTF-8 text"):
        tasks.build("lm", corpus=str(latin1)).io
    assert latin1.read_bytes() == "caf\xe9 au lait ".encode("latin-1") * 100  # untouched
    assert not (tmp_path / "cache").exists()
