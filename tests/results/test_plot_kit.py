"""Figures stay readable with a diverging variant: the axis is cut to the range the
variants share (chance kept inside), only where an outlier would squash the rest, and
every variant keeps a look of its own."""

from __future__ import annotations

import numpy as np
import pytest

from results.figures import plot_kit

# 16 variants' bits per character near 3.3-4.1, one (noaf) with two seeds at 26-31
SHARED = [np.array([3.3 + 0.05 * k, 3.4 + 0.05 * k]) for k in range(16)]
NOAF = np.array([3.5, 4.0, 26.0, 31.0])


def test_a_diverging_variant_is_cut_off_and_chance_kept() -> None:
    low, high = plot_kit.robust_limits([*SHARED, NOAF], include=[6.7], cut="above")
    assert 6.7 < high < 8.0 and 3.0 < low < 3.3
    above, below = plot_kit.off_scale(NOAF, (low, high))
    assert above.tolist() == [False, False, True, True] and not below.any()


def test_no_cut_without_an_outlier_nor_on_the_side_not_cut() -> None:
    whole = plot_kit.robust_limits(SHARED)
    assert whole == pytest.approx((3.3 - 0.05 * 0.85, 4.15 + 0.05 * 0.85))  # 5 % pad
    # the cut is on the bad side only: a low outlier stays in when only "above" is cut
    low, _ = plot_kit.robust_limits([*SHARED, np.array([0.01])], cut="above")
    assert low < 0.01
    # on a log scale a vanishing gradient (1e-8) spans decades and is not cut below
    low, high = plot_kit.robust_limits(
        [np.array([1e-3, 1e-8]), np.array([1e-3, 1e-4])], log=True, cut="above"
    )
    assert low < 1e-8 and 1e-3 < high < 2e-3


def test_seventeen_variants_each_have_their_own_look() -> None:
    names = [f"v{k:02d}" for k in range(17)]
    styles = plot_kit.variant_styles(names)
    looks = {(s.color, s.linestyle) for s in styles.values()}
    assert len(looks) == 17
    assert plot_kit.variant_styles(reversed(names)) == styles  # the same in any order
