"""The graph language computes the registry's cells: each known graph (variants/graphs/
known.py), given the registered cell's parameters, equals that cell in float64 in outputs,
final states and every gradient, on the cell's torch loop and on its default backend."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import random_state, randomize
from variants.graphs import GraphCell, build_cell, known, parameter_names

# graph node id of a map -> (the registered cell's paper name for its weight, for its bias)
LSTM = {
    **{f"W{g}": (f"W_{g}", f"b_{g}") for g in "izfo"},
    **{f"R{g}": (f"R_{g}", None) for g in "izfo"},
    **{f"p{g}": (f"p_{g}", None) for g in "ifo"},
}
NP = {k: v for k, v in LSTM.items() if not k.startswith("p")}
GRU = {
    **{f"W{g}": (f"W_{g}", f"b_{g}") for g in "rzh"},
    **{f"R{g}": (f"R_{g}", None) for g in "rz"},
    "Rh": ("R_h", "b_Rh"),
}
GRU_CHO = {**GRU, "Rh": ("R_h", None)}
RNN = {"W": ("W", "b"), "R": ("R", None)}
MUT1 = {
    "Wxz": ("W_xz", "b_z"),
    "Wxr": ("W_xr", "b_r"),
    "Whr": ("W_hr", None),
    "Whh": ("W_hh", "b_h"),
    "P": ("P", None),
}
MUT2 = {
    "Wxz": ("W_xz", "b_z"),
    "Whz": ("W_hz", None),
    "P": ("P", None),
    "Whr": ("W_hr", "b_r"),
    "Whh": ("W_hh", None),
    "Wxh": ("W_xh", "b_h"),
}
MUT3 = {
    "Wxz": ("W_xz", "b_z"),
    "Whz": ("W_hz", None),
    "Wxr": ("W_xr", "b_r"),
    "Whr": ("W_hr", None),
    "Whh": ("W_hh", None),
    "Wxh": ("W_xh", "b_h"),
}
NAS = {
    **{f"W{k}": (f"W_{k}", None) for k in range(8)},
    **{f"U{k}": (f"U_{k}", None) for k in range(8)},
}
NAS_BIAS = {**NAS, **{f"U{k}": (f"U_{k}", f"b_{k}") for k in range(8)}}

# (registered name, its options, graph, mapping, M, N)
CASES = [
    ("lstm", {}, known.lstm(), LSTM, 3, 4),
    ("np", {}, known.lstm(peepholes=False), NP, 3, 4),
    ("lstm-b", {}, known.lstm(forget_bias=1.0), LSTM, 3, 4),
    ("gru", {}, known.gru(), GRU, 3, 4),
    ("gru-cho", {}, known.gru_cho(), GRU_CHO, 3, 4),
    ("rnn", {}, known.rnn(), RNN, 3, 4),
    ("mut1", {}, known.mut1(), MUT1, 3, 4),  # M != N: projected
    ("mut1", {"project_input": True}, known.mut1(), MUT1, 4, 4),
    ("mut2", {}, known.mut2(), MUT2, 3, 4),
    ("mut2", {"project_input": True}, known.mut2(), MUT2, 4, 4),
    ("mut3", {}, known.mut3(), MUT3, 3, 4),
    ("nas", {}, known.nas(), NAS, 3, 4),
    ("nas", {"use_bias": True}, known.nas(use_bias=True), NAS_BIAS, 3, 4),
]
IDS = [f"{c[0]}{'-' if c[1] else ''}{','.join(c[1])}-{c[4]}x{c[5]}" for c in CASES]


def copy_into(graph_cell: GraphCell, cell: variants.RecurrentCell, mapping: dict) -> None:
    """Write ``cell``'s paper parameters into the graph cell's maps, through both cells'
    views; every parameter of both is written exactly once."""
    names = parameter_names(graph_cell.graph)
    assert set(names) == set(mapping)
    ours, theirs = graph_cell.paper_parameters(), cell.paper_parameters()
    pairs = [
        (ours[mine], theirs[other])
        for node, own in names.items()
        for mine, other in zip(own, mapping[node])
        if mine is not None or other is not None
    ]
    assert len(pairs) == len(ours) == len(theirs)
    with torch.no_grad():
        for dst, src in pairs:
            dst.copy_(src)


def _run(cell, x, state):
    y, final = cell(x, state)
    loss = (y * torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype)).sum()
    loss = loss + sum((s**2).sum() for s in final)
    grads = torch.autograd.grad(loss, [x, *state, *cell.parameters()])
    return y, final, grads


@pytest.mark.parametrize(("name", "options", "graph", "mapping", "m", "n"), CASES, ids=IDS)
@pytest.mark.parametrize("backend", ["generic", "auto"])
def test_known_graph_equals_its_registered_cell(name, options, graph, mapping, m, n, backend):
    cell = variants.build(name, m, n, backend=backend, **options).double()
    randomize(cell, scale=0.7)
    graph_cell = build_cell(graph, m, n).double()
    copy_into(graph_cell, cell, mapping)
    x = torch.randn(9, 3, m, dtype=torch.float64, requires_grad=True)
    state = tuple(s.requires_grad_() for s in random_state(cell, 3, torch.float64))
    y, final, grads = _run(cell, x, state)
    y_g, final_g, grads_g = _run(graph_cell, x, state)
    torch.testing.assert_close(y_g, y, rtol=0, atol=1e-12)
    for got, want in zip(final_g, final, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    # gradients: of x and the state directly, of the parameters through the paper names
    for got, want in zip(grads_g[: 1 + len(state)], grads[: 1 + len(state)]):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-11)
    _compare_parameter_gradients(graph_cell, cell, mapping, grads_g, grads)


def _compare_parameter_gradients(graph_cell, cell, mapping, grads_g, grads) -> None:
    """Gradients of the paper parameters, matched through the mapping."""
    k_g, k = (
        len(grads_g) - len(list(graph_cell.parameters())),
        len(grads) - len(list(cell.parameters())),
    )
    for c, g in ((graph_cell, grads_g[k_g:]), (cell, grads[k:])):
        for p, grad in zip(c.parameters(), g):
            p.grad = grad
    ours, theirs = graph_cell.paper_gradients(), cell.paper_gradients()
    for node, own in parameter_names(graph_cell.graph).items():
        for mine, other in zip(own, mapping[node]):
            if mine is not None:
                torch.testing.assert_close(ours[mine], theirs[other], rtol=0, atol=1e-11)


def test_mut_with_raw_input_is_the_graph_with_p_the_identity() -> None:
    """MUT1/MUT2 without projection (M = N) add x itself: the graph's P = I does that."""
    for name, graph, mapping in (("mut1", known.mut1(), MUT1), ("mut2", known.mut2(), MUT2)):
        cell = variants.build(name, 4, 4, project_input=False).double()
        randomize(cell, scale=0.7)
        graph_cell = build_cell(graph, 4, 4).double()
        ours, theirs = graph_cell.paper_parameters(), cell.paper_parameters()
        with torch.no_grad():
            for node, (mine, bias) in parameter_names(graph).items():
                other, other_bias = mapping[node]
                ours[mine].copy_(torch.eye(4) if other == "P" else theirs[other])
                if bias is not None:
                    ours[bias].copy_(theirs[other_bias])
        x = torch.randn(6, 2, 4, dtype=torch.float64)
        start = random_state(cell, 2, torch.float64)
        with torch.no_grad():
            y, final = cell(x, start)
            y_g, final_g = graph_cell(x, start)
        torch.testing.assert_close(y_g, y, rtol=0, atol=1e-12)
        torch.testing.assert_close(final_g[0], final[0], rtol=0, atol=1e-12)


def test_forget_bias_initialises_the_forget_gate_bias() -> None:
    graph = known.lstm(forget_bias=1.0)
    cell = build_cell(graph, 3, 4)
    b_f = parameter_names(graph)["Wf"][1]
    assert torch.equal(cell.paper_parameters()[b_f], torch.ones(4))
