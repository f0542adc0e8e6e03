"""Polyphonic music: JSB Chorales as 88-key piano rolls, one frame at a time."""

from __future__ import annotations

import functools
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from tasks import music21_chorales
from tasks.base import IO, SPLITS, Batch, Metric, Settings, Task, TaskError, check_split
from tasks.datafiles import MissingData, Source, locate, sha256_of
from tasks.registry import register

log = logging.getLogger(__name__)

KEYS = 88  # piano keys: key k is MIDI note LOWEST + k, A0 (21) to C8 (108)
LOWEST = 21
HIGHEST = LOWEST + KEYS - 1
FOLDER = "jsb_chorales"
_URL = "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/master/"
FILES = {  # resolution -> (file, sha256 of the published file)
    "quarter": (
        "jsb-chorales-quarter.json",
        "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91",
    ),
    "8th": (
        "jsb-chorales-8th.json",
        "88fb80b22829a815e8105da538d94ae803773158507e2145938351f35142390a",
    ),
    "16th": (
        "jsb-chorales-16th.json",
        "8730aca7b64e7d29493733d1cf19fad4a5b351d8f1845e57dac27728104fd39f",
    ),
}
CORPORA = ("auto", "jsb", "music21")
_SALT = 0x4A5342  # "JSB": keeps the shuffling stream apart from other tasks' seeds


@dataclass(frozen=True)
class MusicSettings(Settings):
    resolution: str = "quarter"  # quarter (the standard benchmark), 8th or 16th
    # jsb: the JSB Chorales file; music21: music21's 371 chorales (offline, a stand-in);
    # auto: jsb where the file can be had, else music21 (said once)
    corpus: str = "auto"
    data_dir: str | None = None  # data folder; default: the HARNESS_DATA environment variable
    batch_size: int = 8  # pieces per batch
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.resolution not in FILES:
            raise TaskError(
                f"resolution must be one of {', '.join(FILES)}, got {self.resolution!r}"
            )
        if self.corpus not in CORPORA:
            raise TaskError(f"corpus must be one of {', '.join(CORPORA)}, got {self.corpus!r}")


