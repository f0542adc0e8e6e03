"""Generated tasks: held-out splits from fixed seed streams, training data from the run seed.

Valid and test are drawn once from seed streams that depend only on the task (not on the run
seed), so every run is scored on the same held-out sequences. Training batches come from the
run's seed and never contain a held-out sequence: a colliding row is drawn again.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import cached_property

import numpy as np
import torch

from tasks.base import Batch, Task, TaskError, check_split

# (x [n, T] or [n, T, F], y [n, T] or [n, T, K], mask [n, T]); sample-major, padded
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]
_STREAM = {"train": 0, "valid": 1, "test": 2}


def seed_stream(task: str, split: str, seed: int = 0) -> np.random.Generator:
    """The generator of ``task``'s ``split``: the held-out ones depend on the task alone,
    training on the run's ``seed`` too."""
    key = [zlib.crc32(task.encode()), _STREAM[split]] + ([seed] if split == "train" else [])
    return np.random.default_rng(np.random.SeedSequence(key))


def lengths(seq_len: int, min_len: int | None, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` sequence lengths: all ``seq_len``, or uniform in [``min_len``, ``seq_len``]."""
    if min_len is None:
        return np.full(n, seq_len)
    return rng.integers(min_len, seq_len + 1, n)


def strings_up_to(seq_len: int, min_len: int | None, alphabet: int) -> float:
    """How many strings over ``alphabet`` symbols have a length ``lengths`` draws."""
    low = seq_len if min_len is None else min_len
    return float(sum(float(alphabet) ** length for length in range(low, seq_len + 1)))


class SyntheticTask(Task):
    """Base of the generated tasks; subclasses implement ``_generate``."""

    def _generate(self, rng: np.random.Generator, n: int, heldout: bool) -> Arrays:
        """``n`` sequences drawn with ``rng``, padded to the task's longest length, each
        scored at its last step at least; ``heldout`` may balance classes exactly."""
        raise NotImplementedError

    def _distinct_sequences(self) -> float:
        """How many different input sequences exist (``inf`` for continuous inputs)."""
        return float("inf")

    def _rng(self, split: str, seed: int = 0) -> np.random.Generator:
        return seed_stream(self.name, split, seed)

    @cached_property
    def _heldout(self) -> dict[str, Arrays]:
        space, needed = self._distinct_sequences(), 2 * self.settings.eval_size
        if space < 4 * needed:
            raise TaskError(
                f"task {self.name!r} has only {space:.0f} distinct sequences at these settings, "
                f"too few to keep {needed} held-out ones apart from training; make the "
                "sequences longer or lower eval_size"
            )
        valid = self._generate(self._rng("valid"), self.settings.eval_size, heldout=True)
        test = self._redraw(
            self._generate(self._rng("test"), self.settings.eval_size, heldout=True),
            _keys(valid),
            self._rng("test"),
            True,
        )
        return {"valid": valid, "test": test}

    @cached_property
    def _heldout_keys(self) -> set[bytes]:
        return _keys(self._heldout["valid"]) | _keys(self._heldout["test"])

    def _redraw(
        self, arrays: Arrays, taken: set[bytes], rng: np.random.Generator, heldout: bool
    ) -> Arrays:
        """Draw again every row whose input sequence is in ``taken``."""
        for _ in range(1000):
            clash = [k for k, key in enumerate(_row_keys(arrays)) if key in taken]
            if not clash:
                return arrays
            fresh = self._generate(rng, len(clash), heldout)
            for part, new in zip(arrays, fresh):
                part[clash] = new
        raise TaskError(
            f"task {self.name!r}: could not draw sequences apart from the held-out "
            "ones; make the sequences longer"
        )

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        check_split(split)
        size = self.settings.batch_size
        if split != "train":
            x, y, mask = self._heldout[split]
            for start in range(0, len(x), size):
                yield _batch(
                    x[start : start + size], y[start : start + size], mask[start : start + size]
                )
            return
        rng, taken = self._rng("train", seed), self._heldout_keys
        while True:
            yield _batch(*self._draw_apart(rng, size, taken))

    def _draw_apart(self, rng: np.random.Generator, n: int, taken: set[bytes]) -> Arrays:
        """``n`` training rows, none of them held out. The first draw is of ``n`` rows (where
        nothing clashes, as with continuous inputs, that is all); the rows still missing are
        then drawn in bulk, twice as many as needed, and the clashing ones dropped: a task
        whose short sequences are all held out (parity from 2 bits) needs a few draws a
        batch, not one per clashing row."""
        parts, missing, size = [], n, n
        for _ in range(1000):
            arrays = self._generate(rng, size, False)
            clash = np.fromiter(map(taken.__contains__, _row_keys(arrays)), bool, size)
            if not parts and not clash.any():
                return arrays  # the usual case: a first draw with nothing held out
            rows = np.flatnonzero(~clash)[:missing]
            parts.append(tuple(a[rows] for a in arrays))
            missing -= len(rows)
            if missing == 0:
                return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]
            size = max(2 * missing, 16)
        raise TaskError(
            f"task {self.name!r}: could not draw sequences apart from the held-out "
            "ones; make the sequences longer"
        )


def _row_keys(arrays: Arrays) -> list[bytes]:
    """Each row's input and mask bytes, ``x[k].tobytes() + mask[k].tobytes()``, made for all
    rows in one pass (the bytes of a row read as one numpy ``void``)."""
    x, _, mask = arrays
    if not len(x):
        return []
    rows = np.hstack(
        [np.ascontiguousarray(a).reshape(len(x), -1).view(np.uint8) for a in (x, mask)]
    )
    return rows.view(f"V{rows.shape[1]}").ravel().tolist()


def _keys(arrays: Arrays) -> set[bytes]:
    return set(_row_keys(arrays))


def _batch(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> Batch:
    """Sample-major numpy arrays -> a time-major ``Batch``, without the padding after the
    last scored step of its longest sequence."""
    length = int(mask.any(0).nonzero()[0].max()) + 1 if mask.any() else x.shape[1]
    time_major = (
        torch.from_numpy(np.ascontiguousarray(a[:, :length].swapaxes(0, 1))) for a in (x, y, mask)
    )
    return Batch(*time_major)
