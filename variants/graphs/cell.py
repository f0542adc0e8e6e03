"""GraphCell: a recurrent cell that runs a graph (``variants.graphs.nodes``) step by step.

The graph's maps are stored by what they read, the way the built-in cells stack theirs: all
dense maps of x_t are the rows of one ``weight_x`` (N rows each), those of h_{t-1} of
``weight_h``, of c_{t-1} ``weight_c``, of a node ``n3`` ``weight_n3``; their biases likewise
(``bias_x``, ..., biased maps only), diagonal maps ``diag_<source>`` (one row each) with
``diagbias_<source>``. So each source costs one matrix product per step, and the nodes that
depend on x_t alone (every map of x_t, MUT1's update gate) are computed for the whole
sequence before the time loop; where such a value is summed with a map of h_{t-1} (W x_t +
b + U h_{t-1}), it starts that map's product (one ``baddbmm``, as the hand-written cells).
``paper_parameters()`` names the pieces W1, U1, p1, b1, ... as in the rendered equations
(``nodes.parameter_names``).

The cell has no native kernel or fused path: its backend is ``generic``, autograd's. It
keeps the whole ``RecurrentCell`` contract, trials (``variants.stack``) included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from variants.base import Layout, RecurrentCell, State, premultiply
from variants.graphs.canonical import graph_hash
from variants.graphs.nodes import (
    COMBINERS,
    DIAGONAL,
    INPUTS,
    LINEAR,
    MAPS,
    ONE_MINUS,
    SUM,
    Graph,
    as_graph,
    parameter_names,
    reading_order,
)
from variants.graphs.validate import validate
from variants.paper import Paper, Values
from variants.registry import register

FAMILY = "graph"


def apply(op: str, args: list[Tensor]) -> Tensor:
    """The value of a node that is no map, from its operands' values."""
    if op in COMBINERS:
        out = args[0]
        for a in args[1:]:
            out = out + a if op == SUM else out * a
        return out
    (a,) = args
    if op == "sigmoid":
        return torch.sigmoid(a)
    if op == "tanh":
        return torch.tanh(a)
    if op == "relu":
        return torch.relu(a)
    if op == ONE_MINUS:
        return 1.0 - a
    return a  # identity


class _Plan:
    """What the forward pass needs from the graph, worked out once: the maps grouped by
    source, and the nodes split into those that depend on x_t alone (computed for all steps
    at once) and the rest (computed per step), each in reading order."""

    def __init__(self, graph: Graph) -> None:
        self.order = reading_order(graph)
        self.dense: dict[str, list[str]] = {}  # source -> its dense maps, in reading order
        self.diagonal: dict[str, list[str]] = {}
        for v in self.order:
            node = graph.node(v)
            if node.op in MAPS:
                groups = self.dense if node.op == LINEAR else self.diagonal
                groups.setdefault(node.inputs[0], []).append(v)
        self.slot = {v: k for groups in (self.dense, self.diagonal) for m in groups.values()
                     for k, v in enumerate(m)}  # fmt: skip
        static: set[str] = {"x"}
        for v in self.order:
            if all(i in static for i in graph.node(v).inputs):
                static.add(v)
        static.discard("x")
        self.static = [v for v in self.order if v in static]
        self.dynamic = [v for v in self.order if v not in static]
        # W x_t + U h_{t-1} + b as one baddbmm per step, as the hand-written cells do: where
        # a sum adds static terms to a per-step dense map read nowhere else, the terms join
        # that map's product (``absorbed``) and the sum reads what is left (``operands``)
        uses = Counter(i for v in self.order for i in graph.node(v).inputs)
        uses.update(graph.outputs.values())
        self.absorbed: dict[str, list[str]] = {}
        self.operands = {v: list(graph.node(v).inputs) for v in self.dynamic}
        for v in self.dynamic:
            node = graph.node(v)
            terms = [i for i in node.inputs if i in static]
            if node.op != SUM or not terms:
                continue
            for i in node.inputs:
                if i in static or i in INPUTS or uses[i] != 1 or i in self.absorbed:
                    continue
                if graph.node(i).op == LINEAR and graph.node(i).inputs[0] not in static:
                    self.absorbed[i] = terms
                    for term in terms:
                        self.operands[v].remove(term)
                    break
        # static values the time loop reads, one step at a time
        read = {i for v in self.dynamic for i in self.operands[v]} | set(graph.outputs.values())
        self.static_read = [v for v in self.static if v in read]


