"""Gated recurrent units: the form torch and cuDNN compute, and Cho et al.'s original."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from variants import equations, fused
from variants.base import Layout, ProductCell, State, premultiply, rows
from variants.gru_native import GRUNative, ResetBeforeNative, project
from variants.paper import Paper, Values, blocks, on_hidden
from variants.registry import register

_GATES = ["r", "z", "h"]
GATE_NAMES = {"r": "reset gate", "z": "update gate"}


def _paper(family: str, step: Callable[..., Values], m: int, n: int, more: list[str]) -> Paper:
    shapes = blocks(
        n,
        m,
        [f"W_{g}" for g in _GATES],
        [f"R_{g}" for g in _GATES],
        [f"b_{g}" for g in _GATES] + more,
    )
    return Paper(family, on_hidden(step), ("h",), GATE_NAMES, shapes)


@register(
    "gru",
    family="gru",
    paper="Cho et al. 2014; cuDNN form",
    description="GRU as torch.nn.GRU/cuDNN compute it (reset after R_h h')",
)
class GRUCell(ProductCell):
    """GRU in the form torch's ``nn.GRU`` and cuDNN compute (N units, M inputs)::

        r = σ(W_r x + R_r h' + b_r)                      reset gate
        z = σ(W_z x + R_z h' + b_z)                      update gate
        n = tanh(W_h x + b_h + r ⊙ (R_h h' + b_Rh))      candidate (reset applied after R_h)
        h = (1 - z) ⊙ n + z ⊙ h'

    Cho, van Merriënboer, Gulcehre, Bahdanau, Bougares, Schwenk, Bengio, "Learning Phrase
    Representations using RNN Encoder-Decoder for Statistical Machine Translation", EMNLP 2014;
    the reset-after form is cuDNN's (and Jozefowicz et al. 2015 study the GRU family).
    W_* are N×M, R_* N×N; b_Rh is the bias inside the reset, which torch calls b_hn.
    State: ``(h,)``. ``backend="auto"`` runs on the native kernels on the CPU (torch's GRU
    is not fused there) and on torch's fused GRU kernel (cuDNN) elsewhere.
    """

    gates = 3
    has_fused_kernel = True

    @classmethod
    def paper(cls, input_size: int, hidden_size: int, **options: object) -> Paper:
        return _paper("gru", equations.gru_step, input_size, hidden_size, ["b_Rh"])

    def _more_parameters(self) -> None:
        self.bias_rh = nn.Parameter(torch.empty(self.hidden_size))  # b_Rh, inside the reset

    def _paper_layout(self) -> Layout:
        n = self.hidden_size
        return {
            **rows("weight_x", [f"W_{g}" for g in _GATES], n),
            **rows("weight_h", [f"R_{g}" for g in _GATES], n),
            **rows("bias", [f"b_{g}" for g in _GATES], n),
            "b_Rh": ("bias_rh", (slice(None),)),
        }

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], state [K, B, N] (K = 1 for a single cell)
        n = self.hidden_size
        path = self.runs_on(x)
        if path == "native":
            a = project(x, self.param("weight_x"), self.param("bias"))
            y, h = GRUNative.apply(a, state[0], self.param("weight_h"), self.param("bias_rh"))
            return y.transpose(0, 1), (h,)
        if path == "fused":
            # torch's second bias: zero for r and z, b_Rh for the candidate
            b_rh = self.param("bias_rh")[0]
            bias_h = torch.cat([b_rh.new_zeros(2 * n), b_rh])
            out, h = fused.gru(
                x[:, 0],
                state[0][0],
                self.param("weight_x")[0],
                self.param("weight_h")[0],
                self.param("bias")[0],
                bias_h,
                self.training,
            )
            return out.unsqueeze(1), (h.unsqueeze(0),)
        w_h_t = self.param("weight_h").transpose(1, 2)
        b_rh = self.param("bias_rh").unsqueeze(1)
        h = state[0]
        outputs = []
        for gx_t in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            gh = torch.bmm(h, w_h_t)
            rz = torch.sigmoid(gx_t[..., : 2 * n] + gh[..., : 2 * n])
            r, z = rz[..., :n], rz[..., n:]
            candidate = torch.tanh(torch.addcmul(gx_t[..., 2 * n :], r, gh[..., 2 * n :] + b_rh))
            h = torch.addcmul(candidate, z, h - candidate)  # (1 - z) n + z h'
            outputs.append(h)
        return torch.stack(outputs), (h,)


@register(
    "gru-cho",
    family="gru",
    paper="Cho et al. 2014",
    description="GRU as first published: reset before R_h, h = (1-z) h' + z h~",
)
class GRUChoCell(ProductCell):
    """GRU exactly as Cho et al. 2014 publish it (and as the lecture notes write it)::

        r  = σ(W_r x + R_r h' + b_r)
        z  = σ(W_z x + R_z h' + b_z)
        h~ = tanh(W_h x + R_h (r ⊙ h') + b_h)            reset applied before R_h
        h  = (1 - z) ⊙ h' + z ⊙ h~                       z lets the candidate in

    Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for Statistical
    Machine Translation", EMNLP 2014. W_* are N×M, R_* N×N, b_* length N. State: ``(h,)``.
    No fused kernel computes this form.
    """

    gates = 3

    @classmethod
    def paper(cls, input_size: int, hidden_size: int, **options: object) -> Paper:
        return _paper("gru-cho", equations.gru_cho_step, input_size, hidden_size, [])

    def _paper_layout(self) -> Layout:
        n = self.hidden_size
        return {
            **rows("weight_x", [f"W_{g}" for g in _GATES], n),
            **rows("weight_h", [f"R_{g}" for g in _GATES], n),
            **rows("bias", [f"b_{g}" for g in _GATES], n),
        }

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        n = self.hidden_size
        w_h = self.param("weight_h")
        if self.runs_on(x) == "native":  # a holds r, z, h: R_g is R's rows r, z
            a = project(x, self.param("weight_x"), self.param("bias"))
            y, h = ResetBeforeNative.apply(
                a, state[0], w_h[:, : 2 * n], None, w_h[:, 2 * n :], (1, 0, 2, "rz")
            )
            return y.transpose(0, 1), (h,)
        r_rz_t, r_h_t = w_h[:, : 2 * n].transpose(1, 2), w_h[:, 2 * n :].transpose(1, 2)
        h = state[0]
        outputs = []
        for gx_t in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            rz = torch.sigmoid(torch.baddbmm(gx_t[..., : 2 * n], h, r_rz_t))
            r, z = rz[..., :n], rz[..., n:]
            candidate = torch.tanh(torch.baddbmm(gx_t[..., 2 * n :], r * h, r_h_t))
            h = torch.addcmul(h, z, candidate - h)  # (1 - z) h' + z h~
            outputs.append(h)
        return torch.stack(outputs), (h,)
