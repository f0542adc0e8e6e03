"""The ten findings on synthetic trials whose truth is known by construction: every claim
built in (all reproduced), every claim broken (all contradicted), one claim broken at a
time (only that one contradicted), too few trials or missing variants (inconclusive, with
the reason), and the decision rules at their boundaries on hand-made evidence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from scipy.stats import t as stats_t
from scipy.stats import ttest_1samp as stats_ttest

from results import findings, stats

SPACE = {"lr": (1e-6, 1e-2, True), "hidden_size": (20, 200, True),
         "momentum": (0.0, 0.99, False), "input_noise": (0.0, 1.0, False)}
# task: (metric, lower_is_better, offset, scale, chance); memory-add is an accuracy, so the
# direction of the metric is exercised
TASKS = {"music": ("nll", True, 1.0, 1.0, 3.5),
         "memory-add": ("accuracy", False, 0.95, -0.25, 0.3),
         "lm": ("nll", True, 5.0, 1.0, 7.5)}
SD = 0.38  # standard deviation of the Greff surface's loss: effects are in these units
# Effects (in SD, positive = worse) under which every claim holds; "*" is any other task.
# nfg > nig > nog in harm on the non-LM tasks; gru worse on lm only (the exception).
HOLDS: dict[str, float | dict[str, float]] = {
    "nfg": 4.0, "noaf": 2.0, "nig": {"music": 0.0, "*": 4.0},
    "niaf": {"music": 0.0, "*": 2.0}, "nog": {"music": 0.0, "*": 1.0}, "np": 0.0,
    "cifg": 0.0, "fgr": 0.0, "lstm-b": 0.0, "gru": {"lm": 1.5, "*": 0.0}}
# ... and under which every one is broken
BREAKS: dict[str, float | dict[str, float]] = {
    "nfg": 0.5, "noaf": {"lm": 0.0, "*": 2.0}, "nig": 1.0, "niaf": {"music": 0.0, "*": 2.0},
    "nog": 3.0, "np": 0.0, "cifg": {"music": 3.0, "*": 0.0},
    "fgr": {"memory-add": -3.0, "*": 0.0}, "lstm-b": {"music": 3.0, "*": 0.0},
    "gru": {"music": 3.0, "*": 0.0}}
# response surfaces (coefficients of the terms in ``make_trials``)
GREFF_SURFACE = {"lr": 2.0, "hidden": 0.6, "lr_hidden": 1.0}
MOMENTUM_SURFACE = {"momentum": 2.0, "lr": 0.2, "hidden": 0.3}
INTERACTING_SURFACE = {"momentum": 2.0, "lr": 0.1, "momentum_noise": 1.5}


def make_trials(effects: dict[str, float | dict[str, float]] = HOLDS, n: int = 40,
                seed: int = 0, surface: dict[str, float] | None = None,
                tasks: dict[str, tuple[str, bool, float, float, float]] | None = None,
                variants: list[str] | None = None) -> pd.DataFrame:
    """Trials drawn as the harness's random search draws them: trial k of a task has the
    same hyperparameters for every variant (lr and hidden size log-uniform, momentum = 1 -
    log-uniform[0.01, 1], input noise uniform). On x, y, m in [0, 1] (the log-scaled lr,
    hidden size and 1 - momentum) and z (noise) the loss is

        lr (x - 0.75)² + hidden (1 - y) + momentum (m - 0.75)²
        + lr_hidden (x - 0.5)(y - 0.5) + momentum_noise (m - 0.5)(z - 0.5)
        + effect × SD + N(0, 0.05²),

    the products being pure interactions (no main effect on a uniform box). The task maps
    the loss to its metric; trials at the top of the lr range diverge half the time and
    are recorded at chance."""
    surface = GREFF_SURFACE if surface is None else surface
    tasks = TASKS if tasks is None else tasks
    rng = np.random.default_rng(seed)
    frames = []
    for task, (metric, lower, offset, scale, chance) in tasks.items():
        x, y, m, z = rng.uniform(0, 1, (4, n))  # the draws, shared by every variant
        for variant in (["lstm", *effects] if variants is None else variants):
            effect = effects.get(variant, 0.0)
            if isinstance(effect, dict):
                effect = effect.get(task, effect.get("*", 0.0))
            loss = (surface.get("lr", 0) * (x - 0.75) ** 2 + surface.get("hidden", 0) * (1 - y)
                    + surface.get("momentum", 0) * (m - 0.75) ** 2
                    + surface.get("lr_hidden", 0) * (x - 0.5) * (y - 0.5)
                    + surface.get("momentum_noise", 0) * (m - 0.5) * (z - 0.5)
                    + effect * SD + rng.normal(0, 0.05, n))
            diverged = (x > 0.98) & (rng.random(n) < 0.5)
            frames.append(pd.DataFrame({
                "task": task, "variant": variant, "metric": metric,
                "value": np.where(diverged, chance, offset + scale * loss),
                "lower_is_better": lower, "chance": chance, "diverged": diverged,
                "lr": 10 ** (-6 + 4 * x), "hidden_size": 20 * 10 ** y,
                "momentum": 1 - 10 ** (2 * m - 2), "input_noise": z,
                "trial": np.arange(n), "study": f"{task}/{variant}"}))
    return pd.concat(frames, ignore_index=True)


def verdicts(results: list[findings.Finding]) -> dict[int, str]:
    return {f.number: f.verdict for f in results}


def test_every_claim_reproduced_when_the_trials_follow_the_papers() -> None:
    trials = make_trials(HOLDS)
    results = findings.check(trials, SPACE, n_trees=8)
    assert [f.number for f in results] == list(range(1, 11))
    assert verdicts(results) == {k: "reproduced" for k in range(1, 11)}, \
        [(f.number, f.statistic) for f in results if f.verdict != "reproduced"]
    by = {f.number: f for f in results}
    # n counts both trials of every compared pair; fANOVA every trial of every variant
    assert by[1].n == 2 * by[1].details["n"].sum() and by[4].n == 11 * 3 * 40
    assert by[1].details["n"].between(16, 26).all()  # the draws with lr >= 1e-4
    assert by[10].n == 2 * by[10].details.query("not language_model")["n"].sum()
    assert by[3].statistic.startswith("nfg, noaf worse than lstm in 6/6 comparisons")
    assert by[8].statistic.index("nfg") < by[8].statistic.index("nig") \
        < by[8].statistic.index("nog")
    assert "lr first" in by[4].statistic and "largest pair lr × hidden_size" in by[5].statistic
    # gru is worse on language modelling, shown but not judged (the papers' exception)
    lm = by[10].details.set_index("task").loc["lm"]
    assert lm["verdict"] == "worse" and bool(lm["language_model"])
    for f in results:
        assert f.source in (findings.GREFF, findings.JOZEFOWICZ) and f.claim and f.title
        assert isinstance(f.details, pd.DataFrame) and len(f.details) > 0


def test_every_claim_contradicted_when_the_trials_break_them() -> None:
    trials = make_trials(BREAKS, surface=INTERACTING_SURFACE)
    results = findings.check(trials, SPACE, n_trees=8)
    assert verdicts(results) == {k: "contradicted" for k in range(1, 11)}, \
        [(f.number, f.statistic) for f in results if f.verdict != "contradicted"]
    text = {f.number: f.statistic for f in results}
    assert "fgr on memory-add" in text[1] and "fgr on memory-add" in text[6]
    assert "cifg on music" in text[2] and "noaf on lm" in text[3]
    assert text[4].startswith("lm: momentum") and "momentum × input_noise" in text[5]
    assert "nog on music" in text[7] and "lstm-b on music" in text[9]
    assert "gru on music" in text[10]


@pytest.mark.parametrize("change, broken", [
    ({"fgr": {"memory-add": -3.0, "*": 0.0}}, {1, 6}),  # a variant clearly better
    ({"gru": {"music": 3.0, "*": 0.0}}, {10}),           # gru much worse on music
    ({"gru": {"lm": 3.0, "*": 0.0}}, set()),             # worse on lm only: the exception
    ({"nfg": {"lm": 0.0, "*": 4.0}}, {3}),  # nfg harmless on lm: 3 broken, 8 excludes lm
    ({"niaf": 2.0}, {7}),                                # niaf hurts on music too
    ({"nog": 0.0}, {7}),                                 # nog never hurts anywhere
    ({"cifg": {"lm": 3.0, "*": 0.0}}, {2}),
    ({"gru": {"music": -3.0, "lm": 1.5, "*": 0.0}}, {9}),  # gru better: lstm-b worse than it
])
def test_one_broken_claim_leaves_the_others_alone(change: dict[str, object],
                                                   broken: set[int]) -> None:
    """Comparisons only: with no hyperparameter in the space findings 4 and 5 say why they
    cannot decide, and the eight others follow the change."""
    results = findings.check(make_trials({**HOLDS, **change}, seed=1), {})
    expected = {k: "contradicted" if k in broken else "reproduced"
                for k in (1, 2, 3, 6, 7, 8, 9, 10)}
    assert {k: v for k, v in verdicts(results).items() if k not in (4, 5)} == expected
    for f in results[3:5]:
        assert f.verdict == "inconclusive"
        assert "no hyperparameter of the space can be analysed" in f.statistic


def test_momentum_dominating_contradicts_the_hyperparameter_order() -> None:
    """No comparison is contradicted (the spread momentum adds can leave some undecided);
    finding 5 is not asserted: next to a dominant momentum the forest's spurious pairs
    involve momentum and rival lr × hidden_size."""
    results = findings.check(make_trials(HOLDS, seed=2, surface=MOMENTUM_SURFACE), SPACE,
                             n_trees=8)
    got = verdicts(results)
    assert got[4] == "contradicted"
    assert {got[k] for k in (1, 2, 3, 6, 7, 8, 9, 10)} <= {"reproduced", "inconclusive"}
    assert got[3] == got[1] == "reproduced"
    details = results[3].details.set_index("task")
    assert (details["momentum"] > details["lr"]).all()
    assert (details["status"] == "fails").all()


def test_too_few_trials_are_inconclusive_with_the_reason() -> None:
    results = findings.check(make_trials(HOLDS, n=12), SPACE)
    assert verdicts(results) == {k: "inconclusive" for k in range(1, 11)}
    by = {f.number: f.statistic for f in results}
    for k in (1, 2, 3, 6, 9):  # 12 draws, of which 5 with lr >= 1e-4 on lm
        assert "on lm: 5 < 10 draws of both" in by[k], by[k]
    assert "12 < 30 trials" in by[4] and "12 < 30 trials" in by[5]
    assert "nfg, nig and nog are all tested" in by[8]
    # fewer trials on one variant only: that comparison is untested, the rest decided
    trials = make_trials(HOLDS)
    trials = trials.drop(trials.index[(trials["variant"] == "np") & (trials["trial"] >= 10)])
    results = findings.check(trials, {})
    assert results[1].verdict == "inconclusive"
    assert "np on lm: 3 < 10 draws of both" in results[1].statistic
    assert results[2].verdict == "reproduced"


def test_missing_variants_and_tasks_are_inconclusive_with_the_reason() -> None:
    only = make_trials({"gru": 0.0}, tasks={"lm": TASKS["lm"]})
    by = {f.number: f for f in findings.check(only, {})}
    assert all(f.verdict == "inconclusive" for f in by.values())
    assert by[1].statistic.startswith("none of cifg, fgr, nfg")
    assert by[2].statistic == "absent: cifg, np" and by[3].statistic == "absent: nfg, noaf"
    assert by[6].statistic == "absent: fgr" and by[7].statistic == "absent: nig, nog, niaf"
    assert by[8].statistic == "absent: nfg, nig, nog" and by[9].statistic == "absent: lstm-b"
    assert by[10].statistic == "gru ran on language-modelling tasks only"
    # no music task: finding 7 cannot be judged, the others still are
    no_music = make_trials(HOLDS, tasks={k: v for k, v in TASKS.items() if k != "music"})
    seven = findings.check(no_music, {})[6]
    assert seven.verdict == "inconclusive" and "not run on a music task" in seven.statistic
    # no lstm at all, or no trials at all: nothing to compare, and no exception
    no_lstm = make_trials(HOLDS, n=12, variants=["gru", "cifg"])
    assert {f.verdict for f in findings.check(no_lstm, SPACE)} == {"inconclusive"}
    empty = findings.check(make_trials(HOLDS).iloc[:0], SPACE)
    assert [f.verdict for f in empty] == ["inconclusive"] * 10
    assert "no trials" in empty[3].statistic
    with pytest.raises(ValueError, match="lower_is_better"):
        findings.check(make_trials(HOLDS, n=3).drop(columns="lower_is_better"), {})


def test_comparisons_pair_the_draws_orient_the_difference_and_keep_untested_out_of_holm(
        ) -> None:
    trials = make_trials({"nfg": 2.0, "cifg": 0.0, "np": 0.0, "lstm-b": 0.0, "gru": 0.0},
                         n=40, tasks={"memory-add": TASKS["memory-add"]})
    trials = trials.drop(trials.index[(trials["variant"] == "np") & (trials["trial"] >= 8)])
    table = findings.comparisons(trials).set_index(["reference", "variant"])
    nfg = table.loc[("lstm", "nfg")]
    # accuracy: nfg has the lower mean, which is worse, so the difference is positive
    assert nfg["mean"] < nfg["ref_mean"] and nfg["diff"] > 0 and nfg["verdict"] == "worse"
    assert nfg["low"] < nfg["diff"] < nfg["high"] and not nfg["not_worse"]
    assert table.loc[("lstm", "np"), "verdict"] == "untested"
    assert table.loc[("lstm", "np"), "note"].endswith("< 10 draws of both")
    tested = table.loc["lstm"].drop(index="np")
    assert tested["p_holm"].to_numpy() == pytest.approx(stats.holm(tested["p"].to_numpy()))
    assert list(table.loc["gru"].index) == ["lstm-b"]  # the planned lstm-b vs gru test
    # by hand: pairs on the draws with lr >= 1e-4, in units of lstm's gain over chance
    compared = trials[trials["lr"] >= 1e-4]
    mine = compared[compared["variant"] == "nfg"].set_index("trial")["value"]
    ref = compared[compared["variant"] == "lstm"].set_index("trial")["value"]
    gain = abs(0.3 - ref[findings.trained(compared[compared["variant"] == "lstm"])
                         .to_numpy()].median())
    worse = (ref - mine) / gain  # accuracy: less is worse
    assert nfg["n"] == len(worse) and nfg["scale"] == pytest.approx(gain)
    assert nfg["diff"] == pytest.approx(worse.mean())
    t = stats_t.ppf(0.95, len(worse) - 1) * worse.std(ddof=1) / math.sqrt(len(worse))
    assert (nfg["low"], nfg["high"]) == pytest.approx((worse.mean() - t, worse.mean() + t))
    assert nfg["p"] == pytest.approx(stats_ttest(worse.to_numpy(), 0.0).pvalue)


def test_a_reference_that_never_trained_leaves_its_comparisons_untested() -> None:
    trials = make_trials({"cifg": 0.0}, n=30, tasks={"lm": TASKS["lm"]})
    trials.loc[trials["variant"] == "lstm", "value"] = 7.5  # at chance on every draw
    row = findings.comparisons(trials).iloc[0]
    assert row["verdict"] == "untested" and row["note"] == \
        "lstm trained in none of the compared draws"


def _tests(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    """A hand-made comparisons table: (task, variant, diff, verdict) against lstm, each
    difference with a narrow interval."""
    return pd.DataFrame([{"task": t, "reference": "lstm", "variant": v, "n": 10, "n_ref": 10,
                          "mean": 0.0, "ref_mean": 0.0, "median": 0.0, "ref_median": 0.0,
                          "scale": 1.0, "diff": d, "sd": 0.1, "low": d - 0.05,
                          "high": d + 0.05, "detectable": 0.1, "needed": 12.0, "margin": findings.MARGIN, "p": 0.01,
                          "p_holm": 0.01, "g_worse": d, "verdict": verdict,
                          "not_worse": d + 0.05 < findings.MARGIN,
                          "not_better": d - 0.05 > -findings.MARGIN, "note": ""}
                         for t, v, d, verdict in rows], columns=findings.TEST_COLUMNS)


def _finding_with(index: int, pair: tuple[str, str], others: tuple[float, str],
                  first: tuple[float, str]) -> findings.Finding:
    """Finding ``index`` checked on tests of ``pair`` on music and lm, all ``others`` (diff,
    verdict) but the first (music, pair[0]): ``first``."""
    rows = [(t, v, *others) for t in ("music", "lm") for v in pair]
    rows[0] = ("music", pair[0], *first)
    return findings.check(make_trials(HOLDS, n=1), {}, tests=_tests(rows))[index]


@pytest.mark.parametrize("diff, verdict, three", [
    (0.5, "worse", "reproduced"),        # relevantly worse
    (0.1, "worse", "reproduced"),        # significantly worse, within the margin: still worse
    (0.1, "not significant", "contradicted"),  # shown not worse, not significantly worse
    (0.3, "not significant", "inconclusive"),  # neither
    (-0.5, "better", "contradicted")])
def test_a_claim_of_harm_needs_significance_and_is_broken_by_equivalence(
        diff: float, verdict: str, three: str) -> None:
    got = _finding_with(2, ("nfg", "noaf"), (0.5, "worse"), (diff, verdict))
    assert got.verdict == three, got.statistic


@pytest.mark.parametrize("diff, verdict, two", [
    (0.05, "not significant", "reproduced"),  # interval inside the margin
    (0.05, "worse", "reproduced"),            # significant but trivially small
    (0.3, "worse", "contradicted"),           # relevantly worse
    (0.17, "not significant", "inconclusive")])  # upper bound 0.22: beyond the margin
def test_a_claim_of_no_harm_needs_the_interval_inside_the_margin(
        diff: float, verdict: str, two: str) -> None:
    got = _finding_with(1, ("cifg", "np"), (0.0, "not significant"), (diff, verdict))
    assert got.verdict == two, got.statistic
    if two == "inconclusive":
        assert "cifg on music (n = 10, diff +0.17 [+0.12, +0.22]" in got.statistic
        assert "detectable 0.10" in got.statistic


@pytest.mark.parametrize("harm, verdict", [
    ((0.9, 0.6, 0.1), "reproduced"), ((0.5, 0.45, 0.1), "inconclusive"),
    ((0.5, 0.8, 0.1), "contradicted"), ((0.9, 0.2, 0.5), "contradicted")])
def test_gate_order_rule(harm: tuple[float, float, float], verdict: str) -> None:
    """Finding 8 on hand-made differences: two tasks with the same ones, plus a language
    modelling task where the order is reversed and must not count."""
    rows = [(t, v, g, "worse") for t in ("music", "memory-add")
            for v, g in zip(("nfg", "nig", "nog"), harm)]
    rows += [("lm", v, g, "worse") for v, g in zip(("nfg", "nig", "nog"), (0.0, 5.0, 9.0))]
    trials = make_trials(HOLDS, n=1)
    eight = findings.check(trials, {}, tests=_tests(rows))[7]
    assert eight.verdict == verdict, eight.statistic
    assert f"nfg−nig {harm[0] - harm[1]:+.2f}" in eight.statistic


def _importance(mains: dict[str, float], pairs: dict[tuple[str, str], float]
                ) -> findings.Importance:
    rows = [("music", "lstm", 50, k, (k,), 1, s, 0.0) for k, s in mains.items()]
    rows += [("music", "lstm", 50, " × ".join(k), k, 2, s, 0.0) for k, s in pairs.items()]
    return findings.Importance(pd.DataFrame(rows, columns=findings.SHARE_COLUMNS),
                               pd.DataFrame(columns=["task", "variant", "reason"]))


MAINS = {"lr": 0.6, "hidden_size": 0.2, "momentum": 0.01, "input_noise": 0.02}
PAIRS = {("lr", "hidden_size"): 0.05, ("lr", "input_noise"): 0.01,
         ("momentum", "input_noise"): 0.005}


@pytest.mark.parametrize("mains, pairs, four, five", [
    (MAINS, PAIRS, "reproduced", "reproduced"),
    ({**MAINS, "momentum": 0.06}, PAIRS, "contradicted", "reproduced"),   # momentum ≥ 5 %
    ({**MAINS, "lr": 0.2, "hidden_size": 0.6}, PAIRS, "contradicted", "reproduced"),
    ({**MAINS, "input_noise": 0.195}, PAIRS, "inconclusive", "reproduced"),  # a tie
    ({**MAINS, "input_noise": 0.25}, PAIRS, "contradicted", "reproduced"),
    (MAINS, {**PAIRS, ("lr", "input_noise"): 0.07}, "reproduced", "contradicted"),
    (MAINS, {**PAIRS, ("lr", "input_noise"): 0.045}, "reproduced", "inconclusive"),
    (MAINS, {**PAIRS, ("lr", "hidden_size"): 0.42}, "reproduced", "contradicted"),  # > half
    ({k: v for k, v in MAINS.items() if k != "hidden_size"},
     {k: v for k, v in PAIRS.items() if "hidden_size" not in k}, "inconclusive",
     "inconclusive"),
])
def test_hyperparameter_rules(mains: dict[str, float], pairs: dict[tuple[str, str], float],
                              four: str, five: str) -> None:
    trials = make_trials({}, n=1, tasks={"music": TASKS["music"]})
    results = findings.check(trials, SPACE, importance=_importance(mains, pairs))
    assert (results[3].verdict, results[4].verdict) == (four, five), \
        (results[3].statistic, results[4].statistic)


def test_a_task_without_fanova_keeps_the_hyperparameter_findings_inconclusive() -> None:
    trials = make_trials({}, n=1)  # three tasks, shares for music only
    results = findings.check(trials, SPACE, importance=_importance(MAINS, PAIRS))
    assert results[3].verdict == "inconclusive" and results[4].verdict == "inconclusive"


def test_analysis_scale_uses_greffs_scales_and_explains_what_it_drops() -> None:
    trials = pd.DataFrame({"lr": [1e-6, 1e-3, 1e-2], "hidden_size": [20, 63, 200],
                           "momentum": [0.0, 0.9, 0.99], "input_noise": [0.0, 0.5, 1.0],
                           "decay": [1e-4, 1e-3, 1e-2], "clip": [1.0, 5.0, 30.0]})
    space = {**SPACE, "decay": (1e-4, 1e-2, True), "clip": (1.0, 20.0, False),
             "dropout": (0.0, 0.5, False)}
    scaled, bounds, notes = findings.analysis_scale(trials, space)
    assert scaled["lr"].tolist() == pytest.approx([-6, -3, -2])
    assert scaled["momentum"].tolist() == pytest.approx([0, -1, -2])
    assert scaled["input_noise"].tolist() == [0.0, 0.5, 1.0]
    assert scaled["decay"].tolist() == pytest.approx([-4, -3, -2])
    assert bounds["momentum"] == pytest.approx((-2, 0)) and bounds["lr"] == pytest.approx(
        (-6, -2)) and bounds["hidden_size"] == pytest.approx((math.log10(20), math.log10(200)))
    assert notes == ["clip: values outside the space's bounds 1.0..20.0",
                     "dropout: not in the trials"]
    _, bounds, notes = findings.analysis_scale(trials, {"momentum": (0.0, 1.0, False)})
    assert not bounds and "infinite" in notes[0]


def test_summary_and_records_are_json_ready() -> None:
    f = findings.Finding(1, "t", "c", findings.GREFF, "inconclusive", "s", 3,
                         pd.DataFrame({"x": [1.5, math.nan], "v": [("a", "b"), ("c",)]}))
    assert f.summary() == {"number": 1, "title": "t", "claim": "c", "source": findings.GREFF,
                           "verdict": "inconclusive", "statistic": "s", "n": 3}
    assert findings.as_records(f.details) == [{"x": 1.5, "v": ["a", "b"]},
                                              {"x": None, "v": ["c"]}]
