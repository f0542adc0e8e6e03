"""Grids: resolving profiles and files, idempotent enqueueing, the command end to end,
resuming after an interruption, and several workers on one journal file."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pandas as pd
import pytest

from harness.plans import grid
from harness.plans.config import ConfigError
from harness.queue import entries, finished, storage_url, store, worker
from harness.queue.progress import Progress
from tests.harness.commands import (
    harness,
    harness_env,
    options,
    smoke_grid,
    start_harness,
    wait_until_blocked,
)
from tests.harness.journal_helpers import finished_results


def test_profile_file_and_options_resolve_in_order(tmp_path: Path) -> None:
    spec = grid.resolve("smoke")
    assert spec.tasks == ("parity", "memory-add", "long-dependency", "lm")
    assert len(spec.variants) == 17 and len(spec.runs()) == 17 * 4
    file = tmp_path / "g.toml"
    file.write_text(
        'profile = "smoke"\nvariants = ["lstm", "np"]\ntasks = ["parity"]\n'
        "seeds = 3\n[run]\nhidden_size = 5\n[task.parity]\nsteps = 7\n"
        "task_settings = { seq_len = 11 }\n"
    )
    spec = grid.resolve(config_file=str(file), run_overrides={"hidden_size": 6})
    runs = spec.runs()
    assert len(runs) == 6 and {r.seed for r in runs} == {0, 1, 2}
    assert all(r.hidden_size == 6 and r.steps == 7 for r in runs)
    assert runs[0].task_settings == {"seq_len": 11, "eval_size": 64}


def test_the_command_line_overrides_a_profile_s_per_task_settings(tmp_path: Path) -> None:
    """--set is the last word: the default profile's per-task steps yield to steps=N, and a
    task setting goes to the tasks that have it (data_dir: lm and music, not parity)."""
    spec = grid.from_command(
        "default",
        "lstm",
        "parity,lm,music",
        1,
        None,
        ["steps=7", "task.seq_len=9", f"task.data_dir={tmp_path}"],
    )
    runs = {r.task: r for r in spec.runs()}
    assert {t: r.steps for t, r in runs.items()} == {"parity": 7, "lm": 7, "music": 7}
    assert runs["parity"].task_settings == {"seq_len": 9, "min_len": 2, "eval_size": 200}
    assert runs["lm"].task_settings == {
        "seq_len": 9,
        "eval_tokens": 20_000,
        "data_dir": str(tmp_path),
    }
    assert runs["music"].task_settings == {"data_dir": str(tmp_path)}
    with pytest.raises(
        ConfigError,
        match=r"--set: no task of parity, lm has the setting\(s\) "
        r"sq_len",
    ):
        grid.from_command("default", "lstm", "parity,lm", 1, None, ["task.sq_len=9"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('seeds = 2\nvariants = ["lstm" "gru"]\n', r"not valid TOML: .*line 2"),
        ('colour = "red"\n', "unknown key.*colour"),
        ('profile = "smok"\n', "unknown profile 'smok'.*did you mean smoke"),
        ("[run]\nhidden_size = -1\n", "hidden_size must be at least 1"),
        ("[run]\nwidth = 3\n", "unexpected keyword argument 'width'"),
    ],
)
def test_bad_grid_files(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "g.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message):
        grid.resolve(config_file=str(file))


def test_enqueue_is_idempotent_and_widening_adds_only_the_new(tmp_path: Path) -> None:
    storage = storage_url.open_storage(str(tmp_path / "s.journal"))
    study = store.open_study(storage, "g")
    one = grid.resolve("smoke", ["lstm"], ["parity"], 1).runs()
    two = grid.resolve("smoke", ["lstm"], ["parity"], 2).runs()
    assert entries.enqueue(storage, study, one) == (1, 0)
    assert entries.enqueue(storage, study, one) == (0, 1)
    assert entries.enqueue(storage, study, two) == (1, 1)
    assert finished.counts(study) == {"waiting": 2}


def test_smoke_grid_end_to_end_then_report_from_storage_alone(tmp_path: Path) -> None:
    """Every variant on every embedded task, as a user runs it."""
    journal = str(tmp_path / "runs.journal")
    grid = ["run", "--grid", *options(profile="smoke", workers=1, storage=journal, out="out")]
    result = harness(*grid, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "68 runs (17 variants × 4 tasks × 1 seeds); 0 done, 68 to run" in result.stderr
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert len(runs) == 68 and set(runs["status"]) <= {"complete", "diverged"}
    diverged = (runs["status"] == "diverged").sum()
    assert re.search(
        r"grid grid-smoke finished in [^:]+: 68 runs, 68 done "
        + re.escape(f"({diverged} diverged).\n")
        + r"the workers' time, [^\n]+ over 68 runs: data \d+%[^\n]+\n"
        + re.escape("report: out/report.md\n")
        + r" +out/report\.html",
        result.stdout,
    ), result.stdout
    assert runs.groupby("task")["variant"].nunique().eq(17).all()
    assert runs["steps×batch/s"].gt(0).all() and runs["key"].nunique() == 68
    curves = pd.read_parquet(tmp_path / "out" / "curves.parquet")
    assert {"train_loss", "grad_norm", "valid_mse", "valid_accuracy"} <= set(curves["name"])
    figures = sorted(p.name for p in (tmp_path / "out" / "figures").iterdir())
    assert figures == [
        "at_a_glance.png",
        "final_metric.png",
        "grad_norm.png",
        "gradient_through_time.png",
        "quality_cost.png",
        "throughput.png",
        "train_loss.png",
    ]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## parity: test accuracy (higher is better)" in report and "| lstm |" in report
    assert json.loads((tmp_path / "out" / "resolved_config.json").read_text())["profile"] == "smoke"
    assert "data:image/png;base64," in (tmp_path / "out" / "report.html").read_text()
    again = harness(
        "report", "--study", "grid-smoke", "--storage", journal, "--out", "again", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "runs.csv").read_text() == (
        tmp_path / "out" / "runs.csv"
    ).read_text()
    # the same command again runs nothing and changes nothing
    rerun = harness(
        "run", "--grid", "--profile", "smoke", "--storage", journal, "--out", "out2", cwd=tmp_path
    )
    assert "68 done, 0 to run (0 newly queued" in rerun.stderr
    assert (tmp_path / "out2" / "runs.csv").read_text() == (
        tmp_path / "out" / "runs.csv"
    ).read_text()


def test_an_interrupted_grid_resumes_where_it_stopped(tmp_path: Path) -> None:
    """Ctrl-C while the blocking plugin cell holds the grid (tests/harness/blocking_plugin):
    the runs queued before it are finished, none after it has started, so the signal
    lands at a known point however fast or loaded the machine is."""
    journal = str(tmp_path / "runs.journal")
    args = smoke_grid(
        "lstm,gru,cifg,blocker,nas",
        "parity,memory-add",
        plugin="tests.harness.blocking_plugin",
        seeds=2,
        workers=1,
        storage=journal,
        out="out",
    )
    process = start_harness(args, tmp_path, harness_env(BLOCKER_ARMED="1"))
    wait_until_blocked(process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted: finished runs are stored" in err
    before = finished_results(journal)
    # parity's lstm, gru, cifg seeds, in the grid's order, and nothing after the blocker
    assert sorted(
        (r["config"]["variant"], r["config"]["task"], r["config"]["seed"]) for r in before.values()
    ) == [(v, "parity", s) for v in ("cifg", "gru", "lstm") for s in (0, 1)]
    result = harness(*args, cwd=tmp_path)  # the same command, the blocker no longer armed
    assert result.returncode == 0, result.stderr
    assert "6 done, 14 to run (0 newly queued" in result.stderr
    after = finished_results(journal)
    assert len(after) == 20
    assert all(after[k] == v for k, v in before.items())  # finished runs untouched
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs[runs["status"] == "complete"]) == 20 and runs["key"].nunique() == 20


def test_two_workers_share_one_journal(tmp_path: Path) -> None:
    journal = str(tmp_path / "runs.journal")
    # one run at a time per worker: with populations, the first worker to start can take
    # every group of this tiny grid before the second has imported torch
    grid = smoke_grid(
        "lstm,gru",
        "parity,memory-add",
        seeds=2,
        workers=2,
        population=1,
        storage=journal,
        out="out",
    )
    result = harness(*grid, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) == {"complete"}
    assert runs["key"].nunique() == 8 and runs["pid"].nunique() == 2
    lines = [line for line in result.stderr.splitlines() if "(seed " in line]
    assert len(lines) == 8  # one log line per finished run, with where it stands
    assert sorted(int(line[1:].split("/")[0]) for line in lines) == list(range(1, 9))
    assert all(line.split("]")[0].endswith("/8") for line in lines)


def test_a_worker_trains_the_seeds_of_a_grid_point_as_one_population(tmp_path: Path) -> None:
    storage = storage_url.open_storage(str(tmp_path / "p.journal"))
    study = store.open_study(storage, "g")
    entries.enqueue(storage, study, grid.resolve("smoke", ["lstm", "gru"], ["parity"], 3).runs())
    sizes = []
    assert worker.work(study, population=2, progress=_Starts(sizes)) == 6
    # up to 2 at a time, never mixing variants: lstm 2 + 1, then gru 2 + 1
    assert sizes == ["lstm", "lstm", "gru", "gru"]
    runs = {
        (r["config"]["variant"], r["config"]["seed"]): r["telemetry"]["population"]
        for r in (t.user_attrs["result"] for t in finished.completed(study))
    }
    assert runs == {
        ("lstm", 0): 2,
        ("lstm", 1): 2,
        ("lstm", 2): 1,
        ("gru", 0): 2,
        ("gru", 1): 2,
        ("gru", 2): 1,
    }


@pytest.mark.parametrize(
    ("first", "second"),
    [("lr=1", "lr=1.0"), ("steps=10", "steps=10.0"), ("task.seq_len=12", "task.seq_len=12.0")],
)
def test_one_setting_typed_two_ways_is_one_run(tmp_path: Path, first: str, second: str) -> None:
    base = smoke_grid("rnn", "parity", workers=1, no_models=True, storage="s.journal", out="out")
    one = harness(*base, "--set", first, cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    two = harness(*base, "--set", second, cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert "1 done, 0 to run (0 newly queued" in two.stderr


def test_every_number_has_one_spelling_in_a_run_config() -> None:
    from harness.plans.config import RunConfig, apply_overrides

    spelled = [
        RunConfig(
            variant="lstm-b",
            lr=1,
            steps=10.0,
            task_settings={"seq_len": 6.0},
            cell_options={"forget_bias": 2},
        ),
        apply_overrides(
            RunConfig(variant="lstm-b"),
            ["lr=1.0", "steps=10", "task.seq_len=6", "cell.forget_bias=2.0"],
        ),
    ]
    assert spelled[0] == spelled[1] and spelled[0].key == spelled[1].key
    assert spelled[0].steps == 10 and isinstance(spelled[0].lr, float)
    with pytest.raises(ConfigError, match="'steps' expects a whole number, got 10.5"):
        RunConfig(steps=10.5)


class _Starts(Progress):
    """Notes the variant of every population the worker starts."""

    def __init__(self, sizes: list[str]) -> None:
        self.sizes = sizes

    def started(self, config) -> None:  # noqa: ANN001
        self.sizes.append(config.variant)
