"""Cells and tasks from outside the project: a plugin package installed with pip (from
tests/plugin_package, through the entry-point group ``rnn_harness.plugins``) is in ``list``,
a grid over two worker processes, ``bench`` and the report, with no project file edited; a
worker on another machine loads the plugins its study recorded."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.harness import commands
from tests.harness.commands import (
    ROOT,
    harness_env,
    options,
    smoke_grid,
    start_harness,
    wait_until_blocked,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin installed by pip into a folder of its own (a copy of its source,
    so that the build writes nothing into tests/)."""
    folder = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(ROOT / "tests" / "plugin_package", folder / "source")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(folder / "site"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / "site"


def harness(*args: str, cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m harness ARGS``, with the installed plugin importable when ``site`` is given."""
    env = harness_env(*([site] if site else []))
    return commands.harness(*args, cwd=cwd, timeout=600, env=env)


def test_an_installed_plugin_is_listed(site: Path, tmp_path: Path) -> None:
    listed = harness("list", cwd=tmp_path, site=site)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()]
    assert ["lstm-fb3", "lstm"] in [row[:2] for row in rows]
    assert ["parity-odd", "synthetic"] in [row[:2] for row in rows]
    alone = harness("list", cwd=tmp_path)  # not installed: not there
    assert "lstm-fb3" not in alone.stdout


def test_an_installed_plugin_runs_in_a_grid_of_two_workers_and_the_report(
    site: Path, tmp_path: Path
) -> None:
    grid = smoke_grid(
        "lstm,lstm-fb3", "parity,parity-odd", seeds=2, workers=2, storage="p.journal", out="out"
    )
    result = harness(*grid, cwd=tmp_path, site=site)
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) <= {"complete", "diverged"}
    assert set(runs["variant"]) == {"lstm", "lstm-fb3"}
    assert set(runs["task"]) == {"parity", "parity-odd"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## parity-odd: test accuracy (higher is better)" in report
    assert "| lstm-fb3 |" in report


def test_an_installed_plugin_is_benched(site: Path, tmp_path: Path) -> None:
    bench = options(variants="lstm-fb3", rounds=1, population=0, shapes="4,10,8,16", threads=1)
    result = harness("bench", *bench, cwd=tmp_path, site=site)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("lstm-fb3 ") for line in result.stdout.splitlines())


def test_a_worker_loads_the_plugins_its_study_recorded(tmp_path: Path) -> None:
    """Queued with ``--plugin`` (and stopped at the plugin cell's first step), then finished
    by a ``worker`` given no plugin: it loads what the study records."""
    args = smoke_grid(
        "blocker",
        "parity",
        plugin="tests.harness.blocking_plugin",
        seeds=2,
        workers=1,
        storage="w.journal",
        out="out",
    )
    process = start_harness(args, tmp_path, harness_env(BLOCKER_ARMED="1"))
    wait_until_blocked(process)  # the blocker's first step
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode == 130
    worker = harness("worker", "--study", "grid-smoke", "--storage", "w.journal", cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert "loading the plugins the study records: tests.harness.blocking_plugin" in worker.stderr
    assert "no waiting runs left: 2 done in all" in worker.stderr
