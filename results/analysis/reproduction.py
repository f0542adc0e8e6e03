"""Greff et al.'s analysis of a search, computed once into one ``Analysis``: the paper's
comparison of best trials, the robustness table, the fANOVA shares and their intervals, the
ten verdicts and every table the findings report shows. The figures
(``results.figures.findings_plots.draw``) and the documents
(``results.rendering.findings_report``) only read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from results.analysis import cost, findings, scope, stats
from results.analysis.findings import Finding, Importance
from results.analysis.top_trials import TOP_FRACTION, best_by_validation

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
ROBUSTNESS_COLUMNS = [
    "task",
    "variant",
    "reference",
    "n",
    "diff",
    "low",
    "high",
    "margin",
    "detectable",
    "needed",
    "p_holm",
    "verdict",
    "not_worse",
    "not_better",
    "note",
]


@dataclass(frozen=True)
class Analysis:
    """Everything the findings report shows of ``trials`` (one row per finished trial, the
    layout of ``results.tables.trials``), computed by :func:`analyse`."""

    trials: pd.DataFrame
    space: Mapping[str, tuple[float, float, bool]]
    settings: dict[str, Any]  # the analysis settings, as the report's provenance shows them
    best: pd.DataFrame  # the paper's analysis (findings.primary)
    tests: pd.DataFrame  # the robustness table (findings.comparisons)
    importance: Importance  # fANOVA shares per task
    shares: pd.DataFrame  # the paper datasets' shares with bootstrap intervals
    results: list[Finding]  # the ten verdicts
    tasks: list[str]  # every task, sorted
    paper: list[str]  # the tasks that are a paper's data (or a declared stand-in)
    beyond: list[str]  # the extensions, deciding nothing
    paper_names: str  # the paper datasets in words ("JSB Chorales")
    tables: dict[str, pd.DataFrame]  # the report's tables by name (``_tables``)
    effects: dict[int, pd.DataFrame]  # per finding, the comparisons its effect figure shows

    def record(self) -> dict[str, Any]:
        """The verdicts, rules, evidence and settings, machine-readable (findings.json)."""
        return {
            "findings": [
                {
                    **f.summary(),
                    "rule": findings.RULES[f.number],
                    "details": findings.as_records(f.details),
                }
                for f in self.results
            ],
            "primary": findings.as_records(self.best),
            "settings": self.settings,
        }


def analyse(
    trials: pd.DataFrame,
    space: Mapping[str, tuple[float, float, bool]],
    *,
    alpha: float = 0.05,
    min_trials: int = findings.MIN_TRIALS,
    min_fanova_trials: int = findings.MIN_FANOVA_TRIALS,
    n_trees: int = 32,
    resamples: int = 100,
) -> Analysis:
    """Check the ten findings on ``trials`` and build every table of the report."""
    tasks = sorted(map(str, trials["task"].unique())) if len(trials) else []
    margins = scope.margins(set(tasks))
    best = findings.primary(trials, alpha)
    tests = findings.comparisons(trials, alpha, min_trials, margins)
    importance = findings.importances(trials, space, min_fanova_trials, n_trees)
    greff = set(scope.greff_tasks(set(tasks)))
    paper_importance = Importance(
        importance.shares[importance.shares["task"].isin(greff)], importance.skipped
    )
    shares = findings.share_intervals(trials, space, paper_importance, n_trees, resamples)
    results = findings.check(trials, space, alpha, best=best, shares=shares)
    settings = {
        "alpha": alpha,
        "best fraction": TOP_FRACTION,
        "margins": dict(margins),
        "robustness table": f"paired, draws both trained on, at least {min_trials}",
        "trained": "better than the task's trivial model",
        "min_fanova_trials": min_fanova_trials,
        "n_trees": n_trees,
        "bootstrap resamples": {
            "fANOVA shares": resamples,
            "finding 8 gaps": findings.GAP_RESAMPLES,
        },
        "space": {k: list(v) for k, v in space.items()},
    }
    paper = [t for t in tasks if scope.dataset(t) is not None]
    beyond = scope.extension_tasks(set(tasks))
    return Analysis(
        trials,
        space,
        settings,
        best,
        tests,
        importance,
        shares,
        results,
        tasks,
        paper,
        beyond,
        scope.names(paper),
        _tables(trials, best, tests, results, tasks, paper, beyond),
        {
            f.number: effect_rows(best, f.number, paper)
            for f in results
            if f.number in EFFECT_VARIANTS
        },
    )


def _tables(
    trials: pd.DataFrame,
    best: pd.DataFrame,
    tests: pd.DataFrame,
    results: list[Finding],
    tasks: list[str],
    paper: list[str],
    beyond: list[str],
) -> dict[str, pd.DataFrame]:
    """The report's tables: ``primary`` (paper data), ``beyond``, ``verdicts``,
    ``compare`` (with the paper, where music is), ``robustness``, ``trained``, ``counts``,
    ``cost`` and ``summary:TASK`` per task; empty where there is nothing."""
    empty = pd.DataFrame()
    some = len(trials) > 0
    out = {
        "primary": primary_table(best, paper),
        "beyond": primary_table(best, beyond),
        "verdicts": verdict_table(results),
        "compare": compare_with_paper(trials, best) if "music" in tasks else empty,
        "robustness": tests[ROBUSTNESS_COLUMNS].reset_index(drop=True),
        "trained": trained_table(trials) if some else empty,
        "counts": trial_counts(trials) if some else empty,
        "cost": cost.cost_table(trials) if some else empty,
    }
    out.update({f"summary:{task}": task_summary(trials, best, task) for task in tasks})
    return out


def effect_rows(best: pd.DataFrame, number: int, tasks: list[str]) -> pd.DataFrame:
    """Finding ``number``'s comparisons on ``tasks`` (against gru for finding 9, lstm else)
    with a word for each: worse, better, not significant or untested."""
    rows = best[best["variant"].isin(EFFECT_VARIANTS[number]) & best["task"].isin(tasks)]
    rows = rows[rows["reference"] == ("gru" if number == 9 else findings.REFERENCE)]
    return rows.assign(
        verdict=np.where(
            rows["note"] != "",
            "untested",
            np.where(
                rows["p"] < 0.05, np.where(rows["diff"] > 0, "worse", "better"), "not significant"
            ),
        )
    )


def verdict_table(results: list[Finding]) -> pd.DataFrame:
    """One row per finding: its verdict, the data it was judged on and the numbers."""
    return pd.DataFrame(
        [
            {
                "#": f.number,
                "finding": f.title,
                "source": f.source,
                "verdict": f.verdict,
                "data": f.data,
                "statistic": f.statistic,
                "n": f.n,
            }
            for f in results
        ]
    )


def primary_table(best: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The paper's analysis on ``tasks``, one row per comparison, in the metric's units."""
    rows = best[best["task"].isin(tasks)]
    table = pd.DataFrame(
        {
            "data": [d.name if (d := scope.dataset(t)) else t for t in rows["task"]],
            "variant": [
                v if r == findings.REFERENCE else f"{v} vs {r}"
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
    the median of each variant's best 10 % by validation, and the paper's test of them."""
    rows = best[(best["task"] == "music") & (best["reference"] == findings.REFERENCE)]
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
        out.append(
            {
                "variant": r.variant,
                "Greff et al. on JSB": PAPER_ON_MUSIC.get(r.variant, "not in the papers"),
                f"best {TOP_FRACTION:.0%}: mean": r.mean,
                "median": float(
                    best_by_validation(music[music["variant"] == r.variant])["value"].median()
                )
                if r.top
                else np.nan,
                "lstm's mean": r.ref_mean,
                "diff": r.diff,
                "p (uncorrected)": r.p,
                "ours": ours,
            }
        )
    return pd.DataFrame(out)


def task_summary(trials: pd.DataFrame, best: pd.DataFrame, task: str) -> pd.DataFrame:
    """Every variant of ``task`` (stats.summarize: all trials, and the mean of the best
    10 % by test) with the paper's test of its best trials by validation against lstm."""
    rows = trials[trials["task"] == task]
    lower = bool(rows["lower_is_better"].iloc[0])
    summary = stats.summarize(rows, "value", lower, TOP_FRACTION)
    counts = findings.trained(rows).groupby(rows["variant"].astype(str)).sum().astype(int)
    summary.insert(3, "trained", summary["variant"].map(counts).fillna(0).astype(int))
    against = best[(best["task"] == task) & (best["reference"] == findings.REFERENCE)]
    table = summary.merge(
        against[["variant", "top", "mean", "diff", "low", "high", "p"]].rename(
            columns={"mean": "best_by_valid"}
        ),
        on="variant",
        how="left",
    )
    return table.sort_values("median", ascending=lower).reset_index(drop=True)


def trained_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task and variant (and all variants of a task): how many trials trained, and the
    share per learning-rate decade."""
    data = trials.assign(trained=findings.trained(trials))
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
