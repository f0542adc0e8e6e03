"""The NAS cell on the native kernels (``variants/nas_native.py``, ``kernels/nas.h``) against
its torch loop, with and without the recurrent bias (the tests over every registered cell,
test_native, test_gradcheck and test_stack, build it without)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import functional_call

import variants
from tests.variants.helpers import random_state, randomize
from variants import nas_native, native


def _pair(use_bias: bool, dtype: torch.dtype, m: int = 3, n: int = 5):
    slow = variants.build("nas", m, n, use_bias=use_bias, backend="generic").to(dtype)
    randomize(slow)
    fast = copy.deepcopy(slow)
    fast.backend = "native"
    return slow, fast


def _loss(y: torch.Tensor, final: tuple, weights: torch.Tensor) -> torch.Tensor:
    """A loss on every output and on both parts of the final state (m, c)."""
    return (y * weights).sum() + sum((s**2).sum() * (k + 1) for k, s in enumerate(final))


@pytest.mark.parametrize("use_bias", [False, True])
def test_native_equals_the_torch_loop_in_float32(use_bias: bool) -> None:
    torch.manual_seed(3)
    slow, fast = _pair(use_bias, torch.float32)
    assert variants.build("nas", 3, 5, use_bias=use_bias).backend == "native"
    x = torch.randn(12, 4, 3, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(slow, 4, torch.float32))
    weights = torch.randn(5)
    results = []
    for cell in (slow, fast):
        y, final = cell(x, state)
        grads = torch.autograd.grad(_loss(y, final, weights), [x, *state, *cell.parameters()])
        results.append([y, *final, *grads])
    names = ["y", "m_T", "c_T", "x", "m0", "c0"] + [n for n, _ in slow.named_parameters()]
    assert len(names) == len(results[0]) == 8 + use_bias
    for name, a, b in zip(names, *results):
        torch.testing.assert_close(b, a, rtol=2e-5, atol=2e-6, msg=name)


def test_gradcheck_with_the_bias() -> None:
    torch.manual_seed(4)
    _, cell = _pair(True, torch.float64, 3, 4)
    names = [k for k, _ in cell.named_parameters()]
    params = [p.detach().clone().requires_grad_() for _, p in cell.named_parameters()]
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    state = [s.requires_grad_() for s in random_state(cell, 2, torch.float64)]

    def run(x, m0, c0, *rest):
        y, final = functional_call(cell, dict(zip(names, rest)), (x, (m0, c0)))
        return (y, *final)

    assert torch.autograd.gradcheck(run, (x, *state, *params), eps=1e-6, atol=1e-5)


def test_a_stack_with_the_bias_equals_each_trial_alone() -> None:
    torch.manual_seed(5)
    cells = [_pair(True, torch.float64)[1] for _ in range(3)]
    stacked = variants.stack(cells)
    assert stacked.backend == "native" and stacked.trials == 3
    x = torch.randn(6, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    states = [random_state(c, 2, torch.float64) for c in cells]
    state = tuple(torch.stack(parts).requires_grad_() for parts in zip(*states))
    weights = torch.randn(5, dtype=torch.float64)
    y, final = stacked(x, state)
    grads = torch.autograd.grad(_loss(y, final, weights), [x, *state, *stacked.parameters()])
    for k, cell in enumerate(cells):
        x_k = x.detach()[:, k].clone().requires_grad_()
        state_k = tuple(s.detach()[k].clone().requires_grad_() for s in state)
        y_k, final_k = cell(x_k, state_k)
        grads_k = torch.autograd.grad(
            _loss(y_k, final_k, weights), [x_k, *state_k, *cell.parameters()]
        )
        torch.testing.assert_close(y[:, k], y_k, rtol=1e-10, atol=1e-12)
        for s, s_k in zip(final, final_k):
            torch.testing.assert_close(s[k], s_k, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grads[0][:, k], grads_k[0], rtol=1e-10, atol=1e-12)
        for g, g_k in zip(grads[1:], grads_k[1:]):
            torch.testing.assert_close(g[k], g_k, rtol=1e-10, atol=1e-12)


def test_the_struct_matches_the_library_and_other_inputs_take_the_torch_loop() -> None:
    native.check_layout(native.library(), nas_native._Step, "nas_step")
    cell = variants.build("nas", 3, 4)
    assert cell.runs_on(torch.zeros(2, 1, 3)) == "native"
    assert cell.runs_on(torch.zeros(2, 1, 3, dtype=torch.bfloat16)) == "generic"
    y, (m, c) = cell.to(torch.bfloat16)(torch.zeros(2, 1, 3, dtype=torch.bfloat16))
    assert y.shape == (2, 1, 4) and m.dtype == c.dtype == torch.bfloat16


def test_without_the_kernels_nas_builds_on_its_torch_loop(monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_NATIVE", "0")
    assert variants.build("nas", 3, 4).backend == "generic"
    assert variants.build("nas", 3, 4, backend="native").backend == "generic"
