"""Jozefowicz-style mutations: every mutant validates, runs forward and backward, computes
something else than its parent (another hash), and a seed gives the same mutants."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from variants.graphs import (
    MUTATIONS,
    Builder,
    Graph,
    GraphCell,
    build_cell,
    graph_hash,
    known,
    mutate,
    validate,
)
from variants.graphs.mutate import MAX_NODES, apply_mutation


def test_the_table_is_a_distribution_over_the_kinds() -> None:
    assert set(MUTATIONS) == {"activation", "operation", "replace", "insert", "remove", "gate"}
    assert abs(sum(MUTATIONS.values()) - 1) < 1e-12 and min(MUTATIONS.values()) > 0


def _lineage(graph: Graph, seed: int, count: int) -> list[tuple[Graph, Graph]]:
    """(parent, child) pairs: each child mutates the original or a random earlier mutant."""
    rng = np.random.default_rng(seed)
    pool, pairs = [graph], []
    for _ in range(count):
        parent = pool[int(rng.integers(len(pool)))]
        child = mutate(parent, rng)
        pairs.append((parent, child))
        pool.append(child)
    return pairs


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_mutants_validate_run_and_differ_from_their_parent(name: str) -> None:
    for parent, child in _lineage(known.KNOWN[name](), seed=1, count=60):
        assert validate(child) is child
        assert len(child.nodes) <= MAX_NODES
        assert graph_hash(child) != graph_hash(parent)
        assert Graph.from_json(child.dumps()) == child
        cell = build_cell(child, 3, 4).double()
        x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
        y, state = cell(x)
        assert y.shape == (5, 2, 4) and torch.isfinite(y).all()
        (y.sum() + sum(s.sum() for s in state)).backward()
        assert torch.isfinite(x.grad).all()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in cell.parameters())


@pytest.mark.parametrize("name", ["lstm", "gru", "nas", "mut1"])
def test_mutant_cells_compute_their_equations(name: str) -> None:
    """The cell's batched, hoisted forward equals the graph read node by node (its paper
    step, one product per map), for mutants of every shape the search makes."""
    for _, child in _lineage(known.KNOWN[name](), seed=3, count=25):
        cell = build_cell(child, 3, 4).double()
        with torch.no_grad():
            for p in cell.parameters():
                p.copy_(torch.randn_like(p) * 0.7)
        x = torch.randn(6, 2, 3, dtype=torch.float64)
        start = tuple(torch.rand(2, 4, dtype=torch.float64) * 2 - 1 for _ in cell.state_names)
        with torch.no_grad():
            y, final = cell(x, start)
            paper = GraphCell.paper(3, 4, graph=child)
            params, state = cell.paper_parameters(), list(start)
            for t in range(6):
                values, state = paper.step(params, x[t], state)
                torch.testing.assert_close(y[t], values["h"], rtol=0, atol=1e-12)
        for got, want in zip(final, state, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_a_seed_gives_the_same_mutants() -> None:
    first = [c for _, c in _lineage(known.lstm(), seed=7, count=20)]
    again = [c for _, c in _lineage(known.lstm(), seed=7, count=20)]
    other = [c for _, c in _lineage(known.lstm(), seed=8, count=20)]
    assert first == again
    assert first != other


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_every_kind_makes_valid_mutants(kind: str, name: str) -> None:
    graph = known.KNOWN[name]()
    rng = np.random.default_rng(0)
    valid = 0
    for _ in range(20):
        child = apply_mutation(kind, graph, rng)
        try:
            validate(child)
        except ValueError:
            continue
        valid += 1
        ops = sorted(n.op for n in graph.nodes)
        new_ops = sorted(n.op for n in child.nodes)
        if kind == "activation":  # one activation changed, nothing else
            assert len(new_ops) == len(ops) and new_ops != ops
        elif kind == "operation":
            assert len(new_ops) == len(ops) and new_ops.count("sum") != ops.count("sum")
        elif kind == "gate":  # sigmoid(W x_t + U h_{t-1} + b) times a value: 5 more nodes
            assert len(new_ops) == len(ops) + 5 and new_ops.count("sigmoid") == 1 + ops.count(
                "sigmoid"
            )
        elif kind == "insert":
            assert len(new_ops) in (len(ops) + 1, len(ops) + 2)
        elif kind == "remove":
            assert len(new_ops) < len(ops)
    assert valid >= 10


def test_no_mutant_after_the_tries_is_a_clear_error() -> None:
    b = Builder()
    graph = b.graph(h=b.sum(b.linear("x"), "h"))  # no activation to change
    with pytest.raises(RuntimeError, match="no valid mutant"):
        mutate(graph, np.random.default_rng(0), table={"activation": 1.0}, tries=5)
