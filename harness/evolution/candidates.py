"""A search's candidates as Optuna trials of one study, read back as ``Candidate`` records.

Every candidate is a trial: its graph (JSON) and canonical hash, its parent and mutation,
what it scored at each rung (``user_attrs``), and its fitness at each rung as the trial's
intermediate values (Optuna's pruner reads those) and, finished, as its value. So a search
resumes from its storage, runs on many machines sharing one (PostgreSQL), and shows in the
dashboard. The baselines (``gru``, ``lstm-b``, ``lstm``) are candidates too, marked with
their variant: they train as the registered cells, and they seed the population.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from harness.evolution.suite import REPORT_STEP
from variants import graphs

_RUNG_AT = {step: rung for rung, step in REPORT_STEP.items()}

CANDIDATE = "candidate"  # user attribute: what the trial is (graph, hash, parent, ...)
RUNGS = "rungs"  # user attribute: {rung: {task: TaskResult as a dict}}
INTERRUPTED = "interrupted"
DUPLICATE = "duplicate"  # user attribute: another process proposed the same cell first
BASELINES = {  # the cells the paper compared its finds with, as graphs for mutation
    "gru": graphs.known.gru,
    "lstm-b": lambda: graphs.known.lstm(forget_bias=1.0),
    "lstm": graphs.known.lstm,
}
REFERENCE = "gru"  # fitness is relative to it (Jozefowicz et al.)


@dataclass
class Candidate:
    """A trial of the search as the search and its report need it."""

    number: int
    state: TrialState
    graph: graphs.Graph
    hash: str
    baseline: str | None  # the registered variant it is, if a baseline
    parent: str | None
    mutation: str | None
    rungs: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)
    fitness: dict[int, float] = field(default_factory=dict)
    interrupted: bool = False
    duplicate: bool = False

    @property
    def top_rung(self) -> int:
        """The highest rung it was scored at (-1: none yet)."""
        return max(self.rungs, default=-1)

    @property
    def rank_key(self) -> tuple[int, float]:
        """Higher is better: the rung reached first (a candidate that earned more budget is
        better known), then its fitness there."""
        rung = self.top_rung
        return rung, self.fitness.get(rung, float("-inf"))

    @property
    def name(self) -> str:
        return self.baseline or f"#{self.number} {self.hash[:8]}"

    def scores(self, rung: int, split: str = "valid") -> dict[str, float]:
        """Its score per task at ``rung`` ({} where it was not scored there)."""
        return {t: float(r[split]) for t, r in self.rungs.get(rung, {}).items()}


def describe(
    graph: graphs.Graph,
    baseline: str | None = None,
    parent: str | None = None,
    mutation: str | None = None,
) -> dict[str, Any]:
    """The ``candidate`` user attribute of a new trial."""
    return {
        "graph": graph.to_json(),
        "hash": graphs.graph_hash(graph),
        "baseline": baseline,
        "parent": parent,
        "mutation": mutation,
    }


def read(study: optuna.Study) -> list[Candidate]:
    """Every candidate of the study, in trial order (trials that are no candidate skipped)."""
    return [c for c in map(_candidate, study.get_trials(deepcopy=False)) if c is not None]


def _candidate(trial: FrozenTrial) -> Candidate | None:
    about = trial.user_attrs.get(CANDIDATE)
    if not about:
        return None
    return Candidate(
        number=trial.number,
        state=trial.state,
        graph=graphs.Graph.from_json(about["graph"]),
        hash=about["hash"],
        baseline=about.get("baseline"),
        parent=about.get("parent"),
        mutation=about.get("mutation"),
        rungs={int(r): v for r, v in (trial.user_attrs.get(RUNGS) or {}).items()},
        fitness={
            _RUNG_AT[step]: v for step, v in trial.intermediate_values.items() if step in _RUNG_AT
        },
        interrupted=bool(trial.user_attrs.get(INTERRUPTED)),
        duplicate=bool(trial.user_attrs.get(DUPLICATE)),
    )


def counted(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates that were evaluated (finished, not cut short by an interruption)."""
    return [
        c
        for c in candidates
        if c.state in (TrialState.COMPLETE, TrialState.PRUNED) and not c.interrupted
    ]


def reference(candidates: list[Candidate], rung: int) -> dict[str, float] | None:
    """The GRU's validation scores at ``rung`` (the first finished GRU baseline's), or None
    while none has been scored there."""
    for c in candidates:
        if c.baseline == REFERENCE and rung in c.rungs and not c.interrupted:
            return c.scores(rung)
    return None


def population(candidates: list[Candidate], size: int | None = None) -> list[Candidate]:
    """The ``size`` best evaluated candidates (all where None), best first (Jozefowicz et
    al. kept 100)."""
    return sorted(counted(candidates), key=lambda c: c.rank_key, reverse=True)[:size]


def finds(candidates: list[Candidate]) -> list[Candidate]:
    """The evaluated candidates that are no baseline, best first."""
    return [c for c in population(candidates) if c.baseline is None]


def seen(candidates: list[Candidate]) -> set[str]:
    """Hashes already proposed: a duplicate computation is evaluated once. A candidate an
    interruption cut short may be proposed again."""
    return {c.hash for c in candidates if not c.interrupted}


def first_of_its_kind(every: list[Candidate], number: int) -> bool:
    """Whether trial ``number`` is the first live trial of its cell (same hash; a baseline's
    is its graph's): two processes that proposed one cell at once keep the lower-numbered
    trial."""
    mine = next(c for c in every if c.number == number)
    return not any(
        c.number < number
        and c.hash == mine.hash
        and c.state in (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)
        and not c.interrupted
        for c in every
    )
