"""What a candidate cell is judged on: Jozefowicz et al. (2015)'s kinds of task from the ones
this harness has, its budgets, its learning rates, and its score relative to the GRU's.

Jozefowicz et al. scored an architecture by the minimum over tasks of its best accuracy over
the GRU's best accuracy (``../shared/REFERENCES.md`` §2.4), after a filter on a memorization
task. Here, at a budget a laptop can pay:

- **tasks**: memorization (``long-dependency``: recall a sequence after a delay, the
  paper's memorization task), arithmetic (``addition``: the sum digit by digit after the
  operands, as the paper's), character language modelling (``lm``) and music (``music``:
  JSB Chorales; the paper used music only to check generalisation);
- **score of a task**, higher is better, in [0, 1]: recall accuracy for memorization, the
  answer's per-digit accuracy for arithmetic (the paper's next-step accuracy), and the
  per-step likelihood ``exp(-nll)`` for the language and the music (the paper's PTB column:
  1 / perplexity);
- **learning rates**: each task trains with Adam at every rate of ``LEARNING_RATES`` (one
  population) and keeps the rate whose validation score is best, as the paper kept the best
  of its random settings;
- **fitness**: the minimum over tasks of score / the GRU's score at the same rung (1.0: as
  good as the GRU on its worst task);
- **rungs**: rung 0 trains memorization alone (the paper's filter), rung 1 every task at
  the base budget, rung 2 every task at three times it. Optuna's successive-halving pruner
  decides after rungs 0 and 1 which candidates go on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

LEARNING_RATES = (3e-3, 1e-2, 3e-2)
HIDDEN = 32  # every candidate and baseline: the paper fixed a parameter budget; see README
RUNGS = (0, 1, 2)
RUNG_STEPS = {0: 1.0, 1: 1.0, 2: 3.0}  # a task's base steps times this at each rung
# the step at which a rung's fitness is reported to Optuna: the budget spent so far in
# units of rung 0's (memorization alone, then all four tasks, then three times that), which
# is where a successive-halving pruner with reduction factor 3 looks (1, 3, 9)
REPORT_STEP = {0: 1, 1: 3, 2: 9}


@dataclass(frozen=True)
class SuiteTask:
    """One task of the suite: its settings, base budget and how its result scores."""

    name: str
    kind: str  # what it stands for in Jozefowicz et al.
    steps: int
    metric: str  # the test/valid metric read
    score: str  # "percent" (metric / 100) or "likelihood" (exp(-metric))
    settings: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)

    def scored(self, metrics: dict[str, float]) -> float:
        """The task's score from a run's metrics (0.0 where the metric is missing or not
        finite: a run that diverged scores nothing)."""
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return 0.0
        return value / 100.0 if self.score == "percent" else math.exp(-value)

    def metric_of(self, score: float) -> float:
        """The task's own metric back from a score (a report shows nats, not exp(-nats))."""
        if self.score == "percent":
            return 100.0 * score
        return -math.log(score) if score > 0 else math.inf


SUITE = (
    SuiteTask(
        "long-dependency",
        "memorization",
        400,
        "recall_accuracy",
        "percent",
        {"delay": 10, "copy_len": 5, "eval_size": 500},
    ),
    SuiteTask(
        "addition",
        "arithmetic",
        600,
        "token_accuracy",
        "percent",
        {"digits": 3, "eval_size": 500},
        {"architecture": "encoder-decoder"},
    ),
    SuiteTask("lm", "language", 200, "nll", "likelihood", {"seq_len": 50, "eval_tokens": 20_000}),
    SuiteTask("music", "music", 300, "nll", "likelihood"),
)
MEMORIZATION = SUITE[0].name


def tasks_at(rung: int, chosen: tuple[str, ...] | None = None) -> tuple[SuiteTask, ...]:
    """The suite's tasks trained at ``rung`` (rung 0: memorization alone), among
    ``chosen`` (all where None)."""
    suite = tuple(t for t in SUITE if chosen is None or t.name in chosen)
    return tuple(t for t in suite if t.name == MEMORIZATION) if rung == 0 else suite


def by_name(name: str) -> SuiteTask:
    return next(t for t in SUITE if t.name == name)


def fitness(scores: dict[str, float], reference: dict[str, float]) -> float | None:
    """min over the tasks both have of score / the reference's (the GRU's) score, leaving out
    a task the reference scored 0 on (no ratio to take: a budget too small for the GRU to
    learn it); None where no task is left."""
    shared = [t for t in scores if reference.get(t, 0.0) > 0]
    return min(scores[t] / reference[t] for t in shared) if shared else None
