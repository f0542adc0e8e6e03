"""Torch's fused RNN kernels (oneDNN on CPU, cuDNN on CUDA) driven by our own parameters.

Torch's kernels carry two biases per layer (``b_ih + b_hh``); the papers have one per gate, so
the second is passed as zeros, except the GRU's ``b_Rh`` which really sits inside ``r ⊙ (...)``.
On CUDA, cuDNN copies weights that are not in one flat buffer at every call; that costs a
little speed, never exactness.
"""

from __future__ import annotations

import torch
from torch import Tensor


def lstm(
    x: Tensor, h0: Tensor, c0: Tensor, w_x: Tensor, w_h: Tensor, bias: Tensor, training: bool
) -> tuple[Tensor, Tensor, Tensor]:
    """``torch.nn.LSTM`` arithmetic; gate rows of the weights in the order i, f, g(z), o."""
    out, h, c = torch.lstm(
        x,
        (h0.unsqueeze(0), c0.unsqueeze(0)),
        [w_x, w_h, bias, torch.zeros_like(bias)],
        True,
        1,
        0.0,
        training,
        False,
        False,
    )
    return out, h[0], c[0]


def gru(
    x: Tensor, h0: Tensor, w_x: Tensor, w_h: Tensor, bias_x: Tensor, bias_h: Tensor, training: bool
) -> tuple[Tensor, Tensor]:
    """``torch.nn.GRU`` arithmetic; gate rows in the order r, z, n."""
    out, h = torch.gru(
        x, h0.unsqueeze(0), [w_x, w_h, bias_x, bias_h], True, 1, 0.0, training, False, False
    )
    return out, h[0]


def rnn_tanh(
    x: Tensor, h0: Tensor, w_x: Tensor, w_h: Tensor, bias: Tensor, training: bool
) -> tuple[Tensor, Tensor]:
    """``torch.nn.RNN(nonlinearity='tanh')`` arithmetic."""
    out, h = torch.rnn_tanh(
        x,
        h0.unsqueeze(0),
        [w_x, w_h, bias, torch.zeros_like(bias)],
        True,
        1,
        0.0,
        training,
        False,
        False,
    )
    return out, h[0]
