"""What clusters do to long studies, on a real PostgreSQL server and a real file system: many
processes starting one grid at the same instant, a database that goes away and comes back,
a full disk, SIGTERM, a host that dies while it holds a run; and passwords kept out of sight.
Every wait here is for an event (a FIFO, a line on stderr, a run's state in the storage)."""

from __future__ import annotations

import fcntl
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from harness.plans import grid
from harness.queue import entries, finished, liveness, outage, storage_url, store
from harness.queue.journal import JournalDamaged
from tests.harness.commands import (
    harness,
    harness_env,
    smoke_grid,
    start_harness,
    wait_until_blocked,
)
from tests.harness.journal_helpers import finished_results, grid_studies, stored_study
from tests.harness.postgres import Server

PASSWORD = "s3cretPW"  # the test server trusts local connections: any password is accepted
SMOKE_VARIANTS, SMOKE_TASKS = "lstm,gru,rnn,cifg", "parity,memory-add"  # 2 seeds: 16 points


def _env(**extra: str) -> dict[str, str]:
    return harness_env(HARNESS_HEARTBEAT="1", **extra)


def _with_password(url: str) -> str:
    return url.replace("harness@", f"harness:{PASSWORD}@")


def _points(studies: list[optuna.Study]) -> tuple[Counter, Counter]:
    """How many trials each grid point has, and how many complete ones."""
    trials = [t for s in studies for t in s.get_trials(deepcopy=False) if "key" in t.user_attrs]
    return (
        Counter(t.user_attrs["key"] for t in trials),
        Counter(t.user_attrs["key"] for t in trials if t.state == TrialState.COMPLETE),
    )


def _wait_for(predicate, what: str, limit: float = 300) -> None:
    """Poll the storage until ``predicate()`` (an event: a run's state), or fail."""
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


# ---------------------------------------------------------------- credentials


def test_urls_are_shown_and_stored_with_the_password_masked(monkeypatch) -> None:
    url = f"postgresql://harness:{PASSWORD}@db.example:5432/runs?sslmode=require"
    assert storage_url.shown(url) == "postgresql://harness:***@db.example:5432/runs?sslmode=require"
    assert storage_url.shown("postgresql://harness@db/runs") == "postgresql://harness@db/runs"
    assert storage_url.shown("runs.journal") == "runs.journal"
    assert storage_url.shown(None) == storage_url.DEFAULT
    encoded = "postgresql://u:p%40ss@h/d"
    assert storage_url.password(encoded) == "p@ss"
    assert storage_url.scrub("failed for u:p%40ss and p@ss", encoded) == "failed for u:*** and ***"
    monkeypatch.setenv(storage_url.ENVIRONMENT, url)
    assert storage_url.resolve(None) == url and storage_url.resolve("x.journal") == "x.journal"


def test_a_password_never_reaches_the_terminal(tmp_path: Path) -> None:
    url = f"postgresql://harness:{PASSWORD}@127.0.0.1:1/harness"
    args = ["run", "--grid", "--profile", "smoke", "--variants", "rnn", "--tasks", "parity"]
    for extra, env in (([f"--storage={url}"], {}), ([], {storage_url.ENVIRONMENT: url})):
        done = harness(*args, *extra, cwd=tmp_path, env=_env(**env), timeout=120)
        assert done.returncode == 2
        assert (
            "cannot reach the database at postgresql://harness:***@127.0.0.1:1/harness"
            in done.stderr
        )
        assert PASSWORD not in done.stdout + done.stderr


# ---------------------------------------------------------------- many processes at once


