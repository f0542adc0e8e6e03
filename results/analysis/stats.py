"""Is a variant better or worse than the reference cell? Tests of one task's trials.

Welch's t-test of each variant against the vanilla LSTM, as in Greff et al. (2017), on all
trials and on the best 10 % of each side (a variant that is only harder to tune differs on
all trials but not at its best). The paper reports no correction for testing many variants at
once; here the p-values are Holm-adjusted, so "significant" holds for the whole table, not
row by row.

Input: a frame with one row per trial, a ``variant`` column, the metric column, and
optionally a boolean ``diverged`` column. Rows whose metric is missing (NaN) are ignored: a
trial without a number cannot be ranked. Diverged trials that carry a number (the runner
records them at chance) are counted like any other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# Tolerance when turning a fraction of trials into a count: 0.07 * 100 is
# 7.000000000000001 in floating point, and must give 7 trials, not 8.
_COUNT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Welch:
    """Welch's unequal-variance t-test of mean(a) against mean(b).

    ``t`` is positive when mean(a) > mean(b); ``p`` is two-sided; ``df`` is the
    Welch–Satterthwaite degrees of freedom. All three are NaN when the test is undefined.
    """

    t: float
    p: float
    df: float


def welch(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> Welch:
    """Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) with its degrees of freedom

        df = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1)).

    Undefined (all NaN) with fewer than 2 values on a side, or when both sides are constant:
    the t statistic would be 0/0 or ±inf, neither of which is evidence. One constant side is
    fine (df is then n - 1 of the other side).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2 or _both_constant(x, y):
        return Welch(math.nan, math.nan, math.nan)
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    with warnings.catch_warnings():
        # One constant side (say every trial of a variant diverged and sits at chance) is a
        # valid test, but scipy warns about "catastrophic cancellation" in its variance.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        result = stats.ttest_ind(x, y, equal_var=False)
    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1))
    return Welch(float(result.statistic), float(result.pvalue), float(df))


def _both_constant(x: np.ndarray, y: np.ndarray) -> bool:
    """No variance on either side. Tested on the values, not on ``var() == 0``: the variance
    of [0.7, 0.7, 0.7] is 1e-33, not 0, in floating point."""
    return bool(np.ptp(x) == 0 and np.ptp(y) == 0)


