"""``harness sample``: text from a language model that a seed reproduces and that at
temperature 0 is the model's own argmax step by step; a chorale whose MIDI file holds the
notes sampled; a synthetic model's answers beside true targets; and bad input, each case one
line and exit code 2. The models are tiny runs trained once through the command line, on a
small text and a small chorale file written here (no data folder, no download)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.command import cli
from harness.plans.config import RunConfig
from harness.queue import finished, kept_models, storage_url, store
from harness.training.answers import held_out_answers
from harness.training.generate import sample_piano_roll
from harness.training.train import build_model, build_task
from tasks.music import LOWEST
from tests.harness.commands import options, settings

TEXT = (
    "".join(
        f"the {animal} sat on the {thing}.\n"
        for animal in ("cat", "dog", "hen")
        for thing in ("mat", "rug", "log", "bed")
    )
    * 40
)
TINY = settings("hidden_size=12", "eval_every=10")


def _chorales(folder: Path) -> None:
    """A JSB-shaped file: three splits of short four-voice pieces of random chords."""
    rng = np.random.default_rng(0)

    def piece() -> list[list[int]]:
        return [
            sorted(int(n) for n in rng.choice(np.arange(48, 80), 4, replace=False))
            for _ in range(int(rng.integers(12, 20)))
        ]

    data = {
        split: [piece() for _ in range(n)] for split, n in (("train", 8), ("valid", 3), ("test", 3))
    }
    (folder / "jsb_chorales").mkdir(parents=True)
    (folder / "jsb_chorales" / "jsb-chorales-quarter.json").write_text(json.dumps(data))


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One storage with a kept character-level lm, parity and music model (study runs-TASK,
    trial 0 each), a word-level lm (words-lm) and a parity run that kept none
    (bare-parity)."""
    folder = tmp_path_factory.mktemp("sample")
    (folder / "text.txt").write_text(TEXT)
    _chorales(folder / "data")
    journal = folder / "j.journal"
    lm = ["--task", "lm", *settings(f"task.corpus={folder / 'text.txt'}")]
    parity = ["--task", "parity", *settings("task.seq_len=10", "task.eval_size=32", "steps=10")]
    runs = [
        [*lm, *settings("task.seq_len=20", "steps=40")],
        [*lm, *settings("task.level=word", "steps=20"), "--study", "words"],
        parity,
        ["--task", "music", *settings(f"task.data_dir={folder / 'data'}", "steps=5")],
        [*parity, "--study", "bare", "--no-models"],
    ]
    where = ["--device", "cpu", "--storage", str(journal)]
    for run in runs:
        assert cli.main(["run", "--variant", "lstm", *TINY, *run, *where]) == 0
    return journal


def sample(journal: Path, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["sample", "--storage", str(journal), *args])
    out, err = capsys.readouterr()
    return code, out, err


def kept(journal: Path, task: str) -> kept_models.Kept:
    study = store.named_studies(storage_url.open_storage(str(journal)), f"runs-{task}")[0]
    return kept_models.load(kept_models.path_of(study, finished.completed(study)[0]))


LM = ("--study", "runs", "--trial", "0", "--task", "lm")


def test_a_seed_gives_the_same_text_and_another_seed_other_text(journal, capsys) -> None:
    texts = [
        sample(journal, capsys, *LM, "--prime", "the ", "--length", "60", "--seed", seed)[1]
        for seed in ("0", "0", "1")
    ]
    assert texts[0] == texts[1] and texts[0] != texts[2]
    assert texts[0].startswith("the ") and len(texts[0]) == len("the ") + 60 + 1  # print's \n


def test_temperature_zero_is_the_argmax_of_the_models_distribution(journal, capsys) -> None:
    greedy = options(prime="the cat", length=40, temperature=0, seed=3)
    code, out, _ = sample(journal, capsys, *LM, *greedy)
    assert code == 0
    text = out[:-1]  # print's line break
    model = kept(journal, "lm")
    ids = torch.tensor([model.vocabulary.index(c) for c in text])
    with torch.no_grad():  # the whole text in one pass: the distribution after each prefix
        logits, _ = model.model.eval()(ids[:-1].view(-1, 1))
    start = len("the cat")
    assert ids[start:].tolist() == logits[start - 1 :, 0].argmax(-1).tolist()
    assert len(set(ids[start:].tolist())) > 1  # not one token repeated: a real check


def test_a_word_level_model_reads_and_writes_words(journal, capsys) -> None:
    words_model = ("--study", "words", "--trial", "0")
    code, out, _ = sample(
        journal, capsys, *words_model, "--prime", "the cat sat\non", "--length", "30"
    )
    assert code == 0 and out.startswith("the cat sat\non")
    words = set(TEXT.split())
    lines = out.splitlines()
    assert len(lines) > 2 and all(w in words for line in lines for w in line.split())
    code, _, err = sample(journal, capsys, *words_model, "--prime", "the zebra sat on the sofa")
    assert code == 2 and err.rstrip().endswith(
        f"words outside the model's vocabulary of {len(words) + 1}: 'sofa', 'zebra'"
    )


