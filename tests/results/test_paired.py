"""Paired comparisons against scipy's own paired t-test and interval, and what they say they
could detect or would need against a simulation and the defining inequality."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from results.analysis.evidence import draws_needed
from results.analysis.paired import paired, pairs_needed


def test_paired_matches_scipys_test_and_interval() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1.0, 14)
    test = paired(d)
    assert test.p == pytest.approx(stats.ttest_1samp(d, 0.0).pvalue, rel=1e-12)
    low, high = stats.t.interval(0.90, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (test.low, test.high) == pytest.approx((low, high), rel=1e-12)
    assert test.n == 14 and test.sd == pytest.approx(d.std(ddof=1))
    assert paired([1.0, math.nan, 2.0, 3.0]).n == 3


def test_detectable_is_the_effect_found_four_times_in_five() -> None:
    # the two-sided 5 % test on n = 12 pairs with sd 1 finds a true mean difference equal
    # to ``detectable`` with about 80 % power (noncentral t, exact up to the one tail)
    n, sd = 12, 1.0
    test = paired(np.random.default_rng(0).normal(0, sd, n))
    delta = test.detectable / (test.sd / math.sqrt(n))
    crit = stats.t.ppf(0.975, n - 1)
    power = stats.nct.sf(crit, n - 1, delta) + stats.nct.cdf(-crit, n - 1, delta)
    assert power == pytest.approx(0.8, abs=0.02)


def test_pairs_needed_is_the_smallest_n_whose_bound_fits_the_margin() -> None:
    sd, margin = 0.5, 0.15
    n = pairs_needed(sd, margin)

    def half_width(k: int) -> float:
        return (stats.t.ppf(0.95, k - 1) + stats.t.ppf(0.8, k - 1)) * sd / math.sqrt(k)

    assert half_width(n) <= margin < half_width(n - 1)
    assert 65 < n < 80  # the normal approximation gives (1.645 + 0.842)^2 (sd/margin)^2 = 69
    assert pairs_needed(0.0, margin) == 2


def test_draws_needed_uses_the_room_left_by_the_measured_difference() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(0.0, 0.5, 20)
    test = paired(d - d.mean() + 0.05)  # a measured difference of 0.05, spread about 0.5
    assert draws_needed(test, 0.2) == pairs_needed(test.sd, 0.15)
    assert draws_needed(paired(d - d.mean() + 0.25), 0.2) == math.inf
