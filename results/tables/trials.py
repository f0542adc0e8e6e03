"""A search's trials in the analysis's layout, read from its studies (one per task).

What a search recorded on each study (user attribute ``search``: its space's ranges) and on
each trial (the run record, ``results.tables.record``) is all this needs: the findings report is
built from this frame alone.
"""

from __future__ import annotations

import optuna
import pandas as pd

from results.tables import frames

TRIAL_COLUMNS = [
    "task",
    "variant",
    "metric",
    "value",
    "valid",
    "lower_is_better",
    "chance",
    "diverged",
    "lr",
    "hidden_size",
    "momentum",
    "input_noise",
    "optimizer",
    "trial",
    "study",
    "sequences",
    "worker_seconds",
]


def trials_frame(studies: list[optuna.Study]) -> pd.DataFrame:
    """The finished trials of search studies in the analysis's layout: ``task``,
    ``variant``, ``metric``, ``value`` (the test metric; a diverged trial at chance),
    ``lower_is_better``, ``chance``, ``diverged``, the searched hyperparameters, ``trial``
    (k) and ``study``; what it cost: ``sequences`` trained on (steps × batch) and
    ``worker_seconds``, its share of its population's wall time (``trial_seconds``)."""
    parts = []
    for study in studies:
        runs = frames.runs_frame(study)
        if runs.empty or "test" not in runs:
            continue
        done = runs[runs["status"].isin(["complete", "diverged"])]
        parts.append(
            pd.DataFrame(
                {
                    "task": done["task"],
                    "variant": done["variant"],
                    "metric": done["metric"],
                    "value": done["test"].astype(float),
                    "valid": _validation(done),
                    "lower_is_better": done["lower_is_better"],
                    "chance": done["chance"].astype(float),
                    "diverged": done["status"] == "diverged",
                    "lr": done["lr"].astype(float),
                    "hidden_size": done["hidden_size"].astype(float),
                    "momentum": done["momentum"].astype(float),
                    "input_noise": done["input_noise"].astype(float),
                    "optimizer": done["optimizer"],
                    "trial": done["seed"].astype(int),
                    "study": study.study_name,
                    "sequences": done["steps_done"].astype(float)
                    * done["batch_size"].astype(float),
                    "worker_seconds": _column(done, "trial_seconds"),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TRIAL_COLUMNS)


def _validation(done: pd.DataFrame) -> pd.Series:
    """Each run's best validation value of its primary metric (NaN for a diverged run)."""
    values = [
        row.get(f"valid_{metric}", float("nan"))
        for metric, (_, row) in zip(done["metric"], done.iterrows())
    ]
    valid = pd.Series(values, index=done.index, dtype=float)
    return valid.where(done["status"] != "diverged")


def _column(frame: pd.DataFrame, name: str, default: float = float("nan")) -> pd.Series:
    """A numeric column, or ``default`` where records of older versions lack it."""
    if name not in frame:
        return pd.Series(default, index=frame.index, dtype=float)
    return frame[name].astype(float).fillna(default)


def analysis_space(studies: list[optuna.Study]) -> dict[str, tuple[float, float, bool]]:
    """The searched dimensions' bounds, as the studies recorded them (the first study's;
    all studies of one search share its space)."""
    for study in studies:
        search = study.user_attrs.get("search")
        if search:
            return {
                k: (float(v[0]), float(v[1]), bool(v[2]))
                for k, v in search["analysis_space"].items()
            }
    return {}
