"""One run, on tiny settings: what it records, determinism, divergence, early stopping."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from harness.plans.config import ConfigError, RunConfig, apply_overrides
from harness.training import phases
from harness.training.train import train, train_population
from tests.harness.commands import harness, settings
from tests.harness.configs import tiny_config

TINY = dict(hidden_size=16, steps=40, eval_every=20, log_every=5)


def curve(result, name: str) -> list[tuple[int, float]]:
    return [(s, v) for s, n, v in result.curves if n == name]


def test_a_run_records_curves_gradients_and_telemetry() -> None:
    result = train(RunConfig(variant="lstm", task="parity", **TINY))
    assert result.status == "complete" and result.steps == 40
    assert [s for s, _ in curve(result, "train_loss")] == [1, 5, 10, 15, 20, 25, 30, 35, 40]
    assert all(v > 0 for _, v in curve(result, "grad_norm"))
    assert [s for s, _ in curve(result, "valid_accuracy")] == [20, 40]
    gates = {n.rsplit(".", 1)[1] for s, n, v in result.curves if n.startswith("grad.L0.")}
    assert {"W_f", "R_f", "p_f", "b_f", "W_z", "p_o"} <= gates
    # gradient through time: one value per step of the sequence (16 bits), the largest at
    # the scored last step, where the loss is
    profile = result.gradient_through_time["last"]
    assert len(profile) == 16 and max(profile) == profile[-1] and profile[0] < profile[-1]
    t = result.telemetry
    assert t["steps×batch/s"] > 0 and t["cell_parameters"] == 4 * (16 * 16 + 16 * 16 + 16) + 48
    assert t["backend"] == "native" and t["device"] == "cpu" and t["torch"] == torch.__version__
    assert set(result.test) == {"accuracy", "nll"} and result.best_step in (20, 40)


def test_removed_gates_have_no_gradient_entries() -> None:
    result = train(RunConfig(variant="nfg", task="parity", **TINY))
    names = {n for _, n, _ in result.curves}
    assert "grad.L0.W_i" in names and not any(n.endswith("_f") for n in names if "grad." in n)


def test_same_seed_same_curve_other_seed_other_curve() -> None:
    a = train(RunConfig(variant="gru", task="memory-add", seed=3, **TINY))
    b = train(RunConfig(variant="gru", task="memory-add", seed=3, **TINY))
    c = train(RunConfig(variant="gru", task="memory-add", seed=4, **TINY))
    assert curve(a, "train_loss") == curve(b, "train_loss") and a.test == b.test
    assert curve(a, "train_loss") != curve(c, "train_loss")


def test_a_diverging_run_is_a_result_at_chance_not_a_crash() -> None:
    config = RunConfig(
        variant="noaf", task="memory-add", optimizer="sgd", lr=90.0, momentum=0.99, **TINY
    )
    result = train(config)
    assert result.status == "diverged" and result.diverged
    assert result.test == result.chance and result.steps < 40
    assert (
        not math.isfinite(curve(result, "train_loss")[-1][1])
        or curve(result, "train_loss")[-1][1] > 100 * curve(result, "train_loss")[0][1]
    )


def test_patience_stops_early() -> None:
    config = RunConfig(
        variant="rnn", task="parity", hidden_size=8, steps=400, eval_every=10, patience=2, lr=1e-6
    )
    result = train(config)
    assert result.status == "complete" and result.steps < 400


def test_stateful_language_model_run() -> None:
    config = RunConfig(
        variant="np",
        task="lm",
        steps=30,
        eval_every=30,
        hidden_size=16,
        task_settings={"eval_tokens": 3000, "seq_len": 20},
    )
    result = train(config)
    assert result.test["bpc"] < result.chance["bpc"]  # it learned the character frequencies
    assert result.telemetry["backend"] == "fused"
    assert result.telemetry["task_source"]["corpus"] == "pysrc"


def test_overrides() -> None:
    config = apply_overrides(
        RunConfig(), ["steps=5", "lr=1", "task.seq_len=9", "cell.forget_bias=2.0", "optimizer=sgd"]
    )
    assert config.steps == 5 and config.lr == 1.0 and config.optimizer == "sgd"
    assert config.task_settings == {"seq_len": 9} and config.cell_options == {"forget_bias": 2.0}
    for bad, message in [
        ("steps=-1", "steps must be at least 1"),
        ("lr=1000", "lr must be"),
        ("momentum=1", "momentum must be"),
        ("nope=1", "unknown setting"),
        ("steps", "expects key=value"),
        ("hidden_size=2.5", "expects a whole number, got 2.5"),
    ]:
        with pytest.raises(ConfigError, match=message):
            apply_overrides(RunConfig(), [bad])


def test_run_command_prints_a_summary_line(tmp_path) -> None:
    run = ["run", "--variant", "cifg", "--task", "reber", "--seed", "2"]
    tiny = settings("steps=20", "eval_every=10", "hidden_size=8")
    out = harness(*run, *tiny, "--storage", str(tmp_path / "s.journal"))
    assert out.returncode == 0, out.stderr
    differences, line, stored = out.stdout.strip().splitlines()[-3:]
    assert differences.startswith(
        "settings that differ from the default grid's cifg on reber:"
        " hidden_size 8 (grid 32), steps 20 (grid 800)"
    )
    assert stored.startswith("stored as trial 0 of study runs-reber in ")
    assert line.startswith("cifg on reber (seed 2): test nll ") and "(chance 4.852)" in line
    assert " steps×batch/s, " in line and "population" not in line  # a run alone


def test_a_cpu_run_records_where_its_time_went() -> None:
    # each trial's share of its population's time, per phase, adds up to its trial_seconds
    config = tiny_config(steps=12, eval_every=6, task_settings={"seq_len": 10, "eval_size": 32})
    results = train_population([config, dataclasses.replace(config, seed=1)])
    for result in results:
        parts = {k: v for k, v in result.telemetry.items() if k.startswith("time.")}
        assert set(parts) == {f"time.{p}" for p in (*phases.ALL, phases.OUTSIDE)}
        assert all(v >= 0 for v in parts.values()) and parts["time.forward"] > 0
        assert sum(parts.values()) == pytest.approx(result.telemetry["trial_seconds"])
