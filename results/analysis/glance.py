"""The report's first answer: how far each variant got on each task, on one scale.

Tasks measure in different units (accuracy, bits per character, mean squared error) and
directions, so a table of raw medians cannot be read across. Here a run's score is its share
of the way from chance to the best run of its task:

    share = (value - chance) / (best - chance)

0 is chance level, 1 the best run of that task (in either direction, as both differences
change sign together), below 0 worse than chance. A diverged run counts at chance (0), as
the runner records it. A task on which no run beat chance has no way to share: NaN.

Input: one row per run or trial with ``task``, ``variant``, ``value`` (the test metric),
``chance``, ``lower_is_better`` and ``diverged``; :func:`from_runs` brings a grid's runs
frame to that layout, a search's trials frame (``results.tables.trials``) has it already.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from results.analysis import intervals

COLUMNS = ["task", "variant", "value", "chance", "lower_is_better", "diverged"]
COST = ["parameters", "rate"]  # optional: the cell's parameters, the trial's steps×batch/s
REFERENCE = "lstm"  # cost is shown relative to it
# what the section says above its figure; {runs}/{run}: "seeds"/"seed" or "trials"/"trial"
LEGEND = (
    "Each run's score is its share of the way from chance to the best run of its task "
    "(0: chance, 1: the best run; below 0: worse than chance; a diverged run counts "
    "at chance). Per task: the median over the variant's {runs} and, in brackets, "
    "the middle half of them (25th–75th percentile); ✗: no {run} beat chance. "
    "score: the mean over tasks of those medians (worse than chance counted as 0), "
    "best first, with its 95 % bootstrap interval over {runs} ("
    + f"{intervals.RESAMPLES:,}"
    + " resamples, fixed seed), and the number of tasks it "
    "covers where a variant lacks some. parameters: the cell's (median over tasks); "
    "time/step: the time per trial-step relative to lstm's (geometric mean over tasks "
    "of the ratio of median rates)."
)


def from_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """A grid's runs frame (``results.tables.frames.runs_frame``) in this module's layout: its
    finished runs (complete or diverged) only."""
    if runs.empty or "test" not in runs:
        return pd.DataFrame(columns=COLUMNS)
    done = runs[runs["status"].isin(["complete", "diverged"])]
    nan = pd.Series(np.nan, index=done.index)
    return pd.DataFrame(
        {
            "task": done["task"],
            "variant": done["variant"],
            "value": done["test"].astype(float),
            "chance": done["chance"].astype(float),
            "lower_is_better": done["lower_is_better"].astype(bool),
            "diverged": done["status"] == "diverged",
            "parameters": done.get("cell_parameters", nan).astype(float),
            "rate": done.get("steps×batch/s", nan).astype(float),
        }
    ).reset_index(drop=True)


def costs(trials: pd.DataFrame) -> pd.DataFrame:
    """Per variant what it costs: ``parameters`` of its cell (the median over its runs of
    each task, then over tasks) and ``time`` per trial-step relative to lstm's (per task the
    median rate of lstm's runs over the variant's, then the geometric mean over the tasks
    both ran; NaN without lstm or rates)."""
    out = pd.DataFrame(columns=["variant", "parameters", "time"])
    if trials.empty or not set(COST) <= set(trials.columns):
        return out
    per_task = trials.groupby(["variant", "task"])[COST].median()
    rows = []
    for variant, mine in per_task.groupby(level="variant"):
        mine = mine.droplevel("variant")
        ratios = []
        if REFERENCE in per_task.index.get_level_values("variant"):
            ref = per_task.loc[REFERENCE]
            both = mine.index.intersection(ref.index)
            ratios = (ref.loc[both, "rate"] / mine.loc[both, "rate"]).dropna()
            ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        rows.append(
            {
                "variant": str(variant),
                "parameters": float(mine["parameters"].median()),
                "time": float(np.exp(np.log(ratios).mean())) if len(ratios) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=out.columns)


def shares(trials: pd.DataFrame) -> pd.DataFrame:
    """``trials`` with ``share`` (of the way from chance to the task's best run) and
    ``beat`` (the run is better than chance and did not diverge) added."""
    out = trials.copy()
    out["share"], out["beat"] = np.nan, False
    for _, rows in out.groupby("task", sort=False):
        lower = bool(rows["lower_is_better"].iloc[0])
        sign = -1.0 if lower else 1.0  # orients every difference so that up is better
        gain = sign * (rows["value"] - rows["chance"])
        diverged = rows["diverged"].astype(bool)
        ok = np.isfinite(rows["value"]) & ~diverged
        best = gain[ok].max() if ok.any() else np.nan
        share = gain / best if best > 0 else pd.Series(np.nan, index=rows.index)
        out.loc[rows.index, "share"] = share.where(~diverged, 0.0 if best > 0 else np.nan)
        out.loc[rows.index, "beat"] = ok & (gain > 0)
    return out


def cells(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per variant and task: ``runs``, the median ``share`` and the seeds' spread
    (``q25``, ``q75``: the middle half of its runs), and ``beat``, how many runs beat
    chance (0: the variant never beat chance on that task)."""
    scored = shares(trials)
    grouped = scored.groupby(["variant", "task"], sort=True)
    table = grouped.agg(
        runs=("share", "size"),
        share=("share", "median"),
        q25=("share", lambda s: s.quantile(0.25)),
        q75=("share", lambda s: s.quantile(0.75)),
        beat=("beat", "sum"),
    )
    table["beat"] = table["beat"].astype(int)
    return table.reset_index()


def ranking(trials: pd.DataFrame) -> pd.DataFrame:
    """Variants best first by ``score``, the mean over tasks of their median share (a run
    worse than chance counts as chance here, so that one diverging task weighs no more than
    one at chance), with its 95 % bootstrap interval over seeds (``low``, ``high``: each
    task's runs resampled on their own, the tasks fixed) and the number of ``tasks``."""
    scored = shares(trials)
    rows = []
    for variant, mine in scored.groupby("variant", sort=True):
        groups = [
            g["share"].clip(lower=0).to_numpy(dtype=float)
            for _, g in mine.groupby("task", sort=True)
            if g["share"].notna().any()
        ]
        medians = [np.nanmedian(g) for g in groups]
        low, high = intervals.mean_of_medians_interval(groups)
        rows.append(
            {
                "variant": str(variant),
                "score": float(np.mean(medians)) if medians else np.nan,
                "low": low,
                "high": high,
                "tasks": len(groups),
            }
        )
    table = pd.DataFrame(rows, columns=["variant", "score", "low", "high", "tasks"])
    return table.sort_values(
        ["score", "variant"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)


def table(trials: pd.DataFrame) -> pd.DataFrame:
    """The at-a-glance table for a document: one row per variant, best first, its overall
    score with interval, then per task "median (q25–q75)" of the share, marked ✗ where the
    variant never beat chance."""
    ranked, each = ranking(trials), cells(trials)
    cost = costs(trials).set_index("variant")
    tasks = sorted(map(str, each["task"].unique()))
    scored = each.dropna(subset=["share"])["task"].nunique()
    text = {
        (str(r.variant), str(r.task)): _cell(r.share, r.q25, r.q75, r.beat)
        for r in each.itertuples()
    }
    priced = (
        ["parameters", f"time/step vs {REFERENCE}"]
        if cost["time"].notna().any()
        else (["parameters"] if cost["parameters"].notna().any() else [])
    )
    rows = [
        {
            "variant": r.variant,
            "score [95 % CI]": _score(r, scored),
            **dict(zip(priced, _cost(cost, r.variant))),
            **{t: text.get((r.variant, t), "") for t in tasks},
        }
        for r in ranked.itertuples()
    ]
    return pd.DataFrame(rows, columns=["variant", "score [95 % CI]", *priced, *tasks])


def _cost(cost: pd.DataFrame, variant: str) -> tuple[str, str]:
    if variant not in cost.index:
        return "", ""
    params, time = cost.at[variant, "parameters"], cost.at[variant, "time"]
    return (
        f"{params:,.0f}" if np.isfinite(params) else "",
        f"{time:.2f}×" if np.isfinite(time) else "",
    )


def _score(row: Any, tasks: int) -> str:
    """The score and its interval, and on how many tasks when fewer than the others'
    (a grid half done): a mean over other tasks is not comparable."""
    if not np.isfinite(row.score):
        return ""
    partial = f" ({row.tasks} of {tasks} tasks)" if row.tasks < tasks else ""
    return f"{two(row.score)} [{two(row.low)}, {two(row.high)}]{partial}"


def _cell(share: float, q25: float, q75: float, beat: int) -> str:
    if not np.isfinite(share):
        return "✗ n/a" if beat == 0 else "n/a"
    mark = "✗ " if beat == 0 else ""
    return f"{mark}{two(share)} ({spread(q25, q75)})"


def two(value: float) -> str:
    """A share to two decimals, without the ``-0.00`` of a hair below chance."""
    return f"{round(value, 2) + 0.0:.2f}"


def spread(low: float, high: float) -> str:
    """A range of shares, readable with negative ends: ``-0.09 – 0.04``."""
    return f"{two(low)} – {two(high)}"
