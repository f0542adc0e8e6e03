"""The simple recurrent network of Elman."""

from __future__ import annotations

import torch
from torch import Tensor

from variants import equations, fused
from variants.base import Layout, ProductCell, State, premultiply
from variants.gru_native import ElmanNative, project
from variants.paper import Paper, blocks, on_hidden
from variants.registry import register


@register(
    "rnn",
    family="rnn",
    paper="Elman 1990",
    description="Elman (vanilla tanh) RNN; torch.nn.RNN's arithmetic",
)
class ElmanCell(ProductCell):
    """Elman's simple recurrent network (N units, M inputs)::

        h = tanh(W x + R h' + b)

    Elman, "Finding Structure in Time", Cognitive Science 14(2), 1990. W is N×M, R N×N,
    b length N. State: ``(h,)``. ``backend="auto"`` runs on torch's fused ``nn.RNN`` kernel.
    """

    has_fused_kernel = True

    @classmethod
    def paper(cls, input_size: int, hidden_size: int, **options: object) -> Paper:
        shapes = blocks(hidden_size, input_size, ["W"], ["R"], ["b"])
        return Paper("rnn", on_hidden(equations.rnn_step), ("h",), {}, shapes)

    def _paper_layout(self) -> Layout:
        whole = (slice(None),)
        return {"W": ("weight_x", whole), "R": ("weight_h", whole), "b": ("bias", whole)}

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], state [K, B, N] (K = 1 for a single cell)
        path = self.runs_on(x)
        if path == "native":
            a = project(x, self.param("weight_x"), self.param("bias"))
            y, h = ElmanNative.apply(a, state[0], self.param("weight_h"))
            return y.transpose(0, 1), (h,)
        if path == "fused":
            out, h = fused.rnn_tanh(
                x[:, 0],
                state[0][0],
                self.param("weight_x")[0],
                self.param("weight_h")[0],
                self.param("bias")[0],
                self.training,
            )
            return out.unsqueeze(1), (h.unsqueeze(0),)
        w_h_t = self.param("weight_h").transpose(1, 2)
        h = state[0]
        outputs = []
        for gx_t in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            h = torch.tanh(torch.baddbmm(gx_t, h, w_h_t))
            outputs.append(h)
        return torch.stack(outputs), (h,)
