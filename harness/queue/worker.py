"""A worker's loop: take waiting runs that can train together, claim them, train them as
one population, and tell each run's end to the storage.

A run is a trial. Its configuration went in when it was enqueued (user attribute ``config``,
with its key); the worker that takes it notes itself (``worker``), and when the run ends its
whole record (curves, telemetry, metrics) goes in at once (``result``), then the trial is
told COMPLETE with the primary test metric as its value. One write per run, not per step.
"""

from __future__ import annotations

import enum
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

import variants
from harness.plans.config import RunConfig
from harness.queue import kept_models, liveness, signals, store
from harness.queue.outage import riding_out
from harness.queue.progress import QUIET, Progress
from harness.training.train import RunResult, stack_key, train_population
from results.tables import record

log = logging.getLogger(__name__)
IDLE_POLL = 1.0  # seconds between looks at the queue while others' runs may come back


def work(
    studies: optuna.Study | list[optuna.Study],
    device: str | None = None,
    progress: Progress = QUIET,
    population: int = 1,
) -> int:
    """Take waiting runs of ``studies`` (the first with any, in turn) until none is left and
    none can come back, after putting back those of dead workers; returns how many were
    run. Up to ``population`` runs that can train together (same ``stack_key``) are taken
    at a time and train as one stacked model. ``progress`` hears a population's start, its
    steps and each run's end. Every touch of the storage rides out
    a database outage (``outage``); an interruption (Ctrl-C, SIGTERM) puts the runs in hand
    back in the queue and re-raises."""
    chosen = [studies] if isinstance(studies, optuna.Study) else list(studies)
    done = 0
    carried: list[tuple[optuna.Trial, RunConfig]] = []  # taken, to train with the next group
    carried_from: optuna.Study | None = None
    while True:
        study = carried_from or _next_with_work(chosen)
        if study is None:
            if not _may_come_back(chosen):
                return done
            time.sleep(IDLE_POLL)  # others' runs may yet go stale and come back
            continue
        hand, carried_from = Hand(taken=carried), None
        try:
            _take(study, population, device, hand)
            group, carried = hand.taken, hand.carried
            carried_from = study if carried else None
            if not group:
                continue
            configs = [c for _, c in group]
            progress.started(configs[0])
            # the heartbeat lasts until the results are stored: a run whose last beat is
            # older than the grace period while it is being told is failed as stale elsewhere
            with liveness.Heartbeat(study, [liveness.trial_id_of(t) for t, _ in group + carried]):
                results = _train(study, group, progress.step)
                done += sum(
                    _tell(study, trial, result=result)
                    for (trial, _), result in zip(group, results)
                    if result is not None
                )
        except KeyboardInterrupt:  # the runs in hand go back in the queue, then stop
            for trial in hand.trials():
                _requeue(study, trial)
            raise
        for config, result in zip(configs, results):
            progress.finished(config, result)


@riding_out("reading the queue")
def _next_with_work(studies: list[optuna.Study]) -> optuna.Study | None:
    """The first study with a waiting run, after putting back the runs of dead workers."""
    for study in studies:
        liveness.recover(study, count=False)
        if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return study
    return None


@riding_out("reading the queue")
def _may_come_back(studies: list[optuna.Study]) -> bool:
    """Whether a run of ``studies`` in another worker's hands may yet come back (go stale)."""
    return any(liveness.may_come_back(s) for s in studies)


def _train(
    study: optuna.Study,
    group: list[tuple[optuna.Trial, RunConfig]],
    on_step: Callable[[int, int, float], None],
) -> list[RunResult | None]:
    """The population's results; a bug in a cell or task fails its runs, not the grid."""
    try:
        return list(train_population([c for _, c in group], on_step))
    except Exception as error:  # noqa: BLE001 - recorded as the runs' error
        log.exception("runs %s failed", [t.user_attrs[record.KEY] for t, _ in group])
        for trial, _ in group:
            why = f"{type(error).__name__}: {error}"
            _tell(study, trial, error=why)
        return [None] * len(group)


