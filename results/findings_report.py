"""The findings report: which published claims the trials reproduce, and the evidence.

``build`` writes into one folder ``findings.md`` (verdict table first, one section per
finding with its evidence table and figures, per-task summary tables, provenance),
``findings.html`` (the same, one self-contained file with the figures inlined as base64),
``findings.json`` (verdicts, statistics and evidence, machine-readable), ``trials.csv`` (the
input) and the PNGs under ``figures/``. Both documents are rendered from one list of blocks,
so they cannot drift apart.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from results import cost, findings, findings_plots as plots, glance_plot, stats
from results.document import Block, to_html, to_md
from results.findings import Finding, Importance
LEGEND = (f"Comparisons are paired on the draws both cells trained on (learning rate ≥ "
          f"{findings.COMPARE_MIN_LR:g}): diff is the mean difference against the reference in "
          "units of the reference's gain over chance (positive: worse), [low, high] its 90 % "
          "interval (two one-sided 95 % bounds), detectable the difference the test finds "
          "with 80 % power; p values are paired t-tests, Holm-adjusted across the variants "
          f"of each task. A claim of no difference needs the interval inside ±{findings.MARGIN}"
          "; without it the answer is inconclusive.")
_VARIANTS = {2: ["cifg", "np"], 3: ["nfg", "noaf"], 6: ["fgr"], 7: ["nig", "nog", "niaf"],
             8: ["nfg", "nig", "nog"], 9: ["lstm-b"], 10: ["gru"]}  # effect figures


def build(trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]],
          folder: str | Path, provenance: Mapping[str, Any], *, alpha: float = 0.05,
          min_trials: int = findings.MIN_TRIALS,
          min_fanova_trials: int = findings.MIN_FANOVA_TRIALS, n_trees: int = 32) -> Path:
    """Check the ten findings on ``trials`` and write the report into ``folder``; returns
    the path of ``findings.md``. ``provenance`` is shown as given (profile, studies, storage,
    versions...); the analysis settings and library versions are added to it."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tests = findings.comparisons(trials, alpha, min_trials)
    importance = findings.importances(trials, space, min_fanova_trials, n_trees)
    results = findings.check(trials, space, alpha, min_trials, tests=tests,
                             importance=importance)
    settings = {"alpha": alpha, "min_trials": min_trials, "margin": findings.MARGIN,
                "compared learning rates": f">= {findings.COMPARE_MIN_LR:g}",
                "trained": f"beat chance by {findings.TRAINED:.0%} of it",
                "min_fanova_trials": min_fanova_trials, "n_trees": n_trees,
                "space": {k: list(v) for k, v in space.items()}}
    blocks = _blocks(trials, tests, importance, results, out, settings, provenance)
    (out / "findings.md").write_text(to_md(blocks, out))
    (out / "findings.html").write_text(to_html(blocks))
    (out / "findings.json").write_text(json.dumps(
        {"findings": [{**f.summary(), "rule": findings.RULES[f.number],
                       "details": findings.as_records(f.details)} for f in results],
         "settings": settings, "provenance": _jsonable(dict(provenance))},
        indent=2, default=str, allow_nan=False))
    trials.to_csv(out / "trials.csv", index=False)
    return out / "findings.md"


def _jsonable(value: Any) -> Any:
    """NaN (not JSON) as null, at any depth of dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return None if isinstance(value, float) and value != value else value


def verdict_table(results: list[Finding]) -> pd.DataFrame:
    """The report's first table: one row per finding, its verdict and the numbers behind it."""
    return pd.DataFrame([{"#": f.number, "finding": f.title, "source": f.source,
                          "verdict": f.verdict, "statistic": f.statistic, "n": f.n}
                         for f in results])


def _blocks(trials: pd.DataFrame, tests: pd.DataFrame, importance: Importance,
            results: list[Finding], out: Path, settings: dict[str, Any],
            provenance: Mapping[str, Any]) -> list[Block]:
    tasks = sorted(map(str, trials["task"].unique())) if len(trials) else []
    variants = trials["variant"].nunique() if len(trials) else 0
    figures = out / "figures"
    blocks: list[Block] = [
        ("h1", "Findings: Greff et al. (2017) and Jozefowicz et al. (2015)"),
        ("p", f"{len(trials)} trials, {len(tasks)} task(s), {variants} variant(s); "
              f"search seed {provenance.get('search seed', '?')}; α = {settings['alpha']}, "
              f"at least {settings['min_trials']} paired draws per test. {LEGEND}"),
        ("table", verdict_table(results)),
        *glance_plot.section(trials, figures, "trials", "trial"),
        ("h2", "Which trials trained"),
        ("p", f"A trial trained when its test metric beat chance by {findings.TRAINED:.0%} of "
              "the chance level. Share of trials that trained, per task and variant: all "
              "trials, those compared (learning rate ≥ "
              f"{findings.COMPARE_MIN_LR:g}), and per learning-rate decade.")]
    if len(trials):
        blocks.append(("table", trained_table(trials)))
        picture = plots.trained(trials, figures, findings.TRAINED, findings.COMPARE_MIN_LR)
        blocks += [("img", picture)] if picture is not None else []
    for f in results:
        blocks += [("h2", f"{f.number}. {f.title}: {f.verdict}"),
                   ("p", f"Claim ({f.source}): “{f.claim}”"),
                   ("p", f"Rule: {findings.RULES[f.number]}."),
                   ("p", f"Verdict: **{f.verdict}**. {f.statistic} (n = {f.n})")]
        if not f.details.empty:
            blocks.append(("table", _readable(f.details)))
        blocks += [("img", p) for p in _figures_of(f, trials, tests, importance, figures,
                                                   tasks) if p is not None]
    blocks.append(("h2", "Per-task summaries"))
    for task in tasks:
        rows = trials[trials["task"] == task]
        better = "lower" if bool(rows["lower_is_better"].iloc[0]) else "higher"
        metric = rows["metric"].iloc[0] if "metric" in rows else "metric"
        blocks += [("h3", f"{task}: test {metric} ({better} is better)"),
                   ("table", task_summary(trials, tests, task))]
    if len(trials) and cost.cost_table(trials).shape[0]:
        blocks += [("h2", "What it cost"),
                   ("p", "Worker time per task from the trials' own records (each trial's "
                         "share of its population's wall time); divide by the number of "
                         "workers for the wall time, and scale by sequences for another "
                         "profile."),
                   ("table", cost.cost_table(trials))]
    blocks += [("h2", "Provenance"), ("table", provenance_table(provenance, settings))]
    if len(trials):
        blocks += [("h3", "Trials per task and variant (diverged in brackets)"),
                   ("table", trial_counts(trials))]
    return blocks