@register(
    "music", kind="data", description="JSB Chorales polyphonic music: NLL per step of 88 piano keys"
)
class Music(Task):
    """Polyphonic music modelling on JSB Chorales (Boulanger-Lewandowski, Bengio & Vincent,
    ICML 2012), the music dataset of Greff et al. 2017 ("LSTM: A Search Space Odyssey"):
    382 four-part Bach chorales split 229 train / 76 valid / 77 test, each a piano roll of
    88 binary keys per frame (key k is MIDI note 21 + k; quarter-note frames by default,
    8th and 16th are re-quantised files with their own pitch range and piece order).

    A piece of L frames gives L scored steps: at step t the model reads frame t-1 (silence
    at t = 0) and gives, for each key independently, the probability that it sounds in
    frame t (88 sigmoids). Pieces are padded to the longest in the batch. Training shuffles
    the pieces each epoch (every piece once per epoch, the last batch may be smaller);
    valid and test are read once, in file order.

    Where the JSB file cannot be had (no data folder, no cache, no network), ``corpus=auto``
    (the default) reads music21's 371 chorales instead (``tasks/music21_chorales.py``), a
    stand-in with its own pieces and split, says so once, and names it in ``source``;
    ``corpus=jsb`` refuses, as ``reproduce`` does.

    Metric: negative log-likelihood per time step in nats, the binary cross-entropy summed
    over the 88 keys and averaged over the scored steps of the split: the training loss,
    but summed in float64 when scoring. The file read (path and sha256, and whether it is
    the published one) is in ``source``.

    Chance: the NLL on the valid split of a model that learned only how often each key
    sounds in the training split, p_k = (n_k + 1/2) / (N + 1) with n_k the training frames
    where key k sounds and N all training frames; the half-count ("add-half" smoothing)
    keeps a key never heard in training from costing infinitely many nats when it sounds
    in valid. About 10.95 nats/step for the quarter file.

    Published scale: Greff et al. 2017 give JSB results as box plots only (no table); a
    generic LSTM reaches 8.45 nats/step in Bai et al. 2018 (TCN paper, Table 1), in a
    different setup, so it is a scale, not a target.

    Frame-level accuracy (Bay et al. 2009, TP / (TP + FP + FN) over all frames) is not
    reported: its divisor depends on the predictions, which a per-step sum and count cannot
    express, and per frame it is 0/0 on a silent frame predicted silent.
    """

    settings_class = MusicSettings
    predicts_next = True  # the target at t is (what follows) the input at t + 1
    settings: MusicSettings

    # --- data ------------------------------------------------------------------------------
    @cached_property
    def _file(self) -> tuple[Path, str, str, str]:
        """The located file, its actual sha256, the sha256 it should have and its corpus."""
        resolution, corpus = self.settings.resolution, self.settings.corpus
        if corpus != "music21":
            name, sha = FILES[resolution]
            try:
                path = locate(FOLDER, name, sha, Source(_URL + name), self.settings.data_dir)
            except MissingData as error:
                if corpus == "jsb":
                    raise
                if not music21_chorales.available():
                    raise MissingData(
                        f"{error}; or, offline, pip install -e '.[music]' "
                        "for music21's Bach chorales (a stand-in)",
                        error.short,
                    ) from None
                _say_once(
                    "JSB Chorales: %s; using music21's Bach chorales instead, a "
                    "stand-in whose numbers are not JSB's (corpus=jsb refuses)",
                    error.short,
                )
            else:
                return path, _checked(path, sha), sha, "jsb"
        path, sha = music21_chorales.path(resolution), music21_chorales.SHA256[resolution]
        return path, _checked(path, sha), sha, "music21"

    @property
    def corpus(self) -> str:
        """The corpus actually read: ``jsb`` or ``music21``."""
        return self._file[3]

    @cached_property
    def _rolls(self) -> dict[str, list[np.ndarray]]:
        path, sha, _, _ = self._file
        return _read_once(str(path), sha)

    def pieces(self, split: str) -> list[np.ndarray]:
        """The pieces of a split, in file order, as read-only ``[frames, 88]`` float32
        arrays of 0 and 1."""
        check_split(split)
        return list(self._rolls[split])

    @cached_property
    def marginals(self) -> np.ndarray:
        """p_k: how often each key sounds in the training split, add-half smoothed."""
        train = np.concatenate(self._rolls["train"])
        return (train.sum(0, dtype=np.float64) + 0.5) / (len(train) + 1.0)

    @cached_property
    def _chance_nll(self) -> float:
        frames = np.concatenate(self._rolls["valid"]).astype(np.float64)
        p = self.marginals
        return float(-(frames @ np.log(p) + (1 - frames) @ np.log1p(-p)).mean())

    # --- the task --------------------------------------------------------------------------
    @property
    def io(self) -> IO:
        return IO("features", KEYS, "multilabel", KEYS, "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (Metric("nll", "nats/step", True, self._chance_nll),)

    @property
    def source(self) -> str:
        path, got, expected, _ = self._file
        note = "" if got == expected else f" (differs from the published sha256 {expected})"
        return f"{path} sha256 {got}{note}"

    @property
    def source_label(self) -> str:
        counts = "/".join(str(len(self._rolls[s])) for s in SPLITS)
        name = "JSB Chorales" if self.corpus == "jsb" else "music21's Bach chorales (stand-in)"
        return f"{name} ({self.settings.resolution}): {self._file[0]}, {counts} pieces"

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        check_split(split)
        pieces, size = self._rolls[split], self.settings.batch_size
        if split != "train":
            for start in range(0, len(pieces), size):
                yield _batch(pieces[start : start + size])
            return
        for epoch in itertools.count():
            rng = np.random.default_rng(np.random.SeedSequence([_SALT, seed, epoch]))
            order = rng.permutation(len(pieces))
            for start in range(0, len(order), size):
                yield _batch([pieces[k] for k in order[start : start + size]])

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        # the loss's formula in float64: in float32, log(1 + e^x) for the many keys of
        # probability ~1e-5 drifts by up to 2e-5 nats/step over a split (16th file)
        out, y = outputs[batch.mask].double(), batch.y[batch.mask].double()
        return {"nll": float(F.binary_cross_entropy_with_logits(out, y, reduction="sum"))}

    def trivial_outputs(self, batch: Batch) -> Tensor:
        p = self.marginals
        logits = torch.from_numpy(np.log(p) - np.log1p(-p)).float()
        return logits.expand(*batch.mask.shape, KEYS).clone()


def _checked(path: Path, expected: str) -> str:
    got = sha256_of(path)
    if got != expected:
        _warn_once(str(path), got, expected)
    return got


@functools.cache
def _say_once(text: str, reason: str) -> None:
    log.warning(text, reason)


@functools.cache
def _warn_once(path: str, got: str, expected: str) -> None:
    """A data file that is not the published one: said once per process, however many
    tasks (a grid's, a population's) read it."""
    log.warning("%s differs from the published file (sha256 %s, expected %s)", path, got, expected)


@functools.lru_cache(maxsize=4)
def _read_once(path: str, sha: str) -> dict[str, list[np.ndarray]]:
    """``_read``, once per file content (``sha``) in a process: every population of a search
    builds its task, and parsing the 382 pieces took 0.15 s a time. The rolls are read-only,
    and callers get copies of the lists."""
    return _read(Path(path))


def _read(path: Path) -> dict[str, list[np.ndarray]]:
    """The JSON file's three splits as piano rolls, or a TaskError saying what is wrong."""
    hint = (
        "use the JSB Chorales JSON file (an object whose train, valid and test are lists "
        "of pieces, a piece a list of frames, a frame a list of MIDI notes)"
    )
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise TaskError(f"cannot read {path}: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TaskError(f"{path} is not valid JSON ({error}); {hint}") from None
    if not isinstance(data, dict):
        raise TaskError(f"{path} holds a JSON {type(data).__name__}, not an object; {hint}")
    for split in SPLITS:
        if not isinstance(data.get(split), list):
            raise TaskError(f"{path} has no {split!r} list of pieces; {hint}")
        if not data[split]:
            raise TaskError(f"{path}: the {split} split is empty; {hint}")
    return {s: [_roll(piece, path, s, k) for k, piece in enumerate(data[s])] for s in SPLITS}


def _roll(piece: object, path: Path, split: str, index: int) -> np.ndarray:
    """One piece (a list of frames, each a list of MIDI notes) as a binary piano roll."""
    where = f"{path}: {split} piece {index}"
    if not isinstance(piece, list) or not piece:
        raise TaskError(f"{where} is not a non-empty list of frames")
    roll = np.zeros((len(piece), KEYS), dtype=np.float32)
    for t, frame in enumerate(piece):
        if not isinstance(frame, list):
            raise TaskError(f"{where} frame {t} is {frame!r}, not a list of MIDI notes")
        for note in frame:
            if not _is_note(note):
                raise TaskError(
                    f"{where} frame {t} has note {note!r}; notes must be whole "
                    f"MIDI numbers {LOWEST}..{HIGHEST} (the 88 piano keys)"
                )
            roll[t, int(note) - LOWEST] = 1.0
    roll.flags.writeable = False
    return roll


def _is_note(note: object) -> bool:
    """A whole MIDI number on the piano; whole floats such as 74.0 count (8th/16th files)."""
    if isinstance(note, bool) or not isinstance(note, (int, float)):
        return False
    return LOWEST <= note <= HIGHEST and note == int(note)  # NaN and inf fail the range


def _batch(pieces: list[np.ndarray]) -> Batch:
    """Pieces padded to the longest, time-major; the input at step t is frame t-1."""
    steps = max(len(p) for p in pieces)
    x = np.zeros((steps, len(pieces), KEYS), dtype=np.float32)
    y = np.zeros((steps, len(pieces), KEYS), dtype=np.float32)
    mask = np.zeros((steps, len(pieces)), dtype=bool)
    for k, piece in enumerate(pieces):
        y[: len(piece), k] = piece
        x[1 : len(piece), k] = piece[:-1]
        mask[: len(piece), k] = True
    return Batch(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask))
