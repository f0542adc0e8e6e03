"""Which kept model a command means: a trial of a study (``--study NAME --trial N``), the best
run of a variant on a task (``--study NAME --variant V --task T``) or a file (``--model
FILE``). A choice that names no model, or a model of another task than ``--task``, is a
LookupError or ValueError saying so (one line, exit 2, from ``cli.main``)."""

from __future__ import annotations

import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from harness.queue import finished, kept_models, storage_url, store
from results.tables import record


@dataclass(frozen=True)
class Chosen:
    """A kept model, what to call it in messages, and a stem for the files made from it."""

    kept: kept_models.Kept
    name: str  # "trial 3 of grid-default-lm", "model file m.pt"
    stem: str  # "grid-default-lm-trial3", "m"


def of_trial(storage: str | None, study_name: str, number: int, task: str | None) -> Chosen:
    """Trial ``number`` of the study ``study_name``, or of the one study of that grid or
    search that has such a trial on ``task``."""
    studies = store.named_studies(storage_url.open_storage(storage), study_name)
    found = [(s, t) for s in studies for t in s.get_trials(deepcopy=False) if t.number == number]
    if not found:
        raise LookupError(f"no trial {number} in {study_name}")
    if task is not None:
        on_task = [(s, t) for s, t in found if _task_of(t) == task]
        if not on_task and len(found) == 1:
            study, trial = found[0]
            raise ValueError(
                f"trial {number} of {study.study_name} is a {_task_of(trial)} model, not {task}"
            )
        if not on_task:
            raise LookupError(
                f"no trial {number} of {study_name} on task {task}; tasks "
                f"with a trial {number}: {_tasks(found)}"
            )
        found = on_task
    if len(found) > 1:
        raise LookupError(
            f"{study_name} has a trial {number} in {len(found)} studies; give "
            f"--task ({_tasks(found)}) or a study's full name"
        )
    study, trial = found[0]
    name = f"trial {number} of {study.study_name}"
    if trial.state != TrialState.COMPLETE:
        state = "failed" if trial.state == TrialState.FAIL else trial.state.name.lower()
        raise LookupError(f"{name} is {state}, not complete: it kept no model")
    return Chosen(
        kept_models.load(kept_models.path_of(study, trial)),
        name,
        f"{study.study_name}-trial{number}",
    )


def best_of(storage: str | None, study_name: str, variant: str, task: str) -> Chosen:
    """The completed run of ``variant`` on ``task`` in ``study_name`` with the best test
    score of the task's primary metric (its direction respected) among those that kept a
    model; the lowest trial number among equals."""
    studies = store.named_studies(storage_url.open_storage(storage), study_name)
    runs = [(s, t) for s in studies for t in finished.completed(s) if _task_of(t) == task]
    if not runs:
        raise LookupError(f"no completed run on task {task} in {study_name}")
    of_variant = [(s, t) for s, t in runs if t.user_attrs[record.CONFIG]["variant"] == variant]
    if not of_variant:
        known = sorted({t.user_attrs[record.CONFIG]["variant"] for _, t in runs})
        raise LookupError(
            f"no completed run of variant {variant!r} on {task} in "
            f"{study_name}; variants there: {', '.join(known)}"
        )
    kept = [
        (s, t)
        for s, t in of_variant
        if score(s, t) is not None and record.model_file(t.user_attrs[record.RESULT])
    ]
    if not kept:
        raise LookupError(
            f"none of the {len(of_variant)} completed runs of {variant} on "
            f"{task} in {study_name} kept a model (diverged, or --no-models)"
        )
    study, trial = min(kept, key=lambda st: (score(*st), st[1].number))
    return Chosen(
        kept_models.load(kept_models.path_of(study, trial)),
        f"trial {trial.number} of {study.study_name} (the best {variant} on {task})",
        f"{study.study_name}-trial{trial.number}",
    )


def of_file(path: str, task: str | None) -> Chosen:
    """The kept model in ``path``, if it is one of ``task`` (when given)."""
    file = Path(path)
    if not file.is_file():
        raise LookupError(f"no model file {path}")
    try:
        kept = kept_models.load(file)
    except (
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        RuntimeError,
        EOFError,
        KeyError,
        TypeError,
    ) as error:
        raise ValueError(
            f"{path} is not a kept model ({type(error).__name__}); give a file "
            "that `harness models` lists"
        ) from None
    name = f"model file {path}"
    if task is not None and kept.config.task != task:
        raise ValueError(f"{name} is a {kept.config.task} model, not {task}")
    return Chosen(kept, name, file.stem)


def _task_of(trial: FrozenTrial) -> str | None:
    return (trial.user_attrs.get(record.CONFIG) or {}).get("task")


def _tasks(found: list[tuple[optuna.Study, FrozenTrial]]) -> str:
    return ", ".join(sorted({str(_task_of(t)) for _, t in found}))


def score(study: optuna.Study, trial: FrozenTrial) -> float | None:
    """The run's test score of its primary metric, lower better (the record's direction,
    else its study's); None if it diverged or has none."""
    result = trial.user_attrs[record.RESULT]
    value = result["test"].get(result["primary"])
    if result.get("status") == "diverged" or value is None or not math.isfinite(value):
        return None
    lower = result.get("lower_is_better", study.direction == optuna.study.StudyDirection.MINIMIZE)
    return value if lower else -value
