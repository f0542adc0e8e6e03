"""A recurrent cell as data: typed nodes over x_t, h_{t-1} and c_{t-1}, and the graph of them.

A graph is a frozen dataclass of plain values, so it round-trips through JSON (``to_json`` /
``from_json``) and can be stored as an Optuna user attribute. Nodes name their operands by id;
the inputs have the reserved ids ``x`` (x_t, input-sized), ``h`` (h_{t-1}) and ``c`` (c_{t-1},
only in cells with a memory). ``Graph.h`` and ``Graph.c`` name the nodes that are h_t and c_t.

``Builder`` writes graphs in code; ``reading_order`` (operands before users) and
``parameter_names`` (W1, U1, b1, ..., numbered as the equations show them) are shared by the
cell, its paper layout and the rendered equations.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

X, H, C = "x", "h", "c"
INPUTS = (X, H, C)

LINEAR = "linear"  # W v (+ b): a dense map from v's size to the hidden size
DIAGONAL = "diagonal"  # p * v (+ b): an elementwise weight vector, e.g. an LSTM peephole
MAPS = (LINEAR, DIAGONAL)
SUM, PRODUCT = "sum", "product"  # elementwise, two or more operands, commutative
COMBINERS = (SUM, PRODUCT)
ONE_MINUS = "one_minus"  # 1 - v
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", ONE_MINUS)
OPS = MAPS + COMBINERS + ACTIVATIONS

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # ids become parameter attribute names


@dataclass(frozen=True)
class Node:
    """One operation. ``bias`` and ``bias_init`` only mean something for the maps:
    ``bias_init`` None draws the bias like every parameter, a number sets it (a forget-gate
    bias of 1 is ``bias_init=1.0``)."""

    id: str
    op: str
    inputs: tuple[str, ...]
    bias: bool = False
    bias_init: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "op": self.op, "inputs": list(self.inputs)}
        if self.bias:
            out["bias"] = True
        if self.bias_init is not None:
            out["bias_init"] = self.bias_init
        return out


@dataclass(frozen=True)
class Graph:
    """The nodes (any order) and the outputs: ``h`` is h_t's node, ``c`` c_t's (None for a
    cell without memory; then no node may read ``c``)."""

    nodes: tuple[Node, ...]
    h: str
    c: str | None = None
    _index: dict[str, Node] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "_index", {n.id: n for n in self.nodes})

    @property
    def memory(self) -> bool:
        return self.c is not None

    @property
    def outputs(self) -> dict[str, str]:
        """State name -> node: h, then c for memory cells."""
        return {H: self.h} if self.c is None else {H: self.h, C: self.c}

    def node(self, node_id: str) -> Node:
        return self._index[node_id]

    def has(self, node_id: str) -> bool:
        return node_id in self._index

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes], "outputs": self.outputs}

    def dumps(self) -> str:
        """Compact JSON text (what an Optuna user attribute or an exported file keeps)."""
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> Graph:
        """The graph of ``to_json``'s dict (or its text). Malformed data raises GraphError;
        whether the graph makes sense is ``validate``'s business."""
        from variants.graphs.validate import GraphError

        if isinstance(data, str):
            data = json.loads(data)
        try:
            nodes = tuple(
                Node(
                    str(n["id"]),
                    str(n["op"]),
                    tuple(str(i) for i in n["inputs"]),
                    bool(n.get("bias", False)),
                    None if n.get("bias_init") is None else float(n["bias_init"]),
                )
                for n in data["nodes"]
            )
            outputs = dict(data["outputs"])
        except (KeyError, TypeError, ValueError) as err:
            raise GraphError(f"malformed graph data: {err!r}") from None
        extra = set(outputs) - {H, C}
        if H not in outputs or extra:
            raise GraphError(
                f"a graph has exactly one output per state: 'h' and, with memory, 'c'; "
                f"got outputs {sorted(outputs)}"
            )
        return cls(nodes, str(outputs[H]), None if outputs.get(C) is None else str(outputs[C]))


def as_graph(graph: Graph | Mapping[str, Any] | str) -> Graph:
    """A Graph from a Graph, its JSON dict or its JSON text."""
    return graph if isinstance(graph, Graph) else Graph.from_json(graph)


def valid_id(node_id: str) -> bool:
    return bool(_ID.match(node_id)) and node_id not in INPUTS


