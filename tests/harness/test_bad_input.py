"""Bad input: every row of the table in docs/running.md ("Bad input"), as a user types it.
Each gets one line saying what is wrong and what to do, exit code 2, no traceback, and the
results already stored stay readable and unchanged."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import optuna
import pytest

from harness.queue import storage_url
from tests.harness.commands import harness, smoke_grid


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A folder with a finished tiny grid in its journal (what must survive every row)."""
    folder = tmp_path_factory.mktemp("stored")
    grid = smoke_grid("lstm", "parity", workers=1, storage="runs.journal", out="report")
    done = harness(*grid, cwd=folder)
    assert done.returncode == 0, done.stderr
    (folder / "bad.toml").write_text('seeds = 2\nvariants = ["lstm" "gru"]\n')
    (folder / "empty.txt").write_text("")
    lines = (folder / "runs.journal").read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2  # a record overwritten in the middle: the file cannot be read
    (folder / "damaged.journal").write_bytes(
        b"".join(lines[:middle] + [b"\x00garbage{\n"] + lines[middle + 1 :])
    )
    # a file cut off in the middle of its last record (a worker killed while writing)
    (folder / "truncated.journal").write_bytes((folder / "runs.journal").read_bytes()[:-40])
    # a grid as a 0.1.0 pre-release stored it: one study for all its tasks
    earlier = optuna.create_study(
        storage=storage_url.open_storage(str(folder / "earlier.journal")), study_name="grid-old"
    )
    earlier.set_user_attr("grid", {"profile": "smoke"})
    return folder


ROWS = [  # (what was tried, arguments, what the user sees)
    (
        "an unknown variant",
        ["run", "--variant", "lsmt"],
        "unknown variant 'lsmt'; did you mean lstm",
    ),
    ("an unknown task", ["run", "--task", "parit"], "unknown task 'parit'; did you mean parity"),
    (
        "an unknown profile",
        ["run", "--grid", "--profile", "smok", "--storage", "runs.journal"],
        r"unknown profile 'smok'; profiles are smoke, default, paper \(did you mean smoke\?\)",
    ),
    (
        "an unknown reproduce profile",
        ["reproduce", "--profile", "quik", "--storage", "runs.journal"],
        "unknown profile 'quik'",
    ),
    ("a --set key that does not exist", ["run", "--set", "widht=3"], "unknown setting 'widht'"),
    (
        "a --set value of the wrong type",
        ["run", "--set", "steps=many"],
        "setting 'steps' expects int or None, got 'many'",
    ),
    (
        "a malformed grid file",
        ["run", "--grid", "--config", "bad.toml", "--storage", "runs.journal"],
        r"is not valid TOML: .*\(at line 2",
    ),
    (
        "a storage URL that cannot be reached",
        ["report", "--study", "grid-smoke", "--storage", "postgresql://nobody@127.0.0.1:9/db"],
        "cannot reach the database at postgresql://nobody@127.0.0.1:9/db",
    ),
    (
        "a database driver that is missing",
        ["report", "--study", "grid-smoke", "--storage", "mysql://u@127.0.0.1/db"],
        r"the database driver for mysql is missing \(\w+\); install SQLAlchemy's driver",
    ),
    (
        "a study that does not exist (report)",
        ["report", "--study", "grid-smok", "--storage", "runs.journal"],
        "no study named 'grid-smok' .*studies: grid-smoke",
    ),
    (
        "a study that does not exist (worker)",
        ["worker", "--study", "nope", "--storage", "runs.journal"],
        "no study named 'nope'",
    ),
    (
        "a corrupted journal file",
        ["report", "--study", "grid-smoke", "--storage", "damaged.journal"],
        "journal file damaged.journal is damaged",
    ),
    (
        "a read-only results folder (storage)",
        ["run", "--grid", "--profile", "smoke", "--storage", "/proc/harness/runs.journal"],
        "cannot use journal file /proc/harness/runs.journal",
    ),
    (
        "a read-only results folder (report)",
        [
            "report",
            "--study",
            "grid-smoke",
            "--storage",
            "runs.journal",
            "--out",
            "/proc/harness-report",
        ],
        "cannot write the report to /proc/harness-report",
    ),
    (
        "a learning rate out of range",
        ["run", "--set", "lr=-0.1"],
        r"lr must be in \(0, 100\), got -0.1",
    ),
    (
        "a size out of range",
        ["run", "--set", "hidden_size=0"],
        "hidden_size must be at least 1, got 0",
    ),
    (
        "a corpus file that is missing",
        ["run", "--task", "lm", "--set", "task.corpus='/nowhere/corpus.txt'"],
        "unknown corpus '/nowhere/corpus.txt': not a name .* nor an existing",
    ),
    (
        "a grid that a 0.1.0 pre-release stored as one study",
        smoke_grid("lstm", "parity", storage="earlier.journal", study="grid-old"),
        "grid-old in this storage is a grid that a pre-release of harness 0.1.0 stored as one",
    ),
    (
        "a corpus file that is empty",
        ["run", "--task", "lm", "--set", "task.corpus='empty.txt'"],
        "empty.txt holds no text",
    ),
]


def _report(journal: str, out: str) -> list[str]:
    """The arguments that report the tiny grid stored in ``journal`` into folder ``out``."""
    return ["report", "--study", "grid-smoke", "--storage", journal, "--out", out]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("what", "args", "message"), ROWS, ids=[r[0] for r in ROWS])
def test_bad_input_is_one_line_exit_2_and_loses_nothing(
    stored: Path, what: str, args: list[str], message: str
) -> None:
    before = _digest(stored / "runs.journal")
    damaged = _digest(stored / "damaged.journal")
    earlier = _digest(stored / "earlier.journal")
    result = harness(*args, cwd=stored)
    err = result.stderr.strip()
    assert result.returncode == 2, (what, result.returncode, err[-1500:])
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("harness: error: "), lines
    assert re.search(message, lines[0]), (message, lines[0])
    # what is stored is untouched, and still reads
    assert _digest(stored / "runs.journal") == before
    assert _digest(stored / "damaged.journal") == damaged
    assert _digest(stored / "earlier.journal") == earlier


def test_after_all_the_bad_input_the_stored_runs_still_report(stored: Path) -> None:
    again = harness(*_report("runs.journal", "again"), cwd=stored)
    assert again.returncode == 0, again.stderr
    assert (stored / "again" / "runs.csv").read_text() == (
        stored / "report" / "runs.csv"
    ).read_text()


def test_a_journal_cut_off_mid_record_still_reads_all_complete_runs(stored: Path) -> None:
    """A worker killed while writing leaves half a record at the end: the complete records
    before it are all there, and the study reads (Optuna skips the cut-off last line)."""
    result = harness(*_report("truncated.journal", "cut"), cwd=stored)
    assert result.returncode == 0, result.stderr
    assert len((stored / "cut" / "runs.csv").read_text().splitlines()) == 2  # header + 1 run
