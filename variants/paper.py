"""What a cell family says about its paper: the equations of one step, its gates, its state
and its parameters' shapes.

Each cell class answers ``Cell.paper(M, N, **options)`` with a ``Paper``. The test suite's
float64 oracle, ``variants.probe`` (and so ``harness inspect``) and the registry-wide tests
read everything they need from it, so a new family is one file: its class, its ``paper``,
its registration. The step is written straight from the paper (one explicit matmul per paper
parameter, nothing stacked or fused: ``variants/equations.py`` holds the built-in families'),
so that each line can be checked against the equations by eye.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

Values = dict[str, Tensor]
# one step: (paper parameters, x_t [B, M], the state at t-1) -> (named values, the state at t)
Step = Callable[[Mapping[str, Tensor], Tensor, list[Tensor]], tuple[Values, list[Tensor]]]


@dataclass(frozen=True)
class Paper:
    """A family's equations for one choice of sizes and options.

    ``step`` returns its named ``[B, N]`` values (its gates, the block input or candidate,
    ``c`` where the cell has a cell state, and ``h``, the output) and the next state, laid
    out as ``state`` (the output first). ``gates`` names the family's sigmoid gates (symbol
    -> what the paper calls it) in the paper's order; ``missing`` those this variant lacks
    (a constant 1 in their place, not among the values). ``shapes`` maps each paper
    parameter to its shape."""

    family: str
    step: Step
    state: tuple[str, ...]
    gates: Mapping[str, str]
    shapes: Mapping[str, tuple[int, ...]]
    missing: tuple[str, ...] = field(default=())

    @property
    def present(self) -> tuple[str, ...]:
        """The gates this variant has, in the paper's order."""
        return tuple(g for g in self.gates if g not in self.missing)

    def count(self) -> int:
        """Trainable scalars: the sum of the shapes' sizes."""
        total = 0
        for shape in self.shapes.values():
            size = 1
            for extent in shape:
                size *= extent
            total += size
        return total


def on_hidden(step: Callable[..., Values], *args: object) -> Step:
    """A step of a cell whose whole state is ``h``: ``step(p, x, h', *args)``."""

    def run(p: Mapping[str, Tensor], x: Tensor, state: list[Tensor]) -> tuple[Values, list[Tensor]]:
        values = step(p, x, state[0], *args)
        return values, [values["h"]]

    return run


def blocks(n: int, m: int, inputs: list[str], recurrent: list[str], vectors: list[str]) -> dict:
    """Shapes: input matrices N×M, recurrent N×N, vectors N."""
    return {
        **{k: (n, m) for k in inputs},
        **{k: (n, n) for k in recurrent},
        **{k: (n,) for k in vectors},
    }


def paper_of(name: str, input_size: int, hidden_size: int, **options: Any) -> Paper:
    """The ``Paper`` of registered variant ``name``, from its class, with its preset and
    ``options`` (which must be options of its builder)."""
    from variants.registry import info

    entry = info(name)
    unknown = set(options) - set(entry.options())
    if unknown:
        raise TypeError(f"unsupported option(s) for {name!r}: {sorted(unknown)}")
    declare = getattr(entry.builder, "paper", None)
    try:
        if declare is None:
            raise NotImplementedError
        return declare(input_size, hidden_size, **{**entry.preset, **options})
    except NotImplementedError:
        raise ValueError(
            f"no paper equations for {name!r}: its class "
            f"{getattr(entry.builder, '__name__', entry.builder)} declares none (a classmethod "
            "paper returning variants.paper.Paper)"
        ) from None
