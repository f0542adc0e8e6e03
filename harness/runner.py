"""Running a grid: enqueue it (idempotently), then work through it with N local workers."""

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

from harness import grid, store
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
    requeued = store.requeue_abandoned(study)
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


def run_in_process(prepared: Prepared, device: str | None,
                   on_step: Callable[[int, int, float], None] | None,
                   on_run: Callable[[RunConfig, RunResult | None], None] | None,
                   on_start: Callable[[RunConfig], None] | None = None,
                   population: int = 1) -> None:
    store.work(prepared.study, device, on_step, on_run, on_start, population)


def _worker_main(storage_url: str | None, study_name: str, device: str | None,
                 threads: int, population: int) -> None:
    torch.set_num_threads(threads)
    keep_freed_memory()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = store.open_study(store.open_storage(storage_url), study_name, create=False)
    try:
        store.work(study, device, population=population)
    except KeyboardInterrupt:
        pass  # the runs in hand were put back in the queue by work()


def run_in_workers(prepared: Prepared, storage_url: str | None, workers: int,
                   device: str | None, on_progress: Callable[[dict[str, dict]], None],
                   poll_seconds: float = 1.0, population: int = 1) -> None:
    """``workers`` processes share the study through the storage; each gets an equal share
    of the cores as torch threads. Progress is read back from the storage."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_main, daemon=False,
                                 args=(storage_url, prepared.study.study_name, device, threads,
                                       population))
                 for _ in range(workers)]
    for p in processes:
        p.start()
    try:
        while any(p.is_alive() for p in processes):
            on_progress(finished_records(prepared.study, prepared.keys))
            time.sleep(poll_seconds)
    finally:
        for p in processes:
            p.join()
    on_progress(finished_records(prepared.study, prepared.keys))


def failed(study: optuna.Study, keys: set[str]) -> list[str]:
    """Runs of the grid whose last attempt failed with an error (not re-queued)."""
    settled = done_keys(study)
    errors = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        if t.user_attrs.get("key") in keys and "error" in t.user_attrs:
            errors[t.user_attrs["key"]] = t.user_attrs["error"]
    return [e for k, e in errors.items() if k not in settled]
