"""A piano roll as files: a standard MIDI file (through mido, the optional extra ``[music]``)
and a picture of it (matplotlib).

Key k of frame t sounds MIDI note ``lowest + k`` for that frame. A key on in consecutive
frames is one held note, as the JSB Chorales rolls hold a note by repeating it (they cannot
tell a held note from a repeated one either).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np

TICKS_PER_BEAT = 480
TEMPO_BPM = 100  # a chorale's walking pace
VELOCITY = 80


def require_mido() -> ModuleType:
    """mido, or the one line that says how to install it (checked before any work)."""
    try:
        import mido
    except ImportError:
        raise LookupError(
            "writing MIDI needs mido, an optional extra: pip install -e '.[music]'"
        ) from None
    return mido


def write_midi(roll: np.ndarray, path: Path, lowest: int, beats_per_frame: float) -> Path:
    """``roll`` ``[frames, keys]`` (on where > 0.5) as a one-track MIDI file of
    ``beats_per_frame`` quarter notes a frame, lasting all its frames."""
    mido = require_mido()
    ticks = round(TICKS_PER_BEAT * beats_per_frame)
    on = (roll > 0.5).astype(np.int8)
    silence = np.zeros((1, on.shape[1]), dtype=np.int8)
    changes = np.diff(np.vstack([silence, on, silence]), axis=0)  # +1 starts, -1 stops at t
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(TEMPO_BPM))])
    last = 0
    for t, row in enumerate(changes):
        for kind, keys in (("note_off", row < 0), ("note_on", row > 0)):
            for key in np.flatnonzero(keys):
                velocity = VELOCITY if kind == "note_on" else 0
                track.append(
                    mido.Message(
                        kind, note=lowest + int(key), velocity=velocity, time=t * ticks - last
                    )
                )
                last = t * ticks
    track.append(mido.MetaMessage("end_of_track", time=len(on) * ticks - last))
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(str(path))
    return path


def write_png(roll: np.ndarray, path: Path, lowest: int, title: str) -> Path:
    """The roll as a picture: frames across, MIDI notes up, the sounding range shown."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers
    import matplotlib.pyplot as plt

    frames, keys = roll.shape
    sounding = np.flatnonzero(roll.any(0))
    low, high = (sounding.min(), sounding.max()) if len(sounding) else (0, keys - 1)
    figure, axes = plt.subplots(figsize=(min(max(6.0, frames / 8), 16.0), 4.0))
    axes.imshow(
        roll.T,
        aspect="auto",
        origin="lower",
        cmap="Greys",
        interpolation="nearest",
        extent=(-0.5, frames - 0.5, lowest - 0.5, lowest + keys - 0.5),
    )
    axes.set_ylim(lowest + low - 2.5, lowest + high + 2.5)
    axes.set(xlabel="frame", ylabel="MIDI note", title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
