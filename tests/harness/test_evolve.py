"""``harness evolve``: the cell search end to end on tiny budgets (resumed, interrupted,
shared by two processes on PostgreSQL), its report, the fresh-seed confirmation and the
export of a find as a plugin that the registry-wide tests and a grid take."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from harness.command.cli_evolve import duration
from harness.evolution import candidates as cands
from harness.evolution import confirm, evaluate, search, suite
from harness.queue import storage_url
from tests.harness.commands import (
    ROOT,
    harness,
    harness_env,
    smoke_grid,
    start_harness,
    wait_until_blocked,
)

TINY = ["--scale", "0.02", "--tasks", "long-dependency"]


def _evolve(journal: Path, *extra: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return harness(
        "evolve", "--storage", str(journal), *TINY, *extra, cwd=cwd, env=harness_env(**env)
    )


def _study(storage: str, name: str = "evolve") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage_url.open_storage(storage))


def test_a_search_evaluates_baselines_then_new_cells_resumes_and_reports(tmp_path: Path) -> None:
    journal = tmp_path / "e.journal"
    first = _evolve(journal, "--candidates", "2", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "[2 candidates]" in first.stderr and "gru (baseline)" in first.stderr
    every = cands.read(_study(str(journal)))
    assert [c.baseline for c in every[:3]] == ["gru", "lstm-b", "lstm"]
    found = [c for c in every if c.baseline is None]
    assert len(found) == 2 and all(c.mutation in search.graphs.MUTATIONS for c in found)
    assert len({c.hash for c in every}) == len(every)  # no cell computed twice
    gru = every[0]
    assert gru.fitness == {0: 1.0, 1: 1.0, 2: 1.0}  # the reference, against itself
    assert all(c.rungs[0]["long-dependency"]["lr"] in suite.LEARNING_RATES for c in every)

    again = _evolve(journal, "--candidates", "1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "2 candidates evaluated so far" in again.stderr and "baseline" not in again.stderr
    every = cands.read(_study(str(journal)))
    assert sum(c.baseline is not None for c in every) == 3  # not evaluated again
    assert len(cands.counted(every)) == 6

    report = (tmp_path / "e.reports" / "evolve" / "report.md").read_text()
    assert "**3 candidates evaluated**" in report
    assert re.search(r"^\| gru \| 1\.0+ \|", report, re.M), report
    assert "h_t = " in report and "mutation of" in report


def test_ctrl_c_fails_the_candidate_in_hand_and_the_search_goes_on(tmp_path: Path) -> None:
    journal = tmp_path / "e.journal"
    args = ["evolve", "--plugin", "tests.harness.evolve_blocking", "--storage", str(journal)]
    process = start_harness(
        [*args, *TINY, "--candidates", "1"],
        tmp_path,
        harness_env(BLOCKER_ARMED="1"),
        start_new_session=True,
    )
    wait_until_blocked(process)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: the candidates evaluated are stored" in err and "Traceback" not in err
    every = cands.read(_study(str(journal)))
    cut = [c for c in every if c.interrupted]
    assert len(cut) == 1 and cut[0].state == TrialState.FAIL and cut[0].baseline is None
    assert not cands.counted([c for c in every if c.baseline is None])

    resumed = _evolve(journal, "--candidates", "1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    every = cands.read(_study(str(journal)))
    assert len([c for c in cands.counted(every) if c.baseline is None]) == 1


def test_two_processes_share_a_search_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    name = "evolve-two"
    command = ["evolve", "--storage", postgres_url, "--study", name, *TINY, "--candidates", "2"]
    processes = [start_harness(command, tmp_path) for _ in range(2)]
    errors = [p.communicate(timeout=600)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [e[-2000:] for e in errors]
    every = cands.read(_study(postgres_url, name))
    done = cands.counted(every)
    assert sorted(c.baseline for c in done if c.baseline) == ["gru", "lstm", "lstm-b"]
    found = [c for c in done if c.baseline is None]
    assert len(found) == 4 and len({c.hash for c in found}) == 4  # four cells, each once
    workers = {t.user_attrs["worker"]["pid"] for t in _study(postgres_url, name).trials}
    assert len(workers) == 2


def _searched(journal: Path, candidates: int) -> optuna.Study:
    """A search in this process whose candidates all reach the top rung (no pruner)."""
    study = optuna.create_study(
        study_name="evolve",
        storage=storage_url.open_storage(str(journal)),
        direction="maximize",
        pruner=optuna.pruners.NopPruner(),
    )
    settings = search.Settings(tasks=("long-dependency",), scale=0.02, candidates=candidates)
    search.run(study, settings, lambda outcome: None)
    return study


def test_the_best_finds_are_confirmed_with_fresh_seeds(tmp_path: Path) -> None:
    journal = tmp_path / "e.journal"
    _searched(journal, 1)
    result = _evolve(journal, "--confirm", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    study = _study(str(journal))
    stored = study.user_attrs[confirm.CONFIRMATION]
    assert {e["name"] for e in stored.values()} >= {"gru", "lstm-b"}
    assert all(set(e["seeds"]) == {"1000", "1001"} for e in stored.values())
    versus = confirm.intervals(study, "gru")
    gru_key = next(k for k, e in stored.items() if e["name"] == "gru")
    assert versus[gru_key].mean == pytest.approx(1.0) and versus[gru_key].n == 2
    report = (tmp_path / "e.reports" / "evolve" / "report.md").read_text()
    assert "vs gru" in report and re.search(r"confirmed|refuted|inconclusive", report)


def test_an_exported_find_is_a_plugin_the_registry_and_a_grid_take(tmp_path: Path) -> None:
    journal = tmp_path / "e.journal"
    _searched(journal, 1)
    plugins = tmp_path / "plugins"
    exported = _evolve(journal, "--export", "evolved-1", "--to", str(plugins), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr[-3000:]
    source = (plugins / "evolved_1.py").read_text()
    assert "h_t = " in source and 'register_graph(\n    "evolved-1"' in source
    env = harness_env(plugins, HARNESS_DATA=os.environ.get("HARNESS_DATA", ""))
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
        + [str(ROOT / "tests" / "variants"), "-k", "evolved-1 and not native", "-rA"],
        cwd=tmp_path,
        env={**env, "HARNESS_PLUGINS": "evolved_1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    ran = set(re.findall(r"^PASSED \S*tests/variants/(test_\w+)\.py::", tests.stdout, re.M))
    assert {"test_contract", "test_equations", "test_gradcheck", "test_stack"} <= ran
    grid = harness(
        *smoke_grid("evolved-1", "parity", seeds=1, storage=tmp_path / "g.journal"),
        "--plugin",
        "evolved_1",
        cwd=tmp_path,
        env=env,
    )
    assert grid.returncode == 0, grid.stderr[-3000:]
    assert "1 runs, 1 done (0 diverged)" in grid.stdout


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--budget", "an hour"], "is no duration"),
        (["--tasks", "lm,music"], "must be among them"),
        (["--export", "Bad Name"], "a variant name is lowercase"),
    ],
)
def test_bad_input_is_one_line(extra: list[str], message: str, tmp_path: Path) -> None:
    journal = tmp_path / "e.journal"
    result = harness("evolve", "--storage", str(journal), *extra, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_durations() -> None:
    assert [duration(t) for t in ("1h", "90m", "1h30m", "45s", "120")] == [
        3600,
        5400,
        5400,
        45,
        120,
    ]


def test_the_baselines_are_among_what_the_pruner_compares(tmp_path: Path, monkeypatch) -> None:
    """A first candidate that scores below every baseline on memorization is stopped after
    rung 0: successive halving keeps the top third of all that were scored there, the
    baselines included (they are never pruned themselves)."""
    memorization = {"gru": 0.5, "lstm-b": 0.4, "lstm": 0.3}

    def scored(what, suite_tasks, rung, seed, scale):  # type: ignore[no-untyped-def]
        score = memorization.get(what, 0.2) if isinstance(what, str) else 0.2
        return {
            t.name: evaluate.TaskResult(t.name, 0.01, score, score, 1, 0.0) for t in suite_tasks
        }

    monkeypatch.setattr(evaluate, "evaluate", scored)
    study = search.open_search(storage_url.open_storage(str(tmp_path / "e.journal")), "evolve")
    outcomes: list[search.Outcome] = []
    settings = search.Settings(tasks=("long-dependency",), candidates=1)
    search.run(study, settings, outcomes.append)
    assert [o.candidate.baseline for o in outcomes] == ["gru", "lstm-b", "lstm", None]
    assert [o.pruned_at for o in outcomes] == [None, None, None, 0]
    assert outcomes[-1].candidate.fitness == {0: pytest.approx(0.4)}


def test_fitness_is_the_worst_task_against_the_gru() -> None:
    gru = {"long-dependency": 0.5, "lm": 0.1, "music": 0.0}
    assert suite.fitness({"long-dependency": 0.6, "lm": 0.05, "music": 0.3}, gru) == 0.5
    assert suite.fitness({"music": 0.3}, gru) is None  # the GRU learned nothing there
    assert suite.by_name("music").metric_of(suite.by_name("music").scored({"nll": 8.0})) == 8.0
