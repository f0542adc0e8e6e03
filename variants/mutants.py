"""MUT1, MUT2, MUT3: the three best cells of Jozefowicz et al.'s architecture search.

Jozefowicz, Zaremba, Sutskever, "An Empirical Exploration of Recurrent Network
Architectures", ICML 2015 (equations as in the paper and debajyotidatta/RecurrentArchitectures).
The paper writes the step as h_t -> h_{t+1}; here h' is the previous state. MUT1 and MUT2 use
the raw input x inside a gate, which needs M = N (the paper's embedding size equals the hidden
size). For M ≠ N they use x̂ = P x with an N×M input projection P (no bias); ``project_input``
forces it on or off (default: exactly when M ≠ N).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from variants import equations
from variants.base import Layout, RecurrentCell, State, premultiply, rows
from variants.gru_native import ResetBeforeNative, project
from variants.paper import Paper, Values, blocks, on_hidden
from variants.registry import register

_PAPER = "Jozefowicz et al. 2015"
GATE_NAMES = {"z": "update gate", "r": "reset gate"}


class _Mutant(RecurrentCell):
    """Shared storage: stacked input rows (+P), stacked recurrent rows, biases b_z b_r b_h."""

    input_rows: tuple[str, ...] = ()
    recurrent_rows: tuple[str, ...] = ()
    uses_raw_input = False
    has_native_kernel = True
    supports_trials = True
    family_name = ""  # its equations' name (mut1, ...) and step, in variants.equations
    paper_step: Callable[..., Values]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        project_input: bool | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.backend = self._choose_backend(backend, False)
        project = self._projects(input_size, hidden_size, project_input)
        self.projected = project
        n = hidden_size
        in_rows = list(self.input_rows) + (["P"] if project else [])
        self._input_names = in_rows
        self.weight_x = nn.Parameter(torch.empty(len(in_rows) * n, input_size))
        self.weight_h = nn.Parameter(torch.empty(len(self.recurrent_rows) * n, n))
        self.bias = nn.Parameter(torch.empty(3 * n))
        self.reset_parameters()

    @classmethod
    def _projects(cls, input_size: int, hidden_size: int, project_input: bool | None) -> bool:
        """Whether the raw input is projected (x̂ = P x): by default exactly when M != N."""
        if not cls.uses_raw_input:
            return False
        if project_input is None:
            return input_size != hidden_size
        if not project_input and input_size != hidden_size:
            raise ValueError(
                f"{cls.__name__} adds the raw input x to a hidden-size vector, so "
                f"without a projection input_size ({input_size}) must equal hidden_size "
                f"({hidden_size}); set project_input=True or make them equal"
            )
        return bool(project_input)

    @classmethod
    def paper(
        cls, input_size: int, hidden_size: int, *, project_input: bool | None = None, **_: object
    ) -> Paper:
        project = cls._projects(input_size, hidden_size, project_input)
        step = cls.paper_step
        shapes = blocks(
            hidden_size,
            input_size,
            list(cls.input_rows) + (["P"] if project else []),
            list(cls.recurrent_rows),
            ["b_z", "b_r", "b_h"],
        )
        run = on_hidden(step, project) if cls.uses_raw_input else on_hidden(step)
        return Paper(cls.family_name, run, ("h",), GATE_NAMES, shapes)

    def _paper_layout(self) -> Layout:
        n = self.hidden_size
        return {
            **rows("weight_x", self._input_names, n),
            **rows("weight_h", list(self.recurrent_rows), n),
            **rows("bias", ["b_z", "b_r", "b_h"], n),
        }

    def _raw(self, x: Tensor, gx: Tensor) -> Tensor:
        """x̂: the projected input (the rows after the named ones) or x itself."""
        return gx[..., len(self.input_rows) * self.hidden_size :] if self.projected else x

    def _native(
        self, x: Tensor, state: State, a: Tensor, order: str, r_zt: Tensor | None = None
    ) -> tuple[Tensor, State]:
        """The reset-before kernels, from ``a`` ``[K, T, B, 3N]`` holding z, r, h in that
        order and R's rows: those of ``order`` (adjacent), then W_hh."""
        n = self.hidden_size
        w_h = self.param("weight_h")
        first = 1 if r_zt is not None else 0  # MUT3: W_hz is R_zt, not part of R_g
        rows_g = w_h[:, first * n : (first + len(order)) * n]
        y, h = ResetBeforeNative.apply(a, state[0], rows_g, r_zt, w_h[:, -n:], (0, 1, 2, order))
        return y.transpose(0, 1), (h,)

    def _inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The input projections in the kernels' layout ``[K, T, B, rows]``, x̂ there too
        (or None when unused) and the biases as ``[K, 1, 1, N]`` each."""
        gx = project(x, self.param("weight_x"), None)
        raw = self._raw(x.transpose(0, 1), gx) if self.uses_raw_input else None
        return gx, raw, self.param("bias")[:, None, None].split(self.hidden_size, -1)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", projected={self.projected}"


@register(
    "mut1",
    family="mut",
    paper=_PAPER,
    description="MUT1: z from x only, tanh(x) in the candidate (x projected if M != N)",
)
class MUT1Cell(_Mutant):
    """MUT1 of Jozefowicz et al. 2015 (x̂ = x, or P x when projected)::

        z = σ(W_xz x + b_z)
        r = σ(W_xr x + W_hr h' + b_r)
        h = tanh(W_hh (r ⊙ h') + tanh(x̂) + b_h) ⊙ z + h' ⊙ (1 - z)

    Parameters W_xz W_xr (N×M), W_hr W_hh (N×N), b_z b_r b_h, and P (N×M) when projected.
    """

    input_rows = ("W_xz", "W_xr")
    recurrent_rows = ("W_hr", "W_hh")
    uses_raw_input = True
    family_name = "mut1"
    paper_step = staticmethod(equations.mut1_step)

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        n = self.hidden_size
        if self.runs_on(x) == "native":  # z has no recurrent input: R_g is W_hr
            gx, raw, (b_z, b_r, b_h) = self._inputs(x)
            a = torch.cat([gx[..., :n] + b_z, gx[..., n : 2 * n] + b_r, torch.tanh(raw) + b_h], -1)
            return self._native(x, state, a, "r")
        b_z, b_r, b_h = self.param("bias").unsqueeze(1).split(n, -1)  # [K, 1, N] each
        gx = premultiply(x, self.param("weight_x"))
        z_all = torch.sigmoid(gx[..., :n] + b_z)
        r_all = gx[..., n : 2 * n] + b_r
        xh_all = torch.tanh(self._raw(x, gx)) + b_h
        w_hr_t, w_hh_t = (w.transpose(1, 2) for w in self.param("weight_h").split(n, 1))
        return _reset_gated_steps(state[0], z_all, r_all, w_hr_t, xh_all, w_hh_t)


@register(
    "mut2",
    family="mut",
    paper=_PAPER,
    description="MUT2: raw x in the reset gate (x projected if M != N)",
)
class MUT2Cell(_Mutant):
    """MUT2 of Jozefowicz et al. 2015 (x̂ = x, or P x when projected)::

        z = σ(W_xz x + W_hz h' + b_z)
        r = σ(x̂ + W_hr h' + b_r)
        h = tanh(W_hh (r ⊙ h') + W_xh x + b_h) ⊙ z + h' ⊙ (1 - z)

    Parameters W_xz W_xh (N×M), W_hz W_hr W_hh (N×N), b_z b_r b_h, and P (N×M) when projected.
    """

    input_rows = ("W_xz", "W_xh")
    recurrent_rows = ("W_hz", "W_hr", "W_hh")
    uses_raw_input = True
    family_name = "mut2"
    paper_step = staticmethod(equations.mut2_step)

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        n = self.hidden_size
        if self.runs_on(x) == "native":  # R_g is W_hz, W_hr
            gx, raw, (b_z, b_r, b_h) = self._inputs(x)
            a = torch.cat([gx[..., :n] + b_z, raw + b_r, gx[..., n : 2 * n] + b_h], -1)
            return self._native(x, state, a, "zr")
        b_z, b_r, b_h = self.param("bias").unsqueeze(1).split(n, -1)  # [K, 1, N] each
        gx = premultiply(x, self.param("weight_x"))
        zr_all = torch.cat([gx[..., :n] + b_z, self._raw(x, gx) + b_r], -1)
        xh_all = gx[..., n : 2 * n] + b_h
        w_h = self.param("weight_h")
        w_zr_t, w_hh_t = w_h[:, : 2 * n].transpose(1, 2), w_h[:, 2 * n :].transpose(1, 2)
        return _reset_gated_steps(state[0], None, zr_all, w_zr_t, xh_all, w_hh_t)


@register("mut3", family="mut", paper=_PAPER, description="MUT3: update gate reads tanh(h')")
class MUT3Cell(_Mutant):
    """MUT3 of Jozefowicz et al. 2015::

        z = σ(W_xz x + W_hz tanh(h') + b_z)
        r = σ(W_xr x + W_hr h' + b_r)
        h = tanh(W_hh (r ⊙ h') + W_xh x + b_h) ⊙ z + h' ⊙ (1 - z)

    Parameters W_xz W_xr W_xh (N×M), W_hz W_hr W_hh (N×N), b_z b_r b_h.
    """

    input_rows = ("W_xz", "W_xr", "W_xh")
    recurrent_rows = ("W_hz", "W_hr", "W_hh")
    family_name = "mut3"
    paper_step = staticmethod(equations.mut3_step)

    def __init__(self, input_size: int, hidden_size: int, *, backend: str = "auto") -> None:
        super().__init__(input_size, hidden_size, backend=backend)

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        n = self.hidden_size
        if self.runs_on(x) == "native":  # R_g is W_hr; W_hz multiplies tanh(h')
            a = project(x, self.param("weight_x"), self.param("bias"))
            return self._native(x, state, a, "r", self.param("weight_h")[:, :n])
        w_hz_t, w_hr_t, w_hh_t = (w.transpose(1, 2) for w in self.param("weight_h").split(n, 1))
        h = state[0]
        outputs = []
        for gx_t in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            z = torch.sigmoid(torch.baddbmm(gx_t[..., :n], torch.tanh(h), w_hz_t))
            r = torch.sigmoid(torch.baddbmm(gx_t[..., n : 2 * n], h, w_hr_t))
            candidate = torch.tanh(torch.baddbmm(gx_t[..., 2 * n :], r * h, w_hh_t))
            h = torch.addcmul(h, z, candidate - h)
            outputs.append(h)
        return torch.stack(outputs), (h,)


def _reset_gated_steps(
    h: Tensor,
    z_all: Tensor | None,
    gates_x: Tensor,
    w_gates_t: Tensor,
    xh_all: Tensor,
    w_hh_t: Tensor,
) -> tuple[Tensor, State]:
    """The step loop MUT1 and MUT2 share (torch backend), over ``[T, K, B, ·]`` inputs:
    the gates that read h' are σ(gates_x + h' W_gates) (r alone when the update gate ``z_all``
    does not read h', as in MUT1; else z then r, as in MUT2), then
    h = h' + z ⊙ (tanh(xh + (r ⊙ h') W_hh) - h')."""
    n = h.shape[-1]
    outputs = []
    for t, (g_x, xh) in enumerate(zip(gates_x.unbind(0), xh_all.unbind(0))):
        gates = torch.sigmoid(torch.baddbmm(g_x, h, w_gates_t))
        z, r = (z_all[t], gates) if z_all is not None else (gates[..., :n], gates[..., n:])
        candidate = torch.tanh(torch.baddbmm(xh, r * h, w_hh_t))
        h = torch.addcmul(h, z, candidate - h)
        outputs.append(h)
    return torch.stack(outputs), (h,)