def _together(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> list[tuple]:
    """Start every command, hold them all at the barrier plugin, release them at once."""
    lock = cwd / "barrier"
    lock.touch()
    env = {**env, "BARRIER_LOCK": str(lock)}
    with open(lock, "rb") as barrier:
        fcntl.flock(barrier, fcntl.LOCK_EX)
        processes = [
            start_harness([c[0], "--plugin", "tests.harness.barrier_plugin", *c[1:]], cwd, env)
            for c in commands
        ]
        _wait_for(
            lambda: len(list(cwd.glob("barrier.*.ready"))) == len(processes),
            "every process at the barrier",
        )
        fcntl.flock(barrier, fcntl.LOCK_UN)  # all go now
    outputs = [(p, *p.communicate(timeout=600)) for p in processes]
    for ready in cwd.glob("barrier.*.ready"):
        ready.unlink()
    return outputs


@pytest.mark.parametrize("backend", ["postgresql", "journal"])
def test_processes_started_together_queue_and_run_every_point_once(
    backend: str, postgres_url: str, tmp_path: Path
) -> None:
    for round_ in range(2):  # twice in a row, each a new study, all released at once
        name = f"together-{backend}-{round_}"
        storage = (
            _with_password(postgres_url)
            if backend == "postgresql"
            else str(tmp_path / "together.journal")
        )
        for task in ("parity", "memory-add"):  # the grid's studies, new and empty, so that
            study = store.open_study(storage_url.open_storage(storage), f"{name}-{task}")  # the
            study.set_user_attr("grid", {"prefix": name})  # workers find them at once
        grids = [
            smoke_grid(
                SMOKE_VARIANTS,
                SMOKE_TASKS,
                seeds=2,
                workers=1,
                study=name,
                storage=storage,
                out=f"out{k}",
            )
            for k in range(3 if backend == "postgresql" else 4)
        ]
        workers = [["worker", "--study", name, "--storage", storage]] * (
            2 if backend == "postgresql" else 0
        )
        for process, out, err in _together(grids + workers, tmp_path, _env()):
            assert process.returncode == 0, err[-3000:]
            assert "Traceback" not in err and "Warning" not in err, err[-3000:]
            assert PASSWORD not in out + err
        queued, complete = _points(grid_studies(storage, name))
        assert len(queued) == 16 and set(queued.values()) == {1}, queued  # queued once
        assert set(complete) == set(queued) and set(complete.values()) == {1}
    for path in tmp_path.rglob("*"):  # reports, journals: no password anywhere
        assert not path.is_file() or PASSWORD.encode() not in path.read_bytes(), path


# ---------------------------------------------------------------- a database outage


def test_workers_ride_out_a_database_restart(postgres_server: Server, tmp_path: Path) -> None:
    url = _with_password(postgres_server.url)
    storage = storage_url.open_storage(url)
    study = store.open_study(storage, "outage")
    configs = grid.resolve(
        "smoke",
        ["lstm", "gru", "cifg", "np", "rnn"],
        ["parity", "memory-add", "long-dependency"],
        2,
        run_overrides={"steps": 60, "eval_every": 30},
    ).runs()
    entries.enqueue(storage, study, configs)
    worker = ["worker", "--study", "outage", "--storage", url, "--population", "1"]
    workers = [start_harness(worker, tmp_path, _env()) for _ in range(3)]
    _wait_for(lambda: len(finished.completed(study)) >= 3, "three finished runs")
    postgres_server.stop()
    try:
        time.sleep(20)  # the outage itself: twenty seconds without a database
    finally:
        postgres_server.start()
    outputs = [w.communicate(timeout=900) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert PASSWORD not in err
    said = "".join(err for _, err in outputs)
    assert "the database is unreachable while" in said and "the database is back after" in said
    study = stored_study(url, "outage")
    _, complete = _points([study])
    assert len(complete) == 30 and set(complete.values()) == {1}
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))


def test_an_outage_longer_than_the_patience_ends_in_one_line() -> None:
    """ride_out on injected failures and a fake clock: retries, then the reason."""
    now = [0.0]
    calls = []

    def down() -> None:
        calls.append(now[0])
        raise optuna.exceptions.StorageInternalError("connection refused")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(outage.PATIENCE, "10")
        with pytest.raises(
            outage.StorageDown, match="stayed unreachable for 10 s while taking runs"
        ):
            outage.ride_out(
                down,
                "taking runs",
                sleep=lambda s: now.__setitem__(0, now[0] + s),
                clock=lambda: now[0],
            )
    assert calls == [0.0, 1.0, 3.0, 7.0, 10.0]  # 1 s, doubling, then up to the limit
    answers = iter([optuna.exceptions.StorageInternalError("gone"), 7])

    def flaky() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert outage.ride_out(flaky, "reading", sleep=lambda s: None) == 7
    with pytest.raises(ZeroDivisionError):  # not an outage: through at once
        outage.ride_out(lambda: 1 / 0, "dividing")


