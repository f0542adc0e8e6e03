"""Online handwriting recognition trained with CTC: a stand-in for IAM Online (Liwicki &
Bunke 2005), on which Greff et al. (2017) trained bidirectional LSTMs; IAM Online is licensed,
so the pen trajectories here are drawn from text and a font.

Text: English lines from the comments of the Python standard library (the offline text the
harness already has: ``tasks.corpora``'s embedded ``pysrc``), lower-cased, cut into lines of
a few words up to ``max_chars``; a word with a character outside ``CHARACTERS`` is left out.
Whole files go to a split (as ``corpora`` splits ``pysrc``), and a line text held out is never
a training line. Pen: each line is written with a single-stroke Hershey font by a "writer"
drawn per sequence, with its own slant, size, width, speed (samples per unit of pen path),
jitter and a drifting baseline; strokes are resampled to points evenly spaced along the path.

A sample is ``(dx, dy, pen_up)``: the pen's move since the previous sample (in units of the
mean sample spacing, so a pen-down move is about 1), and 1 where the move was made with the
pen lifted (a new stroke begins). Strokes that start where the last one ended (the joins of
the cursive fonts) are one stroke: no pen lift between them.

Targets travel in ``Batch.y`` as the line's character ids (1..C) from step 0, then 0: id 0
is the CTC blank, which no label holds, so 0 marks "no label" and a population's zero
padding (``stack_batches``) adds none. ``mask`` marks the line's samples (what the
bidirectional model reads: its valid length), not where labels sit.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from tasks.base import IO, SPLITS, Batch, Metric, Settings, Task, TaskError, check_split, percent
from tasks.registry import register
from tasks.synthetic import seed_stream

CHARACTERS = " abcdefghijklmnopqrstuvwxyz.,'"  # class k + 1 is CHARACTERS[k]; class 0 is blank
BLANK = 0
FONTS = ("futural", "cursive", "scripts")  # Hershey's single-stroke roman and script fonts
INSTALL = 'handwriting needs Hershey-Fonts: pip install -e ".[handwriting]"'
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?[.,]?")  # a word written whole: letters, then . or ,


@dataclass(frozen=True)
class HandwritingSettings(Settings):
    font: str = "futural"  # one of FONTS
    max_chars: int = 16  # a line: whole words up to this many characters
    speed: float = 3.0  # samples per x-height of pen path, writers' median
    slant: float = 0.4  # writers' slant (shear): drawn in [-slant/4, slant]
    jitter: float = 0.03  # std of the pen's noise in x-heights, writers' median
    drift: float = 0.2  # the baseline's wander, in x-heights at most
    eval_size: int = 128  # lines in each held-out split
    batch_size: int = 32
    steps: int = 800
    lr: float = 1e-2

    def check(self) -> None:
        super().check()
        if self.font not in FONTS:
            raise TaskError(f"font must be one of {', '.join(FONTS)}, got {self.font!r}")
        if self.max_chars < 8:
            raise TaskError(f"max_chars must be at least 8, got {self.max_chars}")
        if not self.speed >= 1:
            raise TaskError(f"speed must be at least 1 sample per x-height, got {self.speed}")
        for name in ("slant", "jitter", "drift"):
            if not getattr(self, name) >= 0:
                raise TaskError(f"{name} must be at least 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Writer:
    """One writer's hand: how a line's font strokes become its pen trajectory."""

    slant: float  # x moves by slant × height (right-leaning where positive)
    scale: float  # size
    width: float  # horizontal stretch
    spacing: float  # distance between samples along the pen path (x-heights)
    jitter: float  # std of the noise on every sample (x-heights)
    drift: float  # amplitude of the baseline's wave (x-heights)
    period: float  # its wavelength (x-heights)
    phase: float
    tilt: float  # the baseline's slope


@register(
    "handwriting",
    kind="synthetic",
    description="read pen trajectories of text lines (Hershey font, varied writers), CTC",
)
class Handwriting(Task):
    """Transcribe a line of handwriting from its pen samples, trained with CTC (Graves et al.
    2006) as Greff et al. trained on IAM Online. How this stand-in differs: one font's letter
    shapes (varied per writer by affine distortion, speed, noise and drift, not by
    handwriting styles), machine-perfect strokes, short lines of a few words, lower case.

    Loss: CTC (blank 0, ``zero_infinity``), in nats per target character: each line's CTC
    summed and divided by the characters of the batch (``sequence_scale``: characters per
    line, so ``loss_reduction="sum"`` gives the CTC summed per line, averaged over lines).

    Metrics: ``cer``, the character error rate of best-path decoding (per step the most
    likely class; repeats collapsed, blanks dropped): edit distance to the line summed,
    over the lines' characters, in percent; and ``ctc`` in nats per character.
    Chance: a model that learned nothing emits blanks only (the plateau every CTC network
    starts on; uniform outputs decode to the blank too): it transcribes nothing, CER 100 %,
    and its uniform outputs score the ``ctc`` chance (computed on the valid split). The
    ``baseline`` is the best constant output instead: its best path is one character at
    most, the one in most lines, a little below 100 %.
    """

    settings_class = HandwritingSettings
    settings: HandwritingSettings
    predicts_next = False

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        _font(self.settings.font)  # a missing package fails here, before any work

    @property
    def io(self) -> IO:
        # every sample is read; CTC aligns the line's labels to them
        return IO("features", 3, "classes", len(CHARACTERS) + 1, "per-step")

    @property
    def metrics(self) -> tuple[Metric, ...]:
        return (
            Metric("cer", "%", True, 100.0, percent),
            Metric("ctc", "nats/char", True, self._chance_ctc),
        )

    @property
    def source(self) -> Any:
        text = _text(self.settings.max_chars)
        return {**text.source, "font": f"Hershey {self.settings.font}", "lines": text.counts}

    @property
    def source_label(self) -> str:
        return f"stdlib comments in Hershey {self.settings.font}, writers from the seed"

    # --- data --------------------------------------------------------------------------------
    def lines(self, split: str) -> list[str]:
        """The line texts a split draws from (training: all of its lines; held out: the
        lines of its files, shuffled, repeated as written by other writers if too few)."""
        check_split(split)
        return _text(self.settings.max_chars).lines[split]

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        check_split(split)
        size = self.settings.batch_size
        if split != "train":
            rows = self._heldout[split]
            for start in range(0, len(rows), size):
                yield _batch(rows[start : start + size])
            return
        rng, pool = seed_stream(self.name, "train", seed), self.lines("train")
        while True:
            texts = [pool[k] for k in rng.integers(0, len(pool), size)]
            yield _batch([self.write(text, rng) for text in texts])

    @cached_property
    def _heldout(self) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
        out = {}
        for split in ("valid", "test"):
            rng, pool = seed_stream(self.name, split), self.lines(split)
            order = np.resize(rng.permutation(len(pool)), self.settings.eval_size)
            out[split] = [self.write(pool[k], rng) for k in order]
        return out

    def writer(self, rng: np.random.Generator) -> Writer:
        s = self.settings
        return Writer(
            slant=s.slant * rng.uniform(-0.25, 1.0),
            scale=math.exp(rng.uniform(-0.25, 0.25)),
            width=math.exp(rng.uniform(-0.15, 0.15)),
            spacing=math.exp(rng.uniform(-0.3, 0.3)) / s.speed,
            jitter=s.jitter * math.exp(rng.uniform(-0.5, 0.5)),
            drift=s.drift * rng.uniform(0.0, 1.0),
            period=rng.uniform(4.0, 12.0),
            phase=rng.uniform(0.0, 2 * math.pi),
            tilt=rng.uniform(-0.03, 0.03),
        )

    def write(self, text: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``text`` in a writer's hand drawn from ``rng``: samples ``[n, 3]`` float32 and
        labels ``[len(text)]`` int64."""
        writer = self.writer(rng)
        strokes = _strokes(self.settings.font, text)
        stroke = np.repeat(np.arange(len(strokes)), [len(p) for p in strokes])
        samples, starts = _resampled(_styled(np.concatenate(strokes), writer), stroke, writer)
        samples = samples + rng.normal(0.0, writer.jitter, samples.shape)
        moves = np.diff(samples, axis=0, prepend=samples[:1]) * self.settings.speed
        pen_up = np.zeros(len(samples))
        pen_up[starts] = 1.0
        return np.column_stack([moves, pen_up]).astype(np.float32), encode(text)

    # --- loss and metrics ------------------------------------------------------------------
    def loss(self, outputs: Tensor, batch: Batch) -> Tensor:
        per_line = line_losses(outputs, batch.y, batch.mask)
        return per_line.sum() / _characters(batch.y).sum().clamp(min=1)

    def losses(self, outputs: Tensor, batch: Batch) -> Tensor:
        """``[K]``: each trial's CTC per character (``outputs`` ``[T, K, B, C]``)."""
        per_line = line_losses(outputs, batch.y, batch.mask)  # [K, B]
        return per_line.sum(-1) / _characters(batch.y).sum(-1).clamp(min=1)

    def sequence_scale(self, batch: Batch) -> Tensor:
        """Characters per line (``losses`` is per character): the CTC summed per line."""
        chars = _characters(batch.y).sum(-1).to(torch.float64)
        lines = batch.mask.any(0).sum(-1).clamp(min=1).to(torch.float64)
        return chars / lines

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        decoded = best_path(outputs, batch.mask)
        edits = sum(edit_distance(d, t) for d, t in zip(decoded, labels_of(batch.y)))
        return {"cer": float(edits), "ctc": float(line_losses(outputs, batch.y, batch.mask).sum())}

    def _count(self, metric: str, batch: Batch) -> int:
        return int(_characters(batch.y).sum())

    def trivial_outputs(self, batch: Batch) -> Tensor:
        """Uniform outputs: their best path is the blank at every step (the first of equal
        classes), so nothing is transcribed."""
        return torch.zeros(*batch.mask.shape, self.io.output_size)

    @cached_property
    def _chance_ctc(self) -> float:
        """The CTC per character of uniform outputs over the valid split."""
        total, chars = 0.0, 0
        for batch in self.batches("valid"):
            total += float(line_losses(self.trivial_outputs(batch), batch.y, batch.mask).sum())
            chars += int(_characters(batch.y).sum())
        return total / chars

    def baseline(self) -> float:
        """The CER of the best constant output over the valid split: its best path is one
        character at most; the one found in most lines costs each line its length but 1
        where it holds the character."""
        lines = [decode(row) for _, row in self._heldout["valid"]]
        held = max(sum(c in line for line in lines) for c in CHARACTERS)
        return 100.0 * (1.0 - held / sum(map(len, lines)))

    def decode(self, outputs: Tensor, batch: Batch) -> list[tuple[str, str]]:
        """Per line of ``batch``: its text and the best-path transcription of ``outputs``."""
        found = best_path(outputs, batch.mask)
        return [(decode(t), decode(d)) for d, t in zip(found, labels_of(batch.y))]


