"""The recurrent cell found by neural architecture search (TensorFlow's NASCell)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from variants import equations
from variants.base import Layout, RecurrentCell, State, premultiply, rows
from variants.nas_native import nas_native
from variants.paper import Paper, Values, blocks
from variants.registry import register


@register(
    "nas",
    family="nas",
    paper="Zoph & Le 2017",
    description="NAS cell (TensorFlow NASCell): 8 branches, cell injection",
)
class NASCell(RecurrentCell):
    """The NAS cell of Zoph & Le, "Neural Architecture Search with Reinforcement Learning",
    ICLR 2017, as TensorFlow's ``NASCell`` computes it (tf.contrib.rnn / tensorflow_addons).

    With A_k = W_k x and B_k = U_k m' (+ b_k with ``use_bias``), k = 0..7::

        l1_0 = σ(A0 + B0)    l1_1 = relu(A1 + B1)   l1_2 = σ(A2 + B2)    l1_3 = relu(A3 ⊙ B3)
        l1_4 = tanh(A4 + B4) l1_5 = σ(A5 + B5)      l1_6 = tanh(A6 + B6) l1_7 = σ(A7 + B7)
        l2_0 = tanh(l1_0 ⊙ l1_1)   l2_1 = tanh(l1_2 + l1_3)
        l2_2 = tanh(l1_4 ⊙ l1_5)   l2_3 = σ(l1_6 + l1_7)
        c    = tanh(l2_0 + c') ⊙ l2_1                    cell injection, new cell
        m    = tanh(c ⊙ tanh(l2_2 + l2_3))               output

    W_k are N×M, U_k N×N. As in TensorFlow, there is no bias unless ``use_bias=True``, and then
    it sits on the recurrent branch only (b_0..b_7); TF's optional output projection is not
    provided. State: ``(m, c)``.

    ``backend="auto"`` runs on the native kernels (``variants/nas_native.py``) on the CPU,
    and on the step-by-step torch loop (``"generic"``) elsewhere or without them.
    """

    state_names = ("m", "c")
    has_native_kernel = True
    supports_trials = True

    def __init__(
        self, input_size: int, hidden_size: int, *, use_bias: bool = False, backend: str = "auto"
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.backend = self._choose_backend(backend, False)
        n = hidden_size
        self.weight_x = nn.Parameter(torch.empty(8 * n, input_size))
        self.weight_h = nn.Parameter(torch.empty(8 * n, n))
        self.bias = nn.Parameter(torch.empty(8 * n)) if use_bias else None
        self.reset_parameters()

    @classmethod
    def paper(
        cls, input_size: int, hidden_size: int, *, use_bias: bool = False, **_: object
    ) -> Paper:
        k = range(8)
        shapes = blocks(
            hidden_size,
            input_size,
            [f"W_{i}" for i in k],
            [f"U_{i}" for i in k],
            [f"b_{i}" for i in k] if use_bias else [],
        )

        def step(
            p: Mapping[str, Tensor], x: Tensor, state: list[Tensor]
        ) -> tuple[Values, list[Tensor]]:
            values = equations.nas_step(p, x, state[0], state[1], bool(use_bias))
            return values, [values["h"], values["c"]]

        gates = {g: f"sigmoid node {g}" for g in equations.NAS_SIGMOIDS}
        return Paper("nas", step, ("m", "c"), gates, shapes)

    def _paper_layout(self) -> Layout:
        n, k = self.hidden_size, range(8)
        layout = {
            **rows("weight_x", [f"W_{i}" for i in k], n),
            **rows("weight_h", [f"U_{i}" for i in k], n),
        }
        if self.bias is not None:
            layout.update(rows("bias", [f"b_{i}" for i in k], n))
        return layout

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], states [K, B, N] (K = 1 for a single cell)
        if self.runs_on(x) == "native":
            bias = self.param("bias") if self.bias is not None else None
            y, m, c = nas_native(
                x.transpose(0, 1),
                state[0],
                state[1],
                self.param("weight_x"),
                self.param("weight_h"),
                bias,
            )
            return y.transpose(0, 1), (m, c)
        return self._loop(x, state)

    def _loop(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """The equations step by step under autograd: slow, kept as a second opinion."""
        m, c = state
        w_h_t = self.param("weight_h").transpose(1, 2)
        bias = self.param("bias").unsqueeze(1) if self.bias is not None else None
        outputs = []
        for a in premultiply(x, self.param("weight_x")).unbind(0):
            b = torch.baddbmm(bias, m, w_h_t) if bias is not None else torch.bmm(m, w_h_t)
            a0, a1, a2, a3, a4, a5, a6, a7 = a.chunk(8, -1)
            b0, b1, b2, b3, b4, b5, b6, b7 = b.chunk(8, -1)
            l2_0 = torch.tanh(torch.sigmoid(a0 + b0) * torch.relu(a1 + b1))
            l2_1 = torch.tanh(torch.sigmoid(a2 + b2) + torch.relu(a3 * b3))
            l2_2 = torch.tanh(torch.tanh(a4 + b4) * torch.sigmoid(a5 + b5))
            l2_3 = torch.sigmoid(torch.tanh(a6 + b6) + torch.sigmoid(a7 + b7))
            c = torch.tanh(l2_0 + c) * l2_1
            m = torch.tanh(c * torch.tanh(l2_2 + l2_3))
            outputs.append(m)
        return torch.stack(outputs), (m, c)
