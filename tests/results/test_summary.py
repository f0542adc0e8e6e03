"""The task table's median carries its bootstrap interval; the grid's closing lines say how
long it took, what is done and where the report is."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from results.analysis import summary


def _runs() -> pd.DataFrame:
    tests = {"lstm": [3.3, 3.4, 3.5, 3.45], "gru": [3.2, 3.25, 3.3, 6.7]}
    return pd.DataFrame(
        [
            {
                "task": "lm",
                "variant": v,
                "seed": s,
                "test": x,
                "chance": 6.7,
                "lower_is_better": True,
                "cell_parameters": 8416,
                "backend": "native",
                "steps×batch/s": 58190.0,
                "status": "diverged" if x == 6.7 else "complete",
            }
            for v, xs in tests.items()
            for s, x in enumerate(xs)
        ]
    )


def test_task_table_ranks_with_intervals() -> None:
    table = summary.task_table(_runs(), "lm").set_index("variant")
    assert list(table.index) == ["gru", "lstm"]
    assert table.loc["gru", "median"] == 3.275 and table.loc["gru", "diverged"] == 1
    for variant in table.index:
        assert (
            table.loc[variant, "low"] <= table.loc[variant, "median"] <= table.loc[variant, "high"]
        )
    assert table.loc["gru", "high"] > table.loc["lstm", "low"]  # overlapping: no firm order
    assert set(summary.glossary(list(table.reset_index().columns))["column"]) >= {
        "median",
        "low, high",
        "gap",
        "steps×batch/s",
    }


def test_closing_summary() -> None:
    runs = pd.concat(
        [_runs(), pd.DataFrame([{"task": "lm", "variant": "nas", "seed": 0, "status": "failed"}])],
        ignore_index=True,
    )
    text = summary.closing_summary(
        "grid-default", runs, 3725.4, Path("outputs/grid-default/report.md")
    )
    assert text.splitlines() == [
        "grid grid-default finished in 1 h 02 min: 9 runs, 8 done (1 diverged), 1 failed.",
        "report: outputs/grid-default/report.md",
        "        outputs/grid-default/report.html (open in a browser)",
    ]
    assert summary.duration(42.4) == "42 s" and summary.duration(185) == "3 min 05 s"


def test_time_breakdown_sums_the_runs_time_per_part() -> None:
    parts = summary.TIME_PARTS
    rows = [
        {f"time.{p}": s for p, s in zip(parts, (1, 3, 4, 1, 1, 0, 0))},
        {f"time.{p}": s for p, s in zip(parts, (1, 1, 2, 1, 1, 1, 3))},
        {f"time.{p}": None for p in parts},
    ]  # a run that recorded nothing (a GPU's)
    line = summary.time_breakdown(pd.DataFrame(rows))
    assert line.startswith(
        "the workers' time, 20 s over 2 runs: data 10%, forward 20%, "
        "backward 30%, optimiser 10%, evaluation 10%, bookkeeping 5%, "
        "outside 15%"
    )
    assert summary.time_breakdown(pd.DataFrame([{"test": 1.0}])) is None