# --- CTC and decoding ---------------------------------------------------------------------
def line_losses(outputs: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Each line's CTC loss in nats, shaped as ``mask`` without its time dimension:
    ``outputs`` ``[T, ..., C]`` logits, ``y`` the labels from step 0 (0 after them),
    ``mask`` the valid samples. A line too long for its samples costs 0 (``zero_infinity``);
    a padding row (no samples) costs 0."""
    steps, classes = outputs.shape[0], outputs.shape[-1]
    out = outputs if outputs.dtype == torch.float64 else outputs.float()
    log_probs = F.log_softmax(out.reshape(steps, -1, classes), -1)
    labels = y.reshape(steps, -1)
    samples = valid_lengths(mask.reshape(steps, -1))
    chars = _characters(labels)
    width = max(int(chars.max()) if chars.numel() else 0, 1)
    per_line = F.ctc_loss(
        log_probs,
        labels[:width].t(),
        samples.clamp(min=1),
        chars,
        blank=BLANK,
        reduction="none",
        zero_infinity=True,
    )
    return torch.where(samples > 0, per_line, torch.zeros_like(per_line)).view(mask.shape[1:])


def valid_lengths(mask: Tensor) -> Tensor:
    """Each line's samples: up to its last masked step (``model.valid_lengths``' rule)."""
    steps = torch.arange(1, mask.shape[0] + 1, device=mask.device)
    return (mask.to(torch.int64) * steps.view(-1, *([1] * (mask.dim() - 1)))).amax(0)


def _characters(y: Tensor) -> Tensor:
    """Characters per line (labels are non-zero, 0 is the blank), ``y`` without dim 0."""
    return (y != BLANK).sum(0)


def best_path(outputs: Tensor, mask: Tensor) -> list[list[int]]:
    """Best-path decoding of each line (``outputs`` ``[T, B, C]``): the most likely class per
    valid sample, repeats collapsed, blanks dropped."""
    best = outputs.argmax(-1).t().tolist()
    lengths = valid_lengths(mask).tolist()
    return [collapse(row[:n]) for row, n in zip(best, lengths)]


def collapse(path: list[int]) -> list[int]:
    """A CTC path's labelling: runs of a class as one, then the blanks removed."""
    return [c for k, c in enumerate(path) if c != BLANK and (k == 0 or path[k - 1] != c)]


