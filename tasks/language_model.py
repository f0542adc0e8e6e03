"""Language modelling with truncated back-propagation through time."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from torch import Tensor

from tasks import corpora
from tasks.base import IO, Batch, Metric, Settings, Task, TaskError, check_split, nll_to_bits
from tasks.registry import register

_SALT = 0x4C4D  # "LM": keeps the offset stream apart from other tasks' seeds


@dataclass(frozen=True)
class LMSettings(Settings):
    corpus: str = corpora.EMBEDDED  # a name (pysrc, ptb, ptb-char, tinyshakespeare,
    #                                  wikitext-2) or a path to a UTF-8 text file or folder
    level: str | None = None  # "char" or "word"; a named corpus has its own
    data_dir: str | None = None  # data folder; default: the HARNESS_DATA environment variable
    seq_len: int | None = None  # steps per truncated-BPTT window; None: 100 (char), 35 (word)
    eval_tokens: int | None = None  # score only the first this many tokens of valid/test
    batch_size: int = 32
    lr: float = 2e-3

    def check(self) -> None:
        super().check()
        if self.seq_len is not None and self.seq_len < 1:
            raise TaskError(f"seq_len must be at least 1, got {self.seq_len}")
        if self.eval_tokens is not None and self.eval_tokens < 2:
            raise TaskError(f"eval_tokens must be at least 2, got {self.eval_tokens}")
        if self.level is not None and self.level not in corpora.LEVELS:
            raise TaskError(f"level must be one of {', '.join(corpora.LEVELS)}, got {self.level!r}")


@register(
    "lm",
    kind="data",
    description="language modelling, truncated BPTT (default corpus: Python stdlib)",
)
class LanguageModel(Task):
    """Next-token prediction over a text, trained with truncated back-propagation through
    time: the token stream is cut into ``batch_size`` parallel columns and read in windows of
    ``seq_len`` steps, the hidden state carried from one window to the next (Zaremba et al.
    2014's setup; each training epoch starts at a seed-drawn offset below ``seq_len``).

    Character level reports bits per character, word level perplexity, both with the
    negative log-likelihood in nats. Chance is the uniform distribution over the vocabulary
    V: log2 V bits per character, perplexity V. A stronger baseline, the unigram entropy of
    the valid split (its own token frequencies), is in ``baselines``.

    Corpora: ``pysrc`` (default, no download: this interpreter's standard-library modules,
    whole files to each split), ``ptb``, ``ptb-char``, ``tinyshakespeare``, ``wikitext-2``
    (from the data folder or a checked download), or any UTF-8 text file or folder.
    """

    settings_class = LMSettings
    predicts_next = True  # the target at t is (what follows) the input at t + 1
    settings: LMSettings

    @cached_property
    def corpus(self) -> corpora.Corpus:
        s = self.settings
        return corpora.load(s.corpus, s.level, s.data_dir)

    @property
    def level(self) -> str:
        return self.settings.level or corpora.default_level(self.settings.corpus)

    @property
    def seq_len(self) -> int:
        return self.settings.seq_len or (100 if self.level == "char" else 35)

    @property
    def io(self) -> IO:
        size = len(self.corpus.vocab)
        return IO("tokens", size, "classes", size, "per-step", stateful=True)

    @property
    def metrics(self) -> tuple[Metric, ...]:
        nats = math.log(len(self.corpus.vocab))
        nll = Metric("nll", "nats/token", True, nats)
        if self.level == "char":
            return Metric("bpc", "bits/char", True, nll_to_bits(nats), nll_to_bits), nll
        return Metric("perplexity", "", True, math.exp(nats), math.exp), nll

    @property
    def baselines(self) -> dict[str, float]:
        """The unigram model of the valid split (its own frequencies), a stronger baseline."""
        counts = np.bincount(self._stream("valid"), minlength=len(self.corpus.vocab))
        p = counts[counts > 0] / counts.sum()
        entropy = float(-(p * np.log(p)).sum())
        if self.level == "char":
            return {"unigram_bpc": nll_to_bits(entropy)}
        return {"unigram_perplexity": math.exp(entropy)}

    @property
    def source(self) -> Any:
        return self.corpus.source

    @property
    def source_label(self) -> str:
        src = self.corpus.source
        unit = "characters" if self.level == "char" else "tokens"
        train = f"{src['tokens']['train']:,} training {unit}"  # type: ignore[index]
        if self.settings.corpus == corpora.EMBEDDED:
            return f"pysrc: {src['files']} stdlib modules of Python {src['python']}, {train}"
        where = (
            next(iter(src["files"].values()))["path"]
            if isinstance(src.get("files"), dict)
            else src["corpus"]
        )
        return f"{self.settings.corpus}: {where}, {train}"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "baselines": self.baselines}

    def baseline(self) -> float:
        """The unigram model (``baselines``), in the primary metric's units."""
        return next(iter(self.baselines.values()))

    def _stream(self, split: str) -> np.ndarray:
        ids = self.corpus.ids[split]
        limit = self.settings.eval_tokens
        return ids[:limit] if split != "train" and limit is not None else ids

    def batches(self, split: str, seed: int = 0) -> Iterator[Batch]:
        check_split(split)
        stream = self._stream(split)
        if split != "train":
            yield from self._windows(stream)
            return
        for epoch in itertools.count():
            rng = np.random.default_rng(np.random.SeedSequence([_SALT, seed, epoch]))
            yield from self._windows(stream[int(rng.integers(0, self.seq_len)) :])

    def _windows(self, stream: np.ndarray) -> Iterator[Batch]:
        """Columns of the stream read ``seq_len`` steps at a time; the first window resets."""
        columns = max(1, min(self.settings.batch_size, len(stream) - 1))
        length = (len(stream) - 1) // columns
        # views of the stream, each window copied alone: a copy of the whole stream per
        # reader (every trial, every epoch) took longer than a short run's steps
        x = stream[: columns * length].reshape(columns, length)
        y = stream[1 : columns * length + 1].reshape(columns, length)
        for start in range(0, length, self.seq_len):
            window = slice(start, start + self.seq_len)
            xs, ys = (torch.from_numpy(np.ascontiguousarray(a[:, window].T)) for a in (x, y))
            yield Batch(xs, ys, torch.ones_like(xs, dtype=torch.bool), reset=start == 0)

    def _score(self, outputs: Tensor, batch: Batch) -> dict[str, float]:
        nats = float(self._per_step_loss(outputs, batch).sum())
        return {self.metrics[0].name: nats, "nll": nats}

    def trivial_outputs(self, batch: Batch) -> Tensor:
        return torch.zeros(*batch.x.shape, len(self.corpus.vocab))
