"""The native kernels (C, with a hand-written backward through time) against the torch loop
of the same equations, on longer sequences than the gradcheck uses, final state included."""

from __future__ import annotations

import copy

import pytest
import torch

import variants
from tests.variants.helpers import NATIVE, make, randomize, random_state
from variants import native


def test_the_kernels_compile_on_this_machine() -> None:
    # Without them every cell silently falls back to its torch loop, several times slower:
    # on a machine with a C compiler that is a performance bug, not a fallback.
    assert native.available(), native.status()
    assert all(variants.build(n, 3, 4).backend in ("native", "fused") for n in NATIVE)


@pytest.mark.parametrize("name", NATIVE)
def test_native_matches_the_torch_loop_in_values_and_every_gradient(name: str) -> None:
    slow = make(name, "generic", 3, 5).double()
    randomize(slow)
    fast = copy.deepcopy(slow)
    fast.backend = "native"
    x = torch.randn(9, 4, 3, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(slow, 4, torch.float64))
    weights = torch.randn(5, dtype=torch.float64)
    results = []
    for cell in (slow, fast):
        y, final = cell(x, state)
        # a loss on every output and on every part of the final state
        loss = (y * weights).sum() + sum((s ** 2).sum() * (k + 1) for k, s in enumerate(final))
        grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
        results.append([y, *final, *grads])
    for a, b in zip(*results):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


def test_native_keeps_the_weight_gradients_exact_in_float32_training() -> None:
    torch.manual_seed(1)
    slow = variants.build("lstm", 8, 16, backend="generic")
    fast = copy.deepcopy(slow)
    fast.backend = "native"
    x = torch.randn(40, 6, 8)
    for cell in (slow, fast):
        y, _ = cell(x)
        y.pow(2).mean().backward()
    for (name, a), b in zip(slow.named_parameters(), fast.parameters()):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-4, atol=1e-6, msg=name)


def test_without_a_compiler_cells_fall_back_to_the_torch_loop(tmp_path, monkeypatch) -> None:
    # A fresh process with no compiler on PATH and an empty cache: the cell still builds,
    # says it runs the torch loop, and computes the same numbers.
    import subprocess
    import sys
    env = {"PATH": str(tmp_path), "HARNESS_CACHE": str(tmp_path / "cache"), "CC": "",
           "HOME": str(tmp_path)}
    code = ("import torch, variants; from variants import native; "
            "c = variants.build('lstm', 3, 4); print(c.backend, native.available()); "
            "print(native.status())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out[0] == "generic False"
    assert "no C compiler" in out[1]
