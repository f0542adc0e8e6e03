"""Optuna's storage as the record of every run: open it, enqueue a grid, work through it.

A run is a trial. Its configuration goes in when it is enqueued (user attribute ``config``,
with its key); the worker that takes it notes itself (``worker``), and when the run ends its
whole record (curves, telemetry, metrics) goes in at once (``result``), then the trial is
told COMPLETE with the primary test metric as its value. One write per run, not per step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from harness.config import RunConfig
from harness.train import RunResult, stack_key, train_population

log = logging.getLogger(__name__)
DEFAULT_STORAGE = "results/harness.journal"


class StorageError(ValueError):
    """A storage URL or study that cannot be used (the message says what to do)."""


def run_key(config: RunConfig) -> str:
    """The identity of a run: a hash of its whole configuration (the resume key)."""
    canonical = json.dumps(asdict(config), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def open_storage(url: str | None) -> BaseStorage:
    """A journal file (a path, or ``journal:PATH``; safe for several local processes) or a
    database URL (``postgresql://...``, ``sqlite:///...``) through Optuna's RDB storage."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = url or DEFAULT_STORAGE
    if "://" not in url or url.startswith("journal:"):
        path = Path(url.removeprefix("journal:")).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as error:
            raise StorageError(f"cannot use journal file {path}: {error.strerror}") from None
    try:
        return RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except ImportError as error:
        raise StorageError(f"the database driver for {url.split(':')[0]} is missing "
                           f"({error.name}); install it, e.g. pip install -e '.[postgres]'"
                           ) from None
    except Exception as error:  # noqa: BLE001 - SQLAlchemy's many connection errors
        raise StorageError(f"cannot open storage {url}: {error}") from None


def open_study(storage: BaseStorage, name: str, create: bool = True) -> optuna.Study:
    if create:
        return optuna.create_study(study_name=name, storage=storage, load_if_exists=True)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(f"no study named {name!r} in this storage; studies: "
                           f"{', '.join(known) or 'none'}") from None


def enqueue(study: optuna.Study, configs: Iterable[RunConfig]) -> tuple[int, int]:
    """Enqueue the runs not yet done or waiting (idempotent). Returns (added, already)."""
    settled = {t.user_attrs.get("key") for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)}
    added = already = 0
    for config in configs:
        key = run_key(config)
        if key in settled:
            already += 1
            continue
        study.enqueue_trial({}, user_attrs={"key": key, "config": asdict(config)})
        settled.add(key)
        added += 1
    return added, already


def requeue_abandoned(study: optuna.Study) -> int:
    """Runs left RUNNING by a worker of this host that is gone (killed, interrupted): mark
    them failed and enqueue them again. The journal file has no heartbeat, so the pid
    decides; runs of other hosts are left to their own hosts (or the RDB heartbeat)."""
    host, count = platform.node(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker") or {}
        if worker.get("host") == host and not _alive(worker.get("pid", -1)):
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial({}, user_attrs={k: trial.user_attrs[k]
                                                for k in ("key", "config")})
            count += 1
    return count


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def counts(study: optuna.Study) -> dict[str, int]:
    """Runs by state (orphans, trials without a configuration, are left out)."""
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if "key" in t.user_attrs:
            out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
    return out


def work(study: optuna.Study, device: str | None = None,
         on_step: Callable[[int, int, float], None] | None = None,
         on_run: Callable[[RunConfig, RunResult | None], None] | None = None,
         on_start: Callable[[RunConfig], None] | None = None,
         population: int = 1) -> int:
    """Take waiting runs until none is left; returns how many were run. Up to
    ``population`` runs are taken at a time, and those that can train together (same
    ``stack_key``) train as one stacked model. ``on_start``/``on_step``/``on_run`` report
    a population's start, its steps and each run's end."""
    done = 0
    while study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        taken = _take(study, population, device)
        groups: dict[str, list[tuple[optuna.Trial, RunConfig]]] = {}
        for trial, config in taken:
            groups.setdefault(stack_key(config), []).append((trial, config))
        pending = list(groups.values())
        while pending:
            group = pending.pop(0)
            configs = [c for _, c in group]
            if on_start is not None:
                on_start(configs[0])
            try:
                results = train_population(configs, on_step)
            except KeyboardInterrupt:  # this group and those not started go back in the queue
                for trial, _ in group + [pair for g in pending for pair in g]:
                    _requeue(study, trial)
                raise
            except Exception as error:  # a bug in a cell or task must not stop the grid
                log.exception("runs %s failed", [t.user_attrs["key"] for t, _ in group])
                for trial, config in group:
                    trial.set_user_attr("error", f"{type(error).__name__}: {error}")
                    study.tell(trial, state=TrialState.FAIL)
                    if on_run is not None:
                        on_run(config, None)
                continue
            for (trial, config), result in zip(group, results):
                trial.set_user_attr("result", result_record(result))
                study.tell(trial, result.test[result.primary])
                done += 1
                if on_run is not None:
                    on_run(config, result)
    return done


def _take(study: optuna.Study, count: int, device: str | None
          ) -> list[tuple[optuna.Trial, RunConfig]]:
    """The next waiting run and, up to ``count`` in all, the waiting runs after it that can
    train with it (same ``stack_key``), marked as this worker's. Other kinds of run are
    left in the queue for other workers."""
    taken: list[tuple[optuna.Trial, RunConfig]] = []
    while len(taken) < count:
        if taken:
            waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
            if not waiting or "config" not in waiting[0].user_attrs or stack_key(
                    RunConfig(**waiting[0].user_attrs["config"])) != stack_key(taken[0][1]):
                break
        trial = study.ask()
        if "config" not in trial.user_attrs:  # another worker took the last waiting run
            trial.set_user_attr("orphan", True)
            study.tell(trial, state=TrialState.FAIL)
            break
        config = RunConfig(**trial.user_attrs["config"])
        if device is not None:
            config = RunConfig(**{**asdict(config), "device": device})
        trial.set_user_attr("worker", {"host": platform.node(), "pid": os.getpid(),
                                       "started": time.time()})
        taken.append((trial, config))
    return taken


def _requeue(study: optuna.Study, trial: optuna.Trial) -> None:
    study.tell(trial, state=TrialState.FAIL)
    study.enqueue_trial({}, user_attrs={k: trial.user_attrs[k] for k in ("key", "config")})


def result_record(result: RunResult) -> dict[str, Any]:
    """A run's record as stored: JSON-safe (NaN and infinities become null)."""
    return _json_safe(asdict(result))


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
            if "result" in t.user_attrs]
