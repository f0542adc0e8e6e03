"""The cells' paper equations, one time step at a time, with every activation named.

The cells themselves run on stacked, fused or native kernels that never show a gate; these
steps are written straight from the papers (one explicit matmul per paper parameter, nothing
stacked or fused) so that each line can be checked against the equations by eye. They serve
twice: the test suite's float64 oracle (``tests/variants/reference.py``) checks every cell
against them, and ``variants.probe`` runs them over a trained cell's paper parameters to look
at its gates. One copy of the equations for both, so what the probe shows is what the tests
proved the cells compute.

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

# The equations' family by the cell's class: a registered variant (ours, a preset added in
# one line, a user's subclass of one of these) is computed from its class and its options,
# never from its name, so a new preset needs no entry here.
KINDS = {
    "LSTMCell": "lstm",
    "GRUCell": "gru",
    "GRUChoCell": "gru-cho",
    "ElmanCell": "rnn",
    "MUT1Cell": "mut1",
    "MUT2Cell": "mut2",
    "MUT3Cell": "mut3",
    "NASCell": "nas",
}
# LSTM options that change the equations (forget_bias and backend do not)
LSTM_FLAGS = {
    "input_gate": True,
    "forget_gate": True,
    "output_gate": True,
    "peepholes": True,
    "coupled": False,
    "input_activation": "tanh",
    "output_activation": "tanh",
    "gate_recurrence": False,
}
# NAS's sigmoid nodes (Zoph & Le 2017's tree, layer_node): the gates of a cell without names
NAS_SIGMOIDS = ("l1_0", "l1_2", "l1_5", "l1_7", "l2_3")


def describe(name: str, **options: Any) -> tuple[str, dict[str, Any]]:
    """(kind, options) of variant ``name``: its equations' family, from its class, and its
    preset with ``options`` applied (for the LSTM, its flags with their defaults)."""
    import variants

    entry = variants.info(name)
    kind = next((KINDS[c.__name__] for c in entry.builder.__mro__ if c.__name__ in KINDS), None)
    if kind is None:
        raise ValueError(
            f"no paper equations for {name!r} (class {entry.builder.__name__}); "
            f"known classes: {', '.join(KINDS)}"
        )
    return kind, _options(kind, {**entry.preset, **options})


def _options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    """Validate the keyword options for ``kind`` and fill in their defaults."""
    allowed = {"backend"}
    if kind == "lstm":
        allowed |= set(LSTM_FLAGS) | {"forget_bias"}  # forget_bias: initialisation only
    elif kind in ("mut1", "mut2"):
        allowed |= {"project_input"}
    elif kind == "nas":
        allowed |= {"use_bias"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unsupported option(s) for {kind!r}: {sorted(unknown)}")
    opts = {k: v for k, v in options.items() if k not in ("backend", "forget_bias")}
    if kind == "lstm":
        opts = {**LSTM_FLAGS, **opts}
    if kind in ("mut1", "mut2"):
        opts.setdefault("project_input", None)
    if kind == "nas":
        opts["use_bias"] = bool(opts.get("use_bias", False))
    return opts


def own_gates(opts: dict[str, Any]) -> list[str]:
    """The LSTM gates with their own parameters: i, f (unless coupled to i), o."""
    return [
        g
        for g, on in (
            ("i", opts["input_gate"]),
            ("f", opts["forget_gate"] and not opts["coupled"]),
            ("o", opts["output_gate"]),
        )
        if on
    ]


def projects(M: int, N: int, project_input: bool | None) -> bool:
    """mut1/mut2: is the input projected (x_hat = P x) or used as is?"""
    if project_input is None:
        return M != N
    if not project_input and M != N:
        raise ValueError(f"project_input=False requires M == N (got M={M}, N={N})")
    return bool(project_input)


def state_layout(kind: str, opts: dict[str, Any]) -> tuple[str, ...]:
    """The names of the state's tensors, the output first."""
    if kind == "lstm" and opts["gate_recurrence"]:
        return ("y", "c", "i", "f", "o")
    if kind == "lstm":
        return ("y", "c")
    if kind == "nas":
        return ("m", "c")
    return ("h",)


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


def step(
    kind: str, opts: dict[str, Any], p: dict[str, Tensor], x: Tensor, state: list[Tensor], M: int
) -> tuple[Values, list[Tensor]]:
    """One step of any family: its named values and the next state (``state_layout``)."""
    if kind == "lstm":
        recurrent = opts["gate_recurrence"]
        gates = state[2:5] if recurrent else (None, None, None)
        v = lstm_step(opts, p, x, state[0], state[1], *gates)
        return v, ([v["h"], v["c"], v["i"], v["f"], v["o"]] if recurrent else [v["h"], v["c"]])
    if kind == "nas":
        v = nas_step(p, x, state[0], state[1], opts["use_bias"])
        return v, [v["h"], v["c"]]
    if kind == "gru":
        v = gru_step(p, x, state[0])
    elif kind == "gru-cho":
        v = gru_cho_step(p, x, state[0])
    elif kind == "rnn":
        v = rnn_step(p, x, state[0])
    elif kind == "mut1":
        v = mut1_step(p, x, state[0], projects(M, state[0].shape[-1], opts["project_input"]))
    elif kind == "mut2":
        v = mut2_step(p, x, state[0], projects(M, state[0].shape[-1], opts["project_input"]))
    elif kind == "mut3":
        v = mut3_step(p, x, state[0])
    else:
        raise AssertionError(kind)
    return v, [v["h"]]
