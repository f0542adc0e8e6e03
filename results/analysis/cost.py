"""What a search cost, from its trials' own records: per task, the trials, the sequences
they trained on and the worker time they took (each trial's share of its population's wall
time), hence seconds per sequence, the rate at which a larger profile's cost is estimated."""

from __future__ import annotations

import pandas as pd


def cost_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task: trials, sequences trained (millions), worker hours, worker milliseconds per
    sequence (the mean over all trials, weighted by the sequences each trained on)."""
    columns = ["task", "trials", "sequences (M)", "worker hours", "ms per sequence"]
    if trials.empty or "worker_seconds" not in trials:
        return pd.DataFrame(columns=columns)
    timed = trials.dropna(subset=["worker_seconds", "sequences"])
    rows = []
    for task, group in timed.groupby("task", sort=True):
        seconds, sequences = group["worker_seconds"].sum(), group["sequences"].sum()
        rows.append(
            (
                task,
                len(group),
                sequences / 1e6,
                seconds / 3600,
                1000 * seconds / sequences if sequences else float("nan"),
            )
        )
    return pd.DataFrame(rows, columns=columns)
