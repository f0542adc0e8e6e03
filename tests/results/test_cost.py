"""The cost table from trials' own records."""

from __future__ import annotations

import pandas as pd
import pytest

from results.analysis.cost import cost_table


def test_cost_is_worker_time_per_sequence_per_task() -> None:
    trials = pd.DataFrame(
        {
            "task": ["lm", "lm", "music"],
            "sequences": [1000.0, 3000.0, 500.0],
            "worker_seconds": [2.0, 6.0, 4.0],
        }
    )
    table = cost_table(trials).set_index("task")
    assert table.loc["lm", "trials"] == 2 and table.loc["music", "trials"] == 1
    assert table.loc["lm", "ms per sequence"] == pytest.approx(2.0)  # 8 s / 4000
    assert table.loc["music", "ms per sequence"] == pytest.approx(8.0)
    assert table.loc["lm", "worker hours"] == pytest.approx(8 / 3600)
    assert table.loc["lm", "sequences (M)"] == pytest.approx(0.004)
    assert cost_table(trials.drop(columns="worker_seconds")).empty