# ---------------------------------------------------------------- a full disk


def test_a_full_disk_leaves_the_journal_readable_and_the_grid_resumes(tmp_path: Path) -> None:
    journal = tmp_path / "runs.journal"
    small = smoke_grid("rnn", "parity", seeds=2, workers=1, storage=journal)
    first = harness(*small, "--out", "a", cwd=tmp_path, env=_env())
    assert first.returncode == 0, first.stderr
    before = finished_results(journal)
    limit = journal.stat().st_size + 6000  # room to queue the new runs, not to finish them

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    wider = smoke_grid("rnn,gru,lstm", "parity", seeds=2, workers=1, storage=journal)
    for workers in ("1", "2"):
        full = harness(
            *wider,
            "--workers",
            workers,
            "--out",
            "b",
            cwd=tmp_path,
            env=_env(),
            preexec_fn=small_disk,
        )
        assert full.returncode == 1, full.stderr
        errors = [line for line in full.stderr.splitlines() if line.startswith("harness:")]
        assert len(errors) == 1 and "bytes to journal" in errors[0], full.stderr
        assert "the journal is as it was before" in errors[0]
        assert "Traceback" not in full.stderr or workers == "2"  # a worker's log is its own
        assert journal.stat().st_size <= limit
        assert finished_results(journal) == before  # readable, every earlier result intact
    again = harness(*wider, "--out", "c", cwd=tmp_path, env=_env())
    assert again.returncode == 0, again.stderr
    after = finished_results(journal)
    assert len(after) == 6 and all(after[k] == v for k, v in before.items())
    study = stored_study(journal, "grid-smoke-parity")
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING))


