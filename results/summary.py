"""Per-task tables of variants: median metric, chance, gap to chance, seeds, speed."""

from __future__ import annotations

import pandas as pd


def task_table(runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Variants on ``task`` sorted best first by median test metric (diverged runs count at
    chance, as they are recorded). ``gap`` is how far the median is from chance in the good
    direction: positive means better than chance. ``steps×batch/s`` is the median trial's
    own rate (in a population, each trial's share of the stack's)."""
    done = runs[(runs["task"] == task) & runs["status"].isin(["complete", "diverged"])]
    if done.empty:
        return pd.DataFrame()
    lower = bool(done["lower_is_better"].iloc[0])
    table = done.groupby("variant").agg(
        median=("test", "median"), best=("test", "min" if lower else "max"),
        chance=("chance", "first"), seeds=("seed", "nunique"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        **{"steps×batch/s": ("steps×batch/s", "median")}, params=("cell_parameters", "first"),
        backend=("backend", "first"))
    table["gap"] = (table["chance"] - table["median"]) if lower else \
        (table["median"] - table["chance"])
    table = table.sort_values("median", ascending=lower)
    columns = ["median", "best", "chance", "gap", "seeds", "diverged", "steps×batch/s",
               "params", "backend"]
    return table[columns].reset_index()


def to_markdown(frame: pd.DataFrame, floats: str = "{:.4g}") -> str:
    """A GitHub Markdown table (no extra dependency)."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            if pd.isna(v):
                return ""
            return f"{v:,.0f}" if abs(v) >= 1e4 else floats.format(v)
        return str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body])
