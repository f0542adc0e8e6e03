"""The gradient through time is the total derivative dLoss/dh_t through the recurrence, on
every backend and in a stacked population: checked against a step-by-step reference that
chains each step's vector-Jacobian product backwards, in float64, on a loss scored at the
last step only (where the output head sees no earlier step, so every earlier lag comes from
the recurrence alone)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import variants
from harness.training.model import through_layers
from harness.training.telemetry import gradient_through_time_of

T, B, M, N = 9, 3, 4, 6


def _reference(cell, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """dLoss/dh_t for loss = sum(head · h_T)²: a forward step by step, then the backward
    recursion g_t = ∂loss/∂h_t (direct, at T only) + (∂state_{t+1}/∂h_t)ᵀ g_{t+1}, with
    the cotangents of the whole state carried along."""
    states, state = [], None
    for t in range(x.shape[0]):
        _, state = cell(x[t : t + 1], state)
        states.append(tuple(s.detach() for s in state))
    last = states[-1][0].clone().requires_grad_(True)
    (direct,) = torch.autograd.grad(((last * head).sum(-1) ** 2).sum(), last)
    cotangent = [direct, *(torch.zeros_like(s) for s in states[-1][1:])]
    grads = [direct]
    for t in range(x.shape[0] - 1, 0, -1):
        given = tuple(s.clone().requires_grad_(True) for s in states[t - 1])
        _, after = cell(x[t : t + 1], given)
        cotangent = list(torch.autograd.grad(after, given, cotangent, allow_unused=True))
        cotangent = [torch.zeros_like(g) if c is None else c for c, g in zip(cotangent, given)]
        grads.append(cotangent[0])
    return torch.stack(grads[::-1])


def _probed(cells, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    hidden: list[torch.Tensor] = []
    h, _ = through_layers(nn.ModuleList(cells), x, None, hidden)
    ((h[-1] * head).sum(-1) ** 2).sum().backward()
    return hidden[0].grad


@pytest.mark.parametrize(
    "name, backend",
    [
        ("lstm", "native"),
        ("lstm", "generic"),
        ("np", "fused"),
        ("gru", "native"),
        ("gru", "generic"),
        ("rnn", "native"),
        ("nas", "native"),
        ("nas", "generic"),
        ("fgr", "native"),
        ("cifg", "native"),
    ],
)
def test_the_probe_is_the_total_derivative_through_the_recurrence(name: str, backend: str) -> None:
    torch.manual_seed(0)
    cell = variants.build(name, M, N, backend=backend).double()
    x = torch.randn(T, B, M, dtype=torch.float64)
    head = torch.randn(N, dtype=torch.float64)
    probed = _probed([cell], x, head)
    reference = _reference(cell, x, head)
    assert probed.shape == (T, B, N)
    assert torch.allclose(probed, reference, rtol=0, atol=1e-10)
    assert all(v > 0 for v in gradient_through_time_of(probed))  # every lag reached


def test_the_probe_of_a_stacked_population_is_each_trial_s_own() -> None:
    torch.manual_seed(1)
    cells = [variants.build("lstm", M, N).double() for _ in range(3)]
    x = torch.randn(T, B, M, dtype=torch.float64)
    head = torch.randn(N, dtype=torch.float64)
    stacked = variants.stack(cells)
    probed = _probed([stacked], x.unsqueeze(1).expand(T, 3, B, M).contiguous(), head)
    for k, cell in enumerate(cells):
        alone = _reference(cell, x, head)
        assert torch.allclose(probed[:, k], alone, rtol=0, atol=1e-10)


def test_an_untrained_rnn_forgets_faster_than_an_lstm_with_forget_bias() -> None:
    torch.manual_seed(2)
    steps = 60
    x = torch.randn(steps, 16, M)
    head = torch.randn(32)
    decay = {}
    for name in ("rnn", "lstm-b"):
        profile = gradient_through_time_of(_probed([variants.build(name, M, 32)], x, head))
        decay[name] = profile[0] / profile[-1]  # 59 steps back against the scored step
    assert decay["rnn"] < decay["lstm-b"] / 10, decay
