"""The paper's analysis: each variant's best trials against the reference's, Welch's t-test.

Greff et al. (2017) compare, per dataset, the test performance of each variant's best 10 % of
trials (ranked by validation) with vanilla LSTM's, by Welch's t-test at p < 0.05 (the
project's notes on the paper, /work/shared/REFERENCES.md §1.6, from secondary sources). A
random search spends most draws far from a cell's best settings; its best trials are what the
cell can do when tuned, which is the paper's question.

One row per (task, variant) against ``lstm``, and ``lstm-b`` against ``gru`` (Jozefowicz et
al.'s finding 9), in ``TOP_COLUMNS``, the difference in the metric's own units, positive when
the variant is worse:

- ``top``/``top_ref``: how many best trials entered (``stats.top_count``: ceil(10 % of n));
- ``diff`` and its 90 % interval ``low``..``high`` (two one-sided 95 % bounds, Welch's
  degrees of freedom), ``p`` the two-sided Welch p-value, uncorrected: each finding applies
  Holm's correction over the tests its verdict spans;
- ``detectable``: the difference the two-sided test finds with 80 % power at this spread and
  these counts; ``draws_needed``: the draws per variant with which the interval would fit
  inside ``margin`` at the measured difference and spread (infinite when the difference is
  itself beyond the margin);
- ``trials``/``ref_trials``: the draws (k) whose trials entered, for the report's evidence.

Fewer than ``MIN_TOP`` best trials on a side (fewer than 11 draws at 10 %) leave a comparison
"untested", with the reason in ``note``; so does a side whose best trials did not all train
(column ``trained``: each beat its task's trivial model, ``results.analysis.trained``). The paper
compares cells that learned; best trials still at chance (a CTC network on its blank
plateau) would compare how soon each started learning, which no finding is about.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from results.analysis import scope, stats
from results.analysis.paired import POWER, pairs_needed

REFERENCE = "lstm"
TOP_FRACTION = 0.1  # Greff et al.: the best 10 % of each variant's trials
MIN_TOP = 2  # a t-test needs two values a side
TOP_COLUMNS = [
    "task",
    "reference",
    "variant",
    "n",
    "n_ref",
    "top",
    "top_ref",
    "mean",
    "ref_mean",
    "diff",
    "low",
    "high",
    "p",
    "df",
    "detectable",
    "draws_needed",
    "margin",
    "trials",
    "ref_trials",
    "note",
]


def primary(
    trials: pd.DataFrame, margins: Mapping[str, float], alpha: float = 0.05
) -> pd.DataFrame:
    """The paper's analysis on every task of ``trials`` (marked, ``trained.mark``):
    :func:`compare_best` with each task's margin, the dataset's own (``margins``,
    results/analysis/scope.py) or for an extension ``scope.MARGIN`` × lstm's best trials' gain over
    chance, and ``data``: the paper dataset the task provides, or "" for an extension."""
    tasks = set(trials["task"].astype(str)) if len(trials) else set()
    margins = {**{t: _relative_margin(trials[trials["task"] == t]) for t in tasks}, **margins}
    table = compare_best(trials, margins, TOP_FRACTION, alpha)
    return table.assign(data=[d.name if (d := scope.dataset(t)) else "" for t in table["task"]])


def _relative_margin(rows: pd.DataFrame) -> float:
    ref = best_by_validation(rows[rows["variant"] == REFERENCE])
    if ref.empty:
        return math.nan
    return scope.MARGIN * abs(float(rows["chance"].iloc[0]) - float(ref["value"].mean()))


def best_by_validation(frame: pd.DataFrame, fraction: float = TOP_FRACTION) -> pd.DataFrame:
    """The best ``top_count(n, fraction)`` trials of ``frame`` by their validation metric
    (column ``valid``; a trial without one, e.g. diverged, ranks last), best first."""
    if frame.empty:
        return frame
    lower = bool(frame["lower_is_better"].iloc[0])
    key = frame["valid"].astype(float)
    key = key.where(key.notna(), math.inf if lower else -math.inf)
    order = np.argsort(key.to_numpy() if lower else -key.to_numpy(), kind="stable")
    return frame.iloc[order[: stats.top_count(len(frame), fraction)]]


def welch_difference(
    worse_side: np.ndarray, better_side: np.ndarray, alpha: float = 0.05
) -> dict[str, float]:
    """Welch's test of mean(worse_side) - mean(better_side): ``diff``, the 90 % interval
    ``low``..``high`` (at ``alpha`` = 0.05: two one-sided 95 % bounds), the two-sided ``p``,
    ``df``, ``se`` and ``detectable`` (80 % power). NaN where the test is undefined (fewer than
    2 values a side, both sides constant)."""
    a, b = np.asarray(worse_side, dtype=float), np.asarray(better_side, dtype=float)
    test = stats.welch(a, b)
    nan = dict.fromkeys(("diff", "low", "high", "p", "df", "se", "detectable"), math.nan)
    if math.isnan(test.p):
        return {**nan, "diff": float(a.mean() - b.mean()) if len(a) and len(b) else math.nan}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        result = scipy_stats.ttest_ind(a, b, equal_var=False)
        interval = result.confidence_interval(1 - 2 * alpha)
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    detectable = (
        scipy_stats.t.ppf(1 - alpha / 2, test.df) + scipy_stats.t.ppf(POWER, test.df)
    ) * se
    return {
        "diff": float(a.mean() - b.mean()),
        "low": float(interval.low),
        "high": float(interval.high),
        "p": test.p,
        "df": test.df,
        "se": se,
        "detectable": float(detectable),
    }


def compare_best(
    trials: pd.DataFrame,
    margins: Mapping[str, float],
    fraction: float = TOP_FRACTION,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Every variant's best trials against ``lstm``'s, and ``lstm-b``'s against ``gru``'s, per
    task of ``trials`` (marked: column ``trained``, ``trained.mark``). ``margins``: each task's
    margin in its metric's units; a task without one gets NaN, and its equivalence cannot be
    shown."""
    rows: list[dict[str, object]] = []
    for task, frame in trials.groupby("task", sort=True) if len(trials) else []:
        margin = float(margins.get(str(task), math.nan))
        for variant, reference in _pairs(set(frame["variant"].astype(str))):
            rows.append(_compare(frame, str(task), variant, reference, margin, fraction, alpha))
    return pd.DataFrame(rows, columns=TOP_COLUMNS)