class Builder:
    """Writes a graph in code, one call per node; each call returns the new node's id::

        b = Builder()
        z = b.sigmoid(b.sum(b.linear("x", bias=True), b.linear("h")))
        graph = b.graph(h=b.sum(b.product(z, "h"), ...))

    ``name`` gives a node a readable id (gates are shown by id); others get n1, n2, ...
    """

    def __init__(self) -> None:
        self._nodes: list[Node] = []

    def _add(self, op: str, inputs: tuple[str, ...], name: str | None = None, **kw: Any) -> str:
        node_id = name or f"n{len(self._nodes) + 1}"
        self._nodes.append(Node(node_id, op, tuple(inputs), **kw))
        return node_id

    def linear(
        self, v: str, *, bias: bool = False, init: float | None = None, name: str | None = None
    ) -> str:
        return self._add(LINEAR, (v,), name, bias=bias, bias_init=init)

    def diagonal(
        self, v: str, *, bias: bool = False, init: float | None = None, name: str | None = None
    ) -> str:
        return self._add(DIAGONAL, (v,), name, bias=bias, bias_init=init)

    def sum(self, *vs: str, name: str | None = None) -> str:
        return self._add(SUM, vs, name)

    def product(self, *vs: str, name: str | None = None) -> str:
        return self._add(PRODUCT, vs, name)

    def act(self, op: str, v: str, name: str | None = None) -> str:
        return self._add(op, (v,), name)

    def sigmoid(self, v: str, name: str | None = None) -> str:
        return self.act("sigmoid", v, name)

    def tanh(self, v: str, name: str | None = None) -> str:
        return self.act("tanh", v, name)

    def relu(self, v: str, name: str | None = None) -> str:
        return self.act("relu", v, name)

    def one_minus(self, v: str, name: str | None = None) -> str:
        return self.act(ONE_MINUS, v, name)

    def graph(self, h: str, c: str | None = None) -> Graph:
        return Graph(tuple(self._nodes), h, c)


def reading_order(graph: Graph) -> list[str]:
    """Node ids, operands before their users: depth first from c_t then h_t, operands in the
    order written (the order the cell computes them and the equations are listed in).
    Unreachable nodes are left out."""
    order: list[str] = []
    seen: set[str] = set()
    entered: set[str] = set()  # a node entered and not yet done is on the path: a cycle
    roots = [graph.c, graph.h] if graph.c is not None else [graph.h]
    for root in roots:
        stack: list[tuple[str, int]] = [(root, 0)]  # iterative: mutants may grow deep
        while stack:
            node_id, k = stack.pop()
            if node_id in seen or not graph.has(node_id) or (k == 0 and node_id in entered):
                continue
            entered.add(node_id)
            operands = graph.node(node_id).inputs
            if k < len(operands):
                stack.append((node_id, k + 1))
                stack.append((operands[k], 0))
            else:
                seen.add(node_id)
                order.append(node_id)
    return order


def shared_nodes(graph: Graph) -> list[str]:
    """The nodes written as equations of their own: the outputs and the nodes read more than
    once, in reading order (so each comes after those it reads)."""
    uses = Counter(i for n in graph.nodes for i in n.inputs)
    outputs = set(graph.outputs.values())
    return [v for v in reading_order(graph) if v in outputs or uses[v] > 1]


def writing_order(graph: Graph) -> list[str]:
    """Node ids in the order the equations show them: equation by equation
    (``shared_nodes``), each one's inline nodes depth first, operands in the order written.
    Every other node is read once, so it belongs to exactly one equation."""
    named = shared_nodes(graph)
    stop = set(named)
    out: list[str] = []
    for root in named:
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node_id, k = stack.pop()
            operands = graph.node(node_id).inputs
            if k < len(operands):
                stack.append((node_id, k + 1))
                if graph.has(operands[k]) and operands[k] not in stop:
                    stack.append((operands[k], 0))
            else:
                out.append(node_id)
    return out


# the letter of a map's weight, by what it reads: x_t, h_{t-1}, c_{t-1}, another node
_LETTERS = {X: "W", H: "U", C: "V"}
INTERNAL_LETTER, DIAGONAL_LETTER, BIAS_LETTER = "A", "p", "b"


def parameter_names(graph: Graph) -> dict[str, tuple[str, str | None]]:
    """Map node id -> (weight name, bias name or None), numbered in the order the equations
    show the maps (``writing_order``, so W1 is the first W one reads): dense maps of x_t
    are W1, W2, ..., of h_{t-1} U1, ..., of c_{t-1} V1, ..., of another node A1, ...;
    diagonal maps p1, ...; biases b1, ... (one counter each)."""
    counts: dict[str, int] = {}

    def next_name(letter: str) -> str:
        counts[letter] = counts.get(letter, 0) + 1
        return f"{letter}{counts[letter]}"

    names: dict[str, tuple[str, str | None]] = {}
    for node_id in writing_order(graph):
        node = graph.node(node_id)
        if node.op not in MAPS:
            continue
        if node.op == DIAGONAL:
            letter = DIAGONAL_LETTER
        else:
            letter = _LETTERS.get(node.inputs[0], INTERNAL_LETTER)
        weight = next_name(letter)
        names[node_id] = (weight, next_name(BIAS_LETTER) if node.bias else None)
    return names