@riding_out("storing results")
def _tell(
    study: optuna.Study,
    trial: optuna.Trial,
    result: RunResult | None = None,
    error: str | None = None,
) -> bool:
    """Store a run's end: its result, or its error as a failure. False when the run was
    meanwhile given up as stale (its worker seemed dead: its retry will run it), so that no
    run ends twice."""
    try:
        if result is not None:
            stored = result_record(result)
            if result.model is not None:
                try:
                    stored["model"] = kept_models.keep(study, trial, result.model)
                except OSError as error:  # the run's record matters more than its weights
                    log.warning(
                        "run %s: its model could not be kept (%s)",
                        trial.user_attrs.get(record.KEY),
                        error,
                    )
            store.report_curve(trial, stored)
            trial.set_user_attr(record.RESULT, stored)
        else:
            trial.set_user_attr(record.ERROR, error)
    except optuna.exceptions.UpdateFinishedTrialError:
        stored = False
    else:
        stored = liveness.finish(
            study,
            trial,
            **(
                {"values": result.test[result.primary]}
                if result is not None
                else {"state": TrialState.FAIL}
            ),
        )
    if not stored:
        log.warning(
            "run %s was retried elsewhere while this worker ran it; result dropped",
            trial.user_attrs.get(record.KEY),
        )
    return stored


@riding_out("taking runs")
def _take(
    study: optuna.Study,
    count: int,
    device: str | None,
    hand: Hand,
) -> None:
    """Put in ``hand.taken`` the next waiting run and, up to ``count`` in all, the waiting runs
    after it that can train with it (same ``stack_key``), marked as this worker's, each with
    a first heartbeat (so that a run this worker loses track of goes stale like any other).
    Other kinds of run are left in the queue for other workers; one that Optuna hands out
    anyway (another worker took the run looked at first) goes to ``hand.carried``, to start
    the next group. A copy of a run that is complete, or waiting or running under a lower
    trial number, is dropped: however many processes queued a grid point, one copy runs.
    Every run taken from the queue is in ``hand.asked`` before an interruption can strike,
    and an outage that cuts a take short retries it with the same hand."""
    storage = liveness.storage_of(study)
    distributions = store.recorded_distributions(study)
    taken, carried = hand.taken, hand.carried
    held = {t.number for t, _ in taken + carried}
    for trial in hand.asked:  # asked, but an outage cut its claim short: claim it now
        if (
            trial.number not in held
            and storage.get_trial(liveness.trial_id_of(trial)).state == TrialState.RUNNING
        ):
            _claim(study, trial, device, distributions, hand)
    while not carried and len(taken) < (count if not taken or _stackable(taken[0][1]) else 1):
        if taken:
            waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
            if (
                not waiting
                or record.CONFIG not in waiting[0].user_attrs
                or stack_key(RunConfig(**waiting[0].user_attrs[record.CONFIG]))
                != stack_key(taken[0][1])
            ):
                break
        with signals.deferred():  # not RUNNING without being in hand
            trial = study.ask()
            hand.asked.append(trial)
        if _claim(study, trial, device, distributions, hand) is Claim.ORPHAN:
            break  # (a trial LOST meanwhile: the next waiting one is asked for)


@dataclass
class Hand:
    """The runs a worker holds while it takes a population. One object, filled as it goes,
    because what is in it must outlive an exception halfway: an outage retries the take
    with the same hand, and an interruption puts everything in it back in the queue."""

    taken: list[tuple[optuna.Trial, RunConfig]] = field(default_factory=list)  # to train now
    carried: list[tuple[optuna.Trial, RunConfig]] = field(default_factory=list)  # next time
    asked: list[optuna.Trial] = field(default_factory=list)  # asked of the queue, kept or not

    def trials(self) -> list[optuna.Trial]:
        """Every trial in hand, once."""
        every = [*self.asked, *(t for t, _ in self.taken + self.carried)]
        return list({t.number: t for t in every}.values())


