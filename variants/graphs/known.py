"""The registry's cells written as graphs: the search's starting points, and the proof
(tests/variants/test_graphs.py) that the language and GraphCell compute what the hand-written
cells compute, to float64 rounding, from the same parameters.

Maps and gates get readable node ids (``Wi`` is the input map of gate ``i``, ``Rz`` the
recurrent map of ``z``), so that the test's copy of a registered cell's parameters into the
graph cell reads as a table. Where a cell adds its raw input to a hidden-sized value (MUT1's
tanh(x), MUT2's reset gate) the graph reads it through a map ``P``, the registered cells'
``project_input=True`` (with M = N, P = I gives the unprojected cell).
"""

from __future__ import annotations

from collections.abc import Callable

from variants.graphs.nodes import Builder, Graph


def lstm(*, peepholes: bool = True, forget_bias: float | None = None) -> Graph:
    """Greff et al.'s vanilla LSTM (the registry's ``lstm``; ``np`` without peepholes)::

    i = σ(W_i x + R_i h' + p_i c' + b_i)   f = σ(W_f x + R_f h' + p_f c' + b_f)
    z = tanh(W_z x + R_z h' + b_z)         c = i z + f c'
    o = σ(W_o x + R_o h' + p_o c + b_o)    h = o tanh(c)

    ``forget_bias`` starts b_f at that value (Jozefowicz et al.'s 1)."""
    b = Builder()

    def gate(g: str, act: str, peephole: str | None, init: float | None = None) -> str:
        terms = [b.linear("x", bias=True, init=init, name=f"W{g}"), b.linear("h", name=f"R{g}")]
        if peephole is not None and peepholes:
            terms.append(b.diagonal(peephole, name=f"p{g}"))
        return b.act(act, b.sum(*terms), name=g)

    i = gate("i", "sigmoid", "c")
    z = gate("z", "tanh", None)
    f = gate("f", "sigmoid", "c", forget_bias)
    c = b.sum(b.product(i, z), b.product(f, "c"), name="c_t")
    o = gate("o", "sigmoid", c)
    return b.graph(h=b.product(o, b.tanh(c), name="h_t"), c=c)


def gru() -> Graph:
    """The registry's ``gru`` (cuDNN's form, the reset applied after R_h)::

    r = σ(W_r x + R_r h' + b_r)    z = σ(W_z x + R_z h' + b_z)
    n = tanh(W_h x + b_h + r (R_h h' + b_Rh))    h = (1 - z) n + z h'"""
    b = Builder()
    r = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wr"), b.linear("h", name="Rr")), "r")
    z = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wz"), b.linear("h", name="Rz")), "z")
    recurrent = b.product(r, b.linear("h", bias=True, name="Rh"))
    n = b.tanh(b.sum(b.linear("x", bias=True, name="Wh"), recurrent), "n")
    return b.graph(h=b.sum(b.product(b.one_minus(z), n), b.product(z, "h"), name="h_t"))


def gru_cho() -> Graph:
    """The registry's ``gru-cho`` (Cho et al. 2014, the reset applied before R_h)::

    h~ = tanh(W_h x + R_h (r h') + b_h)    h = (1 - z) h' + z h~"""
    b = Builder()
    r = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wr"), b.linear("h", name="Rr")), "r")
    z = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wz"), b.linear("h", name="Rz")), "z")
    reset = b.linear(b.product(r, "h"), name="Rh")
    n = b.tanh(b.sum(b.linear("x", bias=True, name="Wh"), reset), "n")
    return b.graph(h=b.sum(b.product(b.one_minus(z), "h"), b.product(z, n), name="h_t"))


def rnn() -> Graph:
    """The registry's ``rnn``: h = tanh(W x + R h' + b)."""
    b = Builder()
    pre = b.sum(b.linear("x", bias=True, name="W"), b.linear("h", name="R"))
    return b.graph(h=b.tanh(pre, name="h_t"))


def _mut_output(b: Builder, z: str, candidate: str) -> str:
    """h = h~ z + h' (1 - z), the update all three MUTs share."""
    return b.sum(b.product(candidate, z), b.product("h", b.one_minus(z)), name="h_t")


