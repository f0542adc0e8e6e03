"""Paired comparisons of two cells trained on the same draws, with what they can and cannot show.

A search draws trial k's hyperparameters from the seed and k alone, so every variant is
trained on the same draws: the difference between a variant and the reference at draw k is
free of the hyperparameters' own effect, which dominates the spread of a random search. The
paired t-test on those differences is therefore the test to use (Welch's, as Greff et al.
used on independent draws, would bury a cell's effect under the search's spread).

Three answers for one comparison, each with its numbers:

- **significance**: the two-sided paired t-test of the mean difference (Holm-adjusted by the
  caller across the variants of a task).
- **bounds**: the 90 % confidence interval of the mean difference, i.e. two one-sided 95 %
  bounds (Schuirmann's two one-sided tests). "Not worse" is shown when its upper bound lies
  below ``+margin``, "not better" when its lower bound lies above ``-margin``: absence of a
  significant difference is not evidence of its absence, an interval inside the margin is.
- **what the test could detect**: the smallest true mean difference that the two-sided test
  would find with 80 % power at this n and spread, ``(t_{1-a/2} + t_{0.8}) s / sqrt(n)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

POWER = 0.8  # of the detectable effect


@dataclass(frozen=True)
class Paired:
    """One paired comparison; differences are oriented so that positive means worse."""

    n: int
    mean: float
    sd: float
    low: float  # lower 95 % bound (of a 90 % two-sided interval)
    high: float  # upper 95 % bound
    p: float  # two-sided paired t-test
    detectable: float  # smallest |mean| the test finds with POWER at alpha

    def not_worse(self, margin: float) -> bool:
        return bool(self.high < margin)

    def not_better(self, margin: float) -> bool:
        return bool(self.low > -margin)


def paired(differences: Sequence[float] | np.ndarray, alpha: float = 0.05) -> Paired:
    """The paired test, bounds and detectable effect of ``differences`` (NaNs dropped).

    With fewer than 2 differences nothing can be said (all NaN). With every difference equal
    the spread is 0: the bounds are the mean itself, and the p-value is 1 when that mean is
    0 (no difference) and 0 otherwise (the same difference at every draw)."""
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if n < 2:
        return Paired(n, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if np.ptp(d) == 0:
        return Paired(n, mean, 0.0, mean, mean, 1.0 if mean == 0 else 0.0, 0.0)
    se = sd / math.sqrt(n)
    one_sided = float(stats.t.ppf(1 - alpha, n - 1))
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    detectable = (float(stats.t.ppf(1 - alpha / 2, n - 1)) + float(stats.t.ppf(POWER, n - 1))) * se
    return Paired(n, mean, sd, mean - one_sided * se, mean + one_sided * se, p, detectable)


def pairs_needed(sd: float, margin: float, alpha: float = 0.05, power: float = POWER) -> int:
    """Draws a one-sided bound needs to fall inside ``margin`` with ``power`` when the true
    difference is 0 and the spread ``sd``: the smallest n with
    (t_{1-alpha} + t_{power}) sd / sqrt(n) <= margin (at least 2)."""
    if not sd > 0:
        return 2
    n = 2
    while (stats.t.ppf(1 - alpha, n - 1) + stats.t.ppf(power, n - 1)) * sd / math.sqrt(n) > margin:
        n += 1
        if n > 1_000_000:
            break
    return n
