"""Bach chorales from music21's corpus, as a JSB-format JSON file: music without a network.

music21 (BSD licence; an optional extra, ``pip install -e '.[music]'``) ships the 371
four-part chorales in Riemenschneider's numbering as MusicXML. They are the pieces JSB
Chorales was drawn from, but not the same file: JSB's 382 pieces and its 229/76/77 split
came from other MIDI transcriptions. So this is a declared stand-in, and its numbers are
not comparable to published JSB results.

The conversion is deterministic: a frame every quarter (8th, 16th) note from offset 0,
holding the MIDI notes that sound at the frame's start, with every part's notes; no
repeats expanded. The split is a fixed permutation of Riemenschneider's order, 60/20/20
as JSB's. The file is built once (about a minute) into the per-user cache and checked
against the sha256 measured with music21 10.5.1; another corpus version warns once.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from tasks.datafiles import cache_root

log = logging.getLogger(__name__)

FOLDER = "music21_chorales"
STEP = {"quarter": 1.0, "8th": 0.5, "16th": 0.25}  # frame length in quarter notes
SHA256 = {  # resolution -> sha256 of the file built from music21 10.5.1's corpus
    "quarter": "0c31fff59c1dee4e1dac2f37e8ebbce58983fa0199f2523522f4c84e98f0d23e",
    "8th": "2e3847d37159f12509c48f425202c23ab3de3dc5d6f4ff0db5f3d44670f6d5c3",
    "16th": "1b1224c2b0f9dbf35e72ffba85915270ad740356529cacf3b7b963675edb5dc7",
}
_SALT = 0x4D3231  # "M21": the split's permutation


def available() -> bool:
    try:
        import music21  # noqa: F401
    except ImportError:
        return False
    return True


def chorale_names() -> list[str]:
    """The 371 chorales, in Riemenschneider's order."""
    from music21 import corpus

    return list(corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="filename"))


def path(resolution: str) -> Path:
    """The built file of a resolution, built now if the cache lacks it."""
    target = cache_root() / FOLDER / f"music21-chorales-{resolution}.json"
    if not target.is_file():
        log.warning("building the music21 Bach chorales once into %s (about a minute)", target)
        write(build(chorale_names(), resolution), target)
    return target


def build(names: list[str], resolution: str) -> dict[str, list[list[list[int]]]]:
    """The chorales ``names`` as JSB-format splits (lists of frames of MIDI notes)."""
    pieces = [frames(name, STEP[resolution]) for name in names]
    order = np.random.default_rng(np.random.SeedSequence(_SALT)).permutation(len(pieces))
    valid = test = round(0.2 * len(pieces))
    train = len(pieces) - valid - test
    cuts = {
        "train": order[:train],
        "valid": order[train : train + valid],
        "test": order[train + valid :],
    }
    return {split: [pieces[k] for k in sorted(picks)] for split, picks in cuts.items()}


def frames(name: str, step: float) -> list[list[int]]:
    """One chorale sampled every ``step`` quarter notes: the notes sounding at each frame's
    start, sorted."""
    from music21 import corpus

    notes = [
        (float(n.offset), float(n.offset + n.quarterLength), [p.midi for p in n.pitches])
        for n in corpus.parse(name).flatten().notes
    ]
    end = max(stop for _, stop, _ in notes)
    out: list[list[int]] = []
    for k in range(math.ceil(end / step)):
        t = k * step
        out.append(sorted({m for start, stop, midis in notes if start <= t < stop for m in midis}))
    return out


def write(data: dict, target: Path) -> None:
    """Atomically, so that a worker never reads half a file another is writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, staged = tempfile.mkstemp(dir=target.parent, suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(data, out, separators=(",", ":"))
    os.replace(staged, target)
