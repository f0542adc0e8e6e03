"""Mutations of a cell graph, after Jozefowicz et al. 2015's architecture search.

Jozefowicz, Zaremba, Sutskever, "An Empirical Exploration of Recurrent Network
Architectures", ICML 2015, mutate a cell's computation graph: change an activation or an
elementwise operation, insert a node, remove one, replace one by a random subtree. Here one
call makes one mutation, its kind drawn from ``MUTATIONS``; "gate" (multiply a value by a new
sigmoid gate of x_t and h_{t-1}) adds the step most of the paper's good cells share.

``mutate(graph, rng)`` returns a valid graph that computes something else than its parent
(a different ``graph_hash``): a draw that does not validate, grows past ``MAX_NODES`` or
changes nothing is discarded and another drawn, at most ``MAX_TRIES`` times. Everything
random comes from the numpy Generator, so a seed gives the same mutants everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from variants.graphs.canonical import graph_hash
from variants.graphs.nodes import ACTIVATIONS, COMBINERS, LINEAR, PRODUCT, SUM, Graph, Node
from variants.graphs.validate import GraphError, prune, validate

# kind -> probability of being drawn (they sum to 1): the table a report states
MUTATIONS: dict[str, float] = {
    "activation": 0.25,  # an activation becomes another (sigmoid, tanh, relu, identity, 1 - x)
    "operation": 0.10,  # a sum becomes a product, or a product a sum
    "replace": 0.15,  # a node becomes a random subtree of depth <= 2 over its operands and inputs
    "insert": 0.20,  # a value, on one of its uses, is wrapped in an activation, or summed
    # with / multiplied by a new linear map (with bias) of x_t, h_{t-1} or c_{t-1}
    "remove": 0.15,  # a node is bypassed: its readers read one of its operands instead
    "gate": 0.15,  # a value, on one of its uses, is multiplied by sigmoid(W x_t + U h_{t-1} + b)
}
MAX_TRIES = 100
MAX_NODES = 64  # mutants that grow beyond this are discarded: a bound on cost per step
SUBTREE_DEPTH = 2


class _Draft:
    """A graph being edited: nodes by id (in order), the outputs, fresh ids m1, m2, ..."""

    def __init__(self, graph: Graph, rng: np.random.Generator) -> None:
        self.nodes: dict[str, Node] = {n.id: n for n in graph.nodes}
        self.outputs = dict(graph.outputs)
        self.rng = rng
        self._count = 0

    def add(self, op: str, *inputs: str, bias: bool = False) -> str:
        self._count += 1
        while f"m{self._count}" in self.nodes:
            self._count += 1
        node_id = f"m{self._count}"
        self.nodes[node_id] = Node(node_id, op, tuple(inputs), bias)
        return node_id

    def pick(self, items: list[str] | tuple[str, ...]) -> str:
        return items[int(self.rng.integers(len(items)))]

    def sources(self) -> list[str]:
        """The inputs a new map may read."""
        return ["x", "h", "c"] if "c" in self.outputs else ["x", "h"]

    def uses(self, v: str) -> list[tuple[str, int]]:
        """Where ``v`` is read: (node id, operand position), or (state, -1) for an output."""
        out = [(n.id, k) for n in self.nodes.values() for k, i in enumerate(n.inputs) if i == v]
        return out + [(state, -1) for state, node in self.outputs.items() if node == v]

    def rewire(self, use: tuple[str, int], new: str) -> None:
        where, k = use
        if k < 0:
            self.outputs[where] = new
            return
        node = self.nodes[where]
        inputs = node.inputs[:k] + (new,) + node.inputs[k + 1 :]
        self.nodes[where] = Node(node.id, node.op, inputs, node.bias, node.bias_init)

    def graph(self) -> Graph:
        return Graph(tuple(self.nodes.values()), self.outputs["h"], self.outputs.get("c"))


def _activation(d: _Draft) -> Graph | None:
    targets = [v for v, n in d.nodes.items() if n.op in ACTIVATIONS]
    if not targets:
        return None
    v = d.pick(targets)
    node = d.nodes[v]
    op = d.pick([a for a in ACTIVATIONS if a != node.op])
    d.nodes[v] = Node(v, op, node.inputs)
    return d.graph()


def _operation(d: _Draft) -> Graph | None:
    targets = [v for v, n in d.nodes.items() if n.op in COMBINERS]
    if not targets:
        return None
    v = d.pick(targets)
    node = d.nodes[v]
    d.nodes[v] = Node(v, PRODUCT if node.op == SUM else SUM, node.inputs)
    return d.graph()


def _subtree(d: _Draft, depth: int, leaves: list[str]) -> str:
    """A random expression over ``leaves`` (hidden-sized values) and maps of the inputs."""
    if depth == 0 or d.rng.random() < 0.3:
        if d.rng.random() < 0.5:
            return d.add(LINEAR, d.pick(d.sources() + leaves), bias=True)
        return d.pick(leaves)
    kind = d.pick(["activation", SUM, PRODUCT])
    if kind == "activation":
        act = d.pick([a for a in ACTIVATIONS if a != "identity"])
        return d.add(act, _subtree(d, depth - 1, leaves))
    return d.add(kind, _subtree(d, depth - 1, leaves), _subtree(d, depth - 1, leaves))


def _replace(d: _Draft) -> Graph | None:
    v = d.pick(list(d.nodes))
    leaves = [i for i in d.nodes[v].inputs if i != "x"] + [s for s in d.sources() if s != "x"]
    new = _subtree(d, SUBTREE_DEPTH, list(dict.fromkeys(leaves)))
    for use in d.uses(v):
        d.rewire(use, new)
    return d.graph()


def _insert(d: _Draft) -> Graph | None:
    v = d.pick(list(d.nodes))
    use = _one_use(d, v)
    if d.rng.random() < 0.5:
        new = d.add(d.pick([a for a in ACTIVATIONS if a != "identity"]), v)
    else:
        term = d.add(LINEAR, d.pick(d.sources()), bias=True)
        new = d.add(d.pick([SUM, PRODUCT]), v, term)
    d.rewire(use, new)
    return d.graph()


def _remove(d: _Draft) -> Graph | None:
    targets = [v for v, n in d.nodes.items() if any(i != "x" for i in n.inputs)]
    if not targets:
        return None
    v = d.pick(targets)
    operand = d.pick([i for i in d.nodes[v].inputs if i != "x"])
    for use in d.uses(v):
        d.rewire(use, operand)
    return d.graph()


def _gate(d: _Draft) -> Graph | None:
    v = d.pick(list(d.nodes))
    use = _one_use(d, v)
    pre = d.add(SUM, d.add(LINEAR, "x", bias=True), d.add(LINEAR, "h"))
    d.rewire(use, d.add(PRODUCT, v, d.add("sigmoid", pre)))
    return d.graph()


def _one_use(d: _Draft, v: str) -> tuple[str, int]:
    uses = d.uses(v)
    return uses[int(d.rng.integers(len(uses)))]


_APPLY: dict[str, Callable[[_Draft], Graph | None]] = {
    "activation": _activation,
    "operation": _operation,
    "replace": _replace,
    "insert": _insert,
    "remove": _remove,
    "gate": _gate,
}


def apply_mutation(kind: str, graph: Graph, rng: np.random.Generator) -> Graph | None:
    """One mutation of ``kind`` (a key of ``MUTATIONS``), pruned but not validated; None
    where the graph has nothing it applies to (no activation to change, ...)."""
    out = _APPLY[kind](_Draft(graph, rng))
    return None if out is None else prune(out)


def mutate(
    graph: Graph,
    rng: np.random.Generator,
    *,
    table: dict[str, float] | None = None,
    tries: int = MAX_TRIES,
    max_nodes: int = MAX_NODES,
) -> Graph:
    """A valid mutant of ``graph`` that computes something else (another ``graph_hash``),
    one mutation of a kind drawn from ``table`` (default ``MUTATIONS``)."""
    return mutation(graph, rng, table=table, tries=tries, max_nodes=max_nodes)[0]


def mutation(
    graph: Graph,
    rng: np.random.Generator,
    *,
    table: dict[str, float] | None = None,
    tries: int = MAX_TRIES,
    max_nodes: int = MAX_NODES,
) -> tuple[Graph, str]:
    """``mutate``'s mutant and the kind of mutation that made it (a search records it)."""
    table = MUTATIONS if table is None else table
    kinds = list(table)
    weights = np.array([table[k] for k in kinds], dtype=float)
    parent = graph_hash(graph)
    for _ in range(tries):
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        child = apply_mutation(kind, graph, rng)
        if child is None or len(child.nodes) > max_nodes:
            continue
        try:
            validate(child)
        except GraphError:
            continue
        if graph_hash(child) != parent:
            return child, kind
    raise RuntimeError(f"no valid mutant that changes the graph in {tries} tries")
