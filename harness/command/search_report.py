"""The findings report of a search: its studies' finished trials, each task's trivial
baseline, Greff et al.'s analysis (``results.analysis.reproduction``), the documents
written into the storage's report folder, and the verdicts printed."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna

import tasks
from harness.plans.config import ConfigError
from harness.plans.profiles import JSB_EPOCH
from harness.queue import finished, storage_url
from results.analysis.reproduction import analyse
from results.rendering import findings_report, report_folder
from results.tables import trials as search_trials

log = logging.getLogger(__name__)


def _baselines(studies: list[optuna.Study]) -> dict[str, float]:
    """Each study's task's trivial model (``Task.baseline``: its unigram or marginal model),
    built with the settings its trials ran with; a task that cannot be built here (its data
    is elsewhere) is left out, and the analysis falls back to its chance level."""
    out = {}
    for study in studies:
        done = finished.completed(study)
        if not done:
            continue
        config = done[0].user_attrs["config"]
        try:
            task = tasks.build(config["task"], **(config.get("task_settings") or {}))
            out[config["task"]] = float(task.baseline())
        except (LookupError, ValueError, OSError) as error:
            log.warning("no trivial baseline for %s (%s); chance level used", config["task"], error)
    return out


def protocol(search: dict) -> str:
    """One line naming a search's protocol from what its study recorded: its name, draws per
    variant, space, and each task's budget, validation interval and patience."""
    run = search.get("run", {})
    budgets = []
    for task, settings in sorted((search.get("per_task") or {}).items()):
        merged = {**run, **settings}
        sequences, every = merged.get("sequences"), merged.get("eval_every")
        epochs = f" (~{sequences / JSB_EPOCH:.0f} epochs)" if task == "music" and sequences else ""
        stopping = (
            f"patience {merged['patience']}" if merged.get("patience") else "no early stopping"
        )
        budgets.append(
            f"{task} {sequences or merged.get('steps', '?')} sequences{epochs}, "
            f"validation every {every}, {stopping}"
        )
    return (
        f"{search.get('prefix', '?')}: {search.get('trials', '?')} draws a variant from "
        f"{search.get('space', '?')!r}, online SGD with Nesterov momentum on the summed "
        f"loss; " + "; ".join(budgets)
    )


def write(
    studies: list[optuna.Study],
    name: str,
    storage: str | None,
    out: str | None,
    provenance: dict[str, object],
) -> int:
    """Analyse the finished trials of ``studies`` (the search ``name``), write the report
    into ``out`` or the storage's report folder, and print the verdicts."""
    recorded = studies[0].user_attrs.get("search", {}) if studies else {}
    line = protocol(recorded)
    baselines = _baselines(studies)
    trials = search_trials.trials_frame(studies)
    if trials.empty:
        raise ConfigError(f"no finished trials in {name}; run the search first")
    trials["baseline"] = trials["task"].map(baselines).astype(float)
    analysis = analyse(trials, search_trials.analysis_space(studies))
    shown = storage_url.shown(storage)
    folder = Path(out or storage_url.report_folder(storage, name))
    provenance = {
        **provenance,
        "protocol": line,
        "studies": ", ".join(s.study_name for s in studies),
        "storage": shown,
        "space": recorded.get("space_description", ""),
        "search seed": recorded.get("seed"),
        "trials": len(trials),
    }
    path = report_folder.write(
        folder, lambda staging: findings_report.build(analysis, staging, provenance), shown
    )
    print(f"protocol: {line}")
    for f in analysis.results:
        print(f"{f.number:>2}. {f.verdict:<13} {f.title} (on {f.data}): {f.statistic}")
    print(f"\nfindings report: {path}")
    return 0
