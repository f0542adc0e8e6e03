"""A grid's, a search's or single runs' queue prepared, in the order of the flow: the
storage opened, each task's study opened in its terms (one per task, in Optuna's terms),
noted (where its runs keep their models, the plugins they need), the runs of dead workers
put back, and the missing runs enqueued, once each however many processes queue them."""

from __future__ import annotations

from typing import Any

from harness.plans import plugins
from harness.plans.config import RunConfig
from harness.queue import entries, kept_models, liveness, storage_url, store
from harness.queue.finished import Prepared
from harness.queue.outage import riding_out
from harness.queue.store import TaskStudy


def open_grid(
    runs: list[RunConfig],
    noted: dict[str, Any],
    name: str,
    storage: str | None,
    models: str | None = None,
    keep_models: bool = True,
) -> Prepared:
    """The queue's entry for a grid: its studies in the storage at ``storage``, one per task
    (``NAME-TASK``, each with its metric's direction and the grid point as params, and
    ``noted``, what it notes of the grid, as its user attribute ``grid``), with abandoned
    runs re-queued and missing ones enqueued, riding out a database outage; runs keep their
    models in ``models`` (``kept_models.chosen_folder``). A grid that a 0.1.0 pre-release
    stored as one study ``NAME`` is refused in one line (``store.earlier_grid``)."""
    by_task: dict[str, list[RunConfig]] = {}
    for config in runs:
        by_task.setdefault(config.task, []).append(config)
    return prepare(
        [
            TaskStudy(
                f"{name}-{task}",
                group,
                {"grid": {**noted, "prefix": name, "task": task}},
            )
            for task, group in by_task.items()
        ],
        storage,
        models,
        keep_models,
        grid=name,
    )


def open_runs(
    configs: list[RunConfig],
    name: str,
    storage: str | None,
    models: str | None = None,
    keep_models: bool = True,
) -> Prepared:
    """``open_grid`` for single runs (``run`` without ``--grid``): studies ``NAME-TASK``."""
    return open_grid(configs, {"single": True}, name, storage, models, keep_models)


@riding_out("queueing the runs")
def prepare(
    wanted: list[TaskStudy],
    url: str | None,
    models: str | None,
    keep_models: bool,
    grid: str | None = None,
) -> Prepared:
    """Queue each task's runs in its study (``wanted``) in the storage at ``url``: open the
    study in its terms, note where its runs keep their models (``models``, or none unless
    ``keep_models``: ``kept_models.chosen_folder``) and the plugins they need, re-queue the
    runs of dead workers, enqueue what is missing. Repeats harmlessly, so it rides out a
    database outage."""
    storage = storage_url.open_storage(url)
    if grid is not None:
        store.earlier_grid(storage, grid)
    studies: dict[str, Any] = {}
    added = already = requeued = 0
    for task in wanted:
        study = store.open_task_study(storage, task)
        kept_models.note(study, models, keep_models, url)
        plugins.record(study)
        requeued += liveness.recover(study)
        new, there = entries.enqueue(storage, study, task.runs)
        added, already = added + new, already + there
        studies.setdefault(study.study_name, study)
    runs = [config for task in wanted for config in task.runs]
    return Prepared(
        list(studies.values()), len(runs), added, already, requeued, {config.key for config in runs}
    )
