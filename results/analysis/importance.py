"""fANOVA evidence for findings 4 and 5 (results/analysis/findings.py), computed once and
shared by the checks, the figures and the report.

- :func:`importances`: per task and variant, :func:`results.analysis.fanova.fanova` (main
  effects and pairs) on Greff's scales: log10(lr), log10(hidden_size), log10(1 -
  momentum), input_noise raw; any other hyperparameter is log10 when its ``log`` flag is
  set. Momentum's bounds
  in ``space`` are those of the momentum itself (e.g. ``(0.0, 0.99, False)``) and become
  log10(1 - 0.99)..log10(1 - 0) = -2..0 here. Diverged trials enter at chance, as recorded.
  Every trial enters, whatever its learning rate. Shares are then summarised per task by
  the median over variants (:func:`median_shares`), with a bootstrap interval over trials
  (:func:`share_intervals`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from results.analysis.fanova import fanova

MIN_FANOVA_TRIALS = 30  # per (task, variant): a forest on fewer points mostly fits noise
BOOTSTRAP = 100  # resamples of the fANOVA shares' intervals (a forest per resample)
SHARE_COLUMNS = ["task", "variant", "n", "term", "variables", "order", "share", "std"]


@dataclass(frozen=True, eq=False)
class Importance:
    """fANOVA shares per (task, variant, term) and the groups left out, with the reason."""

    shares: pd.DataFrame
    skipped: pd.DataFrame  # task, variant, reason ("" task/variant: the whole analysis)

    def of(self, tasks: list[str]) -> Importance:
        """The shares of ``tasks`` alone (what was skipped stays as it is)."""
        return Importance(self.shares[self.shares["task"].isin(set(tasks))], self.skipped)


_GREFF_SCALES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "lr": np.log10,
    "hidden_size": np.log10,
    "momentum": lambda m: np.log10(1.0 - m),
    "input_noise": lambda x: x,
}


def analysis_scale(
    trials: pd.DataFrame, space: Mapping[str, tuple[float, float, bool]]
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


def importances(
    trials: pd.DataFrame,
    space: Mapping[str, tuple[float, float, bool]],
    min_trials: int = MIN_FANOVA_TRIALS,
    n_trees: int = 32,
) -> Importance:
    """fANOVA shares (main effects and pairs) for every (task, variant) with enough trials."""
    shares, skipped = [], []
    scaled, bounds, notes = (
        analysis_scale(trials, space) if len(trials) else (pd.DataFrame(), {}, ["no trials"])
    )
    skipped += [("", "", note) for note in notes]
    if not bounds:
        skipped.append(("", "", "no hyperparameter of the space can be analysed"))
    for (task, variant), group in (
        trials.dropna(subset=["value"]).groupby(["task", "variant"]) if bounds else []
    ):
        x = scaled.loc[group.index]
        usable = {k: b for k, b in bounds.items() if x[k].notna().all()}
        values = group["value"].to_numpy(dtype=float)
        reason = (
            "no hyperparameter without missing values"
            if not usable
            else f"{len(group)} < {min_trials} trials"
            if len(group) < min_trials
            else "metric constant"
            if np.ptp(values) == 0
            else "no hyperparameter varies"
            if all(x[k].nunique() < 2 for k in usable)
            else ""
        )
        if reason:
            skipped.append((task, variant, reason))
            continue
        try:
            table = fanova(x, values, usable, n_trees=n_trees)
        except ValueError as error:  # e.g. every hyperparameter constant: nothing to split
            skipped.append((task, variant, str(error)))
            continue
        shares.append(table.assign(task=task, variant=variant, n=len(group)))
    frame = (
        pd.concat(shares, ignore_index=True)[SHARE_COLUMNS]
        if shares
        else pd.DataFrame(columns=SHARE_COLUMNS)
    )
    return Importance(frame, pd.DataFrame(skipped, columns=["task", "variant", "reason"]))


def median_shares(shares: pd.DataFrame) -> pd.DataFrame:
    """Per task and term, the median share over the variants that have the term."""
    if shares.empty:
        return pd.DataFrame(columns=["task", "term", "variables", "order", "share", "variants"])
    keyed = shares.assign(key=shares["variables"].map(lambda v: tuple(sorted(v))))
    out = keyed.groupby(["task", "key"], sort=True).agg(
        term=("term", "first"),
        variables=("variables", "first"),
        order=("order", "first"),
        share=("share", "median"),
        variants=("variant", "nunique"),
    )
    return out.reset_index(drop=False).drop(columns="key")


RATIO_TERM = "pairs / main effects"  # share_intervals' row for the interactions' weight


def share_intervals(
    trials: pd.DataFrame,
    space: Mapping[str, tuple[float, float, bool]],
    importance: Importance,
    n_trees: int = 32,
    resamples: int = BOOTSTRAP,
    seed: int = 0,
) -> pd.DataFrame:
    """Per task and term, the median share over the analysed variants (:func:`median_shares`)
    with its 95 % percentile bootstrap interval ``low``..``high``: each variant's trials
    resampled with replacement (``scipy.stats.bootstrap``, one sample per variant), a forest
    fitted to every resample, the median over variants taken again. One more row per task,
    term ``RATIO_TERM`` (order 0): all pairs' median shares over all main effects'."""
    out = []
    scaled, bounds, _ = analysis_scale(trials, space) if len(trials) else (None, {}, [])
    for task, shares in importance.shares.groupby("task", sort=True):
        groups = [
            trials[(trials["task"] == task) & (trials["variant"] == v)].dropna(subset=["value"])
            for v in sorted(shares["variant"].unique())
        ]
        usable = {
            k: b
            for k, b in bounds.items()
            if all(scaled.loc[g.index, k].notna().all() for g in groups)
        }
        point = _with_ratio(median_shares(shares))
        keys = list(point["key"])

        def statistic(
            *indices: np.ndarray, groups: list = groups, usable: dict = usable, keys: list = keys
        ) -> np.ndarray:
            tables = []
            for group, index in zip(groups, indices):
                chosen = group.iloc[np.asarray(index, dtype=int)]
                try:
                    tables.append(
                        fanova(
                            scaled.loc[chosen.index],
                            chosen["value"].to_numpy(float),
                            usable,
                            n_trees=n_trees,
                        ).assign(variant=len(tables))
                    )
                except ValueError:  # a resample with nothing to split: that variant sits out
                    continue
            if not tables:
                return np.full(len(keys), np.nan)
            # called by the bootstrap within this iteration: ``task`` is this loop's
            medians = _with_ratio(median_shares(pd.concat(tables).assign(task=task)))  # noqa: B023
            return medians.set_index("key")["share"].reindex(keys).to_numpy(dtype=float)

        interval = stats_bootstrap(
            tuple(np.arange(len(g)) for g in groups), statistic, resamples, seed
        )
        out.append(point.assign(low=interval[0], high=interval[1]))
    columns = ["task", "term", "variables", "order", "share", "low", "high", "variants"]
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def _with_ratio(medians: pd.DataFrame) -> pd.DataFrame:
    """``median_shares`` with a sortable ``key`` per term and the pairs-to-mains ratio row."""
    keyed = medians.assign(key=medians["variables"].map(lambda v: " × ".join(sorted(v))))
    mains = float(keyed.loc[keyed["order"] == 1, "share"].sum())
    pairs = float(keyed.loc[keyed["order"] == 2, "share"].sum())
    ratio = {
        "task": keyed["task"].iloc[0] if len(keyed) else "",
        "term": RATIO_TERM,
        "variables": (),
        "order": 0,
        "share": pairs / mains if mains else math.nan,
        "variants": int(keyed["variants"].max()) if len(keyed) else 0,
        "key": RATIO_TERM,
    }
    return pd.concat([keyed, pd.DataFrame([ratio])], ignore_index=True)


def stats_bootstrap(
    samples: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The 95 % percentile interval of a vector ``statistic`` of independent ``samples``
    (``scipy.stats.bootstrap``); NaN where every resample gave NaN."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # all-NaN components
        warnings.filterwarnings("ignore", "Some start and end", module="scipy")
        result = scipy_stats.bootstrap(
            samples,
            statistic,
            vectorized=False,
            n_resamples=resamples,
            method="percentile",
            random_state=seed,
        )
    interval = result.confidence_interval
    return np.atleast_1d(interval.low), np.atleast_1d(interval.high)
