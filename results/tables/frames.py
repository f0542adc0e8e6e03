"""From the storage to pandas: one row per run, and curves in long format.

Reads what the runner stored on each trial (``config``, ``result``); needs nothing else, so
the tables are the same on any machine that can open the storage.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from results.tables import record

log = logging.getLogger(__name__)

RUN_COLUMNS = ["study", "trial", "key", "variant", "task", "seed", "status"]


Studies = optuna.Study | list[optuna.Study]  # a grid's or a search's studies, one per task


def _runs(studies: Studies) -> list[tuple[str, optuna.trial.FrozenTrial]]:
    """(study name, trial) of the trials that are runs (orphans of racing workers carry no
    configuration; an interrupted attempt is superseded by the copy queued in its place)."""
    chosen = (
        sorted(studies, key=lambda s: s.study_name) if isinstance(studies, list) else [studies]
    )  # in one order, so that a table's columns do not depend on the caller
    return [
        (s.study_name, t)
        for s in chosen
        for t in s.get_trials(deepcopy=False)
        if record.CONFIG in t.user_attrs and not record.superseded(t)
    ]


def _finished(study: Studies) -> list[tuple[tuple[str, str, str, int], dict[str, Any]]]:
    """((key, variant, task, seed), stored result) of every run that has a result."""
    out = []
    for _, trial in _runs(study):
        result = trial.user_attrs.get(record.RESULT)
        if result is not None:
            config = trial.user_attrs[record.CONFIG]
            ident = (
                trial.user_attrs[record.KEY],
                config["variant"],
                config["task"],
                config["seed"],
            )
            out.append((ident, result))
    return out


def runs_frame(study: Studies) -> pd.DataFrame:
    """One row per run: identity, every hyperparameter, status, metrics, chance, telemetry.

    Status is ``complete``, ``diverged``, ``failed`` (an error), ``running`` or ``waiting``.
    Metric columns: ``test_<m>``, ``valid_<m>``, ``chance_<m>``; ``metric`` names the
    primary one and ``test``/``chance``/``lower_is_better`` repeat it for plotting. Runs
    that a pre-release of 0.1.0 stored keep that version's cost names
    (``record.EARLIER_TELEMETRY``) and leave today's cost columns empty, said in one line.
    """
    rows, earlier = [], set()
    for name, trial in _runs(study):
        config = dict(trial.user_attrs[record.CONFIG])
        row: dict[str, Any] = {
            "study": name,
            "trial": trial.number,
            "key": trial.user_attrs[record.KEY],
        }
        task_settings = config.pop("task_settings", {}) or {}
        cell_options = config.pop("cell_options", {}) or {}
        row.update(config)
        # the architecture: a run stored before the setting existed read its inputs forward
        row["bidirectional"] = bool(config.get("bidirectional") or False)
        row["architecture"] = config.get("architecture") or "stack"  # or "encoder-decoder"
        row["attention"] = bool(config.get("attention") or False)
        row.update({f"task.{k}": v for k, v in task_settings.items()})
        row.update({f"cell.{k}": v for k, v in cell_options.items()})
        result = trial.user_attrs.get(record.RESULT)
        row["status"] = _status(trial, result)
        if result is not None:
            row["metric"] = result["primary"]
            row["lower_is_better"] = result["lower_is_better"]
            for part in ("test", "valid", "chance"):
                row.update({f"{part}_{k}": v for k, v in result[part].items()})
            row["test"] = result["test"][result["primary"]]
            row["chance"] = result["chance"][result["primary"]]
            row["best_step"], row["steps_done"] = result["best_step"], result["steps"]
            row["model"] = record.model_file(result)  # the kept model, in the artifact store
            row["model_bytes"] = (result.get("model") or {}).get("bytes")
            tele = dict(result["telemetry"])
            if any(old in tele for old in record.EARLIER_TELEMETRY):
                earlier.add(name)
            tele.pop("task_source", None)
            row.update(tele)
        if record.ERROR in trial.user_attrs:
            row["error"] = trial.user_attrs[record.ERROR]
        rows.append(row)
    if earlier:
        log.warning(
            "runs of %s were stored by a pre-release of harness 0.1.0 (their cost as %s): "
            "their cost columns are empty",
            ", ".join(sorted(earlier)),
            " and ".join(record.EARLIER_TELEMETRY),
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=RUN_COLUMNS)
    return frame.sort_values(["task", "variant", "seed"], kind="stable").reset_index(drop=True)


def _status(trial: optuna.trial.FrozenTrial, result: dict[str, Any] | None) -> str:
    if trial.state == TrialState.COMPLETE and result is not None:
        return str(result["status"])
    return {
        TrialState.FAIL: "failed",
        TrialState.RUNNING: "running",
        TrialState.WAITING: "waiting",
    }.get(trial.state, trial.state.name.lower())


def curves_frame(study: Studies) -> pd.DataFrame:
    """Long format: one row per (run, step, name): training loss, gradient norms, validation
    metrics (``valid_<m>``) and per-parameter gradient norms (``grad.L0.W_f``)."""
    rows = []
    for ident, result in _finished(study):
        rows += [(*ident, step, name, value) for step, name, value in result["curves"]]
    return pd.DataFrame(rows, columns=["key", "variant", "task", "seed", "step", "name", "value"])


def through_time_frame(study: Studies) -> pd.DataFrame:
    """``||dLoss/dh_t||`` per run at its first and last evaluation, ``t`` counted back from
    the end of the sequence (``lag`` 0 is the last step)."""
    rows = []
    for ident, result in _finished(study):
        for when, profile in result["gradient_through_time"].items():
            rows += [(*ident, when, len(profile) - 1 - t, value) for t, value in enumerate(profile)]
    return pd.DataFrame(rows, columns=["key", "variant", "task", "seed", "when", "lag", "norm"])


def export(frames: dict[str, pd.DataFrame], out_dir: Any) -> None:
    """Each frame as Parquet (types kept) and CSV (for any tool)."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False)
        mixed = [
            c
            for c in frame.columns
            if frame[c].dtype == object and frame[c].dropna().map(type).nunique() > 1
        ]
        typed = frame.astype({c: "string" for c in mixed})  # Parquet wants one type a column
        typed.to_parquet(out / f"{name}.parquet", index=False)
