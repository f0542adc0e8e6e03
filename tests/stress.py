"""Find the next flaky test before a user does: the suite several times, in random order,
with the machine's cores kept busy by other processes.

    python -m tests.stress                      # 3 runs of the unit tests, every core loaded
    python -m tests.stress --runs 5 --load 0    # 5 runs on an idle machine
    python -m tests.stress --readme             # the README's whole test command instead
    python -m tests.stress -- -x tests/harness  # arguments after -- go to pytest

Each run uses a new pytest-randomly seed (printed, so that a failing order can be replayed
with ``python -m pytest -p randomly --randomly-seed=SEED``). The load is pure-Python busy
loops, one per core by default, in their own process group, stopped when this ends. Prints
one line per run (its summary line, exit code and wall time) and exits non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^=*\s*(\d+ (passed|failed).*) in [\d.]+s")


@contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """``count`` processes spinning on a core each, until the block ends."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for p in spinners:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def readme_test_command() -> str:
    """The README's test command from its first ``python -m pytest`` on (no venv setup)."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- test-command -->", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    command = block.strip()
    start = command.find("python -m pytest")
    if start < 0:
        raise SystemExit("no 'python -m pytest' in the README's test command")
    return command[start:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.stress",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of the suite (default 3)")
    parser.add_argument(
        "--load",
        type=int,
        default=os.cpu_count() or 1,
        help="busy processes during the runs (default: one per core)",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="run the README's test command (unit tests, benchmarks, gate)",
    )
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (after --)")
    args = parser.parse_args(argv)
    failures = 0
    for run in range(1, args.runs + 1):
        seed = random.randrange(2**31)
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        if args.readme:  # the unit tests (the first pytest) in this run's order
            command = readme_test_command().replace(
                "python -m pytest -q", f"python -m pytest -q -p randomly --randomly-seed={seed}", 1
            )
            call: list[str] | str = command
        else:
            call = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "randomly",
                f"--randomly-seed={seed}",
                *args.pytest_args,
            ]
        started = time.monotonic()
        with busy_cores(args.load):
            done = subprocess.run(
                call,
                cwd=ROOT,
                env=env,
                shell=isinstance(call, str),
                executable="/bin/bash" if isinstance(call, str) else None,
                capture_output=True,
                text=True,
            )
        wall = time.monotonic() - started
        lines = (done.stdout + done.stderr).splitlines()
        summaries = [m.group(1) for m in map(SUMMARY.match, lines) if m]
        failures += done.returncode != 0
        print(
            f"run {run}/{args.runs} (seed {seed}, {args.load} busy cores): exit "
            f"{done.returncode}, {time.strftime('%M:%S', time.gmtime(wall))} wall; "
            f"{' | '.join(summaries) or 'no pytest summary'}",
            flush=True,
        )
        if done.returncode != 0:
            tail = "\n".join(
                line
                for line in lines
                if line.startswith(("FAILED", "ERROR", "slower:", "harness: error"))
            ) or "\n".join(lines[-20:])
            print(tail, flush=True)
            print(f"replay: {shlex.join(call) if isinstance(call, list) else call}", flush=True)
    print(f"{args.runs - failures} of {args.runs} runs passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
