"""Optuna's storage as the record of every run: open it, enqueue a grid, work through it.

A run is a trial. Its configuration goes in when it is enqueued (user attribute ``config``,
with its key); the worker that takes it notes itself (``worker``), and when the run ends its
whole record (curves, telemetry, metrics) goes in at once (``result``), then the trial is
told COMPLETE with the primary test metric as its value. One write per run, not per step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

import variants
from harness.queue import kept_models, liveness, locks, signals, storage_url, study_terms
from harness.plans.config import RunConfig
from harness.queue.journal import JournalFile
from harness.queue.outage import ride_out
from harness.training.train import RunResult, stack_key, train_population
from results import record

log = logging.getLogger(__name__)


class StorageError(ValueError):
    """A storage URL or study that cannot be used (the message says what to do)."""


# Settings added after runs were first stored: left out of a run's key while at their
# default, so that a run stored before they existed keeps its key (and is not run again).
_LATER_SETTINGS = {"loss_reduction": "mean", "momentum_scaled_lr": False, "sequences": None,
                   "bidirectional": False, "architecture": "stack", "attention": False}


def run_key(config: RunConfig) -> str:
    """The identity of a run: a hash of its whole configuration (the resume key)."""
    settings = {k: v for k, v in asdict(config).items()
                if not (k in _LATER_SETTINGS and v == _LATER_SETTINGS[k])}
    canonical = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def open_storage(url: str | None) -> BaseStorage:
    """A journal file (a path, or ``journal:PATH``; safe for several local processes) or a
    database URL (``postgresql://...``, ``sqlite:///...``) through Optuna's RDB storage."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = url or storage_url.default_journal()
    if "://" not in url or url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        with _readable(None, path):  # the journal is read back here
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                return JournalFile(str(path))
            except OSError as error:
                raise StorageError(f"cannot use journal file {path}: "
                                   f"{error.strerror or error}") from None
    shown = storage_url.shown(url)
    scheme = url.split(":", 1)[0].split("+", 1)[0]
    try:
        with warnings.catch_warnings():  # Optuna calls its heartbeat options experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True},
                              **liveness.rdb_options())
    except ImportError as error:
        module = getattr(error.__cause__, "name", None) or error.name or "its DB-API module"
        hint = ("pip install -e '.[postgres]'" if scheme.startswith("postgres")
                else "install SQLAlchemy's driver for it")
        raise StorageError(f"the database driver for {scheme} is missing ({module}); "
                           f"{hint}") from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's many connection errors
        reason = storage_url.scrub(str(getattr(error, "orig", None) or error),
                                   url).strip().splitlines()
        raise StorageError(f"cannot reach the database at {shown} "
                           f"({reason[0] if reason else type(error).__name__}); check the URL "
                           "and that the server is running") from None


def open_study(storage: BaseStorage, name: str, create: bool = True,
               direction: str = "minimize") -> optuna.Study:
    """The study ``name``; created (with ``direction``) when missing and ``create``."""
    with _readable(storage):
        if create:
            return optuna.create_study(study_name=name, storage=storage, load_if_exists=True,
                                       direction=direction)
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            pass
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(f"no study named {name!r} in this storage; studies: "
                           f"{', '.join(known) or 'none'}") from None


@contextlib.contextmanager
def _readable(storage: BaseStorage | None, path: object = None) -> Iterator[None]:
    """A journal file that cannot be read back (a record overwritten) is a clear error, and
    the file is left as it is. (A record cut off at the end, by a worker killed while
    writing, is skipped by Optuna: the complete ones before it read.)"""
    try:
        yield
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        journal = storage is None or isinstance(storage, JournalStorage)
        if not journal or isinstance(error, StorageError):
            raise
        if path is None:
            path = getattr(getattr(storage, "_backend", None), "_file_path", "the journal")
        raise StorageError(f"journal file {path} is damaged ({type(error).__name__}: "
                           f"{str(error).splitlines()[0][:80]}); it was not changed: restore "
                           "it from a copy, or move it aside to start a new one") from None


