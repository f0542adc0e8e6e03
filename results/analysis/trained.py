"""Which trials trained: a trial trained when its test metric beat its task's trivial model
(column ``baseline``: the task's unigram or marginal model where the caller supplies it,
else ``chance``; for JSB Chorales the chance level is how often each key sounds). A
diverged trial, recorded at chance, did not.

The analysis marks every trial once (:func:`mark`, column ``trained``); the paper's analysis,
the robustness table and the report's tables read that column. :func:`trained_table` and
:func:`trial_counts` are the report's tables of it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def baseline(trials: pd.DataFrame) -> pd.Series:
    """Each trial's trivial model's score: column ``baseline`` where given, else chance."""
    chance = trials["chance"].astype(float)
    if "baseline" not in trials:
        return chance
    return trials["baseline"].astype(float).fillna(chance)


def trained(trials: pd.DataFrame) -> pd.Series:
    """Whether each trial trained: its metric better than its task's trivial model."""
    value, base = trials["value"].astype(float), baseline(trials)
    lower = trials["lower_is_better"].astype(bool)
    gain = np.where(lower, base - value, value - base)
    return pd.Series(gain > 0, index=trials.index)


def mark(trials: pd.DataFrame) -> pd.DataFrame:
    """``trials`` with column ``trained`` (:func:`trained`), the form the analysis reads."""
    return trials.assign(trained=trained(trials))


def trained_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task and variant (and all variants of a task) of ``trials`` (marked): how many
    trials trained, and the share per learning-rate decade."""
    data = trials
    has_lr = "lr" in data and data["lr"].notna().any()
    if has_lr:
        decade = np.floor(np.log10(data["lr"].astype(float)))
        data = data.assign(decade=[f"lr 1e{int(d)}" for d in decade])
    rows = []
    for (task, variant), group in [
        *data.groupby(["task", "variant"], sort=True),
        *(((t, "all"), g) for t, g in data.groupby("task")),
    ]:
        row: dict[str, Any] = {
            "task": task,
            "variant": variant,
            "trained": f"{int(group['trained'].sum())}/{len(group)}",
        }
        if has_lr:
            for name, part in group.groupby("decade"):
                row[str(name)] = f"{part['trained'].mean():.0%}"
        rows.append(row)
    table = (
        pd.DataFrame(rows)
        .sort_values(
            ["task", "variant"],
            key=lambda c: c.map(lambda v: (v == "all", v) if c.name == "variant" else v),
        )
        .fillna("")
    )
    decades = sorted([c for c in table.columns if c.startswith("lr 1e")], key=lambda c: int(c[5:]))
    return table[[c for c in table.columns if not c.startswith("lr 1e")] + decades]


def trial_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per variant (rows) and task (columns) as "n (diverged)": what the verdicts
    rest on, at a glance."""
    diverged = trials["diverged"].astype(bool) if "diverged" in trials else False
    counts = (
        trials.assign(d=diverged)
        .groupby(["variant", "task"])
        .agg(n=("value", "size"), d=("d", "sum"))
    )
    cells = counts["n"].astype(str) + " (" + counts["d"].astype(int).astype(str) + ")"
    return cells.unstack("task").fillna("").reset_index()
