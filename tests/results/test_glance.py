"""The at-a-glance score on hand-made runs: chance is 0, the task's best run 1, halfway
0.5, worse than chance negative, a diverged run 0 (never the best, whatever it recorded);
a task nobody beat has no score; the ranking's interval is reproducible."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from results.analysis import glance


def _runs() -> pd.DataFrame:
    """bpc (lower is better, chance 6.0, best 2.0) and accuracy (higher, chance 50, best
    100), and a task on which no run beat chance."""
    rows = [
        ("lm", "a", 2.0, False),
        ("lm", "a", 4.0, False),
        ("lm", "b", 6.0, False),
        ("lm", "b", 8.0, False),
        ("lm", "c", 1.0, True),  # diverged: not the best
        ("parity", "a", 100.0, False),
        ("parity", "a", 75.0, False),
        ("parity", "b", 50.0, False),
        ("parity", "c", 45.0, False),
        ("hard", "a", 0.5, False),
        ("hard", "b", 0.5, True),
    ]
    chance = {"lm": 6.0, "parity": 50.0, "hard": 0.5}
    lower = {"lm": True, "parity": False, "hard": True}
    return pd.DataFrame(
        [
            {
                "task": t,
                "variant": v,
                "value": x,
                "chance": chance[t],
                "lower_is_better": lower[t],
                "diverged": d,
            }
            for t, v, x, d in rows
        ]
    )


def test_share_of_the_way_from_chance_to_the_best_run() -> None:
    scored = glance.shares(_runs())
    # lm: best 2.0 is 4 bits below chance 6.0; 4.0 is 2 of them; 6.0 none; 8.0 is 2 worse
    assert scored["share"].iloc[:5].tolist() == [1.0, 0.5, 0.0, -0.5, 0.0]
    # parity, the other direction: 100 is the best, 75 half the way, 50 chance
    assert scored["share"].iloc[5:9].tolist() == [1.0, 0.5, 0.0, -0.1]
    # nobody beat chance on "hard": no way to share
    assert scored["share"].iloc[9:].isna().all()
    assert scored["beat"].tolist() == [
        True,
        True,
        False,
        False,
        False,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_cells_mark_a_variant_that_never_beat_chance() -> None:
    cells = glance.cells(_runs()).set_index(["variant", "task"])
    assert cells.loc[("a", "lm"), "share"] == 0.75  # median of 1.0 and 0.5
    assert cells.loc[("a", "lm"), ["q25", "q75"]].tolist() == [0.625, 0.875]
    assert cells.loc[("b", "lm"), "beat"] == 0 and cells.loc[("a", "lm"), "beat"] == 2
    table = glance.table(_runs()).set_index("variant")
    assert table.loc["a", "lm"] == "0.75 (0.62 – 0.88)"
    assert table.loc["b", "lm"].startswith("✗ -0.25")
    assert table.loc["c", "parity"] == "✗ -0.10 (-0.10 – -0.10)"


def test_ranking_is_best_first_with_a_reproducible_interval() -> None:
    ranked = glance.ranking(_runs())
    assert ranked["variant"].tolist() == ["a", "b", "c"]
    # a: the mean over lm and parity (hard has no share) of medians 0.75 and 0.75
    first = ranked.iloc[0]
    assert first["score"] == 0.75 and first["tasks"] == 2
    assert first["low"] <= first["score"] <= first["high"]
    # worse than chance counts as chance: b's lm median (-0.25) and parity (0) give 0
    assert ranked.iloc[1]["score"] == 0.0
    assert glance.ranking(_runs()).equals(ranked)


def test_a_variant_missing_a_task_says_so() -> None:
    runs = _runs()
    half = runs[~((runs["variant"] == "b") & (runs["task"] == "parity"))]
    table = glance.table(half).set_index("variant")
    assert table.loc["b", "score [95 % CI]"].endswith("(1 of 2 tasks)")
    # a's two runs on each task resample to both 0.5 (or both 1.0) on both tasks with
    # probability 1/16 > 2.5 %: the interval runs from 0.5 to 1
    assert table.loc["a", "score [95 % CI]"] == "0.75 [0.50, 1.00]"
    assert table.loc["b", "parity"] == ""


def test_a_frame_without_runs_gives_empty_tables() -> None:
    empty = pd.DataFrame(columns=glance.COLUMNS)
    assert glance.cells(empty).empty and glance.table(empty).empty
    assert glance.from_runs(pd.DataFrame(columns=["task", "status"])).empty
    assert math.isnan(float(glance.shares(_runs().iloc[9:])["share"].iloc[0]))


def test_from_runs_keeps_finished_runs_in_the_analysis_layout() -> None:
    runs = pd.DataFrame(
        {
            "task": ["lm"] * 3,
            "variant": ["a"] * 3,
            "seed": [0, 1, 2],
            "status": ["complete", "diverged", "failed"],
            "test": [2.0, 6.0, float("nan")],
            "chance": [6.0] * 3,
            "lower_is_better": [True] * 3,
        }
    )
    out = glance.from_runs(runs)
    assert out[["value", "diverged"]].values.tolist() == [[2.0, False], [6.0, True]]
    assert glance.shares(out)["share"].tolist() == pytest.approx([1.0, 0.0])


def test_cost_beside_quality_parameters_and_time_per_step_relative_to_lstm(tmp_path) -> None:
    """gru runs at twice lstm's rate on one task and the same on the other: its time per
    step is the geometric mean of 0.5 and 1 of lstm's; parameters are the cell's."""
    rows = []
    for task, rates in (
        ("parity", {"lstm": 100.0, "gru": 200.0}),
        ("lm", {"lstm": 50.0, "gru": 50.0}),
    ):
        for variant, rate in rates.items():
            for seed, value in enumerate((0.2, 0.3, 0.4)):
                rows.append(
                    {
                        "task": task,
                        "variant": variant,
                        "value": value,
                        "chance": 1.0,
                        "lower_is_better": True,
                        "diverged": False,
                        "parameters": {"lstm": 4352.0, "gru": 3264.0}[variant],
                        "rate": rate * (1 + 0.01 * seed),
                    }
                )
    trials = pd.DataFrame(rows)
    cost = glance.costs(trials).set_index("variant")
    assert cost.loc["gru", "time"] == pytest.approx(math.sqrt(0.5))
    assert cost.loc["lstm", "time"] == pytest.approx(1.0)
    assert cost.loc["gru", "parameters"] == 3264.0
    table = glance.table(trials).set_index("variant")
    assert table.loc["gru", "parameters"] == "3,264"
    assert table.loc["gru", "time/step vs lstm"] == "0.71×"
    from results.figures import glance_plot

    assert glance_plot.cost_figure(trials, tmp_path) == tmp_path / "quality_cost.png"
    assert (tmp_path / "quality_cost.png").stat().st_size > 0
    # without rates (a search's trials) the table has no cost column and no figure
    bare = trials.drop(columns=["parameters", "rate"])
    assert "parameters" not in glance.table(bare).columns
    assert glance_plot.cost_figure(bare, tmp_path / "none") is None
