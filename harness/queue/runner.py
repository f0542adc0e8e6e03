"""Running a grid or a search: enqueue it (idempotently), then work through it with N local
workers. A search has one study per task; workers go through the studies in turn."""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from harness.plans import grid, plugins
from harness.queue import kept_models, liveness, signals, store, study_terms
from harness.plans.config import RunConfig
from harness.queue.journal import JournalWriteError
from harness.training.memory import keep_freed_memory
from harness.queue.outage import StorageDown, is_outage, ride_out
from harness.queue.store import StorageError
from harness.training.train import RunResult
from results import record

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    studies: list[optuna.Study]  # one per task (a grid stored by an older version: one)
    total: int  # runs in this grid
    added: int  # newly enqueued
    already: int  # done, waiting or running before
    requeued: int  # abandoned by a dead worker, enqueued again
    keys: set[str]
    storage_url: str | None = None  # where the studies are (None: the default journal)

    def done(self) -> set[str]:
        """The keys of this grid's runs that are complete."""
        return ride_out(lambda: done_keys(self.studies) & self.keys, "reading the queue")

    def failures(self) -> list[str]:
        """The errors of this grid's runs whose last attempt failed."""
        return ride_out(lambda: failed(self.studies, self.keys), "reading the queue")


def open_grid(spec: grid.GridSpec, name: str, storage_url: str | None,
              models: str | None = None, keep_models: bool = True) -> Prepared:
    """The queue's entry for a grid: its studies in the storage at ``storage_url``, with
    abandoned runs re-queued and missing ones enqueued (``prepare``), riding out a database
    outage; runs keep their models in ``models`` (``kept_models.chosen_folder``)."""
    storage = store.open_storage(storage_url)
    folder = kept_models.chosen_folder(models, keep_models, storage_url)
    prepared = ride_out(lambda: prepare(spec, storage, name, folder), "queueing the grid")
    prepared.storage_url = storage_url
    return prepared


def open_runs(configs: list[RunConfig], name: str, storage_url: str | None,
              models: str | None = None, keep_models: bool = True) -> Prepared:
    """``open_grid`` for single runs (``run`` without ``--grid``): studies ``NAME-TASK``."""
    storage = store.open_storage(storage_url)
    folder = kept_models.chosen_folder(models, keep_models, storage_url)
    prepared = ride_out(lambda: prepare_runs(configs, storage, name,
                                             {"single": True, "prefix": name}, folder),
                        "storing the run")
    prepared.storage_url = storage_url
    return prepared


def prepare(spec: grid.GridSpec, storage: optuna.storages.BaseStorage,
            name: str, models: Path | None = None) -> Prepared:
    """Open (or create) the grid's studies, one per task (``NAME-TASK``, each with its
    metric's direction and the grid point as params), re-queue abandoned runs, enqueue what
    is missing; runs keep their models in ``models`` (None: none). A grid that an older
    version stored as one study ``NAME`` goes on there."""
    return prepare_runs(spec.runs(), storage, name, {**grid.as_dict(spec), "prefix": name},
                        models)


def prepare_runs(configs: list[RunConfig], storage: optuna.storages.BaseStorage, name: str,
                 noted: dict[str, Any], models: Path | None) -> Prepared:
    """``prepare`` for any runs: a grid's, or a single run (``noted``: what each study
    notes of the grid as its user attribute ``grid``)."""
    legacy = _legacy_grid(storage, name)
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
        kept_models.record_folder(study, models)
        plugins.record(study)
        requeued += liveness.recover(study)
        new, there = store.enqueue(study, runs)
        added, already = added + new, already + there
        studies.append(study)
    return Prepared(studies, len(configs), added, already, requeued,
                    {store.run_key(c) for c in configs})


def _legacy_grid(storage: optuna.storages.BaseStorage, name: str) -> str | None:
    """``name`` when it is a grid stored by a version before one study per task."""
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name == name and "grid" in summary.user_attrs:
            return name
    return None


def done_keys(study: optuna.Study | list[optuna.Study]) -> set[str]:
    studies = study if isinstance(study, list) else [study]
    return {t.user_attrs[record.KEY] for s in studies for t in store.completed(s)}


def finished_records(study: optuna.Study, keys: set[str]) -> dict[str, dict]:
    """Stored results of the completed runs among ``keys``."""
    return {t.user_attrs[record.KEY]: t.user_attrs[record.RESULT] for t in store.completed(study)
            if t.user_attrs[record.KEY] in keys}


def run_in_process(studies: Prepared | list[optuna.Study], device: str | None,
                   on_step: Callable[[int, int, float], None] | None,
                   on_run: Callable[[RunConfig, RunResult | None], None] | None,
                   on_start: Callable[[RunConfig], None] | None = None,
                   population: int = 1) -> None:
    store.work(_studies(studies), device, on_step, on_run, on_start, population)


def _studies(studies: Prepared | list[optuna.Study]) -> list[optuna.Study]:
    return list(studies.studies) if isinstance(studies, Prepared) else list(studies)


