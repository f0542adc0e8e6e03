"""The contract every registered cell keeps; parametrized over the registry, so a newly
registered cell is tested with no edit here."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import backends, make, random_state, randomize

CASES = [(n, b) for n in variants.names() for b in backends(n)]
IDS = [f"{n}-{b}" for n, b in CASES]
T, B, M, N = 7, 3, 5, 6


@pytest.mark.parametrize(("name", "backend"), CASES, ids=IDS)
def test_shapes_finite_and_state_layout(name: str, backend: str) -> None:
    cell = make(name, backend, M, N)
    y, state = cell(torch.randn(T, B, M))
    assert y.shape == (T, B, N)
    assert torch.isfinite(y).all()
    assert len(state) == len(cell.state_names)
    assert all(s.shape == (B, N) for s in state)
    # the first state element is the output of the last step
    torch.testing.assert_close(state[0], y[-1], rtol=0, atol=0)


@pytest.mark.parametrize(("name", "backend"), CASES, ids=IDS)
def test_every_parameter_receives_a_gradient(name: str, backend: str) -> None:
    cell = make(name, backend, M, N).double()
    randomize(cell)
    x = torch.randn(T, B, M, dtype=torch.float64)
    y, state = cell(x, random_state(cell, B, torch.float64))
    (y.pow(2).sum() + sum(s.sum() for s in state)).backward()
    for pname, p in cell.named_parameters():
        assert p.grad is not None, f"{name}: {pname} got no gradient"
        assert torch.isfinite(p.grad).all()
        assert p.grad.abs().sum() > 0, f"{name}: {pname} gradient is all zero"


@pytest.mark.parametrize(("name", "backend"), CASES, ids=IDS)
@pytest.mark.parametrize("split", [1, 3, 6])
def test_state_continuation(name: str, backend: str, split: int) -> None:
    cell = make(name, backend, M, N).double()
    randomize(cell)
    x = torch.randn(T, B, M, dtype=torch.float64)
    start = random_state(cell, B, torch.float64)
    y_all, s_all = cell(x, start)
    y_a, s_a = cell(x[:split], start)
    y_b, s_b = cell(x[split:], s_a)
    torch.testing.assert_close(torch.cat([y_a, y_b]), y_all, rtol=0, atol=1e-12)
    for got, want in zip(s_b, s_all):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", variants.names())
def test_paper_parameters_are_views_covering_every_parameter_once(name: str) -> None:
    cell = variants.build(name, M, N)
    views = cell.paper_parameters()
    trainable = [p for p in cell.parameters() if p.requires_grad]
    assert sum(v.numel() for v in views.values()) == sum(p.numel() for p in trainable)
    # Write a distinct number into every element through the views: if the views cover
    # every parameter element exactly once, the parameters now hold 0..total-1 once each.
    with torch.no_grad():
        start = 0
        for v in views.values():
            v.copy_(torch.arange(start, start + v.numel(), dtype=v.dtype).view_as(v))
            start += v.numel()
    values = torch.cat([p.detach().flatten() for p in trainable]).sort().values
    torch.testing.assert_close(values, torch.arange(start, dtype=values.dtype), rtol=0, atol=0)
    # and the cell's output depends on what was written
    before = cell(torch.ones(2, 1, M))[0]
    with torch.no_grad():
        for v in views.values():
            v.mul_(-1e-3)
    assert not torch.equal(before, cell(torch.ones(2, 1, M))[0])


@pytest.mark.parametrize("name", variants.names())
def test_wrong_input_or_state_shape_is_a_clear_error(name: str) -> None:
    cell = variants.build(name, M, N)
    with pytest.raises(ValueError, match=rf"\[T, B, {M}\]"):
        cell(torch.randn(T, B, M + 1))
    with pytest.raises(ValueError, match="state"):
        cell(torch.randn(T, B, M), tuple(torch.zeros(B + 1, N) for _ in cell.state_names))


@pytest.mark.parametrize("name", variants.names())
def test_empty_sequence_returns_the_state_unchanged(name: str) -> None:
    cell = variants.build(name, M, N)
    start = random_state(cell, B, torch.float32)
    y, state = cell(torch.randn(0, B, M), start)
    assert y.shape == (0, B, N)
    assert all(torch.equal(a, b) for a, b in zip(state, start))
