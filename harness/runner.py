"""Running a grid or a search: enqueue it (idempotently), then work through it with N local
workers. A search has one study per task; workers go through the studies in turn."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
import torch
from optuna.trial import TrialState

from harness import grid, liveness, plugins, store
from harness.config import RunConfig
from harness.memory import keep_freed_memory
from harness.train import RunResult

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    study: optuna.Study
    total: int  # runs in this grid
    added: int  # newly enqueued
    already: int  # done, waiting or running before
    requeued: int  # abandoned by a dead worker, enqueued again
    keys: set[str]


def prepare(spec: grid.GridSpec, storage: optuna.storages.BaseStorage,
            study_name: str) -> Prepared:
    """Open (or create) the study, re-queue abandoned runs, enqueue what is missing."""
    study = store.open_study(storage, study_name)
    study.set_user_attr("grid", grid.as_dict(spec))
    requeued = liveness.recover(study)
    configs = spec.runs()
    added, already = store.enqueue(study, configs)
    return Prepared(study, len(configs), added, already, requeued,
                    {store.run_key(c) for c in configs})


def done_keys(study: optuna.Study) -> set[str]:
    return {t.user_attrs["key"] for t in store.completed(study)}


def finished_records(study: optuna.Study, keys: set[str]) -> dict[str, dict]:
    """Stored results of the completed runs among ``keys``."""
    return {t.user_attrs["key"]: t.user_attrs["result"] for t in store.completed(study)
            if t.user_attrs["key"] in keys}


def run_in_process(studies: Prepared | list[optuna.Study], device: str | None,
                   on_step: Callable[[int, int, float], None] | None,
                   on_run: Callable[[RunConfig, RunResult | None], None] | None,
                   on_start: Callable[[RunConfig], None] | None = None,
                   population: int = 1) -> None:
    for study in _studies(studies):
        store.work(study, device, on_step, on_run, on_start, population)


def _studies(studies: Prepared | list[optuna.Study]) -> list[optuna.Study]:
    return [studies.study] if isinstance(studies, Prepared) else list(studies)


def _worker_main(storage_url: str | None, study_names: list[str], device: str | None,
                 threads: int, population: int, plugin_modules: list[str]) -> None:
    torch.set_num_threads(threads)
    plugins.load(plugin_modules)  # the parent's plugins: their cells and tasks train here
    keep_freed_memory()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = store.open_storage(storage_url)
    try:
        for name in study_names:
            store.work(store.open_study(storage, name, create=False), device,
                       population=population)
    except KeyboardInterrupt:
        pass  # the runs in hand were put back in the queue by work()


def run_in_workers(studies: Prepared | list[optuna.Study], storage_url: str | None,
                   workers: int, device: str | None,
                   on_progress: Callable[[dict[str, dict]], None], poll_seconds: float = 1.0,
                   population: int = 1, keys: set[str] | None = None) -> None:
    """``workers`` processes share the studies through the storage, taking them in turn;
    each gets an equal share of the cores as torch threads. Progress (the finished runs
    among ``keys``) is read back from the storage."""
    chosen = _studies(studies)
    wanted = keys if keys is not None else studies.keys  # type: ignore[union-attr]
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    names = [s.study_name for s in chosen]
    processes = [context.Process(target=_worker_main, daemon=False,
                                 args=(storage_url, names, device, threads, population,
                                       plugins.load()))
                 for _ in range(workers)]
    for p in processes:
        p.start()

    def progress() -> None:
        found: dict[str, dict] = {}
        for study in chosen:
            found.update(finished_records(study, wanted))
        on_progress(found)
    try:
        while any(p.is_alive() for p in processes):
            progress()
            time.sleep(poll_seconds)
    finally:
        for p in processes:
            p.join()
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


def failed(study: optuna.Study, keys: set[str]) -> list[str]:
    """Runs of the grid whose last attempt failed with an error (not re-queued)."""
    settled = done_keys(study)
    errors = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if t.user_attrs.get("key") in keys and "error" in t.user_attrs:
            errors[t.user_attrs["key"]] = t.user_attrs["error"]
    return [e for k, e in errors.items() if k not in settled]
