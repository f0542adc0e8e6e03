"""Finite differences agree with autograd (float64) for every variant and backend, with
respect to the input, the initial state and every parameter."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

import variants
from tests.variants.helpers import backends, make, random_state, randomize

CASES = [(n, b) for n in variants.names() for b in backends(n)]


@pytest.mark.parametrize(("name", "backend"), CASES, ids=[f"{n}-{b}" for n, b in CASES])
def test_gradcheck(name: str, backend: str) -> None:
    t, b, m, n = 3, 2, 3, 4
    cell = make(name, backend, m, n).double()
    randomize(cell)
    names = [k for k, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in cell.named_parameters()]
    x = torch.randn(t, b, m, dtype=torch.float64, requires_grad=True)
    state = [s.requires_grad_() for s in random_state(cell, b, torch.float64)]
    k = len(state)

    def run(x, *rest):
        y, final = functional_call(cell, dict(zip(names, rest[k:])), (x, tuple(rest[:k])))
        return (y,) + tuple(final)

    assert torch.autograd.gradcheck(run, (x, *state, *params), eps=1e-6, atol=1e-5)
