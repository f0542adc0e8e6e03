"""The graph language as data: JSON round trip, validation's one clear error per problem,
the canonical hash, the rendered equations, and graph cells registered at test time passing
the registry-wide suite (contract, equations, counts, gradients, stacking, probe)."""

from __future__ import annotations

import json

import pytest
import torch

import variants
from tests.variants import (
    test_contract,
    test_counts,
    test_equations,
    test_gradcheck,
    test_probe,
    test_stack,
)
from variants.graphs import (
    Builder,
    Graph,
    GraphError,
    Node,
    build_cell,
    canonical,
    graph_hash,
    known,
    prune,
    register_graph,
    render,
    validate,
)

# --------------------------------------------------------------------------- #
# data
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("name", sorted(known.KNOWN))
def test_json_round_trip(name: str) -> None:
    graph = known.KNOWN[name]()
    data = json.loads(json.dumps(graph.to_json()))  # what an Optuna user attribute keeps
    assert Graph.from_json(data) == graph
    assert Graph.from_json(graph.dumps()) == graph
    assert graph_hash(Graph.from_json(data)) == graph_hash(graph)


def test_bias_init_survives_json() -> None:
    graph = Graph.from_json(known.lstm(forget_bias=1.0).dumps())
    assert graph.node("Wf").bias_init == 1.0 and graph.node("Wi").bias_init is None


def test_malformed_data_and_outputs_are_clear_errors() -> None:
    with pytest.raises(GraphError, match="malformed"):
        Graph.from_json({"nodes": [{"op": "tanh"}], "outputs": {"h": "a"}})
    with pytest.raises(GraphError, match="one output per state"):
        Graph.from_json({"nodes": [], "outputs": {"h": "a", "y": "b"}})
    with pytest.raises(GraphError, match="one output per state"):
        Graph.from_json({"nodes": [], "outputs": {"c": "a"}})


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #


def _graph(*nodes: tuple, h: str = "out", c: str | None = None) -> Graph:
    return Graph(tuple(Node(i, op, tuple(ins), *rest) for i, op, ins, *rest in nodes), h, c)


ELMAN = [("a", "linear", ["x"], True), ("b", "linear", ["h"]), ("s", "sum", ["a", "b"])]
INVALID = [
    (_graph(*ELMAN, ("out", "tanh", ["s"]), ("out", "tanh", ["s"])), "used twice"),
    (_graph(*ELMAN, ("x", "tanh", ["s"]), h="x"), "identifier other than the inputs"),
    (_graph(*ELMAN, ("out", "softplus", ["s"])), "unknown op"),
    (_graph(*ELMAN, ("out", "sum", ["s"])), "two or more operands"),
    (_graph(*ELMAN, ("out", "tanh", ["s", "a"])), "takes one operand"),
    (_graph(*ELMAN, ("out", "tanh", ["s"], True)), "only linear and diagonal maps"),
    (_graph(*ELMAN, ("out", "tanh", ["nope"])), "'nope', which is no node"),
    (_graph(*ELMAN, ("out", "tanh", ["x"])), "only a linear map may read"),
    (_graph(*ELMAN, ("d", "diagonal", ["x"]), ("out", "sum", ["s", "d"])), "x_t"),
    (_graph(*ELMAN, ("out", "sum", ["s", "c"])), "no c_t output"),
    (_graph(*ELMAN, ("out", "tanh", ["s"]), h="s2"), "output h_t is 's2'"),
    (_graph(*ELMAN, ("out", "tanh", ["s"]), c="h"), "output c_t is 'h'"),
    (
        _graph(*ELMAN, ("p", "sum", ["s", "q"]), ("q", "tanh", ["p"]), ("out", "tanh", ["q"])),
        "cycle within a step",
    ),
    (_graph(*ELMAN, ("dead", "tanh", ["s"]), ("out", "tanh", ["s"])), "dead.*reach no output"),
    (_graph(("a", "linear", ["x"]), ("out", "tanh", ["a"])), "never uses its input h_{t-1}"),
    (_graph(("b", "linear", ["h"]), ("out", "tanh", ["b"])), "never uses its input x_t"),
    (_graph(*ELMAN, ("out", "tanh", ["s"]), ("k", "tanh", ["s"]), c="k"), "c_{t-1}"),
    (_graph(("a", "linear", ["x"], False, 1.0), ("out", "sum", ["a", "h"])), "bias_init"),
]