class Claim(enum.Enum):
    """What became of a trial a worker asked for."""

    TAKEN = "taken"  # this worker's, to train now
    CARRIED = "carried"  # this worker's, to train with the next population (cannot stack)
    ORPHAN = "orphan"  # no run: another worker took the last waiting one; failed
    DUPLICATE = "duplicate"  # a copy of a run already done or in hand; failed
    LOST = "lost"  # failed as abandoned by another worker meanwhile; its retry runs it


def _claim(
    study: optuna.Study,
    trial: optuna.Trial,
    device: str | None,
    distributions: dict[str, Any],
    hand: Hand,
) -> Claim:
    """Make an asked trial this worker's run: put it in ``hand.taken`` (or in
    ``hand.carried`` when it cannot train with those), or fail it when it is no run
    (``ORPHAN``: another worker took the last waiting one) or a copy of another
    (``DUPLICATE``). Every write repeats harmlessly, so a claim cut short by an outage is
    claimed again whole; ``LOST`` when another worker failed the trial as abandoned
    meanwhile (after an outage, a half-claimed trial looks so): its retry, enqueued by that
    worker, runs it."""
    try:
        if record.CONFIG not in trial.user_attrs:
            trial.set_user_attr("orphan", True)
            liveness.finish(study, trial, state=TrialState.FAIL)
            return Claim.ORPHAN
        if _copy_of_another(study, trial):
            trial.set_user_attr("duplicate", True)
            liveness.finish(study, trial, state=TrialState.FAIL)
            return Claim.DUPLICATE
        config = RunConfig(**trial.user_attrs[record.CONFIG])
        if device is not None:
            config = RunConfig(**{**asdict(config), "device": device})
        trial.set_user_attr(record.WORKER, liveness.identity())
        store.set_params(study, liveness.trial_id_of(trial), config, distributions)
        storage = liveness.storage_of(study)
        if isinstance(storage, RDBStorage):
            storage.record_heartbeat(liveness.trial_id_of(trial))
    except optuna.exceptions.UpdateFinishedTrialError:
        return Claim.LOST
    if hand.taken and stack_key(config) != stack_key(hand.taken[0][1]):
        hand.carried.append((trial, config))
        return Claim.CARRIED
    hand.taken.append((trial, config))
    return Claim.TAKEN


def _copy_of_another(study: optuna.Study, trial: optuna.Trial) -> bool:
    key = trial.user_attrs[record.KEY]
    for other in study.get_trials(deepcopy=False):
        if other.number == trial.number or other.user_attrs.get(record.KEY) != key:
            continue
        if other.state == TrialState.COMPLETE or (
            other.state in (TrialState.WAITING, TrialState.RUNNING) and other.number < trial.number
        ):
            return True
    return False


def _stackable(config: RunConfig) -> bool:
    """Whether the variant's runs can train together (a user's cell may not support it)."""
    try:
        return bool(variants.info(config.variant).builder.supports_trials)
    except LookupError:
        return False


@riding_out("putting runs back in the queue")
def _requeue(study: optuna.Study, trial: optuna.Trial) -> None:
    """An interrupted run back in the queue (not counted as a failed attempt); nothing when
    it was finished already (told, or failed as stale elsewhere)."""
    storage = liveness.storage_of(study)
    if storage.get_trial(liveness.trial_id_of(trial)).state.is_finished():
        return
    # marked first: counts and reports skip this attempt, whose copy runs in its place
    storage.set_trial_user_attr(liveness.trial_id_of(trial), record.INTERRUPTED, True)
    if liveness.finish(study, trial, state=TrialState.FAIL):
        liveness.requeue(study, storage.get_trial(liveness.trial_id_of(trial)), count_attempt=False)


def result_record(result: RunResult) -> dict[str, Any]:
    """A run's record as stored: JSON-safe (NaN and infinities become null); the kept model
    goes to the artifact store, not here."""
    fields = asdict(result)
    fields.pop("model", None)
    return _json_safe(fields)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