def hedges_g(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Hedges' g of ``a`` against ``b``: Cohen's d with the pooled standard deviation,

        d = (mean(a) - mean(b)) / s_p,   s_p² = ((n_a-1) s_a² + (n_b-1) s_b²) / (n_a+n_b-2),

    times the small-sample correction J = 1 - 3 / (4 (n_a+n_b) - 9) (Hedges' approximation of
    the exact gamma-function factor; off by less than 0.1 % from 10 trials on).

    Sign: positive when mean(a) > mean(b), in the metric's own direction (so with a loss,
    positive g means ``a`` is worse). NaN with fewer than 2 values on a side or when both
    sides are constant (s_p = 0).
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(x), len(y)
    if na < 2 or nb < 2 or _both_constant(x, y):
        return math.nan
    pooled = ((na - 1) * x.var(ddof=1) + (nb - 1) * y.var(ddof=1)) / (na + nb - 2)
    correction = 1.0 - 3.0 / (4.0 * (na + nb) - 9.0)
    return float(correction * (x.mean() - y.mean()) / math.sqrt(pooled))


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the input's order.

    With the m p-values sorted ascending, p_(1) ≤ … ≤ p_(m), the adjusted value of the k-th is
    max over j ≤ k of min(1, (m - j + 1) p_(j)): the running maximum keeps the adjusted values
    in the same order as the raw ones, so rejecting "adjusted p < alpha" is Holm's procedure.
    NaN entries (tests that could not be done) stay NaN and do not count towards m.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    done = np.flatnonzero(~np.isnan(p))
    m = len(done)
    if m == 0:
        return out
    order = done[np.argsort(p[done], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def top_count(n: int, fraction: float) -> int:
    """How many trials make "the best ``fraction``" of ``n``: ceil(fraction × n), at least 1
    (and at most n). Rounding up keeps a small group from being cut to nothing: 10 % of 15
    trials is 2 trials, of 5 trials is 1."""
    if n <= 0:
        return 0
    return min(n, max(1, math.ceil(fraction * n - _COUNT_TOLERANCE)))


def best_trials(
    values: Sequence[float] | np.ndarray, lower_is_better: bool, fraction: float
) -> np.ndarray:
    """The best ``top_count(n, fraction)`` values, best first."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if not lower_is_better:
        ordered = ordered[::-1]
    return ordered[: top_count(len(ordered), fraction)]


def _values(frame: pd.DataFrame, metric: str) -> dict[str, np.ndarray]:
    """Per variant, its trials' metric values (missing ones dropped)."""
    done = frame.dropna(subset=[metric])
    return {str(v): g[metric].to_numpy(dtype=float) for v, g in done.groupby("variant")}


def summarize(
    frame: pd.DataFrame, metric: str, lower_is_better: bool, top_fraction: float = 0.1
) -> pd.DataFrame:
    """One row per variant (sorted by name): ``n`` trials with a metric, ``diverged`` among
    them (0 when the frame has no ``diverged`` column), ``mean``, ``median``, ``best`` (min or
    max) and ``top_mean``, the mean of the best ``top_count(n, top_fraction)`` trials."""
    done = frame.dropna(subset=[metric])
    rows = []
    for variant, group in done.groupby("variant"):
        values = group[metric].to_numpy(dtype=float)
        diverged = int(group["diverged"].astype(bool).sum()) if "diverged" in group else 0
        rows.append(
            {
                "variant": str(variant),
                "n": len(values),
                "diverged": diverged,
                "mean": float(values.mean()),
                "median": float(np.median(values)),
                "best": float(values.min() if lower_is_better else values.max()),
                "top_mean": float(best_trials(values, lower_is_better, top_fraction).mean()),
            }
        )
    columns = ["variant", "n", "diverged", "mean", "median", "best", "top_mean"]
    return pd.DataFrame(rows, columns=columns).sort_values("variant").reset_index(drop=True)


def _verdict(
    p_holm: float, mean: float, reference_mean: float, lower_is_better: bool, alpha: float
) -> str:
    if math.isnan(p_holm):
        return "inconclusive"
    if p_holm >= alpha:
        return "not significant"
    return "better" if (mean < reference_mean) == lower_is_better else "worse"


def compare(
    frame: pd.DataFrame,
    metric: str,
    lower_is_better: bool,
    reference: str = "lstm",
    alpha: float = 0.05,
    top_fraction: float = 0.1,
) -> pd.DataFrame:
    """Every variant of one task against ``reference``: one row per other variant.

    Columns: the summary numbers (``n``, ``diverged``, ``mean``, ``median``, ``best``,
    ``top_mean``, see :func:`summarize`); Welch's ``t``, ``p``, ``df`` and Hedges' ``g`` on all
    trials, and ``top_t``, ``top_p``, ``top_df``, ``top_g`` on the best ``top_fraction`` of each
    side; ``p_holm`` and ``top_p_holm``, Holm-adjusted across the variants (each family on its
    own); ``verdict``. t and g are variant minus reference, in the metric's direction.

    ``verdict`` is "better" or "worse" (by the means, honouring ``lower_is_better``) when
    ``p_holm < alpha``, "not significant" otherwise, and "inconclusive" when the test could not
    be done (fewer than 2 trials on a side, or both sides constant).
    """
    values = _values(frame, metric)
    if reference not in values:
        raise ValueError(f"reference variant {reference!r} has no trials with {metric!r}")
    summary = summarize(frame, metric, lower_is_better, top_fraction).set_index("variant")
    ref_all = values[reference]
    ref_top = best_trials(ref_all, lower_is_better, top_fraction)
    rows = []
    for variant in sorted(v for v in values if v != reference):
        mine = values[variant]
        top = best_trials(mine, lower_is_better, top_fraction)
        on_all, on_top = welch(mine, ref_all), welch(top, ref_top)
        rows.append(
            {
                "variant": variant,
                **summary.loc[variant].to_dict(),
                "t": on_all.t,
                "p": on_all.p,
                "df": on_all.df,
                "g": hedges_g(mine, ref_all),
                "top_t": on_top.t,
                "top_p": on_top.p,
                "top_df": on_top.df,
                "top_g": hedges_g(top, ref_top),
            }
        )
    columns = [
        "variant",
        *summary.columns,
        "t",
        "p",
        "df",
        "g",
        "p_holm",
        "top_t",
        "top_p",
        "top_df",
        "top_g",
        "top_p_holm",
        "verdict",
    ]
    table = pd.DataFrame(
        rows, columns=[c for c in columns if c not in ("p_holm", "top_p_holm", "verdict")]
    )
    table["p_holm"] = holm(table["p"].to_numpy(dtype=float))
    table["top_p_holm"] = holm(table["top_p"].to_numpy(dtype=float))
    ref_mean = float(ref_all.mean())
    table["verdict"] = [
        _verdict(p, m, ref_mean, lower_is_better, alpha)
        for p, m in zip(table["p_holm"], table["mean"])
    ]
    table[["n", "diverged"]] = table[["n", "diverged"]].astype(int)
    return table[columns]
