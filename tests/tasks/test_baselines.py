"""Each task's trivial model, the line a trial must cross to count as trained: the unigram of
a language model, the marginal model of the Reber grammar's legal symbols, computed from the
data (not hard-coded), and below uniform chance wherever the targets are not uniform."""

from __future__ import annotations

import math

import numpy as np

import tasks
from tasks.base import nll_to_bits


def test_the_language_models_baseline_is_its_unigram() -> None:
    lm = tasks.build("lm", seq_len=50, eval_tokens=20_000)
    ids = lm._stream("valid")
    p = np.bincount(ids) / len(ids)
    p = p[p > 0]
    assert lm.baseline() == nll_to_bits(float(-(p * np.log(p)).sum()))
    assert 3.0 < lm.baseline() < lm.metrics[0].chance  # bits per character


def test_reber_baseline_is_the_marginal_model_of_its_legal_symbols() -> None:
    reber = tasks.build("reber", eval_size=200)
    legal = np.concatenate([b.y[b.mask].numpy() for b in reber.batches("valid")])
    p = legal.mean(0)
    entropy = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert math.isclose(reber.baseline(), float(np.nansum(entropy)), rel_tol=1e-6)
    assert reber.baseline() < reber.metrics[0].chance == 7 * math.log(2)


def test_a_task_without_its_own_baseline_uses_its_chance_level() -> None:
    parity = tasks.build("parity")
    assert parity.baseline() == parity.metrics[0].chance
