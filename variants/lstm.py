"""One LSTM, written once from Greff et al.'s equations, and its variants as presets.

Every LSTM variant of Greff et al. 2017 differs from the vanilla LSTM by flags, not by code:
``LSTMSpec`` holds the flags and ``LSTMCell`` computes any combination of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import torch
from torch import Tensor, nn

from variants import equations, fused
from variants.base import Layout, RecurrentCell, State, premultiply, rows
from variants.lstm_native import lstm_native
from variants.paper import Paper, Values
from variants.registry import register

ACTIVATIONS = ("tanh", "identity")
GATE_NAMES = {"i": "input gate", "f": "forget gate", "o": "output gate"}


def _identity(t: Tensor) -> Tensor:
    return t


@dataclass(frozen=True)
class LSTMSpec:
    """Which parts of the LSTM are present.

    Attributes:
        input_gate, forget_gate, output_gate: a missing gate is the constant 1 and has no
            parameters at all.
        peepholes: diagonal peephole weights p_i, p_f (on c'), p_o (on the new c).
        coupled: CIFG, f = 1 - i; the forget gate then has no parameters of its own.
        input_activation, output_activation: g and h, ``"tanh"`` or ``"identity"``.
        gate_recurrence: FGR, the activations of every gate at t-1 enter every gate at t.
        forget_bias: initial value of b_f (Jozefowicz et al. 2015 use 1.0); ``None`` keeps
            the default uniform initialisation. It changes initialisation, not the equations.
    """

    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    peepholes: bool = True
    coupled: bool = False
    input_activation: str = "tanh"
    output_activation: str = "tanh"
    gate_recurrence: bool = False
    forget_bias: float | None = None

    def __post_init__(self) -> None:
        for name in ("input_activation", "output_activation"):
            if getattr(self, name) not in ACTIVATIONS:
                raise ValueError(
                    f"{name} must be one of {ACTIVATIONS}, got {getattr(self, name)!r}"
                )
        if self.coupled and not (self.input_gate and self.forget_gate):
            raise ValueError("coupled=True (f = 1 - i) needs both input_gate and forget_gate")
        if self.forget_bias is not None and "f" not in self.own_gates:
            raise ValueError(
                "forget_bias needs a forget gate with its own bias "
                "(forget_gate=True, coupled=False)"
            )

    @property
    def own_gates(self) -> tuple[str, ...]:
        """Sigmoid gates with parameters of their own, in the order i, f, o."""
        present = {
            "i": self.input_gate,
            "f": self.forget_gate and not self.coupled,
            "o": self.output_gate,
        }
        return tuple(g for g in "ifo" if present[g])

    @property
    def blocks(self) -> tuple[str, ...]:
        """Row blocks of the stacked W, R and b: i, f, z, o as torch orders i, f, g, o."""
        return tuple(g for g in "ifzo" if g == "z" or g in self.own_gates)

    @property
    def fused_exact(self) -> bool:
        """True where torch's nn.LSTM computes exactly this cell."""
        plain = LSTMSpec(peepholes=False, forget_bias=self.forget_bias)
        return self == plain


class LSTMCell(RecurrentCell):
    """The LSTM of Greff et al. 2017 (N blocks, M inputs), with every part switchable.

    Greff, Srivastava, Koutník, Steunebrink, Schmidhuber, "LSTM: A Search Space Odyssey",
    IEEE TNNLS 28(10), 2017. Primes are t-1, σ the logistic sigmoid, ⊙ elementwise::

        z = g(W_z x + R_z y' + b_z)                      block input
        i = σ(W_i x + R_i y' + p_i ⊙ c' + b_i)           input gate
        f = σ(W_f x + R_f y' + p_f ⊙ c' + b_f)           forget gate
        c = z ⊙ i + c' ⊙ f                               cell
        o = σ(W_o x + R_o y' + p_o ⊙ c + b_o)            output gate (peephole on the NEW c)
        y = h(c) ⊙ o                                     block output,  g = h = tanh

    W_* are N×M, R_* N×N, p_* and b_* length N. Flags (see ``LSTMSpec``): a missing gate is 1
    (NIG, NFG, NOG); g or h may be the identity (NIAF, NOAF); no peepholes (NP); f = 1 - i
    (CIFG); full gate recurrence (FGR) adds ``Σ_x R_xy x'`` for x, y in {i, f, o} inside
    gate y, with nine N×N matrices R_ii R_if R_io R_fi R_ff R_fo R_oi R_of R_oo (R_xy carries
    gate x at t-1 into gate y), and then the state also carries i', f', o'.
    State: ``(y, c)``, plus the previous gate activations under gate recurrence.

    With all gates, no peepholes and tanh (the ``np`` preset), ``backend="auto"`` runs on
    torch's fused ``nn.LSTM`` kernel from the same parameters.
    """

    has_fused_kernel = True
    has_native_kernel = True
    prefer_native = False  # np: torch's oneDNN LSTM is as fast, with torch's own numbers
    supports_trials = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        input_gate: bool = True,
        forget_gate: bool = True,
        output_gate: bool = True,
        peepholes: bool = True,
        coupled: bool = False,
        input_activation: str = "tanh",
        output_activation: str = "tanh",
        gate_recurrence: bool = False,
        forget_bias: float | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(input_size, hidden_size)
        spec = LSTMSpec(
            input_gate,
            forget_gate,
            output_gate,
            peepholes,
            coupled,
            input_activation,
            output_activation,
            gate_recurrence,
            forget_bias,
        )
        self.spec = spec
        self.backend = self._choose_backend(backend, spec.fused_exact)
        n, k, own = hidden_size, len(spec.blocks), spec.own_gates
        self.state_names = ("y", "c") + (own if gate_recurrence else ())
        self.weight_x = nn.Parameter(torch.empty(k * n, input_size))
        self.weight_h = nn.Parameter(torch.empty(k * n, n))
        self.bias = nn.Parameter(torch.empty(k * n))
        self.peephole = nn.Parameter(torch.empty(len(own), n)) if peepholes and own else None
        self.weight_g = (
            nn.Parameter(torch.empty(len(own) * n, len(own) * n))
            if gate_recurrence and own
            else None
        )
        self._g = torch.tanh if input_activation == "tanh" else _identity
        self._h = torch.tanh if output_activation == "tanh" else _identity
        self.reset_parameters()

    @classmethod
    def paper(
        cls, input_size: int, hidden_size: int, *, backend: str = "auto", **flags: object
    ) -> Paper:
        spec = LSTMSpec(**flags)  # type: ignore[arg-type]
        opts = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name != "forget_bias"}
        inp, rec, vec = (hidden_size, input_size), (hidden_size, hidden_size), (hidden_size,)
        shapes: dict[str, tuple[int, ...]] = {}
        for g in ("z", *spec.own_gates):
            shapes.update({f"W_{g}": inp, f"R_{g}": rec, f"b_{g}": vec})
            if g != "z" and spec.peepholes:
                shapes[f"p_{g}"] = vec
        if spec.gate_recurrence:
            shapes.update({f"R_{a}{b}": rec for a in "ifo" for b in "ifo"})
        present = {
            "i": spec.input_gate,
            "f": spec.forget_gate or spec.coupled,  # coupled: f = 1 - i, a gate all the same
            "o": spec.output_gate,
        }
        recurrent = spec.gate_recurrence

        def step(
            p: Mapping[str, Tensor], x: Tensor, state: list[Tensor]
        ) -> tuple[Values, list[Tensor]]:
            gates = state[2:5] if recurrent else (None, None, None)
            v = equations.lstm_step(opts, p, x, state[0], state[1], *gates)
            return v, ([v["h"], v["c"], v["i"], v["f"], v["o"]] if recurrent else [v["h"], v["c"]])

        return Paper(
            "lstm",
            step,
            ("y", "c", "i", "f", "o") if recurrent else ("y", "c"),
            GATE_NAMES,
            shapes,
            tuple(g for g in "ifo" if not present[g]),
        )

    @classmethod
    def from_spec(
        cls, input_size: int, hidden_size: int, spec: LSTMSpec, backend: str = "auto"
    ) -> LSTMCell:
        flags = {f.name: getattr(spec, f.name) for f in fields(spec)}
        return cls(input_size, hidden_size, backend=backend, **flags)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.spec.forget_bias is not None:
            with torch.no_grad():
                self.paper_parameters()["b_f"].fill_(self.spec.forget_bias)

    def _paper_layout(self) -> Layout:
        n, blocks, own = self.hidden_size, list(self.spec.blocks), self.spec.own_gates
        layout = {
            **rows("weight_x", [f"W_{g}" for g in blocks], n),
            **rows("weight_h", [f"R_{g}" for g in blocks], n),
            **rows("bias", [f"b_{g}" for g in blocks], n),
        }
        if self.peephole is not None:
            layout.update({f"p_{g}": ("peephole", (k,)) for k, g in enumerate(own)})
        if self.weight_g is not None:
            for src, x in enumerate(own):
                for dst, y in enumerate(own):
                    layout[f"R_{x}{y}"] = (
                        "weight_g",
                        (slice(dst * n, (dst + 1) * n), slice(src * n, (src + 1) * n)),
                    )
        return layout

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], states [K, B, ·] (K = 1 for a single cell)
        path = self.runs_on(x)
        if path == "fused":
            out, y, c = fused.lstm(
                x[:, 0],
                state[0][0],
                state[1][0],
                self.param("weight_x")[0],
                self.param("weight_h")[0],
                self.param("bias")[0],
                self.training,
            )
            return out.unsqueeze(1), (y.unsqueeze(0), c.unsqueeze(0))
        return self._native(x, state) if path == "native" else self._loop(x, state)

    def _native(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """The C kernels: one call per step for the gate arithmetic, backward by hand."""
        spec, n = self.spec, self.hidden_size
        blocks, own = spec.blocks, spec.own_gates
        offsets = tuple(blocks.index(g) if g in blocks else -1 for g in "ifzo")
        r = self.param("weight_h")
        if self.weight_g is not None:  # [R, R_gates]: the gates at t-1 feed rows i, f, o
            w_g = self.param("weight_g")
            blocks_g = [
                w_g.new_zeros(w_g.shape[0], n, len(own) * n)
                if g == "z"
                else w_g[:, own.index(g) * n : (own.index(g) + 1) * n]
                for g in blocks
            ]
            r = torch.cat([r, torch.cat(blocks_g, 1)], 2)
        peep = dict(zip(own, self.param("peephole").unbind(1))) if self.peephole is not None else {}
        h0 = torch.cat(state[:1] + state[2:], -1) if self.weight_g is not None else state[0]
        y, h, c = lstm_native(
            x.transpose(0, 1),
            h0,
            state[1],
            self.param("weight_x"),
            self.param("bias"),
            r,
            peep.get("i"),
            peep.get("f"),
            peep.get("o"),
            n,
            offsets,
            spec.coupled,
            spec.input_activation == "tanh",
            spec.output_activation == "tanh",
            self.weight_g is not None,
        )
        y_last, *gates = h.split(n, -1)
        return y.transpose(0, 1), (y_last, c, *gates)

    def _loop(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """The equations step by step under autograd: slow, kept as a second opinion."""
        spec, n = self.spec, self.hidden_size
        own, blocks = spec.own_gates, spec.blocks
        peep = (
            dict(zip(own, self.param("peephole").unsqueeze(2).unbind(1)))
            if self.peephole is not None
            else {}
        )  # [K, 1, N] each
        w_h_t = self.param("weight_h").transpose(1, 2)
        w_g_t = self.param("weight_g").transpose(1, 2) if self.weight_g is not None else None
        prev = torch.cat(state[2:], -1) if w_g_t is not None else None
        y, c_prev = state[0], state[1]
        outputs = []
        for gx_t in premultiply(x, self.param("weight_x"), self.param("bias")).unbind(0):
            pre = dict(zip(blocks, torch.baddbmm(gx_t, y, w_h_t).split(n, -1)))
            if w_g_t is not None:
                for g, extra in zip(own, torch.bmm(prev, w_g_t).split(n, -1)):
                    pre[g] = pre[g] + extra
            i = _gate(pre.get("i"), peep.get("i"), c_prev)
            f = _gate(pre.get("f"), peep.get("f"), c_prev)
            if spec.coupled:
                f = 1.0 - i
            z = self._g(pre["z"])
            c = z * i if i is not None else z
            c = torch.addcmul(c, c_prev, f) if f is not None else c + c_prev
            o = _gate(pre.get("o"), peep.get("o"), c)
            y = self._h(c) * o if o is not None else self._h(c)
            outputs.append(y)
            if w_g_t is not None:
                prev = torch.cat([{"i": i, "f": f, "o": o}[g] for g in own], -1)
            c_prev = c
        extra = tuple(prev.split(n, -1)) if prev is not None else ()
        return torch.stack(outputs), (y, c_prev) + extra


def _gate(pre: Tensor | None, peephole: Tensor | None, c: Tensor) -> Tensor | None:
    """σ(pre + p ⊙ c); ``None`` for a gate that is absent (the constant 1)."""
    if pre is None:
        return None
    return torch.sigmoid(torch.addcmul(pre, peephole, c) if peephole is not None else pre)


_GREFF = "Greff et al. 2017"
_PRESETS = {
    "lstm": ("vanilla LSTM: three gates, peepholes, tanh", _GREFF, {}),
    "nig": ("no input gate (i = 1)", _GREFF, {"input_gate": False}),
    "nfg": ("no forget gate (f = 1)", _GREFF, {"forget_gate": False}),
    "nog": ("no output gate (o = 1)", _GREFF, {"output_gate": False}),
    "niaf": (
        "no input activation function (g = identity)",
        _GREFF,
        {"input_activation": "identity"},
    ),
    "noaf": (
        "no output activation function (h = identity)",
        _GREFF,
        {"output_activation": "identity"},
    ),
    "np": ("no peepholes; torch.nn.LSTM's arithmetic (fused kernel)", _GREFF, {"peepholes": False}),
    "cifg": ("coupled input and forget gate (f = 1 - i)", _GREFF, {"coupled": True}),
    "fgr": (
        "full gate recurrence: gates at t-1 feed all gates (+9 NxN)",
        _GREFF,
        {"gate_recurrence": True},
    ),
    "lstm-b": (
        "vanilla LSTM, forget-gate bias initialised to 1 (forget_bias=)",
        "Jozefowicz et al. 2015",
        {"forget_bias": 1.0},
    ),
}
for _name, (_description, _paper, _preset) in _PRESETS.items():
    register(_name, LSTMCell, family="lstm", paper=_paper, description=_description, **_preset)
