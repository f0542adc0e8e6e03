"""A new cell family in one plugin file (tests/plugin_family/mgu_cell.py, the minimal gated
unit), loaded as a user loads theirs: its folder on the Python path and its module named in
HARNESS_PLUGINS or by --plugin. No project file knows it, yet it passes every registry-wide
cell test, trains in a grid, and inspect and sample work on its models."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.harness.commands import ROOT, harness, harness_env, options, smoke_grid

FOLDER = ROOT / "tests" / "plugin_family"


def _env(**extra: str) -> dict[str, str]:
    return harness_env(FOLDER, HARNESS_DATA=os.environ.get("HARNESS_DATA", ""), **extra)


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return harness(*args, "--plugin", "mgu_cell", cwd=cwd, env=_env(), timeout=600)


def test_the_family_passes_every_registry_wide_cell_test(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            str(ROOT / "tests" / "variants"),
            "-k",
            "mgu",
            "-rA",
        ],
        cwd=tmp_path,
        env=_env(HARNESS_PLUGINS="mgu_cell"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    ran = re.findall(r"^PASSED \S*tests/variants/(test_\w+)\.py::(\w+)\[", result.stdout, re.M)
    files = {f for f, _ in ran}
    # contract, equations (the float64 oracle from the class's paper step), counts, gradcheck,
    # stacks of trials and the probe: every family-wide check but the native kernels it lacks
    assert {
        "test_contract",
        "test_equations",
        "test_counts",
        "test_gradcheck",
        "test_stack",
        "test_probe",
    } <= files, result.stdout[-3000:]
    assert len(ran) >= 15 and "skipped" not in result.stdout.splitlines()[-1]


def test_the_family_trains_in_a_grid_and_is_inspected_and_sampled(tmp_path: Path) -> None:
    journal = str(tmp_path / "m.journal")
    grid = _harness(*smoke_grid("mgu,gru", "lm,parity", seeds=1, storage=journal), cwd=tmp_path)
    assert grid.returncode == 0, grid.stderr[-3000:]
    assert "4 runs, 4 done (0 diverged)" in grid.stdout
    runs = pd.read_csv(tmp_path / "m.reports" / "grid-smoke" / "runs.csv")
    assert set(runs.loc[runs["variant"] == "mgu", "task"]) == {"lm", "parity"}

    inside = options(study="grid-smoke", storage=journal, variants="mgu", out=tmp_path / "inside")
    inspect = _harness("inspect", *inside, cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stderr[-3000:]
    saturation = pd.read_csv(tmp_path / "inside" / "saturation.csv")
    assert set(saturation["gate"]) == {"f"} and set(saturation["variant"]) == {"mgu"}
    assert saturation[["left", "right"]].stack().between(0, 1).all()

    best = options(study="grid-smoke", storage=journal, variant="mgu", task="lm", length=40)
    sample = _harness("sample", *best, cwd=tmp_path)
    assert sample.returncode == 0, sample.stderr[-3000:]
    assert "(the best mgu on lm)" in sample.stderr and len(sample.stdout.strip()) >= 40
