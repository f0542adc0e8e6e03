"""Cells as data: a small typed expression-graph language for recurrent cells, for a
Jozefowicz et al. 2015 style architecture search.

    from variants import graphs
    g = graphs.known.lstm()                     # a Graph: nodes over x_t, h_{t-1}, c_{t-1}
    cell = graphs.build_cell(g, 32, 128)        # a RecurrentCell computing it
    child = graphs.mutate(g, numpy.random.default_rng(0))   # a valid, different mutant
    graphs.graph_hash(child)                    # equal for equal computations
    print(graphs.render(child))                 # c_t = ... / h_t = ...
    graphs.Graph.from_json(child.to_json())     # JSON round trip (an Optuna user attribute)

Nothing here is registered on import; ``register_graph`` adds a graph cell to the registry.
"""

from variants.graphs import known
from variants.graphs.canonical import canonical, graph_hash
from variants.graphs.cell import GraphCell, build_cell, register_graph
from variants.graphs.equations import render
from variants.graphs.mutate import MUTATIONS, mutate, mutation
from variants.graphs.nodes import Builder, Graph, Node, as_graph, parameter_names
from variants.graphs.validate import GraphError, prune, validate

__all__ = [
    "MUTATIONS",
    "Builder",
    "Graph",
    "GraphCell",
    "GraphError",
    "Node",
    "as_graph",
    "build_cell",
    "canonical",
    "graph_hash",
    "known",
    "mutate",
    "mutation",
    "parameter_names",
    "prune",
    "register_graph",
    "render",
    "validate",
]
