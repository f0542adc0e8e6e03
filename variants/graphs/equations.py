"""A graph as equations people read: the docstring of an exported cell, the search report.

    c_t = sigmoid(W1 x_t + U1 h_{t-1} + p1 * c_{t-1} + b1) * tanh(W2 x_t + ...) + ...
    h_t = sigmoid(W4 x_t + U4 h_{t-1} + p3 * c_t + b4) * tanh(c_t)

One equation per output and per node read more than once (named by its id); everything else
is written inline. Parameters have the cell's own names (``nodes.parameter_names``): W of
x_t, U of h_{t-1}, V of c_{t-1}, A of another node, p diagonal, b bias; ``*`` is
elementwise; a sum's biases are written last. Identities are left out.
"""

from __future__ import annotations

from variants.graphs.nodes import (
    DIAGONAL,
    LINEAR,
    ONE_MINUS,
    PRODUCT,
    SUM,
    Graph,
    parameter_names,
    reading_order,
    shared_nodes,
)
from variants.graphs.validate import validate

INPUT_TEXT = {"x": "x_t", "h": "h_{t-1}", "c": "c_{t-1}"}
OUTPUT_TEXT = {"h": "h_t", "c": "c_t"}
# precedence of what a piece of text is: an atom (a name, a call), a product, a sum
ATOM, PROD, SUMS = 3, 2, 1


def render(graph: Graph) -> str:
    """The equations of a valid graph, one per line: shared nodes, c_t, h_t."""
    validate(graph)
    names = parameter_names(graph)
    labels = {v: v for v in shared_nodes(graph)}
    for state in ("h", "c"):  # c_t's name wins where one node is both outputs
        if state in graph.outputs:
            labels[graph.outputs[state]] = OUTPUT_TEXT[state]

    def ref(v: str) -> tuple[str, int]:
        """How an operand reads: an input, a named node, or the node written out."""
        if v in INPUT_TEXT:
            return INPUT_TEXT[v], ATOM
        if v in labels:
            return labels[v], ATOM
        return expand(v)

    def wrap(v: str, level: int) -> str:
        text, own = ref(v)
        return text if own >= level else f"({text})"

    def terms(v: str, out: list[str], biases: list[str]) -> None:
        """The terms of a sum, nested unnamed sums and the maps' biases spliced in."""
        node = graph.node(v) if graph.has(v) and v not in labels else None
        if node is not None and node.op == "identity":
            terms(node.inputs[0], out, biases)
        elif node is not None and node.op == SUM:
            for i in node.inputs:
                terms(i, out, biases)
        elif node is not None and node.op in (LINEAR, DIAGONAL) and node.bias:
            out.append(apply_map(v))
            biases.append(names[v][1])  # type: ignore[arg-type]
        else:
            out.append(wrap(v, PROD))

    def apply_map(v: str) -> str:
        """A map without its bias: ``W1 x_t``, ``A1 (r * h_{t-1})``, ``p1 * c_{t-1}``."""
        node = graph.node(v)
        weight = names[v][0]
        if node.op == DIAGONAL:
            return f"{weight} * {wrap(node.inputs[0], PROD)}"
        return f"{weight} {wrap(node.inputs[0], ATOM)}"

    def expand(v: str) -> tuple[str, int]:
        node = graph.node(v)
        if node.op == "identity":
            return ref(node.inputs[0])
        if node.op in ("sigmoid", "tanh", "relu"):
            return f"{node.op}({ref(node.inputs[0])[0]})", ATOM
        if node.op == ONE_MINUS:
            return f"1 - {wrap(node.inputs[0], PROD)}", SUMS
        if node.op == PRODUCT:
            return " * ".join(wrap(i, PROD) for i in node.inputs), PROD
        if node.op == SUM:
            out: list[str] = []
            biases: list[str] = []
            for i in node.inputs:
                terms(i, out, biases)
            return " + ".join(out + biases), SUMS
        if node.bias:
            return f"{apply_map(v)} + {names[v][1]}", SUMS
        return apply_map(v), PROD

    lines = []
    for v in reading_order(graph):
        if v in labels:
            lines.append(f"{labels[v]} = {expand(v)[0]}")
    if graph.c is not None and graph.c == graph.h:
        lines.append("h_t = c_t")
    return "\n".join(lines)
