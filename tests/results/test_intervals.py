"""Bootstrap intervals over seeds: they hold the statistic, the same call gives the same
interval (reports are reproducible), and they narrow with agreeing seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from results.analysis import intervals

SEEDS = [3.31, 3.29, 3.35, 3.30, 3.28, 3.45, 3.33, 3.27]  # a variant's bpc over 8 seeds


def test_median_interval_holds_the_median_and_is_reproducible() -> None:
    low, high = intervals.median_interval(SEEDS)
    assert low <= float(np.median(SEEDS)) <= high
    assert min(SEEDS) <= low < high <= max(SEEDS)
    assert intervals.median_interval(SEEDS) == (low, high)
    assert intervals.median_interval(SEEDS, seed=1) != (low, high)


def test_agreeing_seeds_give_a_narrower_interval() -> None:
    spread = np.array(SEEDS)
    close = np.median(spread) + (spread - np.median(spread)) / 10
    wide, narrow = intervals.median_interval(spread), intervals.median_interval(close)
    # the same resamples of values a tenth as far from the median: a tenth as wide
    assert narrow[1] - narrow[0] == pytest.approx((wide[1] - wide[0]) / 10, rel=1e-9)


def test_edge_cases() -> None:
    assert intervals.median_interval([2.5]) == (2.5, 2.5)
    assert all(math.isnan(v) for v in intervals.median_interval([float("nan")]))
    # mean of medians: the groups' medians 1 and 3 average 2, constant groups give (2, 2)
    assert intervals.mean_of_medians_interval([[1.0, 1.0], [3.0, 3.0, float("nan")]]) == (2.0, 2.0)


def test_scipys_bootstrap_gives_the_hand_written_percentile_interval() -> None:
    """The swap to scipy.stats.bootstrap changes the resampling stream, not the interval:
    against the percentile bootstrap written out in numpy (the earlier implementation), the
    ends agree within Monte Carlo error at 20,000 resamples."""
    groups = [SEEDS, [0.41, 0.45, 0.39, 0.52, 0.47, 0.44, 0.40, 0.61]]
    rng = np.random.default_rng(7)
    arrays = [np.asarray(g) for g in groups]
    medians = np.mean(
        [np.median(a[rng.integers(0, len(a), (20_000, len(a)))], axis=1) for a in arrays], axis=0
    )
    expected = np.quantile(medians, [0.025, 0.975])
    got = intervals.mean_of_medians_interval(groups, resamples=20_000)
    assert got == pytest.approx(tuple(expected), abs=0.005)