class GraphCell(RecurrentCell):
    """A cell computing ``graph`` (a ``Graph``, its JSON dict or its JSON text) at every
    step: ``GraphCell(M, N, graph=known.lstm())``. State: ``(h,)``, or ``(h, c)`` for a
    graph with memory. Every weight and bias ~ U(-1/sqrt(N), 1/sqrt(N)), except biases with
    a ``bias_init``, which start at that value."""

    supports_trials = True

    def __init__(
        self, input_size: int, hidden_size: int, *, graph: Graph | Mapping[str, Any] | str
    ) -> None:
        super().__init__(input_size, hidden_size)
        self.graph = validate(as_graph(graph))
        self.state_names = ("h", "c") if self.graph.memory else ("h",)
        self._plan = _Plan(self.graph)
        n = hidden_size
        for src, maps in self._plan.dense.items():
            size = input_size if src == "x" else n
            self.register_parameter(f"weight_{src}", nn.Parameter(torch.empty(len(maps) * n, size)))
            biased = sum(self.graph.node(m).bias for m in maps)
            if biased:
                self.register_parameter(f"bias_{src}", nn.Parameter(torch.empty(biased * n)))
        for src, maps in self._plan.diagonal.items():
            self.register_parameter(f"diag_{src}", nn.Parameter(torch.empty(len(maps), n)))
            biased = sum(self.graph.node(m).bias for m in maps)
            if biased:
                self.register_parameter(f"diagbias_{src}", nn.Parameter(torch.empty(biased, n)))
        self.reset_parameters()

    @classmethod
    def paper(
        cls,
        input_size: int,
        hidden_size: int,
        *,
        graph: Graph | Mapping[str, Any] | str,
        **_: object,
    ) -> Paper:
        """The graph read node by node, one explicit product per map (the float64 oracle
        and the probe run it); its gates are its sigmoid nodes, named by node id."""
        graph = validate(as_graph(graph))
        names = parameter_names(graph)
        order = reading_order(graph)
        n = hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for v, (weight, bias) in names.items():
            node = graph.node(v)
            if node.op == DIAGONAL:
                shapes[weight] = (n,)
            else:
                shapes[weight] = (n, input_size if node.inputs[0] == "x" else n)
            if bias is not None:
                shapes[bias] = (n,)
        gates = {v: f"sigmoid node {v}" for v in order if graph.node(v).op == "sigmoid"}
        outputs = list(graph.outputs.values())

        def step(
            p: Mapping[str, Tensor], x: Tensor, state: list[Tensor]
        ) -> tuple[Values, list[Tensor]]:
            env = dict(zip(("x", *graph.outputs), (x, *state)))
            for v in order:
                node = graph.node(v)
                args = [env[i] for i in node.inputs]
                if node.op in MAPS:
                    weight, bias = names[v]
                    w = p[weight]
                    value = w * args[0] if node.op == DIAGONAL else args[0] @ w.T
                    env[v] = value + p[bias] if bias is not None else value
                else:
                    env[v] = apply(node.op, args)
            values = {g: env[g] for g in gates}
            values.update(zip(graph.outputs, (env[v] for v in outputs)))
            return values, [env[v] for v in outputs]

        return Paper(FAMILY, step, tuple(graph.outputs), gates, shapes)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        inits = {
            names[1]: self.graph.node(v).bias_init
            for v, names in parameter_names(self.graph).items()
            if self.graph.node(v).bias_init is not None
        }
        if inits:
            with torch.no_grad():
                views = self.paper_parameters()
                for name, value in inits.items():
                    views[name].fill_(value)

    def _paper_layout(self) -> Layout:
        n, plan, layout = self.hidden_size, self._plan, {}
        for v, (weight, bias) in parameter_names(self.graph).items():
            node = self.graph.node(v)
            src, k = node.inputs[0], plan.slot[v]
            group = plan.dense[src] if node.op == LINEAR else plan.diagonal[src]
            j = sum(self.graph.node(m).bias for m in group[:k])  # biased maps before it
            if node.op == LINEAR:
                layout[weight] = (f"weight_{src}", (slice(k * n, (k + 1) * n),))
                if bias is not None:
                    layout[bias] = (f"bias_{src}", (slice(j * n, (j + 1) * n),))
            else:
                layout[weight] = (f"diag_{src}", (k,))
                if bias is not None:
                    layout[bias] = (f"diagbias_{src}", (j,))
        return layout

    def _group_bias(self, src: str, maps: list[str], diagonal: bool) -> Tensor | None:
        """The bias of every map of a group, [K, rows] (dense) or [K, maps, N] (diagonal),
        zeros for maps without one; None when no map of the group has one."""
        flags = [self.graph.node(m).bias for m in maps]
        if not any(flags):
            return None
        stored = self.param(f"diagbias_{src}" if diagonal else f"bias_{src}")
        if all(flags):
            return stored
        pieces = stored.split(1, 1) if diagonal else stored.split(self.hidden_size, -1)
        zero = pieces[0].new_zeros(pieces[0].shape)
        it = iter(pieces)
        return torch.cat([next(it) if f else zero for f in flags], 1 if diagonal else -1)

    def _forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        # x: [T, K, B, M], states [K, B, N] (K = 1 for a single cell)
        graph, plan, n = self.graph, self._plan, self.hidden_size
        weight = {src: self.param(f"weight_{src}") for src in plan.dense}
        bias = {src: self._group_bias(src, m, False) for src, m in plan.dense.items()}
        diag = {src: self.param(f"diag_{src}").unsqueeze(2) for src in plan.diagonal}
        diag_bias = {src: self._group_bias(src, m, True) for src, m in plan.diagonal.items()}
        diag_bias = {s: b.unsqueeze(2) for s, b in diag_bias.items() if b is not None}

        def value(v: str, env: dict[str, Tensor], products: dict[str, Tensor], product) -> Tensor:
            node = graph.node(v)
            if node.op == LINEAR:
                src = node.inputs[0]
                if src not in products:
                    products[src] = product(src, env[src])
                if len(plan.dense[src]) == 1:
                    return products[src]
                k = plan.slot[v]
                return products[src][..., k * n : (k + 1) * n]
            args = [env[i] for i in node.inputs]
            if node.op == DIAGONAL:
                src, k = node.inputs[0], plan.slot[v]
                out = args[0] * diag[src][:, k]  # [K, 1, N] against [(T,) K, B, N]
                return out + diag_bias[src][:, k] if src in diag_bias else out
            return apply(node.op, args)

        # the nodes of x_t alone, for all steps at once: [T, K, B, N]
        def whole(src: str, v: Tensor) -> Tensor:
            return premultiply(v, weight[src], bias[src])

        seq: dict[str, Tensor] = {"x": x}
        seq_products: dict[str, Tensor] = {}
        for v in plan.static:
            seq[v] = value(v, seq, seq_products, whole)
        per_step = {v: seq[v].unbind(0) for v in plan.static_read}

        # the rest, step by step: one product per source and step, each node a prepared
        # closure over its operands' slots (the Python per node is most of a step's cost)
        w_t = {src: weight[src].transpose(1, 2) for src in plan.dense if src not in seq}
        b_t = {src: b.unsqueeze(1) for src, b in bias.items() if b is not None and src in w_t}
        for src in [s for s in w_t if any(m in plan.absorbed for m in plan.dense[s])]:
            b_t[src] = self._addend(src, seq, bias[src]).unbind(0)  # [K, B, rows] per step
            per_step[f"+{src}"] = b_t[src]
        program = [self._compile(v, w_t, b_t, diag, diag_bias) for v in plan.dynamic]
        states = dict(zip(graph.outputs, state))
        outputs = []
        for t in range(x.shape[0]):
            env = dict(states)
            for v, values in per_step.items():
                env[v] = values[t]
            for v, run in program:
                env[v] = run(env)
            states = {s: env[v] for s, v in graph.outputs.items()}
            outputs.append(states["h"])
        return torch.stack(outputs), tuple(states.values())

    def _addend(self, src: str, seq: dict[str, Tensor], bias: Tensor | None) -> Tensor:
        """What a group's per-step product starts from, [T, K, B, rows]: for each of its
        maps the static terms absorbed into it plus its bias (zeros where neither)."""
        plan, n = self._plan, self.hidden_size
        x = seq["x"]
        shape = (x.shape[0], x.shape[1], x.shape[2], n)
        pieces = []
        for k, m in enumerate(plan.dense[src]):
            piece = None
            for term in plan.absorbed.get(m, []):
                piece = seq[term] if piece is None else piece + seq[term]
            if self.graph.node(m).bias:
                b = bias[:, k * n : (k + 1) * n].unsqueeze(1)  # type: ignore[index]
                piece = b.expand(shape) if piece is None else piece + b
            pieces.append(piece if piece is not None else x.new_zeros(shape))
        return torch.cat(pieces, -1)

    def _compile(self, v: str, w_t: dict, b_t: dict, diag: dict, diag_bias: dict) -> tuple:
        """(node id, a function of the step's values giving the node's value)."""
        node, plan, n = self.graph.node(v), self._plan, self.hidden_size
        operands = node.inputs
        if node.op == LINEAR:  # the group's product, once per step, under a private key
            src, k = operands[0], plan.slot[v]
            key, whole = f"@{src}", len(plan.dense[src]) == 1
            w, b, addend = w_t[src], b_t.get(src), f"+{src}"
            if isinstance(b, tuple):  # per-step addends (absorbed terms): in env

                def start(env: dict[str, Tensor]) -> Tensor:
                    return env[addend]

            else:

                def start(env: dict[str, Tensor]) -> Tensor | None:
                    return b

            def linear(env: dict[str, Tensor]) -> Tensor:
                out = env.get(key)
                if out is None:
                    a, c = env[src], start(env)
                    out = env[key] = torch.baddbmm(c, a, w) if c is not None else torch.bmm(a, w)
                return out if whole else out[..., k * n : (k + 1) * n]

            return v, linear
        if node.op == DIAGONAL:
            src, k = operands[0], plan.slot[v]
            d = diag[src][:, k]  # [K, 1, N]
            db = diag_bias[src][:, k] if src in diag_bias else None
            if db is not None:
                return v, lambda env: torch.addcmul(db, env[src], d)
            return v, lambda env: env[src] * d
        operands = tuple(plan.operands[v])  # without the terms absorbed into a map
        if node.op == SUM and len(operands) == 1:  # a sum left with one operand
            (only,) = operands
            return v, lambda env: env[only]
        if node.op == SUM and len(operands) == 2:
            a, b2 = operands
            return v, lambda env: env[a] + env[b2]
        if node.op == "product" and len(operands) == 2:
            a, b2 = operands
            return v, lambda env: env[a] * env[b2]
        op = node.op
        return v, lambda env: apply(op, [env[i] for i in operands])

    def extra_repr(self) -> str:
        return super().extra_repr() + f", graph={graph_hash(self.graph)[:12]}"


def build_cell(
    graph: Graph | Mapping[str, Any] | str, input_size: int, hidden_size: int
) -> GraphCell:
    """A GraphCell of ``graph`` (validated; an invalid one raises GraphError)."""
    return GraphCell(input_size, hidden_size, graph=graph)


def register_graph(
    name: str,
    graph: Graph | Mapping[str, Any] | str,
    *,
    paper: str = "Jozefowicz et al. 2015 (a searched graph)",
    description: str | None = None,
    replace: bool = False,
) -> Graph:
    """Register ``graph`` as variant ``name`` (family ``graph``): ``variants.build(name, M,
    N)`` then builds its GraphCell, and the registry-wide tests cover it. Nothing registers
    graph cells on import; an export or a test calls this. Returns the validated graph."""
    graph = validate(as_graph(graph))
    text = description or f"graph cell {graph_hash(graph)[:12]}"
    register(
        name, GraphCell, family=FAMILY, paper=paper, description=text, replace=replace, graph=graph
    )
    return graph
