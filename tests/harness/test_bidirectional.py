"""Bidirectional layers (``bidirectional=true``): a layer is a forward cell on the sequence and
a backward cell on it reversed within each sequence's valid length; a stack of trials gives
each what it gives alone; the tasks whose targets are the next input refuse it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

import tasks
import variants
from harness.plans.config import _LATER_SETTINGS, ConfigError, RunConfig
from harness.training.model import Bidirectional, SequenceModel, TrialStack, reverse, valid_lengths
from harness.training.train import train, train_population
from tests.harness.configs import tiny_config
from tests.harness.test_population import _assert_same
from tests.variants.helpers import backends, make, randomize

VARIANTS = ("lstm", "gru", "rnn", "nas")
M, N, T, B = 3, 4, 7, 5
LENGTHS = torch.tensor([7, 3, 5, 1, 6])  # per row; row 0 is full length


def _by_hand(ahead, back, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The reference: each row's backward pass on its own valid steps, flipped by hand."""
    h_ahead, _ = ahead(x)
    rows = []
    for b, length in enumerate(lengths.tolist()):
        h_back, _ = back(x[:length, b : b + 1].flip(0))
        rows.append(
            torch.cat([h_back.flip(0), h_back.new_zeros(T - length, 1, N)])
        )  # padding: not compared
    return torch.cat([h_ahead, torch.cat(rows, 1)], -1)


def _valid(lengths: torch.Tensor) -> torch.Tensor:
    return (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).unsqueeze(-1).double()


@pytest.mark.parametrize("name,backend", [(n, b) for n in VARIANTS for b in backends(n)])
@pytest.mark.parametrize("full", [True, False], ids=["full", "variable"])
def test_a_layer_is_a_forward_pass_and_a_reversed_one(float64, name, backend, full) -> None:
    torch.manual_seed(0)
    ahead, back = make(name, backend, M, N), make(name, backend, M, N)
    randomize(ahead), randomize(back)
    layer = Bidirectional(ahead, back)
    lengths = torch.full((B,), T) if full else LENGTHS
    weights = torch.randn(T, B, 2 * N) * _valid(lengths).expand(T, B, 2 * N)
    weights[..., :N] = torch.randn(T, B, N)  # the forward half counts on every step
    x = torch.randn(T, B, M, requires_grad=True)

    out, state = layer(x, None, None if full else lengths)
    assert out.shape == (T, B, 2 * N) and len(state) == 2 * len(ahead.state_names)
    (out * weights).sum().backward()
    got = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    layer.zero_grad(), x.grad.zero_()

    expected = _by_hand(ahead, back, x, lengths)
    (expected * weights).sum().backward()
    mask = weights != 0
    assert torch.allclose(out[mask], expected[mask], atol=1e-12)
    for a, b in zip(got, [x.grad] + [p.grad for p in layer.parameters()]):
        assert torch.allclose(a, b, atol=1e-10)


def test_reversal_stays_inside_each_valid_length() -> None:
    x = torch.arange(T).view(T, 1, 1).expand(T, B, 1).double()
    out = reverse(x, LENGTHS)[..., 0].t().long().tolist()
    assert out[1] == [2, 1, 0, 3, 4, 5, 6]  # length 3: the first three reversed, padding kept
    assert out[3] == list(range(T))  # length 1
    assert out[0] == list(range(T))[::-1]
    assert torch.equal(reverse(reverse(x, LENGTHS), LENGTHS), x)
    # the valid length is up to the last scored step (a sequence's padding is unscored)
    mask = torch.zeros(T, 3, dtype=torch.bool)
    mask[2, 0], mask[0, 0], mask[6, 1] = True, True, True
    assert valid_lengths(mask).tolist() == [3, 7, 0]


def _model(seed: int, variant: str = "lstm", **options) -> SequenceModel:
    torch.manual_seed(seed)
    io = tasks.IO("features", M, "classes", 2, "per-step")
    return SequenceModel(io, variant, N, layers=2, bidirectional=True, **options)


@pytest.mark.parametrize("variant", ["lstm", "gru"])
def test_a_stack_of_three_gives_each_trial_what_it_gives_alone(float64, variant) -> None:
    alone = [_model(seed, variant) for seed in range(3)]
    stack = TrialStack([_model(seed, variant) for seed in range(3)], [0, 1, 2])
    x = torch.randn(T, 3, B, M)
    lengths = torch.stack([LENGTHS, LENGTHS.flip(0), torch.full((B,), T)])
    out, _ = stack(x, None, lengths=lengths)
    out.square().sum().backward()
    grads = [p.grad for p in stack.parameters()]
    for k, model in enumerate(alone):
        own, _ = model(x[:, k], None, lengths=lengths[k])
        assert torch.allclose(out[:, k], own, atol=1e-12)  # the padding's steps too
        own.square().sum().backward()
        # same parameter order: the stack's parameters are the trials' stacked
        for g, p in zip(
            grads[2:], [p for n, p in model.named_parameters() if n.startswith("cells.")]
        ):
            assert torch.allclose(g[k], p.grad, atol=1e-10)


