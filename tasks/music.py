"""Polyphonic music: JSB Chorales as 88-key piano rolls, one step at a time."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from tasks.base import IO, SPLITS, Batch, Metric, Settings, Task, TaskError, check_split
from tasks.datafiles import Source, locate, sha256_of
from tasks.registry import register

KEYS = 88  # piano keys, MIDI notes 21 (A0) to 108 (C8)
LOWEST = 21
_URL = "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/master/"
FILES = {  # resolution -> (file, sha256)
    "quarter": ("jsb-chorales-quarter.json",
                "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"),
    "8th": ("jsb-chorales-8th.json",
            "88fb80b22829a815e8105da538d94ae803773158507e2145938351f35142390a"),
    "16th": ("jsb-chorales-16th.json",
             "8730aca7b64e7d29493733d1cf19fad4a5b351d8f1845e57dac27728104fd39f"),
}
_SALT = 0x4A5342  # "JSB": keeps the shuffling stream apart from other tasks' seeds


@dataclass(frozen=True)
class MusicSettings(Settings):
    resolution: str = "quarter"  # quarter (the standard benchmark), 8th or 16th
    data_dir: str | None = None  # data folder; default: the HARNESS_DATA environment variable
    batch_size: int = 8  # pieces per batch
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.resolution not in FILES:
            raise TaskError(f"resolution must be one of {', '.join(FILES)}, "
                            f"got {self.resolution!r}")


@register("music", kind="data",
          description="JSB Chorales polyphonic music: NLL per step of 88 keys")
class Music(Task):
    """Polyphonic music modelling on JSB Chorales (Boulanger-Lewandowski, Bengio & Vincent,
    ICML 2012), the music dataset of Greff et al. 2017: 382 Bach chorales split 229 / 76 / 77,
    each a piano roll of 88 binary keys per time step (quarter notes by default).

    At step t the model reads frame t-1 (silence at t = 0) and gives, for each key
    independently, the probability that it sounds in frame t (88 sigmoids). The metric is the
    negative log-likelihood per time step, summed over the keys, in nats. Chance: a model that
    learned only how often each key sounds in the training split, p_k = (n_k + 1/2) /
    (frames + 1) (the half-count keeps a key never heard in training finite), scored on the
    valid split. Greff et al. publish box plots only; a generic LSTM reaches 8.45 nats in Bai
    et al. 2018 (another setup).
    """

    settings_class = MusicSettings
    settings: MusicSettings

    @cached_property
    def _file(self) -> tuple[str, str]:
        name, sha = FILES[self.settings.resolution]
        path = locate("jsb_chorales", name, sha, Source(_URL + name), self.settings.data_dir)
        return str(path), sha256_of(path)

    @cached_property
    def _rolls(self) -> dict[str, list[np.ndarray]]:
        path = self._file[0]
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise TaskError(f"{path} is not JSON ({error}); use the JSB Chorales JSON file "
                            "(keys train, valid, test)") from None
        if not isinstance(data, dict) or not all(isinstance(data.get(s), list) for s in SPLITS):
            raise TaskError(f"{path} is not the JSB Chorales JSON: expected an object with "
                            "train, valid and test lists of pieces")
        return {s: [_roll(piece, path, s, k) for k, piece in enumerate(data[s])] for s in SPLITS}

    def pieces(self, split: str) -> list[np.ndarray]:
        """The pieces of a split as ``[frames, 88]`` binary arrays."""
        check_split(split)
        return self._rolls[split]

    @cached_property
    def marginals(self) -> np.ndarray:
        """p_k of every key in the training split, with half-count smoothing."""
        train = np.concatenate(self.pieces("train"))
        return (train.sum(0, dtype=np.float64) + 0.5) / (len(train) + 1.0)

    @property
    def io(self) -> IO:
        return IO("features", KEYS, "multilabel", KEYS, "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (Metric("nll", "nats/step", True, self._marginal_nll("valid")),)

    def _marginal_nll(self, split: str) -> float:
        frames = np.concatenate(self.pieces(split)).astype(np.float64)
        p = self.marginals
        per_step = -(frames * np.log(p) + (1 - frames) * np.log1p(-p)).sum(1)
        return float(per_step.mean())

    @property
    def source(self) -> dict[str, str]:
        path, sha = self._file
        return {"corpus": "jsb_chorales", "path": path, "sha256": sha}

    @property
    def source_label(self) -> str:
        counts = "/".join(str(len(self.pieces(s))) for s in SPLITS)
        return f"JSB Chorales {self.settings.resolution}: {self._file[0]}, {counts} pieces"

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        check_split(split)
        pieces, size = self.pieces(split), self.settings.batch_size
        if split != "train":
            for start in range(0, len(pieces), size):
                yield _batch(pieces[start:start + size])
            return
        for epoch in itertools.count():
            rng = np.random.default_rng(np.random.SeedSequence([_SALT, seed, epoch]))
            order = rng.permutation(len(pieces))
            for start in range(0, len(order) - size + 1, size):
                yield _batch([pieces[k] for k in order[start:start + size]])

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        return {"nll": float(self._per_step_loss(outputs, batch).sum())}

    def trivial_outputs(self, batch: Batch) -> Tensor:
        logits = torch.from_numpy(np.log(self.marginals) - np.log1p(-self.marginals)).float()
        return logits.expand(*batch.mask.shape, KEYS).clone()


def _roll(piece: object, path: str, split: str, index: int) -> np.ndarray:
    """One piece (a list of steps, each a list of MIDI notes) as a binary piano roll."""
    if not isinstance(piece, list) or not piece:
        raise TaskError(f"{path}: {split} piece {index} is not a non-empty list of steps")
    roll = np.zeros((len(piece), KEYS), dtype=np.float32)
    for t, step in enumerate(piece):
        for note in step if isinstance(step, list) else [None]:
            if not isinstance(note, (int, float)) or note != int(note) or \
                    not LOWEST <= note < LOWEST + KEYS:
                raise TaskError(f"{path}: {split} piece {index} step {t} has note {note!r}; "
                                f"notes are MIDI numbers {LOWEST}..{LOWEST + KEYS - 1}")
            roll[t, int(note) - LOWEST] = 1.0
    return roll


def _batch(pieces: list[np.ndarray]) -> Batch:
    """Pieces padded to the longest; input at t is frame t-1 (silence first)."""
    steps = max(len(p) for p in pieces)
    x = torch.zeros(steps, len(pieces), KEYS)
    y = torch.zeros(steps, len(pieces), KEYS)
    mask = torch.zeros(steps, len(pieces), dtype=torch.bool)
    for k, piece in enumerate(pieces):
        roll = torch.from_numpy(piece)
        y[: len(piece), k] = roll
        x[1: len(piece), k] = roll[:-1]
        mask[: len(piece), k] = True
    return Batch(x, y, mask)

