"""The robustness table (:func:`comparisons`): the evidence behind the findings
(results/analysis/findings.py) besides the paper's own analysis (results/analysis/top_trials.py),
computed once and shown by the report, deciding nothing.

Per task, every variant against ``lstm``, and ``lstm-b`` against ``gru``, as paired
comparisons on the draws both trained on (results/analysis/paired.py): the search gives trial
k the same hyperparameters for every variant, so the difference at draw k is the cell's
alone. Whether a trial trained is column ``trained`` (results/analysis/trained.py: it beat its
task's trivial model); a pair with an untrained side says nothing about either cell.
Differences are in the metric's units, positive when the variant is worse, against each
task's margin (``margins``; a task without one gets ``scope.MARGIN`` × the reference's median
gain over its baseline). Significance: the paired t-test, Holm-adjusted across the variants
of a task. Equivalence: ``not_worse`` when the upper one-sided 95 % bound of the mean
difference is below the margin, ``not_better`` when the lower one is above minus it;
``detectable`` is the difference the test finds with 80 % power, ``needed`` the draws with
which the interval would fall inside the margin (:func:`draws_needed`). A comparison with
fewer than ``min_trials`` pairs, or whose reference never trained, is "untested".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from results.analysis import scope, stats
from results.analysis.paired import Paired, paired, pairs_needed
from results.analysis.trained import baseline

REFERENCE = "lstm"
MIN_TRIALS = 10  # pairs a comparison needs
TEST_COLUMNS = [
    "task",
    "reference",
    "variant",
    "n",
    "n_ref",
    "mean",
    "ref_mean",
    "median",
    "ref_median",
    "diff",
    "sd",
    "low",
    "high",
    "detectable",
    "needed",
    "margin",
    "p",
    "p_holm",
    "g_worse",
    "verdict",
    "not_worse",
    "not_better",
    "note",
]
# the robustness table as the report shows it
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


# ---------------------------------------------------------------- evidence: comparisons


def comparisons(
    trials: pd.DataFrame,
    alpha: float = 0.05,
    min_trials: int = MIN_TRIALS,
    margins: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per (task, variant) of ``trials`` (marked: column ``trained``,
    ``trained.mark``) against lstm, plus lstm-b against gru, in TEST_COLUMNS.

    ``verdict`` is "better", "worse", "not significant" (Holm p >= alpha) or "untested"
    (``note`` says why); ``not_worse``/``not_better`` say whether equivalence bounds hold.
    Tasks without the reference produce no rows.
    """
    rows: list[dict[str, object]] = []
    if len(trials):
        chosen = trials.dropna(subset=["value"])
        for task, frame in chosen.groupby("task", sort=True):
            margin = (margins or {}).get(str(task), math.nan)
            rows += _against(frame, str(task), REFERENCE, alpha, min_trials, margin)
            pair = frame[frame["variant"].isin(["lstm-b", "gru"])]
            rows += _against(pair, str(task), "gru", alpha, min_trials, margin)
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _against(
    frame: pd.DataFrame, task: str, reference: str, alpha: float, min_trials: int, margin: float
) -> list[dict[str, object]]:
    if reference not in set(frame["variant"]):
        return []
    lower = bool(frame["lower_is_better"].iloc[0])
    ref = frame[frame["variant"] == reference]
    good = ref[ref["trained"]]
    gain = (
        abs(float(baseline(good).median()) - float(good["value"].median()))
        if len(good)
        else math.nan
    )
    if math.isnan(margin):
        margin = scope.MARGIN * gain
    ref_by_trial = good.set_index("trial")["value"]
    rows = []
    for variant in sorted(str(v) for v in frame["variant"].unique() if v != reference):
        mine = frame[frame["variant"] == variant]
        both = (
            mine[mine["trained"]]
            .set_index("trial")["value"]
            .to_frame("v")
            .join(ref_by_trial.rename("r"), how="inner")
        )
        worse = (both["v"] - both["r"]) if lower else (both["r"] - both["v"])
        row = {
            "task": task,
            "reference": reference,
            "variant": variant,
            "n": len(both),
            "n_ref": len(ref),
            "mean": mine["value"].mean(),
            "ref_mean": ref["value"].mean(),
            "median": mine["value"].median(),
            "ref_median": ref["value"].median(),
            "diff": math.nan,
            "sd": math.nan,
            "low": math.nan,
            "high": math.nan,
            "detectable": math.nan,
            "needed": math.nan,
            "margin": margin,
            "p": math.nan,
            "p_holm": math.nan,
            "g_worse": math.nan,
            "verdict": "untested",
            "not_worse": False,
            "not_better": False,
            "note": "",
        }
        if not len(good):
            row["note"] = f"{reference} trained in none of the draws"
        elif len(both) < min_trials:
            row["note"] = f"{len(both)} < {min_trials} draws both trained on"
        else:
            test = paired(worse.to_numpy(), alpha)
            g = stats.hedges_g(both["v"], both["r"])
            row.update(
                diff=test.mean,
                sd=test.sd,
                low=test.low,
                high=test.high,
                detectable=test.detectable,
                needed=draws_needed(test, margin),
                p=test.p,
                g_worse=g if lower else -g,
                not_worse=test.not_worse(margin),
                not_better=test.not_better(margin),
            )
        rows.append(row)
    tested = [r for r in rows if r["note"] == ""]
    for r, p_holm in zip(tested, stats.holm([float(r["p"]) for r in tested])):
        r["p_holm"] = float(p_holm)
        r["verdict"] = (
            "not significant"
            if not p_holm < alpha
            else "worse"
            if float(r["diff"]) > 0
            else "better"
        )
    return rows


def robustness_table(tests: pd.DataFrame) -> pd.DataFrame:
    """The robustness table as the report shows it: ``ROBUSTNESS_COLUMNS`` of ``tests``."""
    return tests[ROBUSTNESS_COLUMNS].reset_index(drop=True)


def draws_needed(test: Paired, margin: float) -> float:
    """Common draws with which both one-sided bounds would fall inside ``margin`` (80 %
    power), if the difference and spread were what this test measured; infinite when the
    measured difference is itself beyond the margin (more draws would not show equivalence)."""
    room = margin - abs(test.mean)
    return float(pairs_needed(test.sd, room)) if room > 0 else math.inf
