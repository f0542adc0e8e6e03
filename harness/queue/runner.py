"""Running a prepared grid or search: its studies worked through in this process, or by N
local worker processes that share them through the storage. A search has one study per
task; workers go through the studies in turn."""

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
from typing import Any

import optuna
import torch

from harness.plans import plugins
from harness.queue import signals, store, worker
from harness.queue.finished import Prepared, finished_records
from harness.queue.journal import JournalWriteError
from harness.queue.outage import StorageDown, is_outage
from harness.queue.progress import Progress
from harness.queue.storage_url import StorageError, open_storage
from harness.training.memory import keep_freed_memory

log = logging.getLogger(__name__)


def run(
    studies: Prepared | list[optuna.Study],
    storage_url: str | None,
    workers: int,
    device: str | None,
    population: int,
    progress: Progress,
    keys: set[str] | None = None,
) -> None:
    """Work through the studies in ``workers`` processes (the finished runs read back from
    the storage: ``progress.found``) or, with one worker, here (``progress`` hears each
    population start, step and end)."""
    chosen = _studies(studies)
    if workers > 1:
        wanted = keys if keys is not None else studies.keys  # type: ignore[union-attr]
        run_in_workers(
            chosen,
            storage_url,
            workers,
            device,
            progress.found,
            population=population,
            wanted=wanted,
        )
    else:
        worker.work(chosen, device, progress, population)


def run_in_workers(
    chosen: list[optuna.Study],
    storage_url: str | None,
    workers: int,
    device: str | None,
    on_progress: Callable[[dict[str, dict]], None],
    poll_seconds: float = 1.0,
    population: int = 1,
    wanted: set[str] = frozenset(),
) -> None:
    """``workers`` processes share the studies through the storage, taking them in turn;
    each gets an equal share of the cores as torch threads. Progress (the finished runs
    among ``wanted``) is read back from the storage. An interruption of this process reaches
    every worker (each puts its runs back in the queue); a worker that stops with an error
    ends the others' work as they finish theirs and raises :class:`WorkerFailed`."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    ends = context.Queue()
    names = [s.study_name for s in chosen]
    processes = [
        context.Process(
            target=_worker_main,
            daemon=False,
            args=(storage_url, names, device, threads, population, plugins.load(), ends),
        )
        for _ in range(workers)
    ]

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

    started = []
    try:
        with signals.held_back():  # each worker takes signals once its handler is in place
            for p in processes:
                p.start()
                started.append(p)
        while any(p.is_alive() for p in started):
            progress()
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        for p in started:  # a signal to this process alone reaches the workers too
            if p.is_alive():
                os.kill(p.pid, signal.SIGTERM)
        raise
    finally:
        for p in started:
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
        raise WorkerFailed(
            "a worker process died (exit codes "
            f"{', '.join(str(p.exitcode) for p in processes)}); its runs go "
            "back in the queue when the grid is run again"
        )
    progress()


class WorkerFailed(RuntimeError):
    """A local worker process stopped with an error (the message carries its reason)."""


# what a worker process reports when it ends: (exit code, one line); 0 is a normal end
_STOPPED, _BROKEN = 3, 1


def _worker_main(
    storage_url: str | None,
    study_names: list[str],
    device: str | None,
    threads: int,
    population: int,
    plugin_modules: list[str],
    ends: Any,
) -> None:
    signals.install()
    code, why = 0, ""
    try:
        signals.release()  # a signal sent while this process started arrives here
        quiet_optuna()
        torch.set_num_threads(threads)
        keep_freed_memory()
        plugins.load(plugin_modules)  # the parent's plugins: their cells and tasks train here
        storage = open_storage(storage_url)
        worker.work(
            [store.open_study(storage, name, create=False) for name in study_names],
            device,
            population=population,
        )
    except KeyboardInterrupt as interrupt:  # the runs in hand were put back by work()
        code = signals.exit_code(interrupt)
    except (StorageDown, JournalWriteError, StorageError) as error:
        code, why = _STOPPED, str(error)
    except Exception as error:  # noqa: BLE001 - reported to the parent in one line
        log.exception("worker %d failed", os.getpid())
        code, why = _BROKEN, f"{type(error).__name__}: {error}"
    signals.settle()  # a signal from here on must not cut the report to the parent
    ends.put((os.getpid(), code, why))
    sys.exit(code)


def quiet_optuna() -> None:
    """Optuna's messages that say nothing to a harness user: its INFO lines, and the warning
    that heartbeats are meant for ``Study.optimize`` (the harness beats for its own loop)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


def run_in_process(
    studies: Prepared | list[optuna.Study],
    device: str | None,
    progress: Progress,
    population: int = 1,
) -> None:
    worker.work(_studies(studies), device, progress, population)


def _studies(studies: Prepared | list[optuna.Study]) -> list[optuna.Study]:
    return list(studies.studies) if isinstance(studies, Prepared) else list(studies)