def _figures_of(f: Finding, trials: pd.DataFrame, tests: pd.DataFrame,
                importance: Importance, folder: Path, tasks: list[str]) -> list[Path | None]:
    """The figures shown with finding ``f`` (each drawn once, where it is the evidence)."""
    if f.number == 1:  # Greff et al.'s figure 3: every variant against lstm, per task
        return [plots.boxes(trials, tests, folder, t) for t in tasks]
    if f.number == 4:
        return ([plots.importance(importance.shares, folder, t) for t in tasks]
                + [plots.learning_rate(trials, folder, t) for t in tasks])
    if f.number == 5:
        return [plots.lr_hidden(trials, folder, t) for t in tasks]
    rows = tests[tests["variant"].isin(_VARIANTS[f.number])]
    if f.number != 9:
        rows = rows[rows["reference"] == findings.REFERENCE]
    return [plots.effects(rows, folder, f"finding_{f.number}", f"{f.number}. {f.title}")]


def task_summary(trials: pd.DataFrame, tests: pd.DataFrame, task: str) -> pd.DataFrame:
    """Every variant of ``task`` (stats.summarize) with its paired test against lstm, best
    first; ``trained`` counts the trials that beat chance by the stated margin."""
    rows = trials[trials["task"] == task]
    lower = bool(rows["lower_is_better"].iloc[0])
    summary = stats.summarize(rows, "value", lower)
    counts = findings.trained(rows).groupby(rows["variant"].astype(str)).sum().astype(int)
    summary.insert(3, "trained", summary["variant"].map(counts).fillna(0).astype(int))
    against = tests[(tests["task"] == task) & (tests["reference"] == findings.REFERENCE)]
    table = summary.merge(against[["variant", "n", "diff", "low", "high", "detectable",
                                   "needed", "p_holm", "verdict"]].rename(columns={"n": "pairs"}),
                          on="variant", how="left")
    table.loc[table["variant"] == findings.REFERENCE, "verdict"] = "reference"
    return table.sort_values("median", ascending=lower).reset_index(drop=True)


def trained_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per task and variant (and all variants of a task): how many trials trained, of all
    and of the compared ones, and the share per learning-rate decade."""
    data = trials.assign(trained=findings.trained(trials))
    has_lr = "lr" in data and data["lr"].notna().any()
    if has_lr:
        decade = np.floor(np.log10(data["lr"].astype(float)))
        data = data.assign(decade=[f"lr 1e{int(d)}" for d in decade])
    rows = []
    for (task, variant), group in [*data.groupby(["task", "variant"], sort=True),
                                   *((( t, "all"), g) for t, g in data.groupby("task"))]:
        row: dict[str, Any] = {"task": task, "variant": variant,
                               "trained": f"{int(group['trained'].sum())}/{len(group)}"}
        if has_lr:
            chosen = group[group["lr"].astype(float) >= findings.COMPARE_MIN_LR]
            row[f"lr ≥ {findings.COMPARE_MIN_LR:g}"] = (
                f"{chosen['trained'].mean():.0%} of {len(chosen)}" if len(chosen) else "-")
            for name, part in group.groupby("decade"):
                row[str(name)] = f"{part['trained'].mean():.0%}"
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["task", "variant"], key=lambda c: c.map(
        lambda v: (v == "all", v) if c.name == "variant" else v)).fillna("")
    decades = sorted([c for c in table.columns if c.startswith("lr 1e")],
                     key=lambda c: int(c[5:]))
    return table[[c for c in table.columns if not c.startswith("lr 1e")] + decades]


def trial_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per variant (rows) and task (columns) as "n (diverged)": what the verdicts
    rest on, at a glance."""
    diverged = trials["diverged"].astype(bool) if "diverged" in trials else False
    counts = trials.assign(d=diverged).groupby(["variant", "task"]).agg(
        n=("value", "size"), d=("d", "sum"))
    cells = (counts["n"].astype(str) + " (" + counts["d"].astype(int).astype(str) + ")")
    return cells.unstack("task").fillna("").reset_index()


def provenance_table(provenance: Mapping[str, Any], settings: Mapping[str, Any]
                     ) -> pd.DataFrame:
    """What the caller passed, then the analysis settings and library versions."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "seaborn", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    rows = [*provenance.items(), *settings.items(),
            ("analysis versions", versions)]
    return pd.DataFrame([(str(k), v if isinstance(v, str) else json.dumps(v, default=str))
                         for k, v in rows], columns=["what", "value"])


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence for a document: tuples joined, booleans as yes/no."""
    return frame.map(lambda v: " × ".join(map(str, v)) if isinstance(v, tuple)
                     else ("yes" if v else "no") if isinstance(v, (bool, np.bool_)) else v)
