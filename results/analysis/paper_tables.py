"""The paper's analysis (``top_trials.primary``: each variant's best trials against lstm's)
as the findings report's tables: per dataset (:func:`primary_table`), beside Greff et al.'s
qualitative results on JSB Chorales (:func:`compare_with_paper`), the comparisons each
finding's effect figure shows (:func:`effect_rows`) and every variant of a task
(:func:`task_summary`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from results.analysis import scope, stats
from results.analysis.top_trials import REFERENCE, TOP_FRACTION

# the variants whose effects each finding's figure shows
EFFECT_VARIANTS = {
    2: ["cifg", "np"],
    3: ["nfg", "noaf"],
    6: ["fgr"],
    7: ["nig", "nog", "niaf"],
    8: ["nfg", "nig", "nog"],
    9: ["lstm-b"],
    10: ["gru"],
}
# Greff et al.'s qualitative results on JSB Chorales (REFERENCES.md §1.7, secondary sources;
# the paper gives box plots, no table of numbers)
PAPER_ON_MUSIC = {
    "nfg": "significantly worse",
    "noaf": "significantly worse",
    "nig": "no significant effect",
    "nog": "no significant effect",
    "niaf": "no significant effect",
    "cifg": "no significant change",
    "np": "no significant change",
    "fgr": "no gain",
    "lstm-b": "not in Greff et al.",
    "gru": "not in Greff et al.",
}


def primary_table(best: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The paper's analysis on ``tasks``, one row per comparison, in the metric's units."""
    rows = best[best["task"].isin(tasks)]
    table = pd.DataFrame(
        {
            "data": [d.name if (d := scope.dataset(t)) else t for t in rows["task"]],
            "variant": [
                v if r == REFERENCE else f"{v} vs {r}"
                for v, r in zip(rows["variant"], rows["reference"])
            ],
            "draws": rows["n"],
            "top": rows["top"],
            "mean": rows["mean"],
            "reference": rows["ref_mean"],
            "diff": rows["diff"],
            "low": rows["low"],
            "high": rows["high"],
            "p": rows["p"],
            "detectable": rows["detectable"],
            "margin": rows["margin"],
            "draws needed": rows["draws_needed"],
            "note": rows["note"],
        }
    )
    return table.reset_index(drop=True)


def compare_with_paper(trials: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """Our best trials on JSB Chorales beside Greff et al.'s qualitative result per variant:
    the median of each variant's best 10 % by validation (the draws ``best`` records as
    entered; draw k is one trial a variant), and the paper's test of them."""
    rows = best[(best["task"] == "music") & (best["reference"] == REFERENCE)]
    music = trials[trials["task"] == "music"]
    out = []
    for r in rows.itertuples():
        ours = (
            "untested"
            if r.note
            else "significantly worse"
            if r.p < 0.05 and r.diff > 0
            else "significantly better"
            if r.p < 0.05 and r.diff < 0
            else "no significant difference"
        )
        entered = music[(music["variant"] == r.variant) & music["trial"].isin(r.trials)]
        out.append(
            {
                "variant": r.variant,
                "Greff et al. on JSB": PAPER_ON_MUSIC.get(r.variant, "not in the papers"),
                f"best {TOP_FRACTION:.0%}: mean": r.mean,
                "median": float(entered["value"].median()) if r.top else np.nan,
                "lstm's mean": r.ref_mean,
                "diff": r.diff,
                "p (uncorrected)": r.p,
                "ours": ours,
            }
        )
    return pd.DataFrame(out)


def effect_rows(best: pd.DataFrame, number: int, tasks: list[str]) -> pd.DataFrame:
    """Finding ``number``'s comparisons on ``tasks`` (against gru for finding 9, lstm else)
    with a word for each: worse, better, not significant or untested."""
    rows = best[best["variant"].isin(EFFECT_VARIANTS[number]) & best["task"].isin(tasks)]
    rows = rows[rows["reference"] == ("gru" if number == 9 else REFERENCE)]
    return rows.assign(
        verdict=np.where(
            rows["note"] != "",
            "untested",
            np.where(
                rows["p"] < 0.05, np.where(rows["diff"] > 0, "worse", "better"), "not significant"
            ),
        )
    )


def task_summary(trials: pd.DataFrame, best: pd.DataFrame, task: str) -> pd.DataFrame:
    """Every variant of ``task`` in ``trials`` (marked: column ``trained``; stats.summarize:
    all trials, and the mean of the best 10 % by test) with the paper's test of its best
    trials by validation against lstm."""
    rows = trials[trials["task"] == task]
    lower = bool(rows["lower_is_better"].iloc[0])
    summary = stats.summarize(rows, "value", lower, TOP_FRACTION)
    counts = rows["trained"].groupby(rows["variant"].astype(str)).sum().astype(int)
    summary.insert(3, "trained", summary["variant"].map(counts).fillna(0).astype(int))
    against = best[(best["task"] == task) & (best["reference"] == REFERENCE)]
    table = summary.merge(
        against[["variant", "top", "mean", "diff", "low", "high", "p"]].rename(
            columns={"mean": "best_by_valid"}
        ),
        on="variant",
        how="left",
    )
    return table.sort_values("median", ascending=lower).reset_index(drop=True)
