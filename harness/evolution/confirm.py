"""``harness evolve --confirm K``: the search's best candidate and the baselines it is
compared with trained again with K fresh seeds at the top rung's budget, so that a find's
rank rests on more than the one seed (and the selection) that found it.

Each seed gives each cell a fitness against the GRU of the same seed (the minimum over
tasks of its test score over the GRU's) and the same against LSTM-b. Over the seeds: the
mean and a 95 % t interval. A candidate's rank is confirmed where the interval lies on the
side of 1 its search fitness was on, refuted where it lies on the other side, and
inconclusive where it holds 1. Stored in the study (user attribute ``confirmation``), so
a confirmation resumes seed by seed and the report shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
from scipy import stats

from harness.evolution import candidates as cands
from harness.evolution import evaluate, suite
from harness.evolution.search import Settings

CONFIRMATION = "confirmation"
TOP = 1  # the best find (each more costs K top-rung trainings of a graph cell)
AGAINST = ("gru", "lstm-b")
FIRST_SEED = 1000  # a search trains with its own seed (0 by default): these are fresh


def run(study: optuna.Study, seeds: int, settings: Settings, say: Callable[[str], None]) -> None:
    """Train what is missing of the confirmation, seed by seed, storing each as it ends."""
    rung = suite.RUNGS[-1]
    chosen = _chosen(cands.read(study))
    if not any(c.baseline is None for c in chosen):
        raise ValueError(
            f"study {study.study_name} has no candidate scored at rung {rung} to confirm yet: "
            "run the search longer first"
        )
    stored = dict(study.user_attrs.get(CONFIRMATION) or {})
    for seed in range(FIRST_SEED, FIRST_SEED + seeds):
        for c in chosen:
            entry = stored.setdefault(c.hash, {"name": c.name, "number": c.number, "seeds": {}})
            if str(seed) in entry["seeds"]:
                continue
            what = c.baseline or c.graph
            results = evaluate.evaluate(
                what, suite.tasks_at(rung, settings.tasks), rung, seed, settings.scale
            )
            entry["seeds"][str(seed)] = {t: r.as_dict() for t, r in results.items()}
            study.set_user_attr(CONFIRMATION, stored)
            say(f"confirmation: {c.name} seed {seed} done")


def _chosen(every: list[cands.Candidate]) -> list[cands.Candidate]:
    """The top ``TOP`` candidates at the top rung, then the baselines compared with."""
    rung = suite.RUNGS[-1]
    at_top = [c for c in cands.population(every) if c.top_rung == rung]
    found = [c for c in at_top if c.baseline is None][:TOP]
    baselines = [next((c for c in at_top if c.baseline == b), None) for b in AGAINST]
    return found + [b for b in baselines if b is not None]


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    def verdict(self, searched: float | None) -> str:
        """Whether the fresh seeds put the cell on the side of 1 its search fitness did."""
        if self.n < 2 or searched is None or not math.isfinite(self.low):
            return "inconclusive"
        holds = self.low > 1 if searched > 1 else self.high < 1
        flips = self.high < 1 if searched > 1 else self.low > 1
        return "confirmed" if holds else "refuted" if flips else "inconclusive"


def intervals(study: optuna.Study, against: str) -> dict[str, Interval]:
    """Per confirmed cell (by hash): its fitness against baseline ``against`` over the seeds
    both have (test scores), as a mean and a 95 % t interval."""
    stored = study.user_attrs.get(CONFIRMATION) or {}
    reference = next((e for e in stored.values() if e["name"] == against), None)
    if reference is None:
        return {}
    out = {}
    for key, entry in stored.items():
        values = []
        for seed, results in entry["seeds"].items():
            theirs = reference["seeds"].get(seed)
            if theirs is None:
                continue
            mine = {t: r["test"] for t, r in results.items()}
            value = suite.fitness(mine, {t: r["test"] for t, r in theirs.items()})
            if value is not None:
                values.append(value)
        out[key] = _interval(values)
    return out


def _interval(values: list[float]) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    mean = float(np.mean(values))
    if n < 2:
        return Interval(mean, float("nan"), float("nan"), n)
    half = float(stats.t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return Interval(mean, mean - half, mean + half, n)