def mut1() -> Graph:
    """MUT1 (``project_input=True``)::

    z = σ(W_xz x + b_z)    r = σ(W_xr x + W_hr h' + b_r)
    h = tanh(W_hh (r h') + tanh(P x) + b_h) z + h' (1 - z)"""
    b = Builder()
    z = b.sigmoid(b.linear("x", bias=True, name="Wxz"), "z")
    r = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wxr"), b.linear("h", name="Whr")), "r")
    reset = b.linear(b.product(r, "h"), bias=True, name="Whh")
    candidate = b.tanh(b.sum(reset, b.tanh(b.linear("x", name="P"))), "n")
    return b.graph(h=_mut_output(b, z, candidate))


def mut2() -> Graph:
    """MUT2 (``project_input=True``)::

    z = σ(W_xz x + W_hz h' + b_z)    r = σ(P x + W_hr h' + b_r)
    h = tanh(W_hh (r h') + W_xh x + b_h) z + h' (1 - z)"""
    b = Builder()
    z = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wxz"), b.linear("h", name="Whz")), "z")
    r = b.sigmoid(b.sum(b.linear("x", name="P"), b.linear("h", bias=True, name="Whr")), "r")
    reset = b.linear(b.product(r, "h"), name="Whh")
    candidate = b.tanh(b.sum(reset, b.linear("x", bias=True, name="Wxh")), "n")
    return b.graph(h=_mut_output(b, z, candidate))


def mut3() -> Graph:
    """MUT3::

    z = σ(W_xz x + W_hz tanh(h') + b_z)    r = σ(W_xr x + W_hr h' + b_r)
    h = tanh(W_hh (r h') + W_xh x + b_h) z + h' (1 - z)"""
    b = Builder()
    update = b.linear(b.tanh("h"), name="Whz")
    z = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wxz"), update), "z")
    r = b.sigmoid(b.sum(b.linear("x", bias=True, name="Wxr"), b.linear("h", name="Whr")), "r")
    reset = b.linear(b.product(r, "h"), name="Whh")
    candidate = b.tanh(b.sum(reset, b.linear("x", bias=True, name="Wxh")), "n")
    return b.graph(h=_mut_output(b, z, candidate))


def nas(*, use_bias: bool = False) -> Graph:
    """Zoph & Le's NAS cell as TensorFlow's NASCell computes it (``variants/nas.py``): eight
    branches A_k = W_k x, B_k = U_k m' (+ b_k), two layers, the cell injected, m = h."""
    b = Builder()
    acts = ("sigmoid", "relu", "sigmoid", "relu", "tanh", "sigmoid", "tanh", "sigmoid")
    layer1 = []
    for k, act in enumerate(acts):
        a, r = b.linear("x", name=f"W{k}"), b.linear("h", bias=use_bias, name=f"U{k}")
        combined = b.product(a, r) if k == 3 else b.sum(a, r)  # branch 3 multiplies
        layer1.append(b.act(act, combined, f"l1_{k}"))
    l2_0 = b.tanh(b.product(layer1[0], layer1[1]), "l2_0")
    l2_1 = b.tanh(b.sum(layer1[2], layer1[3]), "l2_1")
    l2_2 = b.tanh(b.product(layer1[4], layer1[5]), "l2_2")
    l2_3 = b.sigmoid(b.sum(layer1[6], layer1[7]), "l2_3")
    c = b.product(b.tanh(b.sum(l2_0, "c"), "inject"), l2_1, name="c_t")
    m = b.tanh(b.product(c, b.tanh(b.sum(l2_2, l2_3))), "h_t")
    return b.graph(h=m, c=c)


# registry name -> its graph (with the registry's default options)
KNOWN: dict[str, Callable[[], Graph]] = {
    "lstm": lstm,
    "np": lambda: lstm(peepholes=False),
    "lstm-b": lambda: lstm(forget_bias=1.0),
    "gru": gru,
    "gru-cho": gru_cho,
    "rnn": rnn,
    "mut1": mut1,
    "mut2": mut2,
    "mut3": mut3,
    "nas": nas,
}
