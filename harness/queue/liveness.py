"""Runs whose worker died (killed, out of memory, its machine lost): found, and put back in
the queue a bounded number of times, so no run is lost and none is run twice at once.

Every worker keeps a heartbeat for the runs in its hands, every ``HARNESS_HEARTBEAT`` seconds
(default 30): a lease on the run (its user attribute ``lease``: host, pid, time of the last
beat), and with a database (Optuna's RDB storage) Optuna's own heartbeat besides. A run of a
process of this host that no longer exists is taken back at once; any other run, of any
host, once its lease is older than three intervals (hosts sharing a journal on a network file
system need clocks within a fraction of that, as NTP keeps them), or its Optuna heartbeat is
(``optuna.storages.fail_stale_trials``, with ``requeue`` as its stale-trial callback). The
journal needs the lease: Optuna 5.0's journal storage has no heartbeat. A dead host's run is
therefore back in the queue within three intervals of its last beat, plus the time until a
worker looks.

A worker's identity is ``HARNESS_HOST`` (default: the machine's name) and its pid. Either way
a run is retried at most ``MAX_ATTEMPTS`` times in all; after that it stays failed, and the
grid says so.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from harness.queue.outage import is_outage, since_outage
from results.tables import record

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


def heartbeat_seconds() -> int:
    return max(1, int(os.environ.get("HARNESS_HEARTBEAT", "30")))


def grace_seconds() -> int:
    """How old a heartbeat or lease may be before its run counts as abandoned."""
    return 3 * heartbeat_seconds()


def host() -> str:
    """This worker's host, as runs and leases record it."""
    return os.environ.get("HARNESS_HOST") or platform.node()


