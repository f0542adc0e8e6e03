"""``harness bench --runs``: where a training step's time goes, task by task, and its gate
(a slower data path fails it). No test asserts an absolute time."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

import harness.training.train as train_module
from harness.command.cli import main
from harness.training import phases
from harness.training.train import train_population
from tests.harness.configs import tiny_config

TASKS = ("parity", "long-dependency")
PHASES = ("data", "forward", "backward", "optimiser", "evaluation", "bookkeeping")


def _bench(tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "bench",
            "--runs",
            "--tasks",
            ",".join(TASKS),
            "--steps",
            "12",
            "--threads",
            "1",
            "--device",
            "cpu",
            *extra,
        ]
    )


def test_recording_phases_changes_nothing_the_run_computes() -> None:
    config = tiny_config(steps=6, eval_every=3, task_settings={"seq_len": 10, "eval_size": 32})
    plain = train_population([config, dataclasses.replace(config, seed=1)])
    timer = phases.Phases(warmup=1)
    timed = train_population([config, dataclasses.replace(config, seed=1)], phases=timer)
    for a, b in zip(plain, timed):
        assert a.curves == b.curves and a.test == b.test and a.valid == b.valid
    assert timer.steps == 5 and timer.calls["evaluation"] == 2
    assert set(timer.breakdown()) == set(PHASES)
    assert sum(timer.shares().values()) == pytest.approx(1.0)
    assert phases.OFF.phase("data") is phases.OFF.phase("forward")  # no cost when off


def test_the_breakdown_prints_every_phase_and_the_gate_fails_a_slow_data_path(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    base = tmp_path / "runs.json"
    assert _bench(tmp_path, "--json", str(base)) == 0
    out = capsys.readouterr().out
    for task in TASKS:
        block = out.split(f"\n{task} / lstm:")[1].split("\n\n")[0]
        shown = {
            m.group(1): float(m.group(2))
            for m in re.finditer(r"^(\w+)\s+[\d.]+\s+([\d.]+)%", block, re.M)
            if m.group(1) != "total"
        }
        assert set(shown) == set(PHASES), block
        assert sum(shown.values()) == pytest.approx(100.0, abs=0.35)  # rounding of 6 shares
        assert "trial-steps/s" in block and "cells' own share" in block
    saved = {r["task"]: r for r in json.loads(base.read_text())["runs"]}
    assert set(saved) == set(TASKS)
    for row in saved.values():
        assert sum(row["shares"].values()) == pytest.approx(1.0)
        assert row["step_ratio"] > 0 and row["population"] == 8

    # the same code against its own baseline passes (generous: a loaded machine)
    assert _bench(tmp_path, "--compare", str(base), "--tolerance", "1.0") == 0
    assert "no task's training step slower" in capsys.readouterr().out

    # a slow data path: every stacked batch also multiplies matrices (deterministic work)
    stack = train_module.stack_batches
    work = torch.rand(512, 512, generator=torch.Generator().manual_seed(0))

    def slow_stack(batches):
        product = work
        for _ in range(24):
            product = (product @ work).clamp_(-1, 1)
        return stack(batches)

    monkeypatch.setattr(train_module, "stack_batches", slow_stack)
    slow = tmp_path / "slow.json"
    assert _bench(tmp_path, "--compare", str(base), "--tolerance", "1.0", "--json", str(slow)) == 1
    err = capsys.readouterr().err
    failing = [line for line in err.splitlines() if line.startswith("slower: ")]
    assert len(failing) == len(TASKS), err
    assert all("grew most: data" in line for line in failing), err
    injected = {r["task"]: r for r in json.loads(slow.read_text())["runs"]}
    for task in TASKS:
        assert injected[task]["shares"]["data"] > 2 * saved[task]["shares"]["data"]


def test_a_baseline_of_the_cells_gate_is_refused_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "cells.json").write_text(json.dumps({"meta": {}, "rows": []}))
    assert (
        main(
            [
                "bench",
                "--runs",
                "--tasks",
                "parity",
                "--steps",
                "3",
                "--compare",
                str(tmp_path / "cells.json"),
            ]
        )
        == 2
    )
    assert "is not a file written by 'harness bench --runs --json'" in capsys.readouterr().err


@pytest.mark.parametrize("bidirectional,layers", [(False, 1), (True, 1), (True, 2)])
def test_the_reference_has_the_network_s_directions_and_depth(
    bidirectional: bool, layers: int
) -> None:
    """A bidirectional task's loop runs two cells a layer: its step ratio is against an
    ``nn.LSTM`` that does too, so that it compares with a causal task's."""
    from harness.gates import runs

    config = tiny_config(bidirectional=bidirectional, layers=layers)
    reference = runs._reference([config], torch.device("cpu"))
    y, _ = reference.lstm(reference.x)
    assert y.shape[-1] == (2 if bidirectional else 1) * config.hidden_size
    assert reference.lstm.num_layers == layers
    assert reference.shape.endswith(
        ("x2" if bidirectional else "N8") + ("xL2" if layers > 1 else "")
    )
