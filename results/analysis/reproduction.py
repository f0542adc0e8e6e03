"""Greff et al.'s analysis of a search, computed once into one ``Analysis``: the paper's
comparison of best trials, the robustness table, the fANOVA shares and their intervals, the
ten verdicts and every table the findings report shows.

:func:`analyse` only calls, in the order the data flows: which tasks are which paper's data
(``scope``), which trials trained (``trained``), the paper's analysis (``top_trials``), the
robustness table (``evidence``), the fANOVA shares (``importance``), the verdicts
(``findings``), then the tables of each (``paper_tables``, ``trained``, ``cost``). Each value
is computed once and handed on. The figures (``results.figures.findings_plots.draw``) and
the documents (``results.rendering.findings_report``) only read the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from results.analysis import (
    cost,
    evidence,
    findings,
    importance,
    paper_tables,
    scope,
    top_trials,
    trained,
)
from results.analysis.findings import Finding
from results.analysis.importance import Importance


@dataclass(frozen=True)
class Analysis:
    """Everything the findings report shows of ``trials`` (one row per finished trial, the
    layout of ``results.tables.trials``), computed by :func:`analyse`."""

    trials: pd.DataFrame
    space: Mapping[str, tuple[float, float, bool]]
    settings: dict[str, Any]  # the analysis settings, as the report's provenance shows them
    best: pd.DataFrame  # the paper's analysis (top_trials.primary)
    tests: pd.DataFrame  # the robustness table (evidence.comparisons)
    importance: Importance  # fANOVA shares per task
    medians: pd.DataFrame  # their median over variants per task and term
    shares: pd.DataFrame  # the paper datasets' shares with bootstrap intervals
    results: list[Finding]  # the ten verdicts
    tasks: list[str]  # every task, sorted
    paper: list[str]  # the tasks that are a paper's data (or a declared stand-in)
    beyond: list[str]  # the extensions, deciding nothing
    paper_names: str  # the paper datasets in words ("JSB Chorales")
    # the report's tables by name: ``primary`` (paper data), ``beyond``, ``verdicts``,
    # ``compare`` (with the paper, where music is), ``robustness``, ``trained``, ``counts``,
    # ``cost`` and ``summary:TASK`` per task; empty where there is nothing
    tables: dict[str, pd.DataFrame]
    effects: dict[int, pd.DataFrame]  # per finding, the comparisons its effect figure shows


def analyse(
    trials: pd.DataFrame,
    space: Mapping[str, tuple[float, float, bool]],
    *,
    alpha: float = 0.05,
    min_trials: int = evidence.MIN_TRIALS,
    min_fanova_trials: int = importance.MIN_FANOVA_TRIALS,
    n_trees: int = 32,
    resamples: int = importance.BOOTSTRAP,
) -> Analysis:
    """Check the ten findings on ``trials`` and build every table of the report."""
    tasks = sorted(map(str, trials["task"].unique())) if len(trials) else []
    margins = scope.margins(set(tasks))
    greff = scope.greff_tasks(set(tasks))
    paper = [t for t in tasks if scope.dataset(t) is not None]
    beyond = scope.extension_tasks(set(tasks))
    paper_names = scope.names(paper)

    marked = trained.mark(trials)
    best = top_trials.primary(marked, margins, alpha)
    tests = evidence.comparisons(marked, alpha, min_trials, margins)
    robustness = evidence.robustness_table(tests)
    importances = importance.importances(marked, space, min_fanova_trials, n_trees)
    medians = importance.median_shares(importances.shares)
    shares = importance.share_intervals(marked, space, importances.of(greff), n_trees, resamples)
    results = findings.check(marked, best, shares, alpha)
    verdicts = findings.verdict_table(results)

    empty = pd.DataFrame()
    primary = paper_tables.primary_table(best, paper)
    extensions = paper_tables.primary_table(best, beyond)
    compare = paper_tables.compare_with_paper(marked, best) if "music" in tasks else empty
    effects = {
        f.number: paper_tables.effect_rows(best, f.number, paper)
        for f in results
        if f.number in paper_tables.EFFECT_VARIANTS
    }
    summaries = {f"summary:{t}": paper_tables.task_summary(marked, best, t) for t in tasks}
    some = len(trials) > 0
    learned = trained.trained_table(marked) if some else empty
    counts = trained.trial_counts(marked) if some else empty
    costs = cost.cost_table(trials) if some else empty

    settings = {
        "alpha": alpha,
        "best fraction": top_trials.TOP_FRACTION,
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
    tables = {
        "primary": primary,
        "beyond": extensions,
        "verdicts": verdicts,
        "compare": compare,
        "robustness": robustness,
        "trained": learned,
        "counts": counts,
        "cost": costs,
        **summaries,
    }
    return Analysis(
        trials,
        space,
        settings,
        best,
        tests,
        importances,
        medians,
        shares,
        results,
        tasks,
        paper,
        beyond,
        paper_names,
        tables,
        effects,
    )
