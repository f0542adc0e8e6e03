"""The model every run trains: task encoder -> stacked recurrent layers -> task head.

``SequenceModel`` is one trial's model; ``TrialStack`` trains K of them at once (population
training): their parameters stacked along a leading trial dimension, inputs ``[T, K, B, ...]``,
trial k computing exactly what its own ``SequenceModel`` computes. A single run is a stack of
one, so a run trains the same way alone or in a population.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

import variants
from tasks import IO

NOISE_SALT = 0x6E6F6973  # keeps a trial's input-noise stream apart from its data stream

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
        last layer's probe ``[T, B, N]`` is appended to it (``through_layers``: dLoss/dh_t)."""
        h, new_state = through_layers(self.cells, self.encode(x), state, hidden)
        return self.head(h), new_state

    @property
    def backend(self) -> str:
        return self.cells[0].backend


class TrialStack(nn.Module):
    """K ``SequenceModel``s of one configuration as one model (their parameters copied).

    Input noise comes from each trial's own generator (seeded from the trial's seed), so a
    trial draws the same noise alone or among others. ``noisy`` switches it off (evaluation,
    gradient probes) besides ``eval()``.
    """

    def __init__(self, models: list[SequenceModel], seeds: list[int]) -> None:
        super().__init__()
        first = models[0]
        self.io, self.trials = first.io, len(models)
        self.noise = [m.input_noise for m in models]
        device = next(first.parameters()).device
        self.generators = [torch.Generator(device=device).manual_seed(seed ^ NOISE_SALT)
                           for seed in seeds]
        with torch.no_grad():
            self.embedding = (nn.Parameter(torch.stack([m.encoder.weight for m in models]))
                              if first.io.input == "tokens" else None)
            self.head_weight = nn.Parameter(torch.stack([m.head.weight for m in models]))
            self.head_bias = nn.Parameter(torch.stack([m.head.bias for m in models]))
        self.cells = nn.ModuleList(variants.stack([m.cells[k] for m in models])
                                   for k in range(len(first.cells)))
        self.noisy = True

    def encode(self, x: Tensor) -> Tensor:
        """The first cell's input ``[T, K, B, width]``, with each trial's noise in training."""
        if self.embedding is not None:  # ids [T, K, B] -> each trial's own embedding
            # one lookup in the trials' tables laid end to end (its backward is a sorted
            # scatter, far cheaper than that of advanced indexing)
            vocabulary = self.embedding.shape[1]
            offsets = torch.arange(self.trials, device=x.device).view(1, -1, 1) * vocabulary
            inputs = nn.functional.embedding(x + offsets, self.embedding.flatten(0, 1))
        else:
            inputs = x.to(self.head_weight.dtype)
        if self.training and self.noisy and any(self.noise):
            draws = [torch.randn(inputs[:, k].shape, generator=g, device=inputs.device,
                                 dtype=inputs.dtype) * std if std > 0 else None
                     for k, (std, g) in enumerate(zip(self.noise, self.generators))]
            inputs = inputs + torch.stack([d if d is not None else torch.zeros_like(inputs[:, 0])
                                           for d in draws], 1)
        return inputs

    def forward(self, x: Tensor, state: State | None = None,
                hidden: list[Tensor] | None = None) -> tuple[Tensor, State]:
        """Outputs ``[T, K, B, O]`` and every layer's state (``[K, B, N]`` each)."""
        h, new_state = through_layers(self.cells, self.encode(x), state, hidden)
        steps, trials, batch, width = h.shape  # the head as one product per trial
        flat = h.transpose(0, 1).reshape(trials, steps * batch, width)
        out = torch.baddbmm(self.head_bias.unsqueeze(1), flat, self.head_weight.transpose(1, 2))
        return out.view(trials, steps, batch, -1).transpose(0, 1), new_state

    def backend(self, device: torch.device) -> str:
        """What the cells run on there (native kernels, torch's fused kernel, torch loop)."""
        probe = torch.empty(0, device=device, dtype=self.head_weight.dtype)
        return self.cells[0].runs_on(probe)


def through_layers(cells: nn.ModuleList, h: Tensor, state: State | None,
                   hidden: list[Tensor] | None) -> tuple[Tensor, State]:
    """The stacked layers: the last one's outputs and every layer's new state. When
    ``hidden`` is a list, the last layer runs step by step with a zero tensor ``probe``
    added to each h_t where it is both output and carried to the next step, and ``probe``
    ([T, ..., N], a leaf) is appended to ``hidden``: after a backward, ``probe.grad[t]`` is
    the total derivative dLoss/dh_t, through the output at t and through the recurrence
    after it (the gradient through time). The values are those of the whole-sequence pass;
    any backend runs it, since every cell takes a state and returns h_t first in its state."""
    new_state: State = []
    last = len(cells) - 1
    for k, cell in enumerate(cells):
        given = None if state is None else state[k]
        if hidden is not None and k == last:
            h, s = _probed(cell, h, given, hidden)
        else:
            h, s = cell(h, given)
        new_state.append(s)
    return h, new_state


def _probed(cell: nn.Module, x: Tensor, state: Any, hidden: list[Tensor]
            ) -> tuple[Tensor, State]:
    """``cell`` over ``x`` one step at a time with the zero probe on each h_t (see above)."""
    outputs: list[Tensor] = []
    probe: Tensor | None = None
    for t in range(x.shape[0]):
        out, state = cell(x[t:t + 1], state)
        if probe is None:
            probe = torch.zeros((x.shape[0], *out.shape[1:]), dtype=out.dtype,
                                device=out.device, requires_grad=True)
            hidden.append(probe)
        h = out[0] + probe[t]
        state = (h, *state[1:])
        outputs.append(h)
    return torch.stack(outputs), state


def detach(state: State | None) -> State | None:
    """Cut the graph between truncated-BPTT windows, keeping the values."""
    return None if state is None else [tuple(t.detach() for t in s) for s in state]
