"""Many workers on one grid, on a real PostgreSQL server and on the journal file: every
grid point ends with exactly one complete result, also when a worker is killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from optuna.trial import TrialState

from harness.plans import grid
from harness.queue import entries, finished, storage_url, store

# 5 variants × 3 tasks × 2 seeds = 30 runs, a few seconds each
VARIANTS, TASKS, SEEDS = (
    ["lstm", "gru", "cifg", "np", "rnn"],
    ["parity", "memory-add", "long-dependency"],
    2,
)
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), "HARNESS_HEARTBEAT": "1"}


def _grid(steps: int) -> list:
    return grid.resolve(
        "smoke", VARIANTS, TASKS, SEEDS, run_overrides={"steps": steps, "eval_every": steps // 2}
    ).runs()


def _worker(storage: str, study: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "worker",
            "--storage",
            storage,
            "--study",
            study,
            "--population",
            "1",
        ],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _one_result_per_point(study, configs) -> Counter:
    keys = {c.key for c in configs}
    complete = Counter(
        t.user_attrs["key"] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    )
    assert set(complete) == keys, f"missing: {keys - set(complete)}"
    assert max(complete.values()) == 1, [k for k, n in complete.items() if n > 1]
    assert not study.get_trials(deepcopy=False, states=(TrialState.WAITING, TrialState.RUNNING))
    return complete


def _kill_one_mid_run(study, workers: list[subprocess.Popen]) -> int:
    """SIGKILL a worker while it holds a running run; returns that run's trial number."""
    pids = {w.pid: w for w in workers}
    deadline = time.time() + 120
    while time.time() < deadline:
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            pid = (trial.user_attrs.get("worker") or {}).get("pid")
            if pid in pids:
                os.kill(pid, signal.SIGKILL)
                pids[pid].wait(timeout=30)
                return trial.number
        time.sleep(0.05)
    pytest.fail("no worker held a running run within two minutes")


def test_three_workers_share_a_grid_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    storage = storage_url.open_storage(postgres_url)
    study = store.open_study(storage, "pg-three")
    configs = _grid(12)
    assert entries.enqueue(storage, study, configs) == (30, 0)
    workers = [_worker(postgres_url, "pg-three", tmp_path) for _ in range(3)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), [o[1][-2000:] for o in outputs]
    done = _one_result_per_point(study, configs)
    assert sum(done.values()) == 30
    by_pid = Counter(t.user_attrs["worker"]["pid"] for t in finished.completed(study))
    assert len(by_pid) == 3  # all three took part


def _grid_with_a_killed_worker(storage: str, name: str, workers: int, cwd: Path):
    """A 30-run grid, ``workers`` workers, one killed mid-run: the study and the killed
    run's trial number, once every worker has ended and every point has one result."""
    opened = storage_url.open_storage(storage)
    study = store.open_study(opened, name)
    configs = _grid(60)
    entries.enqueue(opened, study, configs)
    processes = [_worker(storage, name, cwd) for _ in range(workers)]
    killed = _kill_one_mid_run(study, processes)
    errors = [w.communicate(timeout=600)[1] for w in processes]
    assert sorted(w.returncode for w in processes) == [-signal.SIGKILL] + [0] * (workers - 1), [
        e[-2000:] for w, e in zip(processes, errors) if w.returncode not in (0, -signal.SIGKILL)
    ]
    study = store.open_study(storage_url.open_storage(storage), name, create=False)
    assert sum(_one_result_per_point(study, configs).values()) == 30
    return study, killed


def test_a_killed_worker_s_run_is_retried_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    study, killed = _grid_with_a_killed_worker(postgres_url, "pg-killed", 3, tmp_path)
    lost = study.get_trials(deepcopy=False)[killed]
    assert lost.state == TrialState.FAIL  # failed by the heartbeat, its run done again
    again = [t for t in finished.completed(study) if t.user_attrs["key"] == lost.user_attrs["key"]]
    assert len(again) == 1 and again[0].user_attrs["attempt"] == 2


def test_four_local_workers_on_a_journal_survive_a_killed_one(tmp_path: Path) -> None:
    journal = str(tmp_path / "four.journal")
    study, killed = _grid_with_a_killed_worker(journal, "journal-four", 4, tmp_path)
    assert study.get_trials(deepcopy=False)[killed].state == TrialState.FAIL