def test_a_report_that_does_not_fit_leaves_the_earlier_report_whole(tmp_path: Path) -> None:
    journal = tmp_path / "runs.journal"
    grid_args = smoke_grid("rnn", "parity", seeds=2, workers=1, storage=journal, out="report")
    first = harness(*grid_args, cwd=tmp_path, env=_env())
    assert first.returncode == 0, first.stderr
    folder = tmp_path / "report"
    (folder / "my notes.txt").write_text("the user's own file")
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert len(before) > 5 and max(len(b) for b in before.values()) > 4000

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))

    again = ["report", "--study", "grid-smoke", "--storage", str(journal), "--out", "report"]
    full = harness(*again, cwd=tmp_path, env=_env(), preexec_fn=small_disk)
    assert full.returncode != 0 and "Traceback" not in full.stderr, full.stderr
    errors = [line for line in full.stderr.splitlines() if line.startswith("harness:")]
    assert len(errors) == 1 and "cannot write the report to" in errors[0], full.stderr
    assert "the report there before is as it was" in errors[0]
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # every file as it was, nothing half-written, no staging left
    done = harness(*again, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert (folder / "my notes.txt").read_text() == "the user's own file"
    assert not (folder / ".report-writing").exists() and (folder / "report.md").exists()


def test_a_record_that_goes_bad_after_the_journal_was_opened_is_one_clear_error(
    tmp_path: Path,
) -> None:
    """Another process writes a whole record that cannot be replayed (here one that names
    no study): the next read says which file is damaged and what to do, and leaves it."""
    journal = tmp_path / "late.journal"
    storage = storage_url.open_storage(str(journal))
    store.open_study(storage, "late")
    with open(journal, "ab") as file:
        file.write(b'{"op_code": 4, "worker_id": "elsewhere"}\n')
    before = journal.read_bytes()
    with pytest.raises(
        JournalDamaged,
        match=f"journal file {journal} is damaged \\(KeyError"
        ".*restore it from a copy, or move it aside",
    ):
        store.named_studies(storage, "late")
    assert journal.read_bytes() == before


def test_a_journal_ending_in_half_a_record_is_cut_back_before_the_next_append(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "cut.journal"
    storage = storage_url.open_storage(str(journal))
    study = store.open_study(storage, "cut")
    entries.enqueue(storage, study, grid.resolve("smoke", ["rnn"], ["parity"], 2).runs())
    whole = journal.read_bytes()
    journal.write_bytes(whole + b'{"op_code": 4, "worker_id": "x", "tri')  # a writer killed
    again_storage = storage_url.open_storage(str(journal))
    again = store.open_study(again_storage, "cut", create=False)
    assert journal.read_bytes() == whole
    entries.enqueue(again_storage, again, grid.resolve("smoke", ["rnn"], ["parity"], 3).runs())
    assert finished.counts(stored_study(journal, "cut")) == {"waiting": 3}


# ---------------------------------------------------------------- SIGTERM


def _ended(process: subprocess.Popen, limit: float = 240) -> tuple[str, str]:
    """``communicate``, but a process group still running after ``limit`` seconds is
    reported with what each of its processes was doing (py-spy), then killed."""
    try:
        return process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        listing = subprocess.run(
            ["ps", "-o", "pid=", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout.split()
        spy = Path(sys.executable).with_name("py-spy")
        dumps = [
            subprocess.run([str(spy), "dump", "--pid", pid], capture_output=True, text=True).stdout
            for pid in listing
            if spy.exists()
        ]
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"still running after {limit} s: {err[-3000:]}\n" + "\n".join(dumps))


def _blocked_grid(workers: str, tmp_path: Path) -> tuple[subprocess.Popen, Path, list[str]]:
    """A grid of 8 runs in its own process group, held by the blocking cell: the process,
    its journal and its arguments (the same again resume it)."""
    journal = tmp_path / "runs.journal"
    args = smoke_grid(
        "lstm,gru,blocker,rnn",
        "parity",
        plugin="tests.harness.blocking_plugin",
        seeds=2,
        workers=workers,
        storage=journal,
        out="out",
    )
    process = start_harness(args, tmp_path, _env(BLOCKER_ARMED="1"), start_new_session=True)
    wait_until_blocked(process)
    return process, journal, args


@pytest.mark.parametrize("workers", ["1", "4"])
def test_sigterm_puts_the_runs_in_hand_back_and_exits_143(workers: str, tmp_path: Path) -> None:
    process, journal, args = _blocked_grid(workers, tmp_path)
    os.killpg(process.pid, signal.SIGTERM)  # the scheduler stops the whole job
    _, err = _ended(process)
    assert process.returncode == 143, err
    assert "terminated (SIGTERM): finished runs are stored" in err and "Traceback" not in err
    study = stored_study(journal, "grid-smoke-parity")
    assert not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    before = finished_results(journal)
    if workers == "1":  # in the grid's order: lstm and gru before the blocker, rnn after
        assert sorted(r["config"]["variant"] for r in before.values()) == ["gru"] * 2 + ["lstm"] * 2
    resumed = harness(*args, cwd=tmp_path, env=_env())
    assert resumed.returncode == 0, resumed.stderr
    after = finished_results(journal)
    assert len(after) == 8 and all(after[k] == v for k, v in before.items())  # untouched


@pytest.mark.parametrize("workers,presses", [("1", 1), ("4", 1), ("4", 2)])
def test_ctrl_c_in_a_terminal_stops_cleanly_and_the_resumed_grid_counts_no_failure(
    workers: str, presses: int, tmp_path: Path
) -> None:
    """What a terminal does on Ctrl-C: SIGINT to the whole process group (the parent, which
    then forwards SIGTERM to its workers, and every worker), pressed once or twice. One
    line, exit 130, no traceback from any process; the interrupted attempts are put back and
    no count or report of the resumed grid shows them."""
    process, journal, args = _blocked_grid(workers, tmp_path)
    for _ in range(presses):
        os.killpg(process.pid, signal.SIGINT)
    _, err = _ended(process)
    assert process.returncode == 130, err
    assert "interrupted: finished runs are stored" in err
    for noise in ("Traceback", "Error", "race condition", "Exception ignored"):
        assert noise not in err, err
    resumed = harness(*args, cwd=tmp_path, env=_env())
    assert resumed.returncode == 0, resumed.stderr
    assert "grid grid-smoke finished in" in resumed.stdout
    assert ": 8 runs, 8 done (0 diverged)." in resumed.stdout, resumed.stdout
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) == {"complete"}
    assert "Runs: 8 (8 complete)." in (tmp_path / "out" / "report.md").read_text()
    study = stored_study(journal, "grid-smoke-parity")
    kept = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.FAIL]
    assert kept and all(t.user_attrs.get("interrupted") for t in kept)  # for the audit
    assert finished.counts(study) == {"complete": 8}


# ---------------------------------------------------------------- two hosts, one journal


def test_a_dead_host_s_run_is_taken_back_by_another_host(tmp_path: Path) -> None:
    journal = str(tmp_path / "shared.journal")
    storage = storage_url.open_storage(journal)
    study = store.open_study(storage, "hosts")
    configs = grid.resolve(
        "smoke",
        ["lstm", "gru", "rnn"],
        ["parity", "memory-add"],
        2,
        run_overrides={"steps": 60, "eval_every": 30},
    ).runs()
    entries.enqueue(storage, study, configs)
    worker = ["worker", "--study", "hosts", "--storage", journal, "--population", "1"]
    a = start_harness(worker, tmp_path, _env(HARNESS_HOST="host-a"))
    held = []

    def holds_a_run() -> bool:
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        held[:] = [t for t in running if t.user_attrs.get("worker", {}).get("host") == "host-a"]
        return bool(held)

    _wait_for(holds_a_run, "host-a to hold a run")
    a.kill()  # host-a is gone: its pid means nothing to host-b
    a.communicate(timeout=60)
    b = start_harness(worker, tmp_path, _env(HARNESS_HOST="host-b"))
    _, err = b.communicate(timeout=600)
    assert b.returncode == 0 and "Traceback" not in err, err[-3000:]
    study = stored_study(journal, "hosts")
    _, complete = _points([study])
    assert len(complete) == 12 and set(complete.values()) == {1}
    lost = study.get_trials(deepcopy=False)[held[0].number]
    assert lost.state == TrialState.FAIL
    retried = [
        t for t in finished.completed(study) if t.user_attrs["key"] == lost.user_attrs["key"]
    ]
    assert retried[0].user_attrs["attempt"] == 2
    assert retried[0].user_attrs["worker"]["host"] == "host-b"


def test_a_lease_decides_for_other_hosts_and_the_pid_for_this_one(monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_HEARTBEAT", "10")  # grace: 30 s
    monkeypatch.setenv("HARNESS_HOST", "here")

    class Trial:
        def __init__(self, worker: dict, lease: dict | None = None) -> None:
            self.user_attrs = {"worker": worker, **({"lease": lease} if lease else {})}

    dead = 2**22 + 12345
    assert liveness.abandoned(Trial({"host": "here", "pid": dead, "started": 99.0}), 100.0)
    assert not liveness.abandoned(
        Trial({"host": "here", "pid": os.getpid(), "started": 0.0}, {"beat": 99.0}), 100.0
    )
    assert not liveness.abandoned(
        Trial({"host": "there", "pid": dead, "started": 0.0}, {"beat": 71.0}), 100.0
    )  # 29 s old: still alive
    assert liveness.abandoned(
        Trial({"host": "there", "pid": dead, "started": 0.0}, {"beat": 69.0}), 100.0
    )  # 31 s: gone
    assert liveness.abandoned(Trial({"host": "there", "pid": 1, "started": 60.0}), 100.0)
