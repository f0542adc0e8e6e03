"""The search loop of ``harness evolve``: Jozefowicz et al. (2015)'s, on a laptop's budget.

1. The baselines (``gru``, ``lstm-b``, ``lstm``) are evaluated first, at every rung: the GRU
   is what every fitness is relative to, and all three seed the population.
2. Then, until the budget is spent: a parent is drawn uniformly from the ``population`` best
   candidates so far, mutated (``variants.graphs.mutate``) until the mutant is one no trial
   of the study has computed (canonical hash), and the mutant is evaluated rung by rung:
   memorization alone (the paper's filter), then every task, then every task at three times
   the budget. After rungs 0 and 1 Optuna's successive-halving pruner keeps it only if its
   fitness is in the top third of the candidates scored at that rung so far.

Every process that runs this on the same storage shares the work: trials are the candidates,
the population is read from the storage before every proposal, and a trial's mutation is
drawn from ``(seed, trial number)``, so two processes never draw the same stream. A process
that finds the GRU being evaluated by another waits for its scores (a stale one, whose
process is gone, is taken over). Ctrl-C or SIGTERM fails the candidate in hand, marked
``interrupted`` (it is not counted and may be proposed again), and stops.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
from optuna.trial import TrialState

from harness.evolution import candidates as cands
from harness.evolution import evaluate, suite
from harness.queue import liveness, signals
from results.tables import record
from variants import graphs

WAIT_SECONDS = 10.0  # between looks at another process's GRU while waiting for its scores
PRUNER = dict(min_resource=1, reduction_factor=3)  # the rungs' report steps are 1, 3, 9


@dataclass(frozen=True)
class Settings:
    tasks: tuple[str, ...] | None = None  # the suite's tasks to use (all where None)
    population: int = 20  # parents are drawn from this many best candidates
    seed: int = 0
    scale: float = 1.0  # every budget times this
    seconds: float | None = None  # stop proposing once this much wall time has passed
    candidates: int | None = None  # or once this many new candidates were evaluated


@dataclass
class Outcome:
    """What one candidate's evaluation ended as, for the progress line."""

    candidate: cands.Candidate
    pruned_at: int | None  # the rung after which the pruner stopped it, if it did


def open_search(storage: optuna.storages.BaseStorage, name: str) -> optuna.Study:
    """The search's study (created if missing), maximising fitness, with the pruner."""
    pruner = optuna.pruners.SuccessiveHalvingPruner(**PRUNER)
    return optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True, pruner=pruner
    )


def run(study: optuna.Study, settings: Settings, on_outcome: Callable[[Outcome], None]) -> int:
    """Evaluate the baselines still missing, then new candidates until the settings' budget
    is spent; returns how many new candidates this process evaluated."""
    started = time.monotonic()
    for label in cands.BASELINES:
        outcome = _baseline(study, label, settings)
        if outcome is not None:
            on_outcome(outcome)
    done = 0
    while not _spent(settings, started, done):
        on_outcome(_candidate(study, settings))
        done += 1
    return done


def _spent(settings: Settings, started: float, done: int) -> bool:
    if settings.candidates is not None and done >= settings.candidates:
        return True
    return settings.seconds is not None and time.monotonic() - started >= settings.seconds


def _baseline(study: optuna.Study, label: str, settings: Settings) -> Outcome | None:
    """Evaluate baseline ``label`` at every rung, unless it is done or being done (by a
    live process) already."""
    for c in cands.read(study):
        if c.baseline != label or c.interrupted:
            continue
        if c.state == TrialState.COMPLETE:
            return None
        if c.state == TrialState.RUNNING:
            if not _stale(study, c.number):
                return None
            _abandoned(study, c.number)  # its process is gone: this one takes it over
    graph = cands.BASELINES[label]()
    trial = _claim(study, cands.describe(graph, baseline=label))
    if not cands.first_of_its_kind(cands.read(study), trial.number):
        _duplicate(study, trial)
        return None
    return _evaluate(study, trial, label, settings, prune=False)


def _candidate(study: optuna.Study, settings: Settings) -> Outcome:
    """Propose one new candidate and evaluate it."""
    while True:
        trial = _claim(study, None)
        try:
            every = cands.read(study)
            parents = cands.population(every, settings.population)
            rng = np.random.default_rng([settings.seed, trial.number])
            parent = parents[rng.integers(len(parents))] if parents else None
            base = parent.graph if parent else cands.BASELINES[cands.REFERENCE]()
            taken = cands.seen(every)
            for _ in range(100):  # a mutant equal to one already computed is drawn again
                child, kind = graphs.mutation(base, rng)
                if graphs.graph_hash(child) not in taken:
                    break
            trial.set_user_attr(
                cands.CANDIDATE,
                cands.describe(child, parent=parent.hash if parent else None, mutation=kind),
            )
            if cands.first_of_its_kind(cands.read(study), trial.number):
                break
            _duplicate(study, trial)  # another process proposed it at the same moment
        except KeyboardInterrupt:
            _interrupted(study, trial)
            raise
    return _evaluate(study, trial, child, settings, prune=True)


