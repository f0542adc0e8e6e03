"""Welch, Hedges' g and Holm against hand-worked numbers; compare() on synthetic trials whose
verdicts are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from results.analysis import stats

# a: mean 3, squared deviations 4+1+0+1+4 = 10, s² = 10/4 = 2.5, s²/n = 1/2.
# b: mean 10, squared deviations 36+16+4+0+4+16+36 = 112, s² = 112/6 = 56/3, s²/n = 8/3.
A = [1.0, 2.0, 3.0, 4.0, 5.0]
B = [4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]


def test_welch_by_hand() -> None:
    result = stats.welch(A, B)
    # se² = 1/2 + 8/3 = 19/6, t = (3 - 10) / sqrt(19/6)
    assert result.t == pytest.approx(-7 / math.sqrt(19 / 6), rel=1e-12)
    assert result.t == pytest.approx(-3.93366, abs=1e-5)
    # df = (19/6)² / ((1/2)²/4 + (8/3)²/6) = (361/36) / (1/16 + 32/27)
    #    = (361/36) / (539/432) = 361·12/539 = 4332/539
    assert result.df == pytest.approx(4332 / 539, rel=1e-12)
    assert result.df == pytest.approx(8.03711, abs=1e-5)
    # two-sided p from Student's t with that df; a t-table for 8 df brackets |t| = 3.93
    # between 3.833 (p = 0.005) and 4.501 (p = 0.002)
    assert result.p == pytest.approx(
        2 * scipy_stats.t.sf(7 / math.sqrt(19 / 6), 4332 / 539), rel=1e-9
    )
    assert 0.002 < result.p < 0.005
    flipped = stats.welch(B, A)
    assert flipped.t == pytest.approx(-result.t) and flipped.p == pytest.approx(result.p)


def test_welch_textbook_example() -> None:
    """Wikipedia, "Welch's t-test", example 1 (published rounded: t = -2.46, df = 25.0,
    p = 0.021)."""
    a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    result = stats.welch(a1, a2)
    assert round(result.t, 2) == -2.46
    assert round(result.df, 1) == 25.0
    assert round(result.p, 3) == 0.021


def test_welch_one_constant_side_and_undefined_cases() -> None:
    # [1, 1, 1] has no variance; [1, 2, 3] has s² = 1, s²/n = 1/3. So se² = 1/3,
    # t = (1 - 2) / sqrt(1/3) = -sqrt(3) and df = (1/3)² / ((1/3)²/2) = 2 (only b counts)
    result = stats.welch([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert result.t == pytest.approx(-math.sqrt(3))
    assert result.df == pytest.approx(2.0)
    assert 0 < result.p < 1
    for a, b in [([1.0], [1.0, 2.0]), ([1.0, 2.0], []), ([2.0, 2.0], [3.0, 3.0, 3.0])]:
        undefined = stats.welch(a, b)
        assert math.isnan(undefined.t) and math.isnan(undefined.p) and math.isnan(undefined.df)


def test_hedges_g_by_hand() -> None:
    # s_p² = (4·2.5 + 6·56/3) / (5 + 7 - 2) = (10 + 112) / 10 = 12.2
    # d = (3 - 10) / sqrt(12.2); J = 1 - 3 / (4·12 - 9) = 1 - 3/39 = 12/13
    expected = 12 / 13 * -7 / math.sqrt(12.2)
    assert stats.hedges_g(A, B) == pytest.approx(expected, rel=1e-12)
    assert stats.hedges_g(A, B) == pytest.approx(-1.84993, abs=1e-5)
    assert stats.hedges_g(B, A) == pytest.approx(-expected, rel=1e-12)
    assert math.isnan(stats.hedges_g([1.0], B))
    assert math.isnan(stats.hedges_g([2.0, 2.0], [2.0, 2.0]))


def test_holm_by_hand() -> None:
    # sorted: 0.005 (×4) = 0.02, 0.01 (×3) = 0.03, 0.03 (×2) = 0.06, 0.04 (×1) = 0.04 → the
    # running maximum lifts the last to 0.06; back in input order:
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # capped at 1: 0.6 ×2 = 1.2 → 1, then max(1, 0.7) = 1
    assert stats.holm([0.7, 0.6]) == pytest.approx([1.0, 1.0])
    # 0.4 ×2 = 0.8, then max(0.8, 0.7 ×1) = 0.8
    assert stats.holm([0.7, 0.4]) == pytest.approx([0.8, 0.8])
    # NaN stays NaN and is not counted: m = 2, so 0.01 ×2 = 0.02 and 0.04 ×1 = 0.04
    adjusted = stats.holm([0.01, math.nan, 0.04])
    assert adjusted[[0, 2]] == pytest.approx([0.02, 0.04]) and math.isnan(adjusted[1])
    assert stats.holm([]).shape == (0,)


def test_top_count_rounds_up_and_keeps_one() -> None:
    assert [stats.top_count(n, 0.1) for n in (200, 30, 15, 5, 1, 0)] == [20, 3, 2, 1, 1, 0]
    # 0.07 × 100 = 7.000000000000001 and 0.55 × 180 = 99.00000000000001 in floating point
    assert stats.top_count(100, 0.07) == 7 and stats.top_count(180, 0.55) == 99
    assert stats.best_trials([3.0, 1.0, 2.0], True, 0.5).tolist() == [1.0, 2.0]
    assert stats.best_trials([3.0, 1.0, 2.0], False, 0.5).tolist() == [3.0, 2.0]


def _synthetic(n: int = 200) -> pd.DataFrame:
    """A loss (lower is better): nfg clearly worse, fast clearly better, cifg drawn from the
    reference's own distribution, single has one trial."""
    rng = np.random.default_rng(2017)
    spec = {"lstm": (1.0, 0.1), "nfg": (1.25, 0.15), "fast": (0.85, 0.1), "cifg": (1.0, 0.1)}
    frames = [
        pd.DataFrame(
            {"variant": v, "loss": rng.normal(mu, sd, n), "diverged": rng.random(n) < 0.05}
        )
        for v, (mu, sd) in spec.items()
    ]
    frames.append(pd.DataFrame({"variant": ["single"], "loss": [0.5], "diverged": [False]}))
    frames.append(pd.DataFrame({"variant": ["lstm"], "loss": [math.nan], "diverged": [True]}))
    return pd.concat(frames, ignore_index=True)


