"""The model every run trains: task encoder -> stacked recurrent layers -> task head."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

import variants
from tasks import IO

State = list[tuple[Tensor, ...]]


class SequenceModel(nn.Module):
    """Token ids go through an embedding (width ``hidden_size``), features go straight into
    the first cell (its W already is the input layer); ``layers`` cells of ``variant`` follow,
    then a linear head to the task's classes, labels or values.

    ``input_noise`` is Greff et al.'s Gaussian input noise: its standard deviation, added to
    the (embedded) inputs during training only.
    """

    def __init__(self, io: IO, variant: str, hidden_size: int, layers: int = 1,
                 input_noise: float = 0.0, **cell_options: Any) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        if input_noise < 0:
            raise ValueError(f"input_noise must be at least 0, got {input_noise}")
        self.io, self.input_noise = io, input_noise
        if io.input == "tokens":
            self.encoder: nn.Module = nn.Embedding(io.input_size, hidden_size)
            width = hidden_size
        else:
            self.encoder = nn.Identity()
            width = io.input_size
        self.cells = nn.ModuleList(
            variants.build(variant, width if k == 0 else hidden_size, hidden_size,
                           **cell_options) for k in range(layers))
        self.head = nn.Linear(hidden_size, io.output_size)

    def encode(self, x: Tensor) -> Tensor:
        """The first cell's input ``[T, B, width]``, with input noise while training."""
        inputs = self.encoder(x)
        if self.training and self.input_noise > 0:
            inputs = inputs + self.input_noise * torch.randn_like(inputs)
        return inputs

    def forward(self, x: Tensor, state: State | None = None,
                hidden: list[Tensor] | None = None) -> tuple[Tensor, State]:
        """Outputs ``[T, B, K]`` and the new state of every layer. If ``hidden`` is a list, the
        last layer's outputs ``[T, B, N]`` are appended to it (to take dLoss/dh_t)."""
        h = self.encode(x)
        new_state: State = []
        for k, cell in enumerate(self.cells):
            h, s = cell(h, None if state is None else state[k])
            new_state.append(s)
        if hidden is not None:
            hidden.append(h)
        return self.head(h), new_state

    @property
    def backend(self) -> str:
        return self.cells[0].backend


def detach(state: State | None) -> State | None:
    """Cut the graph between truncated-BPTT windows, keeping the values."""
    return None if state is None else [tuple(t.detach() for t in s) for s in state]