class WorkerFailed(RuntimeError):
    """A local worker process stopped with an error (the message carries its reason)."""


# what a worker process reports when it ends: (exit code, one line); 0 is a normal end
_STOPPED, _BROKEN = 3, 1


def _worker_main(storage_url: str | None, study_names: list[str], device: str | None,
                 threads: int, population: int, plugin_modules: list[str],
                 ends: Any) -> None:
    signals.install()
    quiet_optuna()
    torch.set_num_threads(threads)
    keep_freed_memory()
    code, why = 0, ""
    try:
        plugins.load(plugin_modules)  # the parent's plugins: their cells and tasks train here
        storage = store.open_storage(storage_url)
        store.work([store.open_study(storage, name, create=False) for name in study_names],
                   device, population=population)
    except KeyboardInterrupt as interrupt:  # the runs in hand were put back by work()
        code = signals.exit_code(interrupt)
    except (StorageDown, JournalWriteError, StorageError) as error:
        code, why = _STOPPED, str(error)
    except Exception as error:  # noqa: BLE001 - reported to the parent in one line
        log.exception("worker %d failed", os.getpid())
        code, why = _BROKEN, f"{type(error).__name__}: {error}"
    ends.put((os.getpid(), code, why))
    sys.exit(code)


def quiet_optuna() -> None:
    """Optuna's messages that say nothing to a harness user: its INFO lines, and the warning
    that heartbeats are meant for ``Study.optimize`` (the harness beats for its own loop)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def run_in_workers(studies: Prepared | list[optuna.Study], storage_url: str | None,
                   workers: int, device: str | None,
                   on_progress: Callable[[dict[str, dict]], None], poll_seconds: float = 1.0,
                   population: int = 1, keys: set[str] | None = None) -> None:
    """``workers`` processes share the studies through the storage, taking them in turn;
    each gets an equal share of the cores as torch threads. Progress (the finished runs
    among ``keys``) is read back from the storage. An interruption of this process reaches
    every worker (each puts its runs back in the queue); a worker that stops with an error
    ends the others' work as they finish theirs and raises :class:`WorkerFailed`."""
    chosen = _studies(studies)
    wanted = keys if keys is not None else studies.keys  # type: ignore[union-attr]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    ends = context.Queue()
    names = [s.study_name for s in chosen]
    processes = [context.Process(target=_worker_main, daemon=False,
                                 args=(storage_url, names, device, threads, population,
                                       plugins.load(), ends))
                 for _ in range(workers)]
    for p in processes:
        p.start()

    def progress() -> None:
        found: dict[str, dict] = {}
        try:
            for study in chosen:
                found.update(finished_records(study, wanted))
        except Exception as error:  # noqa: BLE001 - progress waits for the database
            if not is_outage(error):
                raise
            return
        on_progress(found)
    try:
        while any(p.is_alive() for p in processes):
            progress()
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        for p in processes:  # a signal to this process alone reaches the workers too
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        raise
    finally:
        for p in processes:
            p.join()
    reports = []
    while True:
        try:
            reports.append(ends.get_nowait())
        except queue.Empty:
            break
    failures = [why for _, code, why in reports if code in (_STOPPED, _BROKEN)]
    if failures:
        raise WorkerFailed(f"{len(failures)} of {workers} workers stopped: {failures[0]}")
    if any(p.exitcode not in (0, 130, 143) for p in processes):
        raise WorkerFailed("a worker process died (exit codes "
                           f"{', '.join(str(p.exitcode) for p in processes)}); its runs go "
                           "back in the queue when the grid is run again")
    progress()


def run(studies: Prepared | list[optuna.Study], storage_url: str | None, workers: int,
        device: str | None, population: int,
        on_run: Callable[[RunConfig, RunResult | None], None],
        on_progress: Callable[[dict[str, dict]], None], keys: set[str] | None = None,
        on_step: Callable[[int, int, float], None] | None = None,
        on_start: Callable[[RunConfig], None] | None = None) -> None:
    """Work through the studies here (one worker: its runs report through ``on_run``) or in
    ``workers`` processes (progress read back from the storage through ``on_progress``)."""
    if workers == 1:
        run_in_process(studies, device, on_step, on_run, on_start, population)
    else:
        run_in_workers(studies, storage_url, workers, device, on_progress,
                       population=population, keys=keys)


def failed(study: optuna.Study | list[optuna.Study], keys: set[str]) -> list[str]:
    """Runs of the grid whose last attempt failed with an error (not re-queued)."""
    studies = study if isinstance(study, list) else [study]
    settled = done_keys(studies)
    errors = {}
    for t in (t for s in studies for t in s.get_trials(deepcopy=False,
                                                           states=(TrialState.FAIL,))):
        if t.user_attrs.get(record.KEY) in keys and record.ERROR in t.user_attrs:
            errors[t.user_attrs[record.KEY]] = t.user_attrs[record.ERROR]
    return [e for k, e in errors.items() if k not in settled]