def test_compare_verdicts_on_synthetic_trials() -> None:
    frame = _synthetic()
    table = stats.compare(frame, "loss", lower_is_better=True).set_index("variant")
    assert sorted(table.index) == ["cifg", "fast", "nfg", "single"]
    assert table["verdict"].to_dict() == {
        "cifg": "not significant",
        "fast": "better",
        "nfg": "worse",
        "single": "inconclusive",
    }
    assert table.loc["nfg", "t"] > 0 and table.loc["nfg", "g"] > 1
    assert table.loc["fast", "t"] < 0 and table.loc["fast", "g"] < -1
    assert math.isnan(table.loc["single", "p"]) and math.isnan(table.loc["single", "p_holm"])

    # the numbers are the functions' on the raw groups (the NaN reference row is dropped)
    ref = frame.loc[(frame["variant"] == "lstm"), "loss"].dropna().to_numpy()
    nfg = frame.loc[frame["variant"] == "nfg", "loss"].to_numpy()
    row = table.loc["nfg"]
    assert row["n"] == 200 and row["diverged"] == int(
        frame.loc[frame["variant"] == "nfg", "diverged"].sum()
    )
    assert row["median"] == pytest.approx(np.median(nfg))
    assert row["best"] == pytest.approx(nfg.min())
    assert row["top_mean"] == pytest.approx(np.sort(nfg)[:20].mean())
    assert row["p"] == pytest.approx(scipy_stats.ttest_ind(nfg, ref, equal_var=False).pvalue)
    top = stats.welch(np.sort(nfg)[:20], np.sort(ref)[:20])
    assert (row["top_t"], row["top_p"], row["top_df"]) == pytest.approx((top.t, top.p, top.df))

    # Holm over the three tests that could be done (single's NaN does not count)
    done = table.loc[["cifg", "fast", "nfg"]]
    assert done["p_holm"].to_numpy() == pytest.approx(stats.holm(done["p"].to_numpy()))
    assert done["top_p_holm"].to_numpy() == pytest.approx(stats.holm(done["top_p"].to_numpy()))
    assert (done["p_holm"] >= done["p"]).all()
    assert table.loc["cifg", "p_holm"] > 0.05 > table.loc["nfg", "p_holm"]


def test_compare_honours_higher_is_better() -> None:
    """The same trials as an accuracy-like score (negated, higher is better): same verdicts,
    t and g change sign."""
    frame = _synthetic()
    loss = stats.compare(frame, "loss", lower_is_better=True).set_index("variant")
    frame["score"] = -frame["loss"]
    score = stats.compare(frame, "score", lower_is_better=False).set_index("variant")
    assert score["verdict"].to_dict() == loss["verdict"].to_dict()
    assert score.loc["nfg", "best"] == pytest.approx(-loss.loc["nfg", "best"])
    assert score.loc["nfg", "top_mean"] == pytest.approx(-loss.loc["nfg", "top_mean"])
    assert score.loc["fast", "g"] == pytest.approx(-loss.loc["fast", "g"])
    assert score.loc["fast", "top_p"] == pytest.approx(loss.loc["fast", "top_p"])


def test_compare_inconclusive_and_missing_reference() -> None:
    constant = pd.DataFrame({"variant": ["lstm"] * 3 + ["np"] * 3, "acc": [0.5] * 3 + [0.7] * 3})
    table = stats.compare(constant, "acc", lower_is_better=False)
    assert table["verdict"].tolist() == ["inconclusive"]
    assert table["diverged"].tolist() == [0]  # no diverged column: counted as none
    with pytest.raises(ValueError, match="reference"):
        stats.compare(constant, "acc", lower_is_better=False, reference="gru")
