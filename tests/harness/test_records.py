"""Records that mean what they say: one study per task in Optuna's own terms, kept models
that reload into the run's test metric bit for bit, single runs stored like a grid's, an
older version's storage still read, and optuna-dashboard serving all of it."""

from __future__ import annotations

import json
import math
import urllib.request
from importlib import metadata
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.study import StudyDirection

from harness.plans.config import RunConfig
from harness.queue import entries, finished, kept_models, storage_url, store, worker
from tests.harness.commands import harness, smoke_grid, start_harness
from tests.harness.journal_helpers import grid_studies, stored_study

GRID = smoke_grid("lstm,gru,nas", "parity,memory-add,lm", seeds=2, population=2, workers=1)


@pytest.fixture(scope="module")
def grid_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small grid, run as a user runs it: 3 variants × 3 tasks × 2 seeds, populations of
    two (so that a model's place in its population matters)."""
    folder = tmp_path_factory.mktemp("records")
    result = harness(*GRID, "--storage", "g.journal", "--out", "out", cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder / "g.journal"


def test_a_grid_is_one_study_per_task_with_its_direction_and_metric(grid_journal) -> None:
    studies = {s.study_name: s for s in grid_studies(grid_journal)}
    assert sorted(studies) == ["grid-smoke-lm", "grid-smoke-memory-add", "grid-smoke-parity"]
    assert studies["grid-smoke-parity"].direction == StudyDirection.MAXIMIZE
    assert studies["grid-smoke-memory-add"].direction == StudyDirection.MINIMIZE
    assert studies["grid-smoke-lm"].metric_names == ["bpc"]
    assert studies["grid-smoke-parity"].metric_names == ["accuracy"]
    # each study names the version that wrote it, for a later version's messages
    assert {s.user_attrs["harness_version"] for s in studies.values()} == {
        metadata.version("rnn-harness")
    }
    # a best trial is picked against its own task: the highest parity accuracy
    parity = studies["grid-smoke-parity"]
    assert parity.best_value == max(t.value for t in finished.completed(parity))


def test_every_trial_carries_the_grid_point_as_params(grid_journal) -> None:
    for study in grid_studies(grid_journal):
        trials = finished.completed(study)
        assert len(trials) == 6
        for trial in trials:
            config = trial.user_attrs["config"]
            assert trial.params == {"variant": config["variant"], "seed": config["seed"]}
            assert isinstance(trial.distributions["variant"], CategoricalDistribution)
            assert {"lstm", "gru", "nas"} <= set(trial.distributions["variant"].choices)
            assert trial.distributions["seed"] == IntDistribution(0, 1)


def test_validation_curves_are_intermediate_values(grid_journal) -> None:
    for study in grid_studies(grid_journal):
        for trial in finished.completed(study):
            result = trial.user_attrs["result"]
            curve = {
                step: value
                for step, name, value in result["curves"]
                if name == f"valid_{result['primary']}"
                and value is not None
                and math.isfinite(value)
            }
            assert curve and trial.intermediate_values == curve


def test_kept_models_reload_to_the_stored_test_metric_bit_for_bit(grid_journal) -> None:
    checked = 0
    for study in grid_studies(grid_journal):
        for trial in finished.completed(study):
            result = trial.user_attrs["result"]
            kept = kept_models.load(kept_models.path_of(study, trial))
            assert kept.config == RunConfig(**{**result["config"], "device": "cpu"})
            assert kept.population == 2 and kept.test == result["test"]
            assert kept_models.rescore(kept) == result["test"]  # exactly, not approximately
            checked += 1
    assert checked == 18


def test_the_report_says_where_the_models_are(grid_journal) -> None:
    out = grid_journal.parent / "out"
    runs = pd.read_csv(out / "runs.csv")
    assert runs["model"].map(lambda p: Path(p).is_file()).all()
    assert runs["model"].map(lambda p: Path(p).parent).nunique() == 1
    assert Path(runs["model"][0]).parent == grid_journal.with_suffix(".models")
    report = (out / "report.md").read_text()
    assert "18 of 18 runs keep their best-validation weights" in report
    assert str(grid_journal.with_suffix(".models")) in report


def test_no_models_keeps_none(tmp_path: Path) -> None:
    grid = smoke_grid("rnn", "parity", workers=1, no_models=True, storage="n.journal", out="out")
    result = harness(*grid, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "n.models").exists()
    assert pd.read_csv(tmp_path / "out" / "runs.csv")["model"].isna().all()
    assert "No run of this grid kept its model" in (tmp_path / "out" / "report.md").read_text()


def test_a_single_run_is_stored_and_keeps_its_model(tmp_path: Path) -> None:
    args = [
        "run",
        "--variant",
        "gru",
        "--task",
        "parity",
        "--set",
        "steps=20",
        "--storage",
        "one.journal",
    ]
    first = harness(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "stored as trial 0 of study runs-parity in one.journal; model " in first.stdout
    # a single run's defaults are not the grid's: the output says where they differ
    assert (
        "settings that differ from the default grid's gru on parity: hidden_size 64 "
        "(grid 32), steps 20 (grid 1000), patience none (grid 5)"
    ) in first.stdout
    study = stored_study(tmp_path / "one.journal", "runs-parity")
    (trial,) = finished.completed(study)
    kept = kept_models.load(kept_models.path_of(study, trial))
    assert kept_models.rescore(kept) == trial.user_attrs["result"]["test"]
    assert trial.params == {"variant": "gru", "seed": 0}
    again = harness(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already stored: not trained again" in again.stdout
    assert len(finished.completed(study)) == 1


def test_a_grid_an_earlier_version_stored_as_one_study_still_reports(tmp_path: Path) -> None:
    """Before one study per task (0.1.0's pre-releases), a grid was one study ``grid-NAME``
    holding every task: ``report`` reads it (adding to it is refused: test_bad_input)."""
    journal = str(tmp_path / "old.journal")
    storage = storage_url.open_storage(journal)
    study = store.open_study(storage, "grid-old")
    configs = [
        RunConfig(variant="rnn", task=task, steps=10, eval_every=5, hidden_size=8)
        for task in ("parity", "memory-add")
    ]
    study.set_user_attr("grid", {"profile": "smoke"})
    entries.enqueue(storage, study, configs)
    assert worker.work(study) == 2
    report = harness(
        "report", "--study", "grid-old", "--storage", journal, "--out", "rep", cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    assert sorted(pd.read_csv(tmp_path / "rep" / "runs.csv")["task"]) == ["memory-add", "parity"]
    names = [
        s.study_name for s in optuna.get_all_study_summaries(storage_url.open_storage(journal))
    ]
    assert names == ["grid-old"]


def test_dashboard_serves_studies_params_and_intermediate_values(grid_journal) -> None:
    """``harness dashboard`` on the grid, checked through optuna-dashboard's HTTP API."""
    dashboard = ["dashboard", "--storage", str(grid_journal), "--port", "0"]
    process = start_harness(dashboard, grid_journal.parent)
    try:
        line = process.stdout.readline()  # printed once it listens
        assert "optuna-dashboard on http://127.0.0.1:" in line, process.stderr.read()
        base = line.split()[2].rstrip("/")

        def get(path: str) -> dict:
            with urllib.request.urlopen(base + path, timeout=60) as response:
                return json.loads(response.read())

        studies = get("/api/studies")["study_summaries"]
        assert sorted(s["study_name"] for s in studies) == [
            "grid-smoke-lm",
            "grid-smoke-memory-add",
            "grid-smoke-parity",
        ]
        for summary in studies:
            detail = get(f"/api/studies/{summary['study_id']}")
            assert len(detail["trials"]) == 6 and detail["has_intermediate_values"]
            for trial in detail["trials"]:
                assert {p["name"] for p in trial["params"]} == {"variant", "seed"}
                if trial["state"] == "Complete":
                    assert trial["intermediate_values"]
                    assert len(trial["artifacts"]) == 1
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_models_command_lists_and_rescores_every_kept_model(grid_journal) -> None:
    result = harness(
        "models",
        "--study",
        "grid-smoke",
        "--storage",
        str(grid_journal),
        "--rescore",
        cwd=grid_journal.parent,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "18 kept models; rescored: 18 equal to the stored test metrics, 0 differ" in result.stderr
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("grid-smoke-")]
    assert len(rows) == 18 and all(" equal " in row for row in rows)


def test_the_default_output_is_outside_every_package(tmp_path: Path) -> None:
    """With no --storage or --out, a grid writes under outputs/ where it runs, and nothing
    into a package folder; a journal where a 0.1.0 pre-release kept it is named in one line
    and read only when named."""
    (tmp_path / "harness").mkdir()  # a checkout's package folders, where a user runs it
    (tmp_path / "results").mkdir()
    result = harness(*smoke_grid("rnn", "parity", workers=1), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "outputs" / "harness.journal").is_file()
    assert (tmp_path / "outputs" / "grid-smoke" / "report.md").is_file()
    assert len(list((tmp_path / "outputs" / "harness.models").iterdir())) == 1
    assert not any((tmp_path / "harness").iterdir()) and not any((tmp_path / "results").iterdir())
    old = tmp_path / "old"  # a 0.1.0 pre-release's layout: results/harness.journal
    (old / "results").mkdir(parents=True)
    (tmp_path / "outputs" / "harness.journal").rename(old / "results" / "harness.journal")
    unread = harness("report", "--study", "grid-smoke", cwd=old)
    assert unread.returncode != 0 and "Traceback" not in unread.stderr
    assert "results/harness.journal was written by a pre-release of harness 0.1.0" in (
        unread.stderr
    )
    named = harness(
        "report", "--study", "grid-smoke", "--storage", "results/harness.journal", cwd=old
    )
    assert named.returncode == 0, named.stderr
    assert not named.stderr.startswith("harness: results/harness.journal was written")
