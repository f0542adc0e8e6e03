"""The evidence behind the findings (results/findings.py), computed once and shared by the
checks, the figures and the report.

- :func:`comparisons`: per task, every variant against ``lstm`` with
  :func:`results.stats.compare` (Welch on all trials, Holm across the variants of that task;
  each task is its own family, as each dataset is in the paper), and ``lstm-b`` against
  ``gru`` as one planned test per task. A side with fewer than ``min_trials`` trials is not
  tested ("untested", with the reason) and stays out of the Holm family. ``g_worse`` is
  Hedges' g oriented so that positive means worse than the reference, whatever the
  metric's direction.
- :func:`importances`: per task and variant, :func:`results.fanova.fanova` (main effects and
  pairs) on Greff's scales: log10(lr), log10(hidden_size), log10(1 - momentum), input_noise
  raw; any other hyperparameter is log10 when its ``log`` flag is set. Momentum's bounds
  in ``space`` are those of the momentum itself (e.g. ``(0.0, 0.99, False)``) and become
  log10(1 - 0.99)..log10(1 - 0) = -2..0 here. Diverged trials enter at chance, as recorded.
  Shares are then summarised per task by the median over variants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from results import stats
from results.fanova import fanova

REFERENCE = "lstm"
MIN_TRIALS = 10          # per side of a t-test
MIN_FANOVA_TRIALS = 30   # per (task, variant): a forest on fewer points mostly fits noise
TEST_COLUMNS = ["task", "reference", "variant", "n", "n_ref", "mean", "ref_mean", "median",
                "ref_median", "g_worse", "p", "p_holm", "verdict", "note"]
SHARE_COLUMNS = ["task", "variant", "n", "term", "variables", "order", "share", "std"]


@dataclass(frozen=True, eq=False)
class Importance:
    """fANOVA shares per (task, variant, term) and the groups left out, with the reason."""

    shares: pd.DataFrame
    skipped: pd.DataFrame  # task, variant, reason ("" task/variant: the whole analysis)


def is_music(task: str) -> bool:
    return str(task).lower().startswith("music")


def is_language_model(task: str) -> bool:
    t = str(task).lower()
    return t == "lm" or t.startswith(("lm-", "lm_", "language", "ptb"))


# ---------------------------------------------------------------- evidence: comparisons

def comparisons(trials: pd.DataFrame, alpha: float = 0.05,
                min_trials: int = MIN_TRIALS) -> pd.DataFrame:
    """One row per (task, variant) against lstm, plus lstm-b against gru, in TEST_COLUMNS.

    ``verdict`` is "better", "worse", "not significant" (Holm p >= alpha) or "untested"
    (``note`` says why). Tasks without the reference produce no rows.
    """
    rows: list[dict[str, object]] = []
    if len(trials):
        for task, frame in trials.dropna(subset=["value"]).groupby("task", sort=True):
            lower = bool(frame["lower_is_better"].iloc[0])
            rows += _against(frame, str(task), REFERENCE, lower, alpha, min_trials)
            pair = frame[frame["variant"].isin(["lstm-b", "gru"])]
            rows += _against(pair, str(task), "gru", lower, alpha, min_trials)
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def _against(frame: pd.DataFrame, task: str, reference: str, lower: bool, alpha: float,
             min_trials: int) -> list[dict[str, object]]:
    counts = frame.groupby("variant").size()
    if reference not in counts.index:
        return []
    n_ref = int(counts[reference])
    others = [str(v) for v in counts.index if v != reference]
    testable = [v for v in others if counts[v] >= min_trials] if n_ref >= min_trials else []
    table = pd.DataFrame()
    if testable:  # the Holm family is the variants that can be tested, nothing else
        table = stats.compare(frame[frame["variant"].isin([*testable, reference])], "value",
                              lower, reference=reference, alpha=alpha).set_index("variant")
    ref_values = frame.loc[frame["variant"] == reference, "value"]
    rows = []
    for variant in others:
        mine = frame.loc[frame["variant"] == variant, "value"]
        row = {"task": task, "reference": reference, "variant": variant, "n": len(mine),
               "n_ref": n_ref, "mean": mine.mean(), "ref_mean": ref_values.mean(),
               "median": mine.median(), "ref_median": ref_values.median(),
               "g_worse": math.nan, "p": math.nan, "p_holm": math.nan,
               "verdict": "untested", "note": ""}
        if n_ref < min_trials:
            row["note"] = f"{reference} has {n_ref} < {min_trials} trials"
        elif variant not in testable:
            row["note"] = f"{variant} has {len(mine)} < {min_trials} trials"
        elif table.loc[variant, "verdict"] == "inconclusive":
            row["note"] = "no variance on either side"
        else:
            t = table.loc[variant]
            row.update(g_worse=t["g"] if lower else -t["g"], p=t["p"], p_holm=t["p_holm"],
                       verdict=t["verdict"])
        rows.append(row)
    return rows


# ---------------------------------------------------------------- evidence: fANOVA

_GREFF_SCALES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "lr": np.log10, "hidden_size": np.log10,
    "momentum": lambda m: np.log10(1.0 - m), "input_noise": lambda x: x}


def analysis_scale(trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]]
                   ) -> tuple[pd.DataFrame, dict[str, tuple[float, float]], list[str]]:
    """The hyperparameters on the analysis scale (see the module docstring), their bounds
    there, and a note for each hyperparameter of ``space`` that cannot be analysed (absent
    from the trials, impossible bounds, values outside the bounds)."""
    columns, bounds, notes = {}, {}, []
    for name, (low, high, *flag) in space.items():
        log = bool(flag and flag[0])
        transform = _GREFF_SCALES.get(name, np.log10 if log else (lambda x: x))
        if name not in trials or trials[name].isna().all():
            notes.append(f"{name}: not in the trials")
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            ends = np.sort(transform(np.array([low, high], dtype=float)))
            values = transform(trials[name].to_numpy(dtype=float))
        if not (np.all(np.isfinite(ends)) and ends[0] < ends[1]):
            notes.append(f"{name}: bounds {low}..{high} are empty or infinite on its scale")
            continue
        slack = 1e-9 * (ends[1] - ends[0])  # rounding in the transform, not a real excess
        seen = values[~np.isnan(values)]
        if np.any(seen < ends[0] - slack) or np.any(seen > ends[1] + slack):
            notes.append(f"{name}: values outside the space's bounds {low}..{high}")
            continue
        columns[name] = np.clip(values, ends[0], ends[1])
        bounds[name] = (float(ends[0]), float(ends[1]))
    return pd.DataFrame(columns, index=trials.index), bounds, notes


def importances(trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]],
                min_trials: int = MIN_FANOVA_TRIALS, n_trees: int = 32) -> Importance:
    """fANOVA shares (main effects and pairs) for every (task, variant) with enough trials."""
    shares, skipped = [], []
    scaled, bounds, notes = (analysis_scale(trials, space) if len(trials)
                             else (pd.DataFrame(), {}, ["no trials"]))
    skipped += [("", "", note) for note in notes]
    if not bounds:
        skipped.append(("", "", "no hyperparameter of the space can be analysed"))
    for (task, variant), group in (trials.dropna(subset=["value"]).groupby(["task", "variant"])
                                   if bounds else []):
        x = scaled.loc[group.index]
        usable = {k: b for k, b in bounds.items() if x[k].notna().all()}
        values = group["value"].to_numpy(dtype=float)
        reason = ("no hyperparameter without missing values" if not usable else
                  f"{len(group)} < {min_trials} trials" if len(group) < min_trials else
                  "metric constant" if np.ptp(values) == 0 else
                  "no hyperparameter varies" if all(x[k].nunique() < 2 for k in usable)
                  else "")
        if reason:
            skipped.append((task, variant, reason))
            continue
        try:
            table = fanova(x, values, usable, n_trees=n_trees)
        except ValueError as error:  # e.g. every hyperparameter constant: nothing to split
            skipped.append((task, variant, str(error)))
            continue
        shares.append(table.assign(task=task, variant=variant, n=len(group)))
    frame = (pd.concat(shares, ignore_index=True)[SHARE_COLUMNS] if shares
             else pd.DataFrame(columns=SHARE_COLUMNS))
    return Importance(frame, pd.DataFrame(skipped, columns=["task", "variant", "reason"]))


def median_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """Per task and term, the median share over the variants that have the term."""
    if shares.empty:
        return pd.DataFrame(columns=["task", "term", "variables", "order", "share", "variants"])
    keyed = shares.assign(key=shares["variables"].map(lambda v: tuple(sorted(v))))
    out = keyed.groupby(["task", "key"], sort=True).agg(
        term=("term", "first"), variables=("variables", "first"), order=("order", "first"),
        share=("share", "median"), variants=("variant", "nunique"))
    return out.reset_index(drop=False).drop(columns="key")