def _claim(study: optuna.Study, about: dict | None) -> optuna.Trial:
    """A new trial, signed by this process (so that another can tell it is alive)."""
    with signals.deferred():  # not RUNNING without its signature
        trial = study.ask()
        trial.set_user_attr(record.WORKER, liveness.identity())
        if about is not None:
            trial.set_user_attr(cands.CANDIDATE, about)
    return trial


def _evaluate(
    study: optuna.Study,
    trial: optuna.Trial,
    what: graphs.Graph | str,
    settings: Settings,
    prune: bool,
) -> Outcome:
    """Train ``what`` rung by rung, reporting its fitness; told COMPLETE or PRUNED."""
    scored: dict[str, dict] = {}
    fitness = float("nan")
    try:
        with liveness.Heartbeat(study, [liveness.trial_id_of(trial)]):
            for rung in suite.RUNGS:
                chosen = suite.tasks_at(rung, settings.tasks)
                reused = _reusable(scored, rung, chosen)
                trained = evaluate.evaluate(
                    what,
                    tuple(t for t in chosen if t.name not in reused),
                    rung,
                    settings.seed,
                    settings.scale,
                )
                scored[str(rung)] = {**reused, **{k: v.as_dict() for k, v in trained.items()}}
                trial.set_user_attr(cands.RUNGS, scored)
                reference = _reference(study, rung, settings)
                scores = {t: r["valid"] for t, r in scored[str(rung)].items()}
                value = suite.fitness(scores, reference)
                fitness = float("nan") if value is None else value
                trial.report(fitness, suite.REPORT_STEP[rung])
                # asked of every trial, baselines too: the pruner records a trial's value at
                # a rung only when asked, and a baseline must be among what it compares
                stop = trial.should_prune()
                if prune and rung < suite.RUNGS[-1] and stop:
                    liveness.finish(study, trial, state=TrialState.PRUNED)
                    return Outcome(_read_one(study, trial.number), rung)
    except KeyboardInterrupt:
        _interrupted(study, trial)
        raise
    if math.isnan(fitness):  # nothing to compare with: Optuna would fail a NaN value
        liveness.finish(study, trial, state=TrialState.PRUNED)
    else:
        liveness.finish(study, trial, values=[fitness])
    return Outcome(_read_one(study, trial.number), None)


def _reusable(scored: dict[str, dict], rung: int, chosen: tuple) -> dict[str, dict]:
    """Results of an earlier rung at the same budget (memorization at rungs 0 and 1)."""
    out = {}
    for earlier, results in scored.items():
        if suite.RUNG_STEPS[int(earlier)] == suite.RUNG_STEPS[rung]:
            out.update({t: r for t, r in results.items() if t in {c.name for c in chosen}})
    return out


def _reference(study: optuna.Study, rung: int, settings: Settings) -> dict[str, float]:
    """The GRU's scores at ``rung``; waits while another live process computes them, and
    computes them here when nobody is."""
    while True:
        found = cands.reference(cands.read(study), rung)
        if found is not None:
            return found
        if _baseline(study, cands.REFERENCE, settings) is None:
            time.sleep(WAIT_SECONDS)


def _stale(study: optuna.Study, number: int) -> bool:
    trial = study.get_trials(deepcopy=False)[number]
    return liveness.abandoned(trial, time.time())


def _abandoned(study: optuna.Study, number: int) -> None:
    """A trial whose process is gone: failed, and marked so that nothing counts it."""
    trial = study.get_trials(deepcopy=False)[number]
    storage = liveness.storage_of(study)
    storage.set_trial_user_attr(liveness.trial_id_of(trial), cands.INTERRUPTED, True)
    liveness.finish(study, trial, state=TrialState.FAIL)


def _duplicate(study: optuna.Study, trial: optuna.Trial) -> None:
    trial.set_user_attr(cands.DUPLICATE, True)
    liveness.finish(study, trial, state=TrialState.FAIL)


def _interrupted(study: optuna.Study, trial: optuna.Trial) -> None:
    trial.set_user_attr(cands.INTERRUPTED, True)
    liveness.finish(study, trial, state=TrialState.FAIL)


def _read_one(study: optuna.Study, number: int) -> cands.Candidate:
    return next(c for c in cands.read(study) if c.number == number)