def family_of(study: optuna.Study | optuna.study.StudySummary) -> str | None:
    """The grid or search a study belongs to (its studies are named ``FAMILY-TASK``)."""
    for kind in ("grid", "search"):
        prefix = (study.user_attrs.get(kind) or {}).get("prefix")
        if prefix:
            return str(prefix)
    return None


def named_studies(storage: BaseStorage, name: str) -> list[optuna.Study]:
    """The study ``name``, or every study of the grid or search ``name`` (named
    ``name-TASK``; each records its prefix, so ``reproduce-quick`` is not
    ``reproduce-quick-seed1``)."""
    with _readable(storage):
        summaries = optuna.get_all_study_summaries(storage)
    names = [s.study_name for s in summaries]

    def of_search(summary: optuna.study.StudySummary) -> bool:
        prefix = family_of(summary)
        return prefix == name if prefix else summary.study_name.startswith(f"{name}-")
    chosen = [n for n in names if n == name] or [s.study_name for s in summaries
                                                 if of_search(s)]
    if not chosen:
        searches = sorted({n.rsplit("-", 1)[0] for n in names if "-" in n})
        raise StorageError(f"no study named {name!r} or {name}-TASK in this storage; "
                           f"studies: {', '.join(names) or 'none'}"
                           + (f" (searches: {', '.join(searches)})" if searches else ""))
    return [open_study(storage, n, create=False) for n in sorted(chosen)]


def enqueue(study: optuna.Study, configs: Iterable[RunConfig]) -> tuple[int, int]:
    """Enqueue the runs not yet done, waiting or running (idempotent, and atomic across
    processes and machines: ``locks.exclusive``). Returns (added, already)."""
    with locks.exclusive(liveness.storage_of(study), study.study_name):
        settled = {t.user_attrs.get(record.KEY) for t in study.get_trials(deepcopy=False)
                   if t.state in (TrialState.COMPLETE, TrialState.WAITING,
                                  TrialState.RUNNING)}
        added = already = 0
        for config in configs:
            key = run_key(config)
            if key in settled:
                already += 1
                continue
            study.enqueue_trial({}, user_attrs={record.KEY: key, record.CONFIG: asdict(config)})
            settled.add(key)
            added += 1
    return added, already


def counts(study: optuna.Study) -> dict[str, int]:
    """Runs by state (orphans, trials without a configuration, are left out)."""
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if record.KEY in t.user_attrs:
            out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
    return out


IDLE_POLL = 1.0  # seconds between looks at the queue while others' runs may come back


def work(studies: optuna.Study | list[optuna.Study], device: str | None = None,
         on_step: Callable[[int, int, float], None] | None = None,
         on_run: Callable[[RunConfig, RunResult | None], None] | None = None,
         on_start: Callable[[RunConfig], None] | None = None,
         population: int = 1) -> int:
    """Take waiting runs of ``studies`` (the first with any, in turn) until none is left and
    none can come back, after putting back those of dead workers; returns how many were
    run. Up to ``population`` runs that can train together (same ``stack_key``) are taken
    at a time and train as one stacked model. ``on_start``/``on_step``/``on_run`` report a
    population's start, its steps and each run's end. Every touch of the storage rides out
    a database outage (``outage``); an interruption (Ctrl-C, SIGTERM) puts the runs in hand
    back in the queue and re-raises."""
    chosen = [studies] if isinstance(studies, optuna.Study) else list(studies)
    done = 0
    carried: list[tuple[optuna.Trial, RunConfig]] = []  # taken, to train with the next group
    carried_from: optuna.Study | None = None
    while True:
        study = carried_from or ride_out(lambda: _next_with_work(chosen), "reading the queue")
        if study is None:
            if not ride_out(lambda: any(liveness.may_come_back(s) for s in chosen),
                            "reading the queue"):
                return done
            time.sleep(IDLE_POLL)  # others' runs may yet go stale and come back
            continue
        group, carried, carried_from = carried, [], None
        asked: list[optuna.Trial] = []  # every run taken from the queue, kept or not
        try:
            ride_out(lambda: _take(study, population, device, group, carried, asked),
                     "taking runs")
            carried_from = study if carried else None
            if not group:
                continue
            configs = [c for _, c in group]
            if on_start is not None:
                on_start(configs[0])
            # the heartbeat lasts until the results are stored: a run whose last beat is
            # older than the grace period while it is being told is failed as stale elsewhere
            with liveness.Heartbeat(study, [liveness.trial_id_of(t)
                                            for t, _ in group + carried]):
                results = _train(study, group, on_step)
                done += sum(ride_out(lambda t=trial, r=result: _tell(study, t, result=r),
                                     "storing results")
                            for (trial, _), result in zip(group, results) if result is not None)
        except KeyboardInterrupt:  # the runs in hand go back in the queue, then stop
            in_hand = {t.number: t for t in [*asked, *(t for t, _ in group + carried)]}
            for trial in in_hand.values():
                ride_out(lambda t=trial: _requeue(study, t), "putting runs back in the queue")
            raise
        if on_run is not None:
            for config, result in zip(configs, results):
                on_run(config, result)


