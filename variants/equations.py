"""The built-in cells' paper equations, one time step at a time, with every activation named.

The cells themselves run on stacked, fused or native kernels that never show a gate; these
steps are written straight from the papers (one explicit matmul per paper parameter, nothing
stacked or fused) so that each line can be checked against the equations by eye. They serve
twice, through each cell class's ``paper`` (``variants.paper``): the test suite's float64
oracle (``tests/variants/reference.py``) checks every cell against them, and
``variants.probe`` runs them over a trained cell's paper parameters to look at its gates.
One copy of the equations for both, so what the probe shows is what the tests proved the
cells compute. A cell family of your own writes its step in its own file.

Conventions: ``p`` maps paper names to tensors (input matrices ``N x M``, recurrent ``N x
N``, vectors ``N``; ``W`` acts as ``W @ x_t``, i.e. ``x_t @ W.T`` in batched form); ``x`` is
one step ``[B, M]``; a trailing underscore is the value at t-1. Each step returns a dict of
named ``[B, N]`` values: its gates, its block input or candidate, ``c`` where the cell has a
cell state and ``h`` (the output, which is also the first state element).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

Values = dict[str, Tensor]

# NAS's sigmoid nodes (Zoph & Le 2017's tree, layer_node): the gates of a cell without names
NAS_SIGMOIDS = ("l1_0", "l1_2", "l1_5", "l1_7", "l2_3")


def _mm(W: Tensor, v: Tensor) -> Tensor:
    """W @ v for a batch of row vectors v [B, K] with W [N, K] -> [B, N]."""
    return v @ W.T


def _sigmoid(a: Tensor) -> Tensor:
    return 1.0 / (1.0 + torch.exp(-a))


def _identity(a: Tensor) -> Tensor:
    return a


# --------------------------------------------------------------------------- #
# single steps, straight from the equations
# --------------------------------------------------------------------------- #
def lstm_step(
    opts: dict[str, Any],
    p: dict[str, Tensor],
    x: Tensor,
    y_: Tensor,
    c_: Tensor,
    i_: Tensor | None,
    f_: Tensor | None,
    o_: Tensor | None,
) -> Values:
    """One LSTM-family step (Greff et al. 2017's vanilla LSTM and its variants). A gate the
    variant lacks is the constant 1 (and ``f`` is ``1 - i`` when coupled)."""
    g = _identity if opts["input_activation"] == "identity" else torch.tanh
    h = _identity if opts["output_activation"] == "identity" else torch.tanh
    peep = opts["peepholes"]
    fgr = opts["gate_recurrence"]
    one = torch.ones_like(c_)

    # block input
    z = g(_mm(p["W_z"], x) + _mm(p["R_z"], y_) + p["b_z"])

    def gate(name: str, seen: Tensor) -> Tensor:
        """σ(W x + R y' + b), + p ⊙ ``seen`` with peepholes, + the previous gates' R's
        with full gate recurrence."""
        a = _mm(p[f"W_{name}"], x) + _mm(p[f"R_{name}"], y_) + p[f"b_{name}"]
        if peep:
            a = a + p[f"p_{name}"] * seen
        if fgr:
            a = a + _mm(p[f"R_i{name}"], i_) + _mm(p[f"R_f{name}"], f_) + _mm(p[f"R_o{name}"], o_)
        return _sigmoid(a)

    i = gate("i", c_) if opts["input_gate"] else one
    if opts["coupled"]:
        f = 1.0 - i
    else:
        f = gate("f", c_) if opts["forget_gate"] else one
    c = z * i + c_ * f  # cell
    o = gate("o", c) if opts["output_gate"] else one  # its peephole sees the NEW cell state

    # block output
    y = h(c) * o
    return {"z": z, "i": i, "f": f, "o": o, "c": c, "h": y}


def gru_step(p: dict[str, Tensor], x: Tensor, h_: Tensor) -> Values:
    """cuDNN's GRU: the reset gate scales the recurrent product (with its own bias)."""
    r = _sigmoid(_mm(p["W_r"], x) + _mm(p["R_r"], h_) + p["b_r"])
    z = _sigmoid(_mm(p["W_z"], x) + _mm(p["R_z"], h_) + p["b_z"])
    n = torch.tanh(_mm(p["W_h"], x) + p["b_h"] + r * (_mm(p["R_h"], h_) + p["b_Rh"]))
    return {"r": r, "z": z, "n": n, "h": (1.0 - z) * n + z * h_}


def gru_cho_step(p: dict[str, Tensor], x: Tensor, h_: Tensor) -> Values:
    """Cho et al. 2014's GRU: the reset gate scales h_{t-1} before the product."""
    r = _sigmoid(_mm(p["W_r"], x) + _mm(p["R_r"], h_) + p["b_r"])
    z = _sigmoid(_mm(p["W_z"], x) + _mm(p["R_z"], h_) + p["b_z"])
    n = torch.tanh(_mm(p["W_h"], x) + _mm(p["R_h"], r * h_) + p["b_h"])
    return {"r": r, "z": z, "n": n, "h": (1.0 - z) * h_ + z * n}


def rnn_step(p: dict[str, Tensor], x: Tensor, h_: Tensor) -> Values:
    return {"h": torch.tanh(_mm(p["W"], x) + _mm(p["R"], h_) + p["b"])}


def mut1_step(p: dict[str, Tensor], x: Tensor, h_: Tensor, project: bool) -> Values:
    x_hat = _mm(p["P"], x) if project else x
    z = _sigmoid(_mm(p["W_xz"], x) + p["b_z"])
    r = _sigmoid(_mm(p["W_xr"], x) + _mm(p["W_hr"], h_) + p["b_r"])
    n = torch.tanh(_mm(p["W_hh"], r * h_) + torch.tanh(x_hat) + p["b_h"])
    return {"z": z, "r": r, "n": n, "h": n * z + h_ * (1.0 - z)}


def mut2_step(p: dict[str, Tensor], x: Tensor, h_: Tensor, project: bool) -> Values:
    x_hat = _mm(p["P"], x) if project else x
    z = _sigmoid(_mm(p["W_xz"], x) + _mm(p["W_hz"], h_) + p["b_z"])
    r = _sigmoid(x_hat + _mm(p["W_hr"], h_) + p["b_r"])
    n = torch.tanh(_mm(p["W_hh"], r * h_) + _mm(p["W_xh"], x) + p["b_h"])
    return {"z": z, "r": r, "n": n, "h": n * z + h_ * (1.0 - z)}


def mut3_step(p: dict[str, Tensor], x: Tensor, h_: Tensor) -> Values:
    z = _sigmoid(_mm(p["W_xz"], x) + _mm(p["W_hz"], torch.tanh(h_)) + p["b_z"])
    r = _sigmoid(_mm(p["W_xr"], x) + _mm(p["W_hr"], h_) + p["b_r"])
    n = torch.tanh(_mm(p["W_hh"], r * h_) + _mm(p["W_xh"], x) + p["b_h"])
    return {"z": z, "r": r, "n": n, "h": n * z + h_ * (1.0 - z)}


def nas_step(p: dict[str, Tensor], x: Tensor, m_: Tensor, c_: Tensor, use_bias: bool) -> Values:
    """Zoph & Le 2017's NAS cell: a tree of sums and products; its sigmoid nodes are the
    gates (``NAS_SIGMOIDS``), ``m`` is its output ``h``."""
    A = [_mm(p[f"W_{k}"], x) for k in range(8)]
    B = [_mm(p[f"U_{k}"], m_) for k in range(8)]
    if use_bias:
        B = [B[k] + p[f"b_{k}"] for k in range(8)]
    relu = torch.relu
    tanh = torch.tanh
    # first layer
    l1_0 = _sigmoid(A[0] + B[0])
    l1_1 = relu(A[1] + B[1])
    l1_2 = _sigmoid(A[2] + B[2])
    l1_3 = relu(A[3] * B[3])  # product, not sum
    l1_4 = tanh(A[4] + B[4])
    l1_5 = _sigmoid(A[5] + B[5])
    l1_6 = tanh(A[6] + B[6])
    l1_7 = _sigmoid(A[7] + B[7])
    # second layer
    l2_0 = tanh(l1_0 * l1_1)
    l2_1 = tanh(l1_2 + l1_3)
    l2_2 = tanh(l1_4 * l1_5)
    l2_3 = _sigmoid(l1_6 + l1_7)
    # inject the cell
    l2_0 = tanh(l2_0 + c_)
    # third layer
    c = l2_0 * l2_1
    l3_1 = tanh(l2_2 + l2_3)
    # final layer
    m = tanh(c * l3_1)
    return {"l1_0": l1_0, "l1_2": l1_2, "l1_5": l1_5, "l1_7": l1_7, "l2_3": l2_3, "c": c, "h": m}