def _pairs(present: set[str]) -> list[tuple[str, str]]:
    pairs = [(v, REFERENCE) for v in sorted(present - {REFERENCE})] if REFERENCE in present else []
    return pairs + [("lstm-b", "gru")] * ({"lstm-b", "gru"} <= present)


def _compare(
    frame: pd.DataFrame,
    task: str,
    variant: str,
    reference: str,
    margin: float,
    fraction: float,
    alpha: float,
) -> dict[str, object]:
    mine, ref = frame[frame["variant"] == variant], frame[frame["variant"] == reference]
    top, top_ref = best_by_validation(mine, fraction), best_by_validation(ref, fraction)
    sign = 1.0 if bool(frame["lower_is_better"].iloc[0]) else -1.0
    row: dict[str, object] = {
        "task": task,
        "reference": reference,
        "variant": variant,
        "n": len(mine),
        "n_ref": len(ref),
        "top": len(top),
        "top_ref": len(top_ref),
        "mean": float(top["value"].mean()),
        "ref_mean": float(top_ref["value"].mean()),
        "margin": margin,
        "trials": sorted(int(k) for k in top["trial"]),
        "ref_trials": sorted(int(k) for k in top_ref["trial"]),
        "note": "",
        **dict.fromkeys(("diff", "low", "high", "p", "df", "detectable", "draws_needed"), math.nan),
    }
    if min(len(top), len(top_ref)) < MIN_TOP:
        row["note"] = (
            f"{min(len(top), len(top_ref))} < {MIN_TOP} best trials a side "
            f"(needs {math.floor((MIN_TOP - 1) / fraction + 1e-9) + 1} or more draws)"
        )
        return row
    untrained = [
        f"{name}'s {int((~learned).sum())} of {len(learned)}"
        for name, learned in ((variant, top["trained"]), (reference, top_ref["trained"]))
        if not learned.all()
    ]
    if untrained:
        row["note"] = f"best trials that did not train ({', '.join(untrained)})"
        return row
    test = welch_difference(
        sign * top["value"].to_numpy(float), sign * top_ref["value"].to_numpy(float), alpha
    )
    low, high = test["low"], test["high"]
    row.update(
        diff=test["diff"],
        low=low,
        high=high,
        p=test["p"],
        df=test["df"],
        detectable=test["detectable"],
    )
    if math.isnan(test["p"]):
        row["note"] = "both sides constant: no test"
    else:
        row["draws_needed"] = _draws_needed(top, top_ref, test["diff"], margin, fraction)
    return row


def _draws_needed(
    top: pd.DataFrame, top_ref: pd.DataFrame, diff: float, margin: float, fraction: float
) -> float:
    """Draws per variant whose best ``fraction`` would put the interval inside the margin at
    this difference and spread (Welch's standard error with equal counts a side)."""
    room = margin - abs(diff)
    if not room > 0:
        return math.inf
    spread = math.sqrt(float(top["value"].var(ddof=1)) + float(top_ref["value"].var(ddof=1)))
    return float(math.ceil(pairs_needed(spread, room) / fraction))


def holm_within(rows: pd.DataFrame) -> pd.Series:
    """Holm-adjusted p-values over the tested rows of one verdict (NaN for untested ones)."""
    return pd.Series(stats.holm(rows["p"].to_numpy(dtype=float)), index=rows.index)