@pytest.mark.parametrize(("graph", "message"), INVALID, ids=[m for _, m in INVALID])
def test_an_invalid_graph_raises_one_error_naming_the_problem(graph: Graph, message: str):
    with pytest.raises(GraphError, match=message):
        validate(graph)
    with pytest.raises(GraphError):
        build_cell(graph, 3, 4)


def test_prune_drops_unreachable_nodes_and_keeps_order() -> None:
    graph = _graph(*ELMAN, ("dead", "tanh", ["s"]), ("out", "tanh", ["s"]))
    pruned = prune(graph)
    assert [n.id for n in pruned.nodes] == ["a", "b", "s", "out"]
    assert validate(pruned) is pruned


# --------------------------------------------------------------------------- #
# canonical form and hash
# --------------------------------------------------------------------------- #


def _shuffled_commuted(graph: Graph) -> Graph:
    """The same computation: nodes listed backwards, renamed, sum/product operands reversed."""
    rename = {n.id: f"q{k}" for k, n in enumerate(graph.nodes)}

    def new(i: str) -> str:
        return rename.get(i, i)

    nodes = []
    for n in reversed(graph.nodes):
        inputs = tuple(new(i) for i in n.inputs)
        if n.op in ("sum", "product"):
            inputs = inputs[::-1]
        nodes.append(Node(new(n.id), n.op, inputs, n.bias, n.bias_init))
    return Graph(tuple(nodes), new(graph.h), None if graph.c is None else new(graph.c))


@pytest.mark.parametrize("name", sorted(known.KNOWN))
def test_hash_ignores_node_order_names_and_operand_order(name: str) -> None:
    graph = known.KNOWN[name]()
    other = _shuffled_commuted(graph)
    assert other != graph
    assert graph_hash(other) == graph_hash(graph)
    assert canonical(other) == canonical(graph)


def test_hash_sees_through_identities_and_nested_sums() -> None:
    b = Builder()
    a, u, p = b.linear("x", bias=True), b.linear("h"), b.linear("h")
    flat = b.graph(h=b.tanh(b.sum(a, u, p)))
    b = Builder()
    a, u, p = b.linear("x", bias=True), b.linear("h"), b.linear("h")
    nested = b.graph(h=b.tanh(b.act("identity", b.sum(b.sum(p, a), u))))
    assert graph_hash(flat) == graph_hash(nested)


def test_hash_tells_different_computations_apart() -> None:
    hashes = {graph_hash(f()) for f in known.KNOWN.values()}
    assert len(hashes) == len(known.KNOWN)  # lstm-b differs from lstm by its bias init only
    # one map read twice is not two maps: the weights are shared
    b = Builder()
    m = b.linear("x")
    shared = b.graph(h=b.product(b.sigmoid(m), b.tanh(b.sum(m, "h"))))
    b = Builder()
    two = b.graph(h=b.product(b.sigmoid(b.linear("x")), b.tanh(b.sum(b.linear("x"), "h"))))
    assert graph_hash(shared) != graph_hash(two)
    # and the order of a non-commuting chain matters
    b = Builder()
    one = b.graph(h=b.tanh(b.sigmoid(b.sum(b.linear("x"), "h"))))
    b = Builder()
    other = b.graph(h=b.sigmoid(b.tanh(b.sum(b.linear("x"), "h"))))
    assert graph_hash(one) != graph_hash(other)


def test_hash_is_a_stable_hex_digest() -> None:
    digest = graph_hash(known.gru())
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == graph_hash(known.gru())


# --------------------------------------------------------------------------- #
# equations
# --------------------------------------------------------------------------- #


def test_lstm_equations() -> None:
    assert render(known.lstm()) == (
        "c_t = sigmoid(W1 x_t + U1 h_{t-1} + p1 * c_{t-1} + b1) * tanh(W2 x_t + U2 h_{t-1} + b2)"
        " + sigmoid(W3 x_t + U3 h_{t-1} + p2 * c_{t-1} + b3) * c_{t-1}\n"
        "h_t = sigmoid(W4 x_t + U4 h_{t-1} + p3 * c_t + b4) * tanh(c_t)"
    )
    assert render(known.lstm(peepholes=False)) == (
        "c_t = sigmoid(W1 x_t + U1 h_{t-1} + b1) * tanh(W2 x_t + U2 h_{t-1} + b2)"
        " + sigmoid(W3 x_t + U3 h_{t-1} + b3) * c_{t-1}\n"
        "h_t = sigmoid(W4 x_t + U4 h_{t-1} + b4) * tanh(c_t)"
    )