def test_parameters_are_greffs_counts_for_bidirectional_networks() -> None:
    model = _model(0)  # 2 layers, input M, hidden N, 2 outputs
    one = variants.count_parameters(variants.build("lstm", M, N))
    upper = variants.count_parameters(variants.build("lstm", 2 * N, N))
    assert sum(variants.count_parameters(c) for c in model.cells) == 2 * one + 2 * upper
    assert model.head.weight.shape == (2, 2 * N)


def test_a_bidirectional_population_trains_each_trial_as_alone(float64) -> None:
    """Variable lengths (parity from 4 bits) through training, held-out scoring and the
    gradient probe (on the forward direction: N wide)."""
    lengths = {"seq_len": 10, "min_len": 4, "eval_size": 64}
    sgd = dict(optimizer="sgd", steps=12, eval_every=6, log_every=3)
    base = tiny_config(
        variant="gru", hidden_size=6, bidirectional=True, task_settings=lengths, **sgd
    )
    configs = [dataclasses.replace(base, seed=s, lr=lr) for s, lr in ((0, 0.3), (1, 0.1), (2, 0.5))]
    together = train_population(configs)
    for config, result in zip(configs, together):
        _assert_same(train(config), result)
    cell = variants.count_parameters(variants.build("gru", 6, 6))
    assert together[0].telemetry["cell_parameters"] == 2 * cell
    assert together[0].telemetry["parameters"] == 2 * cell + 2 * 6 + 2 * 12 + 2
    assert any(name.endswith("~") for _, name, _ in together[0].curves)  # backward grads
    # differs from the causal run
    causal = train(dataclasses.replace(configs[0], bidirectional=False))
    assert causal.curves != together[0].curves


def test_run_keys_of_causal_runs_are_unchanged() -> None:
    causal = RunConfig(task="parity")
    settings = dataclasses.asdict(causal)
    del settings["bidirectional"]  # a key made before the setting existed
    assert causal.key == dataclasses.replace(causal).key
    assert dataclasses.replace(causal, bidirectional=True).key != causal.key
    for k, default in _LATER_SETTINGS.items():
        if settings.get(k) == default:
            settings.pop(k)
    old = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    assert causal.key == old.hexdigest()[:16]


@pytest.mark.parametrize("task", ["lm", "music", "reber"])
def test_tasks_that_predict_the_next_input_refuse_it(task) -> None:
    assert tasks.info(task).cls.predicts_next
    with pytest.raises(ConfigError, match="next input"):
        RunConfig(task=task, bidirectional=True)


def test_the_command_line_refuses_bidirectional_lm_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "--task",
            "lm",
            "--set",
            "bidirectional=true",
            "--storage",
            str(tmp_path / "r.journal"),
        ],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=120,
        env=env,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr[-1500:]
    assert len(lines) == 1 and "bidirectional" in lines[0] and "next input" in lines[0], lines
    assert not (tmp_path / "r.journal").exists()


def test_task_tables_name_the_architecture_only_where_a_grid_has_bidirectional_runs() -> None:
    from results.analysis import summary

    def runs(bidirectional: list[bool]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "task": "parity",
                    "variant": "lstm",
                    "seed": s,
                    "test": x,
                    "chance": 50.0,
                    "lower_is_better": False,
                    "bidirectional": b,
                    "cell_parameters": 100 * (1 + b),
                    "backend": "native",
                    "steps×batch/s": 1.0,
                    "status": "complete",
                }
                for b in bidirectional
                for s, x in enumerate([60.0 + 30 * b] * 2)
            ]
        )

    causal = summary.task_table(runs([False]), "parity")
    assert "bidirectional" not in causal.columns and len(causal) == 1
    both = summary.task_table(runs([False, True]), "parity").set_index("bidirectional")
    assert both.loc[True, "median"] == 90.0 and both.loc[False, "median"] == 60.0
    assert both.loc[True, "params"] == 200
    assert "bidirectional" in set(summary.glossary(list(both.reset_index().columns))["column"])
