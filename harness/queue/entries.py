"""A run's entry in the queue: a waiting trial keyed by its configuration, enqueued once
however many processes, on however many machines, queue the same runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from harness.plans.config import RunConfig
from harness.queue import locks
from results.tables import record


def enqueue(
    storage: BaseStorage, study: optuna.Study, configs: Iterable[RunConfig]
) -> tuple[int, int]:
    """Enqueue the runs of ``study`` (in ``storage``) not yet done, waiting or running
    (idempotent, and atomic across processes and machines: ``locks.exclusive``). Returns
    (added, already)."""
    with locks.exclusive(storage, study.study_name):
        settled = {
            t.user_attrs.get(record.KEY)
            for t in study.get_trials(deepcopy=False)
            if t.state in (TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING)
        }
        added = already = 0
        for config in configs:
            if config.key in settled:
                already += 1
                continue
            study.enqueue_trial(
                {}, user_attrs={record.KEY: config.key, record.CONFIG: asdict(config)}
            )
            settled.add(config.key)
            added += 1
    return added, already
