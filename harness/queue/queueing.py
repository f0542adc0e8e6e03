"""A grid's queue prepared: its studies opened (one per task, in Optuna's terms), where its
runs keep their models, the plugins they need, the runs of dead workers put back, and the
missing runs enqueued, once each however many processes queue the same grid."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from harness.plans import plugins
from harness.queue import kept_models, liveness, locks, store, study_terms
from harness.plans.config import RunConfig
from harness.queue.finished import Prepared
from harness.queue.outage import riding_out
from results import record


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


@riding_out("queueing the grid")
def open_grid(runs: list[RunConfig], noted: dict[str, Any], name: str, storage_url: str | None,
              models: str | None = None, keep_models: bool = True) -> Prepared:
    """The queue's entry for a grid: its studies in the storage at ``storage_url``, one per
    task (``NAME-TASK``, each with its metric's direction and the grid point as params, and
    ``noted``, what it notes of the grid as its user attribute ``grid``), with abandoned
    runs re-queued and missing ones enqueued, riding out a database outage; runs keep their
    models in ``models`` (``kept_models.chosen_folder``). A grid that an older version
    stored as one study ``NAME`` goes on there."""
    return _open(runs, {**noted, "prefix": name}, name, storage_url, models, keep_models)


@riding_out("storing the run")
def open_runs(configs: list[RunConfig], name: str, storage_url: str | None,
              models: str | None = None, keep_models: bool = True) -> Prepared:
    """``open_grid`` for single runs (``run`` without ``--grid``): studies ``NAME-TASK``."""
    return _open(configs, {"single": True, "prefix": name}, name, storage_url, models,
                 keep_models)


def _open(configs: list[RunConfig], noted: dict[str, Any], name: str,
          storage_url: str | None, models: str | None, keep_models: bool) -> Prepared:
    """``open_grid``'s work for any runs (``noted``: what each study notes of them)."""
    folder = kept_models.chosen_folder(models, keep_models, storage_url)
    storage = store.open_storage(storage_url)
    legacy = store.legacy_grid(storage, name)
    by_task: dict[str, list[RunConfig]] = {}
    for config in configs:
        by_task.setdefault(legacy or f"{name}-{config.task}", []).append(config)
    studies, added, already, requeued = [], 0, 0, 0
    for study_name, runs in by_task.items():
        if legacy:
            study = store.open_study(storage, study_name)
        else:
            study = study_terms.open_task_study(storage, study_name, runs[0],
                                                study_terms.grid_distributions(runs))
            study.set_user_attr("grid", {**noted, "task": runs[0].task})
        new, there, back = queue_runs(study, runs, folder)
        added, already, requeued = added + new, already + there, requeued + back
        studies.append(study)
    return Prepared(studies, len(configs), added, already, requeued,
                    {run_key(c) for c in configs})


def queue_runs(study: optuna.Study, runs: list[RunConfig],
               models: Path | None) -> tuple[int, int, int]:
    """Queue a task's runs in its study: note where they keep their models (``models``;
    None: none) and the plugins they need, re-queue those of dead workers, enqueue what is
    missing. Returns (added, already, requeued)."""
    kept_models.record_folder(study, models)
    plugins.record(study)
    requeued = liveness.recover(study)
    added, already = enqueue(study, runs)
    return added, already, requeued


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
