"""A learning rate means something only with its loss and its update: the per-sequence summed
loss of Greff et al.'s library, and pylstm's NesterovStep, which steps by lr × (1 - momentum)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from harness.plans import spaces
from harness.plans.config import ConfigError, RunConfig
from harness.training.evaluate import stack_batches
from harness.training.model import TrialStack
from harness.training.optim import TrialOptimizer
from harness.training.train import build_model, build_task, objective_of, step_size, train

T, B = 12, 4


def _gradients(config: RunConfig, trials: int) -> list[torch.Tensor]:
    """Gradients of the training objective of ``trials`` stacked runs, in float64."""
    configs = [dataclasses.replace(config, seed=k) for k in range(trials)]
    task = build_task(config)
    model = TrialStack(
        [build_model(c, task, torch.device("cpu")) for c in configs], [c.seed for c in configs]
    ).double()
    batch = stack_batches([next(task.batches("train", c.seed)) for c in configs])
    outputs, _ = model(batch.x)
    objective = objective_of(task.losses(outputs.double(), batch), batch, task, config)
    model.zero_grad()
    objective.sum().backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize(
    ("variant", "backend", "trials"),
    [
        ("lstm", "generic", 1),
        ("lstm", "native", 1),
        ("lstm", "native", 3),
        ("lstm", "generic", 2),
        ("np", "fused", 1),
        ("gru", "native", 3),
        ("rnn", "generic", 2),
        ("nas", None, 2),
    ],
)
def test_the_summed_loss_has_t_times_the_gradient_of_the_mean(
    variant: str, backend: str | None, trials: int
) -> None:
    """Language modelling on windows of T characters, every step scored: summed over a
    window and averaged over windows, the loss is T times the mean per step, and so is
    every gradient, on every backend and in a population."""
    config = RunConfig(
        variant=variant,
        task="lm",
        hidden_size=6,
        batch_size=B,
        cell_options={"backend": backend} if backend else {},
        task_settings={"seq_len": T, "eval_tokens": 200},
    )
    mean = _gradients(config, trials)
    summed = _gradients(dataclasses.replace(config, loss_reduction="sum"), trials)
    for m, s in zip(mean, summed):
        torch.testing.assert_close(s, T * m, rtol=1e-12, atol=1e-15)
        assert m.abs().max() > 0


def test_the_sum_counts_outputs_and_halves_squared_error_as_pylstm() -> None:
    """Scale = scored outputs per sequence: the music roll sums its 88 labels already; a
    squared error is summed over outputs and halved (pylstm's 0.5 Σ (y - t)²)."""
    task = build_task(
        RunConfig(
            task="memory-add",
            batch_size=3,
            task_settings={"seq_len": 10, "queries": 2, "reset": True, "every_step": True},
        )
    )
    batch = stack_batches([next(task.batches("train", 0))])
    assert task.sequence_scale(batch).tolist() == [10 * 1 / 2]
    parity = build_task(RunConfig(task="parity", batch_size=5))
    one = stack_batches([next(parity.batches("train", 0))])
    assert parity.sequence_scale(one).tolist() == [1.0]  # one scored step a sequence


def test_pylstm_steps_by_lr_times_one_minus_momentum() -> None:
    sgd = RunConfig(optimizer="sgd", momentum=0.9, momentum_scaled_lr=True)
    assert step_size(0.01, sgd) == pytest.approx(0.001)
    assert step_size(0.01, dataclasses.replace(sgd, momentum_scaled_lr=False)) == 0.01
    with pytest.raises(ConfigError, match="momentum_scaled_lr applies to optimizer='sgd'"):
        RunConfig(optimizer="adam", momentum_scaled_lr=True)
    with pytest.raises(ConfigError, match="loss_reduction must be one of mean, sum"):
        RunConfig(loss_reduction="total")


def test_a_scaled_step_is_pylstms_nesterov_step() -> None:
    """pylstm's NesterovStep, written out (velocity v, dv = (1 - mu) lr g at the look-ahead
    point), visits the same look-ahead points as torch's Nesterov SGD with lr (1 - mu) lr."""
    torch.manual_seed(0)
    target = torch.randn(5, dtype=torch.float64)
    lr, mu = 0.3, 0.8

    def grad(p: torch.Tensor) -> torch.Tensor:  # of 0.5 |p - target|^2 · (1 + |p|²)
        p = p.detach().requires_grad_()
        (0.5 * (p - target).pow(2).sum() * (1 + p.pow(2).sum())).backward()
        return p.grad

    theta, v = torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    looked = []
    for _ in range(6):  # pylstm: velocity *= mu; params += velocity; gradient there
        v = mu * v
        theta = theta + v
        looked.append(theta.clone())
        dv = (1 - mu) * lr * grad(theta)
        v, theta = v - dv, theta - dv
    p = torch.zeros(1, 5, dtype=torch.float64, requires_grad=True)
    optimizer = TrialOptimizer(
        [p],
        "sgd",
        torch.tensor(
            [step_size(lr, RunConfig(optimizer="sgd", momentum=mu, momentum_scaled_lr=True))],
            dtype=torch.float64,
        ),
        torch.tensor([mu], dtype=torch.float64),
        torch.tensor([float("inf")]),
    )
    for k in range(6):  # torch's parameters are the look-ahead points
        torch.testing.assert_close(p.detach()[0], looked[k], rtol=1e-12, atol=1e-14)
        p.grad = grad(p.detach()[0]).unsqueeze(0)
        optimizer.step(torch.tensor([True]))


def test_the_greff_space_fixes_greffs_loss_and_update() -> None:
    drawn = spaces.get("greff").draw(0, 3)
    assert drawn["loss_reduction"] == "sum" and drawn["momentum_scaled_lr"] is True
    assert "loss_reduction" not in spaces.get("adam").draw(0, 3)


def test_a_grid_run_keeps_the_mean_and_a_budget_in_sequences_sets_the_steps() -> None:
    result = train(
        RunConfig(
            variant="rnn",
            task="parity",
            hidden_size=4,
            batch_size=8,
            sequences=20,
            eval_every=2,
            task_settings={"seq_len": 12, "eval_size": 32},
        )
    )
    assert result.steps == 3  # 20 sequences in batches of 8
    assert result.config["loss_reduction"] == "mean" and result.config["sequences"] == 20
