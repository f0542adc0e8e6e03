"""The runs table gives records of every version the same cost columns."""

from __future__ import annotations

import optuna
import pytest

from results.tables.frames import runs_frame
from results.tables.record import current_telemetry

OLD = {"steps_per_second": 1000.0, "wall_seconds": 8.0, "population": 4, "backend": "native"}
NEW = {
    "population": 2,
    "population_seconds": 6.0,
    "population_steps×batch/s": 3000.0,
    "trial_seconds": 3.0,
    "steps×batch/s": 1500.0,
    "backend": "native",
}
COST = [
    "population",
    "population_seconds",
    "population_steps×batch/s",
    "trial_seconds",
    "steps×batch/s",
]


def _run(seed: int, telemetry: dict) -> optuna.trial.FrozenTrial:
    result = {
        "status": "complete",
        "primary": "mse",
        "lower_is_better": True,
        "test": {"mse": 0.1},
        "valid": {"mse": 0.1},
        "chance": {"mse": 0.2},
        "best_step": 10,
        "steps": 20,
        "curves": [],
        "gradient_through_time": {},
        "telemetry": telemetry,
    }
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE,
        value=0.1,
        user_attrs={
            "key": f"k{seed}",
            "result": result,
            "config": {"variant": "lstm", "task": "memory-add", "seed": seed},
        },
    )


def test_old_records_map_to_todays_cost_names() -> None:
    assert current_telemetry(OLD) == {
        "population": 4,
        "population_seconds": 8.0,
        "population_steps×batch/s": 4000.0,
        "trial_seconds": 2.0,
        "steps×batch/s": 1000.0,
        "backend": "native",
    }
    assert current_telemetry(NEW) == NEW
    before = current_telemetry({"steps_per_second": 500.0, "wall_seconds": 3.0})
    assert before["population"] == 1 and before["trial_seconds"] == 3.0
    assert before["population_steps×batch/s"] == 500.0


def test_runs_frame_of_old_and_new_records_has_the_same_columns() -> None:
    study = optuna.create_study(study_name="mixed")
    study.add_trials([_run(0, OLD), _run(1, NEW)])
    runs = runs_frame(study).set_index("seed")
    assert "steps_per_second" not in runs and "wall_seconds" not in runs
    assert runs.loc[0, COST].tolist() == pytest.approx([4, 8.0, 4000.0, 2.0, 1000.0])
    assert runs.loc[1, COST].tolist() == pytest.approx([2, 6.0, 3000.0, 3.0, 1500.0])