def _next_with_work(studies: list[optuna.Study]) -> optuna.Study | None:
    """The first study with a waiting run, after putting back the runs of dead workers."""
    for study in studies:
        liveness.recover(study, count=False)
        if study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            return study
    return None


def _train(study: optuna.Study, group: list[tuple[optuna.Trial, RunConfig]],
           on_step: Callable[[int, int, float], None] | None) -> list[RunResult | None]:
    """The population's results; a bug in a cell or task fails its runs, not the grid."""
    try:
        return list(train_population([c for _, c in group], on_step))
    except Exception as error:  # noqa: BLE001 - recorded as the runs' error
        log.exception("runs %s failed", [t.user_attrs[record.KEY] for t, _ in group])
        for trial, _ in group:
            why = f"{type(error).__name__}: {error}"
            ride_out(lambda t=trial: _tell(study, t, error=why), "storing a failed run")
        return [None] * len(group)


def _tell(study: optuna.Study, trial: optuna.Trial, result: RunResult | None = None,
          error: str | None = None) -> bool:
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
                    log.warning("run %s: its model could not be kept (%s)",
                                trial.user_attrs.get(record.KEY), error)
            study_terms.report_curve(trial, stored)
            trial.set_user_attr(record.RESULT, stored)
        else:
            trial.set_user_attr(record.ERROR, error)
    except optuna.exceptions.UpdateFinishedTrialError:
        stored = False
    else:
        stored = liveness.finish(study, trial, **(
            {"values": result.test[result.primary]} if result is not None
            else {"state": TrialState.FAIL}))
    if not stored:
        log.warning("run %s was retried elsewhere while this worker ran it; result dropped",
                    trial.user_attrs.get(record.KEY))
    return stored


def _take(study: optuna.Study, count: int, device: str | None,
          taken: list[tuple[optuna.Trial, RunConfig]],
          carried: list[tuple[optuna.Trial, RunConfig]], asked: list[optuna.Trial]) -> None:
    """Append to ``taken`` the next waiting run and, up to ``count`` in all, the waiting runs
    after it that can train with it (same ``stack_key``), marked as this worker's, each with
    a first heartbeat (so that a run this worker loses track of goes stale like any other).
    Other kinds of run are left in the queue for other workers; one that Optuna hands out
    anyway (another worker took the run looked at first) goes to ``carried``, to start the
    next group. A copy of a run that is complete, or waiting or running under a lower trial
    number, is dropped: however many processes queued a grid point, one copy runs. Every
    run taken from the queue is in ``asked`` before an interruption can strike."""
    storage = liveness.storage_of(study)
    distributions = study_terms.recorded_distributions(study)
    held = {t.number for t, _ in taken + carried}
    for trial in asked:  # asked, but an outage cut its claim short: claim it now
        if trial.number not in held and storage.get_trial(
                liveness.trial_id_of(trial)).state == TrialState.RUNNING:
            _claim(study, trial, device, distributions, taken, carried)
    while not carried and len(taken) < (count if not taken or _stackable(taken[0][1]) else 1):
        if taken:
            waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
            if not waiting or record.CONFIG not in waiting[0].user_attrs or stack_key(
                    RunConfig(**waiting[0].user_attrs[record.CONFIG])) != stack_key(taken[0][1]):
                break
        with signals.deferred():  # not RUNNING without being in hand
            trial = study.ask()
            asked.append(trial)
        if _claim(study, trial, device, distributions, taken, carried) == "orphan":
            break  # (a trial "lost" meanwhile: the next waiting one is asked for)


