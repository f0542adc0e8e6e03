"""Whether a graph is a cell: one clear error for the first problem, and pruning.

A graph is valid when its ids are unique identifiers, every op is known with the right
number of operands, every operand exists, only a dense linear map reads x_t (everything else
is hidden-sized, so x_t's size M may differ from N), each state has its one output node,
there is no cycle within a step, every node is reachable from an output, and every input is
used (x_t, h_{t-1}, and c_{t-1} in a cell with memory).
"""

from __future__ import annotations

import math

from variants.graphs.nodes import (
    COMBINERS,
    INPUTS,
    LINEAR,
    MAPS,
    OPS,
    C,
    Graph,
    reading_order,
    valid_id,
)

_INPUT_TEXT = {"x": "x_t", "h": "h_{t-1}", "c": "c_{t-1}"}


class GraphError(ValueError):
    """A graph that is not a valid cell; the message names the node and the problem."""


def validate(graph: Graph) -> Graph:
    """Return ``graph`` if it is a valid cell, else raise GraphError naming the problem."""
    _check_nodes(graph)
    _check_outputs(graph)
    _check_acyclic(graph)
    reached = set(reading_order(graph))
    unreachable = [n.id for n in graph.nodes if n.id not in reached]
    if unreachable:
        raise GraphError(f"node(s) {', '.join(unreachable)} reach no output (prune() drops them)")
    used = {i for n in graph.nodes for i in n.inputs if i in INPUTS}
    needed = INPUTS if graph.memory else INPUTS[:2]
    for name in needed:
        if name not in used:
            raise GraphError(f"the graph never uses its input {_INPUT_TEXT[name]}")
    return graph


def prune(graph: Graph) -> Graph:
    """The graph without the nodes no output reaches (their parameters would get no
    gradient). Nodes keep their order."""
    reached = set(reading_order(graph))
    if len(reached) == len(graph.nodes):
        return graph
    return Graph(tuple(n for n in graph.nodes if n.id in reached), graph.h, graph.c)


def _check_nodes(graph: Graph) -> None:
    seen: set[str] = set()
    for node in graph.nodes:
        if not valid_id(node.id):
            raise GraphError(
                f"node id {node.id!r} must be an identifier other than the inputs "
                f"{', '.join(INPUTS)}"
            )
        if node.id in seen:
            raise GraphError(f"node id {node.id!r} is used twice")
        seen.add(node.id)
    for node in graph.nodes:
        where = f"node {node.id!r} ({node.op})"
        if node.op not in OPS:
            raise GraphError(f"{where}: unknown op; ops are {', '.join(OPS)}")
        arity = len(node.inputs)
        if node.op in COMBINERS and arity < 2:
            raise GraphError(f"{where} needs two or more operands, got {arity}")
        if node.op not in COMBINERS and arity != 1:
            raise GraphError(f"{where} takes one operand, got {arity}")
        if node.op not in MAPS and (node.bias or node.bias_init is not None):
            raise GraphError(f"{where}: only linear and diagonal maps have a bias")
        if node.bias_init is not None and not (node.bias and math.isfinite(node.bias_init)):
            raise GraphError(f"{where}: bias_init needs bias=True and a finite number")
        for operand in node.inputs:
            if operand == C and not graph.memory:
                raise GraphError(f"{where} reads c_{{t-1}}, but the graph has no c_t output")
            if operand not in INPUTS and not graph.has(operand):
                raise GraphError(f"{where} reads {operand!r}, which is no node or input")
            if operand == "x" and node.op != LINEAR:
                raise GraphError(
                    f"{where} reads x_t, which is input-sized: only a linear map may read "
                    "it (every other value is hidden-sized)"
                )


def _check_outputs(graph: Graph) -> None:
    for state, node_id in graph.outputs.items():
        if not graph.has(node_id):
            raise GraphError(
                f"output {state}_t is {node_id!r}, which is no node of the graph "
                "(an output must be a node; use an identity node to pass a value through)"
            )


def _check_acyclic(graph: Graph) -> None:
    """Depth-first search with colours: a grey node met again closes a cycle."""
    colour: dict[str, int] = {}  # 1 on the path, 2 done
    for start in graph.nodes:
        if colour.get(start.id):
            continue
        stack = [(start.id, iter(graph.node(start.id).inputs))]
        colour[start.id] = 1
        path = [start.id]
        while stack:
            node_id, operands = stack[-1]
            operand = next(operands, None)
            if operand is None:
                stack.pop()
                path.pop()
                colour[node_id] = 2
                continue
            if operand in INPUTS or not graph.has(operand):
                continue
            if colour.get(operand) == 1:
                cycle = path[path.index(operand) :] + [operand]
                raise GraphError(
                    f"cycle within a step: {' -> '.join(reversed(cycle))} "
                    "(only h_{t-1} and c_{t-1} carry values between steps)"
                )
            if not colour.get(operand):
                colour[operand] = 1
                path.append(operand)
                stack.append((operand, iter(graph.node(operand).inputs)))
