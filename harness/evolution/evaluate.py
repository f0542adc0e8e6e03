"""Training a candidate cell on the suite at one rung: per task, one population of its
learning rates, the best by validation kept (``suite``).

A candidate is a graph (``variants.graphs``) or a registered variant (the baselines: ``gru``,
``lstm``, ``lstm-b``). A graph trains as a variant registered for the time of its runs under
its hash, on the generic (autograd) backend; a registered variant trains as itself, on its
fastest backend: the same arithmetic (``tests/variants/test_graphs.py`` proves the graphs of
the built-in cells equal them), so a baseline costs what it costs in a grid.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import variants
from harness.evolution.suite import HIDDEN, LEARNING_RATES, RUNG_STEPS, SuiteTask
from harness.plans.config import RunConfig
from harness.training.train import train_population
from variants import graphs


@dataclass(frozen=True)
class TaskResult:
    """A candidate's best learning rate on one task at one rung."""

    task: str
    lr: float
    valid: float  # the task's score (higher is better) on the validation split
    test: float  # and on the test split, of the same trial
    steps: int
    seconds: float  # the population's wall time (all its learning rates)

    def as_dict(self) -> dict[str, float | int | str]:
        return dict(vars(self))


def evaluate(
    candidate: graphs.Graph | str,
    suite: tuple[SuiteTask, ...],
    rung: int,
    seed: int = 0,
    scale: float = 1.0,
) -> dict[str, TaskResult]:
    """``candidate`` (a graph, or a registered variant's name) on every task of ``suite`` at
    ``rung``: budgets ``scale`` times the suite's (a test's tiny budget)."""
    with _registered(candidate) as variant:
        return {t.name: _task(variant, t, rung, seed, scale) for t in suite}


def _task(variant: str, task: SuiteTask, rung: int, seed: int, scale: float) -> TaskResult:
    steps = max(2, round(task.steps * RUNG_STEPS[rung] * scale))
    configs = [
        RunConfig(
            variant=variant,
            task=task.name,
            seed=seed,
            hidden_size=HIDDEN,
            lr=lr,
            steps=steps,
            eval_every=max(1, steps // 4),  # four validations: the best is kept
            task_settings=dict(task.settings),
            **task.run,
        )
        for lr in LEARNING_RATES
    ]
    results = train_population(configs)
    best = max(results, key=lambda r: task.scored(r.valid))
    return TaskResult(
        task.name,
        best.config["lr"],
        task.scored(best.valid),
        task.scored(best.test),
        steps,
        float(results[0].telemetry.get("population_seconds", 0.0)),
    )


@contextlib.contextmanager
def _registered(candidate: graphs.Graph | str) -> Iterator[str]:
    """The variant name that trains ``candidate``: a registered one as it is; a graph under
    ``graph-HASH`` for the block (unregistered after, so the registry stays the user's)."""
    if isinstance(candidate, str):
        yield candidate
        return
    name = f"graph-{graphs.graph_hash(candidate)[:12]}"
    taken = name in variants.names()
    if not taken:
        graphs.register_graph(name, candidate)
    try:
        yield name
    finally:
        if not taken:
            variants.unregister(name)
