"""A new cell family in one file, as a user writes it: the minimal gated unit.

Zhou, Wu, Zhang, Zhou, "Minimal Gated Unit for Recurrent Neural Networks", International
Journal of Automation and Computing 13(3), 2016. One gate, f, both forgets and updates::

    f = σ(W_f x + U_f h' + b_f)                  forget gate
    n = tanh(W_h x + U_h (f ⊙ h') + b_h)         candidate
    h = (1 - f) ⊙ h' + f ⊙ n

Load it with ``--plugin mgu_cell`` (or ``HARNESS_PLUGINS=mgu_cell``) with this folder on the
Python path. No file of the project knows it: the class says everything the harness and its
tests need (its parameters, its paper step, its gates, its state).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

import variants
from variants.base import Layout, State, premultiply, rows
from variants.paper import Paper, Values, blocks, on_hidden


def mgu_step(p: dict[str, Tensor], x: Tensor, h_: Tensor) -> Values:
    """One step, straight from the paper: one matmul per paper parameter."""
    f = torch.sigmoid(x @ p["W_f"].T + h_ @ p["U_f"].T + p["b_f"])
    n = torch.tanh(x @ p["W_h"].T + (f * h_) @ p["U_h"].T + p["b_h"])
    return {"f": f, "n": n, "h": (1.0 - f) * h_ + f * n}


class MGUCell(variants.RecurrentCell):
    """The minimal gated unit (N units, M inputs); W_* are N×M, U_* N×N, b_* length N."""

    supports_trials = True  # trains in populations: x [T, K, B, M], parameters through param()

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        n = hidden_size
        self.weight_x = nn.Parameter(torch.empty(2 * n, input_size))  # W_f; W_h
        self.weight_f = nn.Parameter(torch.empty(n, n))  # U_f
        self.weight_h = nn.Parameter(torch.empty(n, n))  # U_h
        self.bias = nn.Parameter(torch.empty(2 * n))  # b_f; b_h
        self.reset_parameters()

    @classmethod
    def paper(cls, input_size: int, hidden_size: int, **options: object) -> Paper:
        shapes = blocks(hidden_size, input_size, ["W_f", "W_h"], ["U_f", "U_h"], ["b_f", "b_h"])
        return Paper("mgu", on_hidden(mgu_step), ("h",), {"f": "forget gate"}, shapes)

    def _paper_layout(self) -> Layout:
        n, whole = self.hidden_size, (slice(None),)
        return {
            **rows("weight_x", ["W_f", "W_h"], n),
            "U_f": ("weight_f", whole),
            "U_h": ("weight_h", whole),
            **rows("bias", ["b_f", "b_h"], n),
        }

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], state [K, B, N]: K trials at once (K = 1 for a single cell)
        n = self.hidden_size
        u_f, u_h = (self.param(w).transpose(1, 2) for w in ("weight_f", "weight_h"))
        h, outputs = state[0], []
        for gx in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            f = torch.sigmoid(torch.baddbmm(gx[..., :n], h, u_f))
            candidate = torch.tanh(torch.baddbmm(gx[..., n:], f * h, u_h))
            h = torch.addcmul(h, f, candidate - h)
            outputs.append(h)
        return torch.stack(outputs), (h,)


variants.register(
    "mgu",
    MGUCell,
    family="mgu",
    paper="Zhou et al. 2016",
    description="minimal gated unit: one gate forgets and updates (a plugin family)",
)
