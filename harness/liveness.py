"""Runs whose worker died (killed, out of memory, the machine lost): found, and put back in
the queue a bounded number of times, so no run is lost and none is run twice at once.

With a database (Optuna's RDB storage), each worker records a heartbeat for the runs in its
hands every ``HARNESS_HEARTBEAT`` seconds (default 30); a run whose heartbeat is older than
three intervals is failed by the next worker that looks (``optuna.storages.fail_stale_trials``)
and enqueued again by ``retry``. With the journal file there is no heartbeat: a worker
re-queues the runs left RUNNING by a process of its own host that no longer exists.
Either way a run is retried at most ``MAX_ATTEMPTS`` times in all; after that it stays
failed, and the grid says so.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import warnings
from typing import Any

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def heartbeat_seconds() -> int:
    return max(1, int(os.environ.get("HARNESS_HEARTBEAT", "30")))


def rdb_options() -> dict[str, Any]:
    """The heartbeat settings of the harness's RDB storages."""
    interval = heartbeat_seconds()
    return {"heartbeat_interval": interval, "grace_period": 3 * interval,
            "heartbeat_stale_trial_callback": requeue}  # a stale run, enqueued again


def requeue(study: optuna.Study, trial: FrozenTrial, count_attempt: bool = True) -> bool:
    """Enqueue ``trial``'s run again (the trial itself must be finished, e.g. failed).
    ``count_attempt=False`` for a clean interruption (Ctrl-C), which is not the run's fault.
    Returns False when the run has used up its ``MAX_ATTEMPTS``."""
    if "config" not in trial.user_attrs:
        return False
    attempt = int(trial.user_attrs.get("attempt", 1)) + int(count_attempt)
    if attempt > MAX_ATTEMPTS:
        log.warning("run %s was abandoned by its worker %d times; not retried",
                    trial.user_attrs.get("key"), MAX_ATTEMPTS)
        return False
    study.enqueue_trial({}, user_attrs={"key": trial.user_attrs["key"],
                                        "config": trial.user_attrs["config"],
                                        "attempt": attempt})
    return True


def finish(study: optuna.Study, trial: optuna.Trial | FrozenTrial, **tell: Any) -> bool:
    """``study.tell(trial, **tell)``, but False instead of an error when another worker has
    finished the trial first: it failed this worker's run as stale (a heartbeat delayed on a
    loaded machine), or two workers raced to fail the same abandoned run. Only the worker that
    finishes a run may store its result or enqueue it again, so a run never ends twice."""
    try:
        study.tell(trial.number, **tell) if isinstance(trial, FrozenTrial) else study.tell(
            trial, **tell)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    except ValueError:  # Optuna's "Cannot tell a FAIL trial": finished in this view already
        if not study._storage.get_trial(trial._trial_id).state.is_finished():
            raise
        return False
    return True


def recover(study: optuna.Study, count: bool = True) -> int:
    """Fail and re-queue the runs whose worker is gone; returns how many were found (with a
    database, counting costs two reads of the queue: ``count=False`` skips it and returns 0)."""
    if isinstance(study._storage, RDBStorage):
        before = _waiting(study) if count else 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return _waiting(study) - before if count else 0
    return requeue_abandoned(study)


def _waiting(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def may_come_back(study: optuna.Study) -> bool:
    """Whether runs may still return to the queue: with a database, where a dead worker's
    runs go stale and are enqueued again, while any run is running elsewhere."""
    return isinstance(study._storage, RDBStorage) and bool(
        study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def requeue_abandoned(study: optuna.Study) -> int:
    """Runs left RUNNING by a worker of this host that is gone: mark them failed and
    enqueue them again. The journal file has no heartbeat, so the pid decides; runs of other
    hosts are left to their own hosts (or the RDB heartbeat)."""
    host, count = platform.node(), 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker") or {}
        if worker.get("host") == host and not _alive(worker.get("pid", -1)) and finish(
                study, trial, state=TrialState.FAIL):
            requeue(study, trial)
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


class Heartbeat:
    """While open, records a heartbeat for ``trial_ids`` every interval (RDB storage only;
    a no-op elsewhere)."""

    def __init__(self, study: optuna.Study, trial_ids: list[int]) -> None:
        storage = study._storage
        self.storage = storage if isinstance(storage, RDBStorage) else None
        self.trial_ids = trial_ids
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if self.storage is not None and self.storage.get_heartbeat_interval():
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def _beat(self) -> None:
        interval = self.storage.get_heartbeat_interval()  # type: ignore[union-attr]
        while True:
            for trial_id in self.trial_ids:
                try:
                    self.storage.record_heartbeat(trial_id)  # type: ignore[union-attr]
                except Exception:  # noqa: BLE001 - a lost connection must not kill the run
                    log.warning("could not record the heartbeat of trial %s", trial_id)
            if self.stop.wait(interval):
                return

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
