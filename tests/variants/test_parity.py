"""`np`, `gru` and `rnn` compute exactly what torch's nn.LSTM, nn.GRU and nn.RNN compute.

Weights are copied from the torch module into the cell through the paper names; outputs,
final states and gradients (input, weights, biases) must agree to 1e-5 in float32, on the
generic loop and on the fused kernel.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.variants.helpers import make

T, B, M, N = 9, 4, 5, 7
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _blocks(t: torch.Tensor, k: int) -> list[torch.Tensor]:
    return list(t.detach().split(N))[:k]


def _lstm_pair(backend: str):
    ref = nn.LSTM(M, N)
    cell = make("np", backend, M, N)
    p = cell.paper_parameters()
    bias = ref.bias_ih_l0 + ref.bias_hh_l0
    with torch.no_grad():
        for g, w, r, b in zip(
            "ifzo", _blocks(ref.weight_ih_l0, 4), _blocks(ref.weight_hh_l0, 4), _blocks(bias, 4)
        ):
            p[f"W_{g}"].copy_(w), p[f"R_{g}"].copy_(r), p[f"b_{g}"].copy_(b)
    grads = {
        "weight_x": lambda: ref.weight_ih_l0.grad,
        "weight_h": lambda: ref.weight_hh_l0.grad,
        "bias": lambda: ref.bias_ih_l0.grad,
    }
    return ref, cell, grads


def _gru_pair(backend: str):
    ref = nn.GRU(M, N)
    cell = make("gru", backend, M, N)
    p = cell.paper_parameters()
    b_ih, b_hh = ref.bias_ih_l0.detach(), ref.bias_hh_l0.detach()
    with torch.no_grad():
        for k, g in enumerate("rzh"):
            p[f"W_{g}"].copy_(_blocks(ref.weight_ih_l0, 3)[k])
            p[f"R_{g}"].copy_(_blocks(ref.weight_hh_l0, 3)[k])
        p["b_r"].copy_(b_ih[:N] + b_hh[:N])
        p["b_z"].copy_(b_ih[N : 2 * N] + b_hh[N : 2 * N])
        p["b_h"].copy_(b_ih[2 * N :])
        p["b_Rh"].copy_(b_hh[2 * N :])
    grads = {
        "weight_x": lambda: ref.weight_ih_l0.grad,
        "weight_h": lambda: ref.weight_hh_l0.grad,
        "bias": lambda: ref.bias_ih_l0.grad,
        "bias_rh": lambda: ref.bias_hh_l0.grad[2 * N :],
    }
    return ref, cell, grads


def _rnn_pair(backend: str):
    ref = nn.RNN(M, N)
    cell = make("rnn", backend, M, N)
    p = cell.paper_parameters()
    with torch.no_grad():
        p["W"].copy_(ref.weight_ih_l0), p["R"].copy_(ref.weight_hh_l0)
        p["b"].copy_(ref.bias_ih_l0 + ref.bias_hh_l0)
    grads = {
        "weight_x": lambda: ref.weight_ih_l0.grad,
        "weight_h": lambda: ref.weight_hh_l0.grad,
        "bias": lambda: ref.bias_ih_l0.grad,
    }
    return ref, cell, grads


PAIRS = {"np": _lstm_pair, "gru": _gru_pair, "rnn": _rnn_pair}


@pytest.mark.parametrize("backend", ["generic", "fused"])
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_matches_torch_module_in_outputs_and_gradients(name: str, backend: str) -> None:
    ref, cell, ref_grads = PAIRS[name](backend)
    assert cell.backend == backend
    x = torch.randn(T, B, M)
    start = tuple(torch.randn(B, N) * 0.5 for _ in cell.state_names)
    x_ref, x_cell = x.clone().requires_grad_(), x.clone().requires_grad_()
    hx = start[0].unsqueeze(0) if len(start) == 1 else tuple(s.unsqueeze(0) for s in start)

    y_ref, s_ref = ref(x_ref, hx)
    y_cell, s_cell = cell(x_cell, start)
    torch.testing.assert_close(y_cell, y_ref, **TOL)
    s_ref = (s_ref,) if isinstance(s_ref, torch.Tensor) else s_ref
    for got, want in zip(s_cell, s_ref):
        torch.testing.assert_close(got, want[0], **TOL)

    weights = torch.randn(T, B, N)  # a loss that weighs every output differently
    ((y_ref * weights).sum() + s_ref[-1].sum()).backward()
    ((y_cell * weights).sum() + s_cell[-1].sum()).backward()
    torch.testing.assert_close(x_cell.grad, x_ref.grad, **TOL)
    # every parameter of the cell, stacked as torch stacks it, gets torch's gradient
    assert set(ref_grads) == {n for n, _ in cell.named_parameters()}
    for attribute, want in ref_grads.items():
        torch.testing.assert_close(getattr(cell, attribute).grad, want(), **TOL)
