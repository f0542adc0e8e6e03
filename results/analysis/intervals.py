"""Bootstrap intervals over seeds, so that a ranking says how sure it is, not just a median.

A grid trains each variant on a handful of seeds (8 by default): two medians a hair apart
are no ranking. The percentile bootstrap (``scipy.stats.bootstrap``) makes no assumption
about the seeds' distribution (a few diverged seeds make it far from normal) and works for
any statistic; the resampling generator is seeded, so that a report built twice from the
same storage is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95  # of the intervals the reports show
RESAMPLES = 2000  # enough for a 95 % percentile interval's ends to settle to ~1 %
SEED = 0  # of the resampling: fixed, so that reports are reproducible


def median_interval(
    values: Sequence[float] | np.ndarray,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """The percentile bootstrap interval of the median of ``values`` (NaNs dropped): the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the medians of ``resamples``
    resamples with replacement. (NaN, NaN) without values; one value gives (it, it)."""
    return mean_of_medians_interval([values], level, resamples, seed)


def mean_of_medians_interval(
    groups: Sequence[Sequence[float] | np.ndarray],
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """The percentile bootstrap interval (``scipy.stats.bootstrap``) of the mean over
    ``groups`` of each group's median, each group resampled on its own (a variant's seeds on
    each task: the tasks are fixed, the seeds are the sample). Groups without values are
    left out, a group of one value is a constant; (NaN, NaN) if no group has any."""
    arrays = [a[~np.isnan(a)] for a in (np.asarray(g, dtype=float) for g in groups)]
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return float("nan"), float("nan")
    varying = [a for a in arrays if len(a) > 1 and np.ptp(a) > 0]
    fixed = sum(float(np.median(a)) for a in arrays if not (len(a) > 1 and np.ptp(a) > 0))
    if not varying:
        mean = fixed / len(arrays)
        return mean, mean

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return (sum(np.median(x, axis=axis) for x in samples) + fixed) / len(arrays)

    result = stats.bootstrap(
        tuple(varying),
        statistic,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)