def labels_of(y: Tensor) -> list[list[int]]:
    """Each column's labels (``y`` ``[T, B]``: ids from step 0, then 0)."""
    return [[c for c in row if c != BLANK] for row in y.t().tolist()]


def edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing 1."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, z in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != z))
    return row[-1]


def encode(text: str) -> np.ndarray:
    return np.array([CHARACTERS.index(c) + 1 for c in text], dtype=np.int64)


def decode(ids: Any) -> str:
    return "".join(CHARACTERS[int(k) - 1] for k in ids if int(k) != BLANK)


def _batch(rows: list[tuple[np.ndarray, np.ndarray]]) -> Batch:
    """Lines as a time-major batch: samples and mask padded to the longest line, labels from
    step 0 (a line has more samples than characters; the rows are at least that long)."""
    steps = max(max(len(x), len(y)) for x, y in rows)
    x = np.zeros((steps, len(rows), 3), np.float32)
    y = np.zeros((steps, len(rows)), np.int64)
    mask = np.zeros((steps, len(rows)), bool)
    for k, (samples, labels) in enumerate(rows):
        x[: len(samples), k], y[: len(labels), k], mask[: len(samples), k] = samples, labels, True
    return Batch(torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask))


# --- the pen ------------------------------------------------------------------------------
def _styled(stroke: np.ndarray, w: Writer) -> np.ndarray:
    """A stroke in x-heights (y up, baseline 0) as writer ``w`` draws it."""
    x, y = stroke[:, 0] * w.width, stroke[:, 1]
    x = (x + w.slant * y) * w.scale
    y = y * w.scale + w.drift * np.sin(2 * math.pi * x / w.period + w.phase) + w.tilt * x
    return np.column_stack([x, y])


