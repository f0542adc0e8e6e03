"""The command line as the harness tests type it: ``python -m harness`` in a process of its own,
run as a user runs it, and the argument lists that many tests share (a smoke grid, settings)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def harness_env(*path: Path, **extra: str) -> dict[str, str]:
    """This process's environment with this checkout importable (then every folder of
    ``path``), and ``extra`` on top."""
    pythonpath = os.pathsep.join(str(folder) for folder in (ROOT, *path))
    return {**os.environ, "PYTHONPATH": pythonpath, **extra}


def harness(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
    **run: object,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m harness ARGS`` to its end, its output captured as text; ``env`` is
    ``harness_env()`` unless given."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=harness_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **run,
    )


def start_harness(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen:
    """Start ``python -m harness ARGS`` and return at once, its stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=harness_env() if env is None else env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def options(**values: object) -> list[str]:
    """Keyword arguments as command-line options, in the order given: ``seeds=2`` is
    ``--seeds 2``, ``no_models=True`` is ``--no-models``, and None leaves the option out."""
    words = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        words.append("--" + name.replace("_", "-"))
        if value is not True:
            words.append(str(value))
    return words


def settings(*assignments: str) -> list[str]:
    """``--set`` before each ``key=value``."""
    return [word for assignment in assignments for word in ("--set", assignment)]


def smoke_grid(variants: str, tasks: str, **more: object) -> list[str]:
    """``run --grid`` on the smoke profile over these variants and tasks (comma-separated),
    then ``more`` as ``options``."""
    return ["run", "--grid", *options(profile="smoke", variants=variants, tasks=tasks, **more)]


def wait_until_blocked(process: subprocess.Popen, limit: float = 300) -> None:
    """Read the process's stderr until the blocking plugin cell (tests/harness/blocking_plugin)
    says it holds the grid. A grid that never says so within ``limit`` seconds is killed, with
    its process group if it leads one (a safety net against a hung suite, not a measurement:
    the test then fails with what the grid printed)."""

    def kill() -> None:
        try:
            if os.getpgid(process.pid) == process.pid:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
        except ProcessLookupError:  # it ended in the meantime
            pass

    seen = []
    guard = threading.Timer(limit, kill)
    guard.start()
    try:
        for line in process.stderr:
            seen.append(line)
            # blocking_plugin.MARKER (not imported: that would add its cell to this process's
            # registry); the workers and the parent share stderr, so the marker may end
            # another process's line
            if "BLOCKED" in line:
                return
    finally:
        guard.cancel()
    pytest.fail(f"the grid never reached the blocker: {''.join(seen)[-3000:]}")