def _claim(study: optuna.Study, trial: optuna.Trial, device: str | None,
           distributions: dict[str, Any], taken: list[tuple[optuna.Trial, RunConfig]],
           carried: list[tuple[optuna.Trial, RunConfig]]) -> str:
    """Make an asked trial this worker's run: put it in ``taken`` (or in ``carried`` when it
    cannot train with ``taken``), or fail it when it is no run (``"orphan"``: another worker
    took the last waiting one) or a copy of another (``"duplicate"``). Every write repeats
    harmlessly, so a claim cut short by an outage is claimed again whole; ``"lost"`` when
    another worker failed the trial as abandoned meanwhile (after an outage, a half-claimed
    trial looks so): its retry, enqueued by that worker, runs it."""
    try:
        return _claim_unless_lost(study, trial, device, distributions, taken, carried)
    except optuna.exceptions.UpdateFinishedTrialError:
        return "lost"


def _claim_unless_lost(study: optuna.Study, trial: optuna.Trial, device: str | None,
                       distributions: dict[str, Any],
                       taken: list[tuple[optuna.Trial, RunConfig]],
                       carried: list[tuple[optuna.Trial, RunConfig]]) -> str:
    if record.CONFIG not in trial.user_attrs:
        trial.set_user_attr("orphan", True)
        liveness.finish(study, trial, state=TrialState.FAIL)
        return "orphan"
    if _copy_of_another(study, trial):
        trial.set_user_attr("duplicate", True)
        liveness.finish(study, trial, state=TrialState.FAIL)
        return "duplicate"
    config = RunConfig(**trial.user_attrs[record.CONFIG])
    if device is not None:
        config = RunConfig(**{**asdict(config), "device": device})
    trial.set_user_attr(record.WORKER, liveness.identity())
    study_terms.set_params(study, liveness.trial_id_of(trial), config, distributions)
    storage = liveness.storage_of(study)
    if isinstance(storage, RDBStorage):
        storage.record_heartbeat(liveness.trial_id_of(trial))
    if taken and stack_key(config) != stack_key(taken[0][1]):
        carried.append((trial, config))
        return "carried"
    taken.append((trial, config))
    return "taken"


def _copy_of_another(study: optuna.Study, trial: optuna.Trial) -> bool:
    key = trial.user_attrs[record.KEY]
    for other in study.get_trials(deepcopy=False):
        if other.number == trial.number or other.user_attrs.get(record.KEY) != key:
            continue
        if other.state == TrialState.COMPLETE or (
                other.state in (TrialState.WAITING, TrialState.RUNNING)
                and other.number < trial.number):
            return True
    return False


def _stackable(config: RunConfig) -> bool:
    """Whether the variant's runs can train together (a user's cell may not support it)."""
    try:
        return bool(variants.info(config.variant).builder.supports_trials)
    except LookupError:
        return False


def _requeue(study: optuna.Study, trial: optuna.Trial) -> None:
    """An interrupted run back in the queue (not counted as a failed attempt); nothing when
    it was finished already (told, or failed as stale elsewhere)."""
    storage = liveness.storage_of(study)
    if storage.get_trial(liveness.trial_id_of(trial)).state.is_finished():
        return
    if liveness.finish(study, trial, state=TrialState.FAIL):
        liveness.requeue(study, storage.get_trial(liveness.trial_id_of(trial)),
                         count_attempt=False)


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


def completed(study: optuna.Study) -> list[FrozenTrial]:
    return [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if record.RESULT in t.user_attrs]
