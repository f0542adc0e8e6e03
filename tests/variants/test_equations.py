"""Every preset computes its paper's equations: a float64 step-by-step reference written from
the equations alone (tests/variants/reference.py, one matmul per paper parameter) matches the
cell to 1e-10, with random parameters set through ``paper_parameters()`` and a non-zero
initial state, on every backend."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import backends, make, random_state, randomize
from tests.variants.reference import expected_param_names, reference

T, B = 6, 2
# (name, input size, hidden size, options): M != N everywhere, plus the options that change
# the equations' parameters (MUT1/MUT2 without projection need M == N; NAS with bias).
CASES = [(n, 3, 4, {}) for n in variants.names()] + [
    ("mut1", 4, 4, {}),
    ("mut2", 4, 4, {}),
    ("mut1", 4, 4, {"project_input": True}),
    ("mut2", 4, 4, {"project_input": True}),
    ("nas", 3, 4, {"use_bias": True}),
]
RUNS = [(n, m, k, o, b) for n, m, k, o in CASES for b in backends(n)]


@pytest.mark.parametrize(
    ("name", "m", "n", "options", "backend"),
    RUNS,
    ids=[f"{r[0]}-{r[1]}x{r[2]}-{r[4]}{'-' if r[3] else ''}{','.join(r[3])}" for r in RUNS],
)
def test_cell_matches_equations(name: str, m: int, n: int, options: dict, backend: str) -> None:
    cell = make(name, backend, m, n, **options).double()
    assert set(cell.paper_parameters()) == expected_param_names(name, m, n, **options)
    randomize(cell, scale=0.7)
    x = torch.randn(T, B, m, dtype=torch.float64)
    start = random_state(cell, B, torch.float64)
    with torch.no_grad():
        y, state = cell(x, start)
        params = {k: v.clone() for k, v in cell.paper_parameters().items()}
        y_ref, state_ref = reference(name, params, x, start, **options)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-10)
    assert len(state) == len(state_ref)
    for got, want in zip(state, state_ref):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-10)
