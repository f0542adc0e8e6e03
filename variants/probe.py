"""Look inside a cell: its gates, cell state and output at every step.

The cells run on fused or native kernels that keep their gates to themselves. The probe runs
a cell's paper equations (its class's ``paper``, the same steps the test suite checks every
cell against) over the cell's own paper parameters, step by step in float64, and keeps every
named activation::

    trace = variants.probe.run("lstm", cell.paper_parameters(), x)
    trace.values["f"]        # forget gate, [T, B, N]
    trace.gates, trace.missing   # ("i", "f", "o"), (); for nig: ("f", "o"), ("i",)

Its ``h`` equals the cell's own output (``tests/variants/test_probe.py`` checks it for every
registered variant), so what it shows is what the trained cell computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from variants.paper import Values, paper_of

DTYPE = torch.float64


@dataclass(frozen=True)
class Trace:
    """A cell's activations over a sequence: ``values`` maps a name (its gates, ``z`` or
    ``n`` for the block input or candidate, ``c``, ``h``) to ``[T, B, N]`` float64."""

    kind: str  # the equations' family (``Paper.family``)
    values: Mapping[str, Tensor]
    gates: tuple[str, ...]  # the names in ``values`` that are gates (sigmoids, in (0, 1))
    missing: tuple[str, ...]  # the family's gates this cell lacks (a constant 1 in its place)
    state: tuple[Tensor, ...]  # the state after the last step, laid out as the cell's
    gate_names: Mapping[str, str]  # what the paper calls each gate ("f": "forget gate")

    @property
    def h(self) -> Tensor:
        return self.values["h"]

    @property
    def c(self) -> Tensor | None:
        """The cell state, for cells that have one (the LSTM family, NAS)."""
        return self.values.get("c")


def run(
    name: str,
    params: Mapping[str, Tensor],
    x: Tensor,
    state: Sequence[Tensor] | None = None,
    **options: Any,
) -> Trace:
    """Run variant ``name`` (with ``options`` over its preset) from its paper parameters over
    ``x`` ``[T, B, M]`` from ``state`` (zeros if None), in float64."""
    if x.dim() != 3:
        raise ValueError(f"x must be [T, B, M], got shape {tuple(x.shape)}")
    p = {k: v.detach().to(DTYPE) for k, v in params.items()}
    steps, batch, m = x.shape
    n = _hidden_size(name, p)
    paper = paper_of(name, m, n, **options)
    layout = paper.state
    if state is None:
        st = [x.new_zeros(batch, n, dtype=DTYPE) for _ in layout]
    else:
        st = [s.detach().to(DTYPE) for s in state]
        if len(st) != len(layout):
            raise ValueError(
                f"{name!r} state must have {len(layout)} tensors {layout}, got {len(st)}"
            )
    x = x.detach().to(DTYPE)
    per_step: list[Values] = []
    with torch.no_grad():
        for t in range(steps):
            values, st = paper.step(p, x[t], st)
            per_step.append(values)
    keep = [k for k in (per_step[0] if per_step else {"h": None}) if k not in paper.missing]
    values = {
        k: (
            torch.stack([v[k] for v in per_step])
            if per_step
            else x.new_zeros(0, batch, n, dtype=DTYPE)
        )
        for k in keep
    }
    return Trace(paper.family, values, paper.present, paper.missing, tuple(st), paper.gates)


def _hidden_size(name: str, params: Mapping[str, Tensor]) -> int:
    """N, from any parameter: every paper parameter has N rows."""
    if not params:
        raise ValueError(f"no paper parameters given for {name!r}")
    return int(next(iter(params.values())).shape[0])