def identity() -> dict[str, Any]:
    """What a run records of the worker that takes it."""
    return {"host": host(), "pid": os.getpid(), "started": time.time()}


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage behind ``study``: the journal, or the RDB storage itself (a study wraps an
    RDB storage in Optuna's private read cache, which is no ``RDBStorage``). Optuna has no
    public accessor: this is the one place the harness reads these private attributes, and
    tests/harness/test_liveness.py fails if they move."""
    storage = study._storage
    return (
        getattr(storage, "_backend", storage)
        if type(storage).__name__ == "_CachedStorage"
        else storage
    )


def trial_id_of(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage's id of ``trial`` (Optuna's trials keep it private; the one place)."""
    return trial._trial_id


def rdb_options() -> dict[str, Any]:
    """The heartbeat settings of the harness's RDB storages."""
    interval = heartbeat_seconds()
    return {
        "heartbeat_interval": interval,
        "grace_period": grace_seconds(),
        "heartbeat_stale_trial_callback": requeue,
    }  # a stale run, enqueued again


def requeue(study: optuna.Study, trial: FrozenTrial, count_attempt: bool = True) -> bool:
    """Enqueue ``trial``'s run again (the trial itself must be finished, e.g. failed).
    ``count_attempt=False`` for a clean interruption (Ctrl-C, SIGTERM), which is not the run's
    fault. Returns False when the run has used up its ``MAX_ATTEMPTS``."""
    if record.CONFIG not in trial.user_attrs:
        return False
    attempt = int(trial.user_attrs.get(record.ATTEMPT, 1)) + int(count_attempt)
    if attempt > MAX_ATTEMPTS:
        log.warning(
            "run %s was abandoned by its worker %d times; not retried",
            trial.user_attrs.get(record.KEY),
            MAX_ATTEMPTS,
        )
        return False
    study.enqueue_trial(
        {},
        user_attrs={
            record.KEY: trial.user_attrs[record.KEY],
            record.CONFIG: trial.user_attrs[record.CONFIG],
            record.ATTEMPT: attempt,
        },
    )
    return True


def finish(study: optuna.Study, trial: optuna.Trial | FrozenTrial, **tell: Any) -> bool:
    """``study.tell(trial, **tell)``, but False instead of an error when another worker has
    finished the trial first: it failed this worker's run as stale (a heartbeat delayed on a
    loaded machine), or two workers raced to fail the same abandoned run. Only the worker that
    finishes a run may store its result or enqueue it again, so a run never ends twice."""
    try:
        study.tell(trial.number, **tell) if isinstance(trial, FrozenTrial) else study.tell(
            trial, **tell
        )
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    except ValueError:  # Optuna's "Cannot tell a FAIL trial": finished in this view already
        if not storage_of(study).get_trial(trial_id_of(trial)).state.is_finished():
            raise
        return False
    return True


def recover(study: optuna.Study, count: bool = True) -> int:
    """Fail and re-queue the runs whose worker is gone (see the module); returns how many
    (with a database, counting costs two reads of the running runs: ``count=False`` skips
    it and returns 0)."""
    if since_outage() < grace_seconds():  # every beat is stale right after an outage:
        return 0  # give the live workers time to beat again
    if not isinstance(storage_of(study), RDBStorage):
        return requeue_abandoned(study)
    running = (
        {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        if count
        else set()
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    requeue_abandoned(study)  # the runs Optuna's heartbeat cannot see (see ``abandoned``)
    if not count:
        return 0
    return sum(
        1
        for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        if t.number in running
    )


def may_come_back(study: optuna.Study) -> bool:
    """Whether runs may still return to the queue: while any run is running elsewhere, its
    worker may die and the run be enqueued again."""
    return bool(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def abandoned(trial: FrozenTrial, now: float) -> bool:
    """Whether a running trial's worker is gone: a process of this host that no longer
    exists, or a lease older than the grace period. A run without a lease counts from when
    its worker took it, and one without a worker (the database went away between taking it
    and signing it) from when it started; with a database, these are the runs that Optuna's
    heartbeat cannot see (it has no beat for them)."""
    worker = trial.user_attrs.get(record.WORKER) or {}
    if worker.get("host") == host() and not _alive(int(worker.get("pid", -1))):
        return True
    lease = trial.user_attrs.get("lease") or {}
    beat = lease.get("beat", worker.get("started"))
    if beat is None and getattr(trial, "datetime_start", None) is not None:
        beat = trial.datetime_start.timestamp()
    return beat is not None and now - float(beat) > grace_seconds()


def requeue_abandoned(study: optuna.Study) -> int:
    """Runs left RUNNING by a worker that is gone (``abandoned``): mark them failed and
    enqueue them again; returns how many."""
    count, now = 0, time.time()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if abandoned(trial, now) and finish(study, trial, state=TrialState.FAIL):
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
    """While open, beats for ``trial_ids`` every interval: Optuna's heartbeat on a database,
    a lease on the journal. A beat that cannot be written (the database away) is tried again
    at the next interval, with one message per outage."""

    def __init__(self, study: optuna.Study, trial_ids: list[int]) -> None:
        self.storage = storage_of(study)
        self.rdb = isinstance(self.storage, RDBStorage)
        self.trial_ids = trial_ids
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not self.rdb or self.storage.get_heartbeat_interval():
            self.thread = threading.Thread(target=self._beat, daemon=True)
            try:
                self.thread.start()
            except BaseException:  # an interruption while it starts: no __exit__ will stop it
                self.stop.set()
                raise
        return self

    def _beat(self) -> None:
        failing = False
        lease = {"host": host(), "pid": os.getpid()}
        while True:
            for trial_id in self.trial_ids:
                try:
                    if self.rdb:
                        self.storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
                    self.storage.set_trial_user_attr(
                        trial_id, "lease", {**lease, "beat": time.time()}
                    )
                    failing = False
                except optuna.exceptions.UpdateFinishedTrialError:
                    pass  # failed as stale elsewhere: its retry will run it
                except Exception as error:  # noqa: BLE001 - a lost beat must not kill the run
                    if not failing:
                        log.warning(
                            "could not record the heartbeat of run %s (%s); trying "
                            "again every %d s",
                            trial_id,
                            "database unreachable" if is_outage(error) else error,
                            heartbeat_seconds(),
                        )
                    failing = True
            if self.stop.wait(heartbeat_seconds()):
                return

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