def test_gru_equations() -> None:
    assert render(known.gru()) == (
        "z = sigmoid(W1 x_t + U1 h_{t-1} + b1)\n"
        "h_t = (1 - z) * tanh(W2 x_t + sigmoid(W3 x_t + U2 h_{t-1} + b3) * (U3 h_{t-1} + b4)"
        " + b2) + z * h_{t-1}"
    )
    assert render(known.gru_cho()) == (
        "z = sigmoid(W1 x_t + U1 h_{t-1} + b1)\n"
        "h_t = (1 - z) * h_{t-1} + z * tanh(W2 x_t + A1 (sigmoid(W3 x_t + U2 h_{t-1} + b3)"
        " * h_{t-1}) + b2)"
    )


def test_equations_name_the_cells_parameters() -> None:
    for f in known.KNOWN.values():
        graph = f()
        text = render(graph)
        for name in build_cell(graph, 3, 4).paper_parameters():
            assert f"{name} " in text or f"{name})" in text or text.endswith(name), name


# --------------------------------------------------------------------------- #
# graph cells in the registry
# --------------------------------------------------------------------------- #

REGISTERED = {
    "graph-lstm": known.lstm(),
    "graph-gru": known.gru(),
    "graph-mut1": known.mut1(),
    "graph-mut3": known.mut3(),
    "graph-nas": known.nas(use_bias=True),
}


@pytest.fixture
def registered():
    for name, graph in REGISTERED.items():
        register_graph(name, graph)
    try:
        yield sorted(REGISTERED)
    finally:
        for name in REGISTERED:
            variants.unregister(name)


def test_nothing_is_registered_on_import() -> None:
    assert not [n for n in variants.names() if variants.info(n).family == "graph"]


def test_registered_graph_cells_pass_every_registry_wide_test(registered: list[str]) -> None:
    for name in registered:
        assert variants.info(name).family == "graph"
        assert isinstance(variants.build(name, 3, 4), variants.RecurrentCell)
        test_contract.test_shapes_finite_and_state_layout(name, "generic")
        test_contract.test_every_parameter_receives_a_gradient(name, "generic")
        for split in (1, 3, 6):
            test_contract.test_state_continuation(name, "generic", split)
        test_contract.test_paper_parameters_are_views_covering_every_parameter_once(name)
        test_contract.test_wrong_input_or_state_shape_is_a_clear_error(name)
        test_contract.test_empty_sequence_returns_the_state_unchanged(name)
        test_equations.test_cell_matches_equations(name, 3, 4, {}, "generic")
        test_gradcheck.test_gradcheck(name, "generic")
        test_stack.test_a_stack_of_three_equals_three_cells(name, "generic")
        test_probe.test_probe_equals_the_cells_forward(name)
        for m, n in ((32, 128), (7, 7), (50, 3)):
            test_counts.test_count_matches_the_paper(name, m, n)


def test_register_graph_takes_json_and_refuses_an_invalid_graph() -> None:
    try:
        register_graph("graph-json", known.gru().dumps())
        assert variants.build("graph-json", 3, 4).graph == known.gru()
    finally:
        variants.unregister("graph-json")
    with pytest.raises(GraphError):
        register_graph("graph-bad", _graph(*ELMAN, ("out", "tanh", ["x"])))
    assert "graph-bad" not in variants.names()


def test_stack_refuses_graph_cells_of_different_graphs() -> None:
    with pytest.raises(ValueError, match="one variant"):
        variants.stack([build_cell(known.gru(), 3, 4), build_cell(known.mut3(), 3, 4)])


def test_a_graph_cell_runs_in_float32_with_a_default_state() -> None:
    cell = build_cell(known.lstm(), 5, 6)
    y, (h, c) = cell(torch.randn(4, 2, 5))
    assert y.dtype == torch.float32 and y.shape == (4, 2, 6) and c.shape == (2, 6)
    assert cell.state_names == ("h", "c") and cell.backend == "generic"
