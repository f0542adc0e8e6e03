"""Small helpers shared by the cell tests."""

from __future__ import annotations

import torch
from torch import nn

import variants
from variants.paper import Paper, blocks, on_hidden


def _fused(name: str) -> bool:
    return variants.build(name, 3, 4).backend == "fused"


def _native(name: str) -> bool:
    return bool(getattr(variants.info(name).builder, "has_native_kernel", False))


FUSED = [n for n in variants.names() if _fused(n)]
NATIVE = [n for n in variants.names() if _native(n)]


def backends(name: str) -> list[str]:
    """The backends a variant can run on: the torch loop, the C kernels, torch's kernel
    (worked out from the variant, so that one registered after import is covered too)."""
    return ["generic"] + (["native"] if _native(name) else []) + (["fused"] if _fused(name) else [])


def make(
    name: str, backend: str, input_size: int, hidden_size: int, **options: object
) -> variants.RecurrentCell:
    """Build ``name`` on ``backend`` (cells without a fused kernel have no backend option)."""
    if "backend" in variants.info(name).options():
        options["backend"] = backend
    else:
        assert backend == "generic", f"{name} has no backend option"
    return variants.build(name, input_size, hidden_size, **options)


def randomize(cell: variants.RecurrentCell, scale: float = 0.5) -> None:
    """Random values in every paper parameter (through the views, so the cell changes)."""
    with torch.no_grad():
        for view in cell.paper_parameters().values():
            view.copy_(torch.randn_like(view) * scale)


def random_state(cell: variants.RecurrentCell, batch: int, dtype: torch.dtype) -> tuple:
    """A non-zero state of the right layout, in the range a cell reaches (gates in (0, 1))."""
    state = []
    for name in cell.state_names:
        s = torch.rand(batch, cell.hidden_size, dtype=dtype)
        state.append(s if name in ("i", "f", "o") else 2 * s - 1)
    return tuple(state)


class ReadmeCell(variants.RecurrentCell):
    """The README's cell in one file: h = tanh(scale (W x + R h')); no trial support."""

    def __init__(self, input_size: int, hidden_size: int, *, scale: float = 1.0) -> None:
        super().__init__(input_size, hidden_size)
        self.weight_x = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_h = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.scale = scale
        self.reset_parameters()

    @classmethod
    def paper(cls, input_size, hidden_size, *, scale=1.0, **_):
        def step(p, x, h):  # the paper's equation: one explicit matmul per paper parameter
            return {"h": torch.tanh(scale * (x @ p["W"].T + h @ p["R"].T))}

        shapes = blocks(hidden_size, input_size, ["W"], ["R"], [])  # N×M, N×N, no vector
        return Paper("minimal", on_hidden(step), ("h",), {}, shapes)  # state h, no gates

    def _paper_layout(self):
        return {"W": ("weight_x", (slice(None),)), "R": ("weight_h", (slice(None),))}

    def _forward(self, x, state):
        h, outputs = state[0], []
        for x_t in x.unbind(0):
            h = torch.tanh(self.scale * (x_t @ self.weight_x.t() + h @ self.weight_h.t()))
            outputs.append(h)
        return torch.stack(outputs), (h,)