def _resampled(points: np.ndarray, stroke: np.ndarray, w: Writer) -> tuple[np.ndarray, np.ndarray]:
    """Points evenly spaced along each stroke's path, about ``w.spacing`` apart, both ends
    kept (``stroke``: each point's stroke, in order), and where each stroke's samples start.
    All strokes at once: each is laid on one axis of arc length, a gap longer than the line
    after each, so that no sample falls between two strokes."""
    steps = np.linalg.norm(np.diff(points, axis=0), axis=1) * (np.diff(stroke) == 0)
    gap = 1.0 + steps.sum()
    along = np.concatenate([[0.0], np.cumsum(steps)]) + gap * stroke
    first = np.flatnonzero(np.diff(stroke, prepend=-1))
    last = np.append(first[1:] - 1, len(stroke) - 1)
    begin, length = along[first], along[last] - along[first]
    count = np.maximum(np.ceil(length / w.spacing).astype(np.int64), 1) + 1
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    index = np.arange(count.sum()) - np.repeat(starts, count)
    at = np.repeat(begin, count) + index * np.repeat(length / (count - 1), count)
    return np.column_stack([np.interp(at, along, points[:, k]) for k in (0, 1)]), starts


@functools.lru_cache(maxsize=16384)
def _strokes(font: str, text: str) -> tuple[np.ndarray, ...]:
    """``text``'s strokes in ``font``, in x-heights with y up from the baseline; a stroke
    that starts where the previous one ended continues it (the pen is not lifted). Kept
    per line (read-only): a line is written again by every writer that draws it, and laying
    its glyphs out was two fifths of drawing a batch."""
    _, x_height, baseline = _font(font)
    strokes: list[list[np.ndarray]] = []
    cursor, end = 0, None  # in font units (integers): the pen's last point compares exactly
    for char in text:
        glyph, advance = _glyph(font, char)
        for points in glyph:
            start = (int(points[0, 0]) + cursor, int(points[0, 1]))
            if start == end:
                strokes[-1].append(points[1:] + [cursor, 0])
            else:
                strokes.append([points + [cursor, 0]])
            end = (int(points[-1, 0]) + cursor, int(points[-1, 1]))
        cursor += advance
    laid = tuple((np.concatenate(s) * [1, -1] + [0, baseline]) / x_height for s in strokes)
    for stroke in laid:
        stroke.flags.writeable = False
    return laid


