"""Stacked trials: K cells as one (``variants.stack``) compute exactly what each computes
alone, in values and in every gradient, on every backend a stack can run on."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import backends, make, random_state, randomize

STACKABLE = [n for n in variants.names() if variants.info(n).builder.supports_trials]


def test_every_built_in_cell_stacks() -> None:
    assert STACKABLE == variants.names()


@pytest.mark.parametrize(
    ("name", "backend"), [(n, b) for n in STACKABLE for b in backends(n) if b != "fused"]
)
def test_a_stack_of_three_equals_three_cells(name: str, backend: str) -> None:
    torch.manual_seed(0)
    cells = [make(name, backend, 3, 5).double() for _ in range(3)]
    for cell in cells:
        randomize(cell)
    stacked = variants.stack(cells)
    stacked.backend = backend
    assert stacked.trials == 3 and stacked.weight_x.shape[0] == 3
    x = torch.randn(7, 3, 4, 3, dtype=torch.float64, requires_grad=True)
    states = [random_state(c, 4, torch.float64) for c in cells]
    state = tuple(torch.stack(parts).requires_grad_() for parts in zip(*states))
    y, final = stacked(x, state)
    assert y.shape == (7, 3, 4, 5) and all(s.shape == (3, 4, 5) for s in final)
    weights = torch.randn(5, dtype=torch.float64)
    loss = (y * weights).sum() + sum((s**2).sum() for s in final)
    grads = torch.autograd.grad(loss, [x, *state, *stacked.parameters()])
    for k, cell in enumerate(cells):
        x_k = x.detach()[:, k].clone().requires_grad_()
        state_k = tuple(s.detach()[k].clone().requires_grad_() for s in state)
        y_k, final_k = cell(x_k, state_k)
        torch.testing.assert_close(y[:, k], y_k, rtol=1e-10, atol=1e-12)
        for s, s_k in zip(final, final_k):
            torch.testing.assert_close(s[k], s_k, rtol=1e-10, atol=1e-12)
        loss_k = (y_k * weights).sum() + sum((s**2).sum() for s in final_k)
        grads_k = torch.autograd.grad(loss_k, [x_k, *state_k, *cell.parameters()])
        torch.testing.assert_close(grads[0][:, k], grads_k[0], rtol=1e-10, atol=1e-12)
        for g, g_k in zip(grads[1:], grads_k[1:]):
            torch.testing.assert_close(g[k], g_k, rtol=1e-10, atol=1e-12)
    # the paper's names still select the right pieces, per trial
    for pname, view in stacked.paper_parameters().items():
        torch.testing.assert_close(view[1], cells[1].paper_parameters()[pname])


def test_stack_refuses_mixed_cells() -> None:
    with pytest.raises(ValueError, match="one variant"):
        variants.stack([variants.build("lstm", 3, 4), variants.build("niaf", 3, 4)])
    with pytest.raises(ValueError, match="one variant"):
        variants.stack([variants.build("lstm", 3, 4), variants.build("lstm", 3, 5)])


def test_a_stack_checks_its_input_shape() -> None:
    stacked = variants.stack([variants.build("gru", 3, 4) for _ in range(2)])
    with pytest.raises(ValueError, match=r"\[T, 2, B, 3\]"):
        stacked(torch.randn(5, 4, 3))
