"""One canonical form per computation, and its hash: duplicates in a search train once.

Two graphs get the same canonical form (so the same ``graph_hash``) when they differ only in
node ids, the order of their node list, the order of the operands of a sum or a product,
identity activations, or how a sum of sums (a product of products) is nested. What is kept:
every op, every map with its bias and bias initialisation, and which nodes are shared (two
maps of x_t are two sets of weights, one map read twice is one set).

How: identities are bypassed and unshared nested sums/products flattened; each node gets a
structural key (a Merkle hash of its op and its operands' keys, sorted where the op
commutes), refined once by the keys of the nodes that read it, so that two look-alike nodes
of which only one is shared elsewhere are told apart; then the graph is walked depth first
from h_t and c_t, a commuting node's operands in key order, and the nodes are renamed n0,
n1, ... in the order the walk finishes them. (Two nodes alike in both keys are taken as
interchangeable; the search's graphs are far too small for that to matter.)
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable

from variants.graphs.nodes import COMBINERS, INPUTS, Graph, Node
from variants.graphs.validate import prune


def canonical(graph: Graph) -> Graph:
    """The canonical form of ``graph`` (for hashing and comparing, not for reading: its
    outputs may name an input where an identity was bypassed)."""
    nodes, outputs = _simplify(prune(graph))
    keys = _keys(nodes, outputs)

    names: dict[str, str] = {i: i for i in INPUTS}
    out: list[Node] = []
    for root in outputs.values():
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node_id, k = stack.pop()
            if node_id in names:
                continue
            operands = _ordered(nodes[node_id], keys)
            if k < len(operands):
                stack.extend([(node_id, k + 1), (operands[k], 0)])
                continue
            node = nodes[node_id]
            names[node_id] = f"n{len(out)}"
            renamed_operands = tuple(names[i] for i in operands)
            out.append(Node(names[node_id], node.op, renamed_operands, node.bias, node.bias_init))
    renamed = {state: names[v] for state, v in outputs.items()}
    return Graph(tuple(out), renamed["h"], renamed.get("c"))


def graph_hash(graph: Graph) -> str:
    """A stable hex digest of the canonical form: equal for graphs that compute the same
    thing in the ways ``canonical`` sees through, and the same on every machine and run."""
    return hashlib.sha256(canonical(graph).dumps().encode()).hexdigest()


def _simplify(graph: Graph) -> tuple[dict[str, Node], dict[str, str]]:
    """Bypass identities, then splice unshared nested sums/products into their parent."""

    def through(v: str) -> str:
        while v not in INPUTS and graph.node(v).op == "identity":
            v = graph.node(v).inputs[0]
        return v

    nodes = {
        n.id: Node(n.id, n.op, tuple(through(i) for i in n.inputs), n.bias, n.bias_init)
        for n in graph.nodes
        if n.op != "identity"
    }
    outputs = {state: through(v) for state, v in graph.outputs.items()}
    uses = Counter(i for n in nodes.values() for i in n.inputs) + Counter(outputs.values())

    flat: dict[str, tuple[str, ...]] = {}

    def operands(node_id: str) -> tuple[str, ...]:
        if node_id not in flat:
            node = nodes[node_id]
            spliced: list[str] = []
            for i in node.inputs:
                inner = nodes.get(i)
                if node.op in COMBINERS and inner is not None and inner.op == node.op:
                    if uses[i] == 1:  # read only here: (a + b) + c is a + b + c
                        spliced.extend(operands(i))
                        continue
                spliced.append(i)
            flat[node_id] = tuple(spliced)
        return flat[node_id]

    nodes = {k: Node(k, n.op, operands(k), n.bias, n.bias_init) for k, n in nodes.items()}
    reached = _reached(nodes, outputs)
    return {k: n for k, n in nodes.items() if k in reached}, outputs


def _reached(nodes: dict[str, Node], outputs: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    stack = [v for v in outputs.values() if v in nodes]
    while stack:
        v = stack.pop()
        if v not in seen:
            seen.add(v)
            stack.extend(i for i in nodes[v].inputs if i in nodes)
    return seen


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _keys(nodes: dict[str, Node], outputs: dict[str, str]) -> dict[str, str]:
    """Node id -> its refined structural key (inputs keep their names as keys)."""
    memo = _fold(nodes, lambda v, node, parts: _digest(node.op, node.bias, node.bias_init, parts))
    readers: dict[str, list[str]] = {v: [] for v in nodes}
    for v, node in nodes.items():
        for i in node.inputs:
            if i in nodes:
                readers[i].append(memo[v])
    for state, v in outputs.items():
        if v in nodes:
            readers[v].append(f"output {state}")
    return _fold(nodes, lambda v, node, parts: _digest(memo[v], sorted(readers[v]), parts))


def _fold(nodes: dict[str, Node], key: Callable[[str, Node, list[str]], str]) -> dict[str, str]:
    """Every node's ``key(id, node, its operands' keys)``, operands first; the operands'
    keys sorted where the op commutes, so that their order does not matter."""
    keys: dict[str, str] = {i: i for i in INPUTS}

    def of(v: str) -> str:
        if v not in keys:
            node = nodes[v]
            parts = [of(i) for i in node.inputs]
            if node.op in COMBINERS:
                parts.sort()
            keys[v] = key(v, node, parts)
        return keys[v]

    for v in nodes:
        of(v)
    return keys


def _ordered(node: Node, keys: dict[str, str]) -> tuple[str, ...]:
    """A node's operands in canonical order: by key where the op commutes."""
    if node.op in COMBINERS:
        return tuple(sorted(node.inputs, key=lambda i: keys[i]))
    return node.inputs