@functools.lru_cache(maxsize=len(FONTS) * len(CHARACTERS))
def _glyph(font: str, char: str) -> tuple[tuple[np.ndarray, ...], int]:
    """A character's strokes in font units (x from where the character begins, y down) and
    how far it moves the pen on, as the font lays out text."""
    glyph = next(iter(_font(font)[0].glyphs_for_text(char)))
    strokes = tuple(
        np.array(stroke, dtype=np.int64) - [glyph.left_offset, 0] for stroke in glyph.strokes
    )
    return strokes, int(glyph.char_width)


@functools.lru_cache(maxsize=len(FONTS))
def _font(name: str) -> tuple[Any, float, float]:
    """The loaded Hershey font, its x-height and baseline (font units, y down)."""
    try:
        from HersheyFonts import HersheyFonts
    except ImportError:
        raise TaskError(INSTALL) from None
    font = HersheyFonts()
    font.load_default_font(name)
    missing = [c for c in CHARACTERS.strip() if not list(font.strokes_for_text(c))]
    if missing:
        raise TaskError(f"Hershey font {name!r} has no strokes for {''.join(missing)!r}")
    x_points = [p for stroke in font.strokes_for_text("x") for p in stroke]
    top, bottom = min(p[1] for p in x_points), max(p[1] for p in x_points)
    return font, float(bottom - top), float(bottom)


# --- the text -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    lines: dict[str, list[str]]
    source: dict[str, Any]

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self.lines[s]) for s in SPLITS}


@functools.lru_cache(maxsize=2)
def _text(max_chars: int) -> Text:
    """The lines of each split, from the comments of the standard library's top-level
    modules (whole files per split, as ``corpora`` splits them); a line held out is never a
    training line, and a test line never a valid one."""
    from tasks.corpora import python_sources, split_by_files

    files, source = python_sources()
    parts = split_by_files([f + "\n" for f in files])
    lines = {s: _unique(_lines(_words(parts[s]), max_chars)) for s in SPLITS}
    lines["test"] = [t for t in lines["test"] if t not in set(lines["valid"])]
    held = set(lines["valid"]) | set(lines["test"])
    lines["train"] = [t for t in lines["train"] if t not in held]
    for split in SPLITS:
        if not lines[split]:
            raise TaskError(f"no {split} lines in the standard library's comments ({source})")
    digest = hashlib.sha256("\n".join(lines["train"]).encode()).hexdigest()
    return Text(lines, {**source, "text": "comments", "lines_sha256": digest})


def _words(text: str) -> list[str]:
    """The words of the comments (``#`` lines), lower-cased, those of ``CHARACTERS`` only."""
    words = []
    for line in text.split("\n"):
        line = line.strip()
        if line.startswith("#"):
            words += [w for w in line.lstrip("#").lower().split() if _WORD.fullmatch(w)]
    return words


def _lines(words: list[str], max_chars: int) -> list[str]:
    """Words packed into lines of at most ``max_chars`` characters (longer words left out)."""
    lines, line = [], ""
    for word in (w for w in words if len(w) <= max_chars):
        if line and len(line) + 1 + len(word) > max_chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _unique(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(t for t in lines if len(t) >= 3))
