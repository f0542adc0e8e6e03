"""The runs table's cost columns, and the runs a pre-release of 0.1.0 stored: read as they
are, their cost columns empty, said in one line."""

from __future__ import annotations

import optuna
import pytest

from results.tables.frames import runs_frame

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


def test_runs_an_earlier_version_stored_keep_their_names_and_say_so(caplog) -> None:
    study = optuna.create_study(study_name="mixed")
    study.add_trials([_run(0, OLD), _run(1, NEW)])
    with caplog.at_level("WARNING"):
        runs = runs_frame(study).set_index("seed")
    assert runs.loc[1, COST].tolist() == pytest.approx([2, 6.0, 3000.0, 3.0, 1500.0])
    assert runs.loc[0, "steps_per_second"] == 1000.0  # as stored, not translated
    assert runs.loc[0, COST[1:]].isna().all()
    warned = [r.getMessage() for r in caplog.records if r.name == "results.tables.frames"]
    assert warned == [
        "runs of mixed were stored by a pre-release of harness 0.1.0 (their cost as "
        "steps_per_second and wall_seconds): their cost columns are empty"
    ]
