"""Cells and tasks from outside the project: a plugin package installed with pip (from
tests/plugin_package, through the entry-point group ``rnn_harness.plugins``) is in ``list``,
a grid over two worker processes, ``bench`` and the report, with no project file edited; a
worker on another machine loads the plugins its study recorded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).parents[2]


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


def harness(
    *args: str, cwd: Path, site: Path | None = None, **env: str
) -> subprocess.CompletedProcess:
    path = os.pathsep.join([str(ROOT)] + ([str(site)] if site else []))
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": path, **env},
    )


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
    result = harness(
        "run",
        "--grid",
        "--profile",
        "smoke",
        "--variants",
        "lstm,lstm-fb3",
        "--tasks",
        "parity,parity-odd",
        "--seeds",
        "2",
        "--workers",
        "2",
        "--storage",
        "p.journal",
        "--out",
        "out",
        cwd=tmp_path,
        site=site,
    )
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) <= {"complete", "diverged"}
    assert set(runs["variant"]) == {"lstm", "lstm-fb3"}
    assert set(runs["task"]) == {"parity", "parity-odd"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## parity-odd: test accuracy (higher is better)" in report
    assert "| lstm-fb3 |" in report


def test_an_installed_plugin_is_benched(site: Path, tmp_path: Path) -> None:
    result = harness(
        "bench",
        "--variants",
        "lstm-fb3",
        "--rounds",
        "1",
        "--population",
        "0",
        "--shapes",
        "4,10,8,16",
        "--threads",
        "1",
        cwd=tmp_path,
        site=site,
    )
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("lstm-fb3 ") for line in result.stdout.splitlines())


def test_a_worker_loads_the_plugins_its_study_recorded(tmp_path: Path) -> None:
    """Queued with ``--plugin`` (and stopped at the plugin cell's first step), then finished
    by a ``worker`` given no plugin: it loads what the study records."""
    args = [
        "run",
        "--grid",
        "--plugin",
        "tests.harness.blocking_plugin",
        "--profile",
        "smoke",
        "--variants",
        "blocker",
        "--tasks",
        "parity",
        "--seeds",
        "2",
        "--workers",
        "1",
        "--storage",
        "w.journal",
        "--out",
        "out",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BLOCKER_ARMED": "1"},
    )
    for line in process.stderr:  # blocks until the blocker's first step
        if "BLOCKED" in line:  # processes share stderr: the marker may end another's line
            break
    else:
        pytest.fail("the grid ended before reaching the blocker")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode == 130
    worker = harness("worker", "--study", "grid-smoke", "--storage", "w.journal", cwd=tmp_path)
    assert worker.returncode == 0, worker.stderr
    assert "loading the plugins the study records: tests.harness.blocking_plugin" in worker.stderr
    assert "no waiting runs left: 2 done in all" in worker.stderr
