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
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from results.analysis import cost, findings, scope, stats
from results.analysis.findings import Finding, Importance
from results.analysis.top_trials import TOP_FRACTION, best_by_validation
from results.figures import findings_plots as plots
from results.rendering import glance_section
from results.rendering.document import Block, to_html, to_md

LEGEND = (
    "The paper's analysis: per dataset, each variant's best "
    f"{TOP_FRACTION:.0%} of trials by validation (top) against vanilla LSTM's, Welch's "
    "t-test on their test metric; diff is the difference of their means in the "
    "metric's units (positive: the variant is worse), [low, high] its 90 % interval "
    "(two one-sided 95 % bounds), p the uncorrected two-sided p-value (each verdict "
    "applies Holm over the tests it spans), detectable the difference the test finds "
    "with 80 % power, draws the draws per variant with which the interval would fit the "
    "margin. A claim of no difference needs the interval inside the margin; without it "
    "the answer is inconclusive."
)
_VARIANTS = {
    2: ["cifg", "np"],
    3: ["nfg", "noaf"],
    6: ["fgr"],
    7: ["nig", "nog", "niaf"],
    8: ["nfg", "nig", "nog"],
    9: ["lstm-b"],
    10: ["gru"],
}  # effect figures
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


def build(
    trials: pd.DataFrame,
    space: Mapping[str, tuple[float, float, bool]],
    folder: str | Path,
    provenance: Mapping[str, Any],
    *,
    alpha: float = 0.05,
    min_trials: int = findings.MIN_TRIALS,
    min_fanova_trials: int = findings.MIN_FANOVA_TRIALS,
    n_trees: int = 32,
    resamples: int = 100,
) -> Path:
    """Check the ten findings on ``trials`` and write the report into ``folder``; returns
    the path of ``findings.md``. ``provenance`` is shown as given (profile, protocol,
    studies, storage, versions...); the analysis settings and library versions are added."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tasks = set(trials["task"].astype(str)) if len(trials) else set()
    best = findings.primary(trials, alpha)
    tests = findings.comparisons(trials, alpha, min_trials, scope.margins(tasks))
    importance = findings.importances(trials, space, min_fanova_trials, n_trees)
    greff = set(scope.greff_tasks(tasks))
    paper_importance = Importance(
        importance.shares[importance.shares["task"].isin(greff)], importance.skipped
    )
    shares = findings.share_intervals(trials, space, paper_importance, n_trees, resamples)
    results = findings.check(trials, space, alpha, best=best, shares=shares)
    settings = {
        "alpha": alpha,
        "best fraction": TOP_FRACTION,
        "margins": {t: m for t, m in scope.margins(tasks).items()},
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
    blocks = _blocks(trials, best, tests, importance, shares, results, out, settings, provenance)
    (out / "findings.md").write_text(to_md(blocks, out))
    (out / "findings.html").write_text(to_html(blocks))
    (out / "findings.json").write_text(
        json.dumps(
            {
                "findings": [
                    {
                        **f.summary(),
                        "rule": findings.RULES[f.number],
                        "details": findings.as_records(f.details),
                    }
                    for f in results
                ],
                "primary": findings.as_records(best),
                "settings": settings,
                "provenance": _jsonable(dict(provenance)),
            },
            indent=2,
            default=str,
            allow_nan=False,
        )
    )
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


def _blocks(
    trials: pd.DataFrame,
    best: pd.DataFrame,
    tests: pd.DataFrame,
    importance: Importance,
    shares: pd.DataFrame,
    results: list[Finding],
    out: Path,
    settings: dict[str, Any],
    provenance: Mapping[str, Any],
) -> list[Block]:
    tasks = sorted(map(str, trials["task"].unique())) if len(trials) else []
    paper = [t for t in tasks if scope.dataset(t) is not None]
    beyond = scope.extension_tasks(set(tasks))
    variants = trials["variant"].nunique() if len(trials) else 0
    figures = out / "figures"
    protocol = provenance.get("protocol", "")
    blocks: list[Block] = [
        ("h1", "Findings: Greff et al. (2017) and Jozefowicz et al. (2015)"),
        (
            "p",
            f"{len(trials)} trials, {len(tasks)} task(s), {variants} variant(s); "
            f"search seed {provenance.get('search seed', '?')}; α = {settings['alpha']}. "
            + (f"Protocol: {protocol}. " if protocol else "")
            + f"Paper data: {scope.names(paper)}"
            + (f"; beyond the paper (deciding nothing): {', '.join(beyond)}" if beyond else "")
            + ".",
        ),
        ("h2", "The paper's analysis on the paper's data"),
        ("p", LEGEND),
        ("table", primary_table(best, paper)),
        ("h2", "Verdicts"),
        ("table", verdict_table(results)),
    ]
    blocks += [
        ("img", p) for p in [plots.boxes(trials, tests, figures, t) for t in paper] if p is not None
    ]
    for f in results:
        blocks += [
            ("h2", f"{f.number}. {f.title}: {f.verdict}"),
            ("p", f"Claim ({f.source}): “{f.claim}”"),
            ("p", f"Rule: {findings.RULES[f.number]}."),
            (
                "p",
                f"Verdict: **{f.verdict}** on {f.data or 'no data'}. {f.statistic} "
                f"(n = {f.n} trials)",
            ),
        ]
        if f.rests_on:
            blocks.append(
                ("p", f"Rests on the best trials (study: variant and draws k): {f.rests_on}.")
            )
        if not f.details.empty:
            blocks.append(("table", _readable(f.details)))
        blocks += [
            ("img", p)
            for p in _figures_of(f, trials, best, importance, shares, figures, paper)
            if p is not None
        ]
    if "music" in tasks:
        blocks += [
            ("h2", "Compare with the paper"),
            (
                "p",
                "Greff et al. give their per-variant results on JSB Chorales as box "
                "plots without a table of numbers; their qualitative results (the "
                "project's notes, secondary sources) beside our best trials. Ours: "
                "Welch's test of the best trials, uncorrected p < 0.05.",
            ),
            ("table", compare_with_paper(trials, best)),
        ]
    if beyond:
        blocks += [
            ("h2", "Beyond the paper"),
            (
                "p",
                "Tasks that are not the papers' data, analysed the same way; they "
                "decide no verdict. Their margin is a fifth of lstm's best trials' "
                "gain over chance.",
            ),
            ("table", primary_table(best, beyond)),
        ]
    blocks += [
        ("h2", "Robustness: paired comparisons on the draws both cells trained on"),
        (
            "p",
            "Each variant and its reference on the same draws, both better than the "
            "task's trivial model; mean paired difference in the metric's units with "
            "its 90 % interval, Holm across the variants of a task. It decides "
            "nothing; where it and the paper's analysis disagree, the cells differ "
            "in how they train across the space rather than at their best.",
        ),
        ("table", _robustness(tests)),
    ]
    blocks += glance_section.section(trials, figures, "trials", "trial")
    blocks += [
        ("h2", "Which trials trained"),
        (
            "p",
            "A trial trained when its test metric beat the task's trivial model "
            "(JSB Chorales: how often each key sounds). Share per task and "
            "variant, overall and per learning-rate decade.",
        ),
    ]
    if len(trials):
        blocks.append(("table", trained_table(trials)))
        picture = plots.trained(trials, figures)
        blocks += [("img", picture)] if picture is not None else []
    blocks.append(("h2", "Per-task summaries"))
    for task in tasks:
        rows = trials[trials["task"] == task]
        better = "lower" if bool(rows["lower_is_better"].iloc[0]) else "higher"
        metric = rows["metric"].iloc[0] if "metric" in rows else "metric"
        blocks += [
            ("h3", f"{task}: test {metric} ({better} is better)"),
            ("table", task_summary(trials, best, task)),
        ]
    if len(trials) and cost.cost_table(trials).shape[0]:
        blocks += [
            ("h2", "What it cost"),
            (
                "p",
                "Worker time per task from the trials' own records (each trial's "
                "share of its population's wall time); divide by the number of "
                "workers for the wall time, and scale by sequences for another "
                "profile.",
            ),
            ("table", cost.cost_table(trials)),
        ]
    blocks += [("h2", "Provenance"), ("table", provenance_table(provenance, settings))]
    if len(trials):
        blocks += [
            ("h3", "Trials per task and variant (diverged in brackets)"),
            ("table", trial_counts(trials)),
        ]
    return blocks


def _robustness(tests: pd.DataFrame) -> pd.DataFrame:
    columns = [
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
    return _readable(tests[columns].reset_index(drop=True))


def _figures_of(
    f: Finding,
    trials: pd.DataFrame,
    best: pd.DataFrame,
    importance: Importance,
    shares: pd.DataFrame,
    folder: Path,
    tasks: list[str],
) -> list[Path | None]:
    """The figures shown with finding ``f`` (each drawn once, where it is the evidence)."""
    if f.number == 1:
        return []
    if f.number == 4:
        return [plots.importance(importance.shares, folder, t, shares) for t in tasks] + [
            plots.learning_rate(trials, folder, t) for t in tasks
        ]
    if f.number == 5:
        return [plots.lr_hidden(trials, folder, t) for t in tasks]
    rows = best[best["variant"].isin(_VARIANTS[f.number]) & best["task"].isin(tasks)]
    rows = rows[rows["reference"] == ("gru" if f.number == 9 else findings.REFERENCE)]
    rows = rows.assign(
        verdict=np.where(
            rows["note"] != "",
            "untested",
            np.where(
                rows["p"] < 0.05, np.where(rows["diff"] > 0, "worse", "better"), "not significant"
            ),
        )
    )
    return [plots.effects(rows, folder, f"finding_{f.number}", f"{f.number}. {f.title}")]


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


def provenance_table(provenance: Mapping[str, Any], settings: Mapping[str, Any]) -> pd.DataFrame:
    """What the caller passed, then the analysis settings and library versions."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "seaborn", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    rows = [*provenance.items(), *settings.items(), ("analysis versions", versions)]
    return pd.DataFrame(
        [(str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in rows],
        columns=["what", "value"],
    )


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence for a document: tuples joined, booleans as yes/no."""
    return frame.map(
        lambda v: (
            " × ".join(map(str, v))
            if isinstance(v, tuple)
            else ("yes" if v else "no")
            if isinstance(v, (bool, np.bool_))
            else v
        )
    )