def test_a_sampled_chorale_is_a_midi_file_of_the_notes_sampled(journal, capsys, tmp_path) -> None:
    import mido  # the [music] extra, in [dev] too

    code, out, _ = sample(
        journal,
        capsys,
        "--study",
        "runs-music",
        "--trial",
        "0",
        "--length",
        "24",
        "--temperature",
        "0.9",
        "--seed",
        "5",
        "--out",
        str(tmp_path),
    )
    assert code == 0
    midi_path, png_path = map(Path, out.split())
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    midi = mido.MidiFile(str(midi_path))
    per_frame = midi.ticks_per_beat  # quarter-note frames
    read = np.zeros((24, 88))
    tick, started = 0, {}
    for message in midi.tracks[0]:
        tick += message.time
        if message.type == "note_on" and message.velocity > 0:
            started[message.note] = tick
        elif message.type in ("note_on", "note_off"):
            read[
                started.pop(message.note) // per_frame : tick // per_frame, message.note - LOWEST
            ] = 1
    assert not started and tick == 24 * per_frame
    wanted = sample_piano_roll(
        kept(journal, "music").model, 24, 0.9, torch.Generator().manual_seed(5)
    )
    assert wanted.sum() > 0 and np.array_equal(read, wanted)


def test_without_mido_it_says_how_to_install_it(journal, capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "mido", None)  # import mido raises ImportError
    code, out, err = sample(
        journal, capsys, "--study", "runs-music", "--trial", "0", "--out", str(tmp_path)
    )
    assert code == 2 and out == "" and not list(tmp_path.iterdir())
    assert err.splitlines() == [
        "harness: error: writing MIDI needs mido, an optional extra: pip install -e '.[music]'"
    ]


def test_a_synthetic_model_shows_its_answers_beside_the_targets(journal, capsys) -> None:
    code, out, _ = sample(
        journal, capsys, "--study", "runs", "--trial", "0", "--task", "parity", "--examples", "6"
    )
    assert code == 0
    header, rule, *rows = out.splitlines()
    assert header.split() == ["example", "input", "target", "answer", "agrees"]
    assert len(rows) == 6
    for row in rows:
        _, bits, target, answer, agrees = row.split()
        assert target == ("odd" if bits.count("1") % 2 else "even")
        assert answer in ("odd", "even") and agrees == ("yes" if answer == target else "no")


@pytest.mark.parametrize(
    "task, settings",
    [
        ("memory-add", {"seq_len": 12, "eval_size": 16}),
        ("long-dependency", {"delay": 5, "eval_size": 16}),
        ("reber", {"eval_size": 16}),
    ],
)
def test_every_synthetic_task_reads_its_targets_from_its_inputs(task, settings) -> None:
    config = RunConfig(task=task, hidden_size=4, device="cpu", task_settings=settings)
    built = build_task(config)
    answers = held_out_answers(build_model(config, built, torch.device("cpu")), built, 5)
    assert len(answers) == 5
    for a in answers:
        if task == "memory-add":  # the sum of the marked values
            assert float(a.target) == pytest.approx(
                sum(map(float, a.input.split(" + "))), abs=0.011
            )
            assert a.agrees == f"off by {abs(float(a.answer) - float(a.target)):.3g}"
        elif task == "long-dependency":  # the symbols to copy, then the model's ten
            hits = sum(w == g for w, g in zip(a.target, a.answer))
            assert a.target == a.input and a.agrees == f"{hits}/{len(a.target)}"
        else:  # the second symbol of the string, which only memory can tell at the end
            assert a.target == a.input[1] and a.agrees == ("yes" if a.answer == a.target else "no")


@pytest.mark.parametrize(
    "args, says",
    [
        (("--study", "nosuch", "--trial", "0"), "no study named 'nosuch'"),
        (("--study", "runs", "--trial", "7", "--task", "lm"), "no trial 7 in runs"),
        (
            ("--study", "runs", "--variant", "lsmt", "--task", "lm"),
            "no completed run of variant 'lsmt' on lm in runs; variants there: lstm",
        ),
        (("--study", "runs", "--variant", "lstm"), "--variant needs --task"),
        (("--study", "bare", "--trial", "0"), "trial 0 of bare-parity kept no model"),
        (
            ("--study", "runs", "--trial", "0", "--task", "parity", "--prime", "01"),
            "--prime is not for trial 0 of runs-parity, a synthetic task's model (parity)",
        ),
        (
            ("--study", "runs-music", "--trial", "0", "--task", "lm"),
            "trial 0 of runs-music is a music model, not lm",
        ),
        (
            (*LM, "--prime", "the zebra é€"),
            "the prime has characters outside the model's vocabulary of",
        ),
        (("--model", "missing.pt"), "no model file missing.pt"),
        (
            ("--study", "runs", "--trial", "0", "--task", "parity", "--input", "1+1"),
            "--input is for sequence-to-sequence models (addition); trial 0 of runs-parity is a "
            "model of parity",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(journal, capsys, args, says) -> None:
    code, out, err = sample(journal, capsys, *args)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("harness: error: ") and says in err


def test_a_prime_outside_the_vocabulary_names_every_stranger(journal, capsys) -> None:
    _, _, err = sample(journal, capsys, *LM, "--prime", "the zebra é€")
    assert err.rstrip().endswith("'z', 'é', '€'")


def test_a_file_that_is_no_kept_model_is_refused(journal, capsys, tmp_path) -> None:
    (tmp_path / "notes.pt").write_text("not a model")
    code, _, err = sample(journal, capsys, "--model", str(tmp_path / "notes.pt"))
    assert code == 2 and err.startswith(
        f"harness: error: {tmp_path / 'notes.pt'} is not a kept model"
    )
