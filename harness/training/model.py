"""The model every run trains: task encoder -> stacked recurrent layers -> task head.

``SequenceModel`` is one trial's model; ``TrialStack`` trains K of them at once (population
training): their parameters stacked along a leading trial dimension, inputs ``[T, K, B, ...]``,
trial k computing exactly what its own ``SequenceModel`` computes. A single run is a stack of
one, so a run trains the same way alone or in a population.

A bidirectional model (``Bidirectional`` layers) reads each sequence both ways: a forward
cell and a backward cell of the variant per layer, the backward one on the sequence reversed
within each sequence's valid length (``valid_lengths``: up to its last scored step), their
outputs concatenated per step.
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

    def __init__(
        self,
        io: IO,
        variant: str,
        hidden_size: int,
        layers: int = 1,
        input_noise: float = 0.0,
        *,
        bidirectional: bool = False,
        **cell_options: Any,
    ) -> None:
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
        self.bidirectional = bidirectional
        out = 2 * hidden_size if bidirectional else hidden_size  # what a layer gives

        def layer(k: int) -> nn.Module:
            def cell() -> nn.Module:
                return variants.build(
                    variant, width if k == 0 else out, hidden_size, **cell_options
                )

            return Bidirectional(cell(), cell()) if bidirectional else cell()

        self.cells = nn.ModuleList(layer(k) for k in range(layers))
        self.head = nn.Linear(out, io.output_size)

    def encode(self, x: Tensor) -> Tensor:
        """The first cell's input ``[T, B, width]``, with input noise while training."""
        inputs = self.encoder(x)
        if self.training and self.input_noise > 0:
            inputs = inputs + self.input_noise * torch.randn_like(inputs)
        return inputs

    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        hidden: list[Tensor] | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, State]:
        """Outputs ``[T, B, K]`` and the new state of every layer. If ``hidden`` is a list, the
        last layer's probe ``[T, B, N]`` is appended to it (``through_layers``: dLoss/dh_t).
        ``lengths`` ``[B]`` (``lengths_of``): where a bidirectional model's backward cells
        start each sequence (None: every sequence is ``T`` long)."""
        h, new_state = through_layers(self.cells, self.encode(x), state, hidden, lengths)
        return self.head(h), new_state

    def lengths_of(self, mask: Tensor) -> Tensor | None:
        """The ``lengths`` to pass with a batch of this ``mask`` (None unless bidirectional)."""
        return valid_lengths(mask) if self.bidirectional else None

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
        self.generators = noise_generators(seeds, device)
        with torch.no_grad():
            self.embedding = (
                nn.Parameter(torch.stack([m.encoder.weight for m in models]))
                if first.io.input == "tokens"
                else None
            )
            self.head_weight = nn.Parameter(torch.stack([m.head.weight for m in models]))
            self.head_bias = nn.Parameter(torch.stack([m.head.bias for m in models]))
        self.cells = nn.ModuleList(
            _stack_layer([m.cells[k] for m in models]) for k in range(len(first.cells))
        )
        self.bidirectional = first.bidirectional
        self.noisy = True

    def encode(self, x: Tensor) -> Tensor:
        """The first cell's input ``[T, K, B, width]``, with each trial's noise in training."""
        if self.embedding is not None:  # ids [T, K, B] -> each trial's own embedding
            inputs = trial_embedding(x, self.embedding)
        else:
            inputs = x.to(self.head_weight.dtype)
        if self.training and self.noisy and any(self.noise):
            inputs = with_input_noise(inputs, self.noise, self.generators)
        return inputs

    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        hidden: list[Tensor] | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, State]:
        """Outputs ``[T, K, B, O]`` and every layer's state (``[K, B, N]`` each); ``lengths``
        ``[K, B]`` as ``SequenceModel`` takes them."""
        h, new_state = through_layers(self.cells, self.encode(x), state, hidden, lengths)
        steps, trials, batch, width = h.shape  # the head as one product per trial
        flat = h.transpose(0, 1).reshape(trials, steps * batch, width)
        # the bias added after the product: what baddbmm computes, without its slow first
        # copy of the broadcast bias into the output
        out = torch.bmm(flat, self.head_weight.transpose(1, 2)).add_(self.head_bias.unsqueeze(1))
        return out.view(trials, steps, batch, -1).transpose(0, 1), new_state

    def backend(self, device: torch.device) -> str:
        """What the cells run on there (native kernels, torch's fused kernel, torch loop)."""
        probe = torch.empty(0, device=device, dtype=self.head_weight.dtype)
        return self.cells[0].runs_on(probe)

    def lengths_of(self, mask: Tensor) -> Tensor | None:
        """``lengths`` ``[K, B]`` for a batch's ``mask`` (``[T, K, B]``, or ``[T, B]`` for
        data every trial reads), None unless bidirectional."""
        if not self.bidirectional:
            return None
        lengths = valid_lengths(mask)
        return lengths if mask.dim() == 3 else lengths.unsqueeze(0).expand(self.trials, -1)


class Bidirectional(nn.Module):
    """One bidirectional layer: ``forward_cell`` reads the sequence in time order,
    ``backward_cell`` (the same variant, its own parameters) reads it reversed within each
    sequence's valid length; the output at t is ``[h_fwd_t, h_bwd_t]`` (2N wide), the state
    both cells' final states one after the other. Any backend of the cell runs it: only the
    input is reversed."""

    def __init__(self, forward_cell: nn.Module, backward_cell: nn.Module) -> None:
        super().__init__()
        self.forward_cell, self.backward_cell = forward_cell, backward_cell

    def forward(
        self,
        x: Tensor,
        state: tuple[Tensor, ...] | None = None,
        lengths: Tensor | None = None,
        probe: list[Tensor] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """``probe``: a list, to run the forward cell under ``_probed`` (the gradient-through-
        time probe covers the forward direction, the one a causal model has too)."""
        split = len(self.forward_cell.state_names)
        ahead, back = (None, None) if state is None else (state[:split], state[split:])
        if probe is None:
            h_ahead, s_ahead = self.forward_cell(x, ahead)
        else:
            h_ahead, s_ahead = _probed(self.forward_cell, x, ahead, probe)
        h_back, s_back = self.backward_cell(reverse(x, lengths), back)
        return torch.cat([h_ahead, reverse(h_back, lengths)], -1), (*s_ahead, *s_back)

    @property
    def backend(self) -> str:
        return self.forward_cell.backend

    def runs_on(self, x: Tensor) -> str:
        return self.forward_cell.runs_on(x)

    def paper_gradients(self) -> dict[str, Tensor | None]:
        """The forward cell's under the paper's names, the backward cell's with ``~`` after
        the name (``W_f~``)."""
        return {
            **self.forward_cell.paper_gradients(),
            **{f"{name}~": g for name, g in self.backward_cell.paper_gradients().items()},
        }


def _stack_layer(layers: list[nn.Module]) -> nn.Module:
    """K trials' layer ``k`` as one: ``variants.stack`` of the cells, per direction."""
    if isinstance(layers[0], Bidirectional):
        return Bidirectional(
            variants.stack([m.forward_cell for m in layers]),
            variants.stack([m.backward_cell for m in layers]),
        )
    return variants.stack(layers)


def valid_lengths(mask: Tensor) -> Tensor:
    """Each sequence's valid length (``mask`` ``[T, ...]`` -> ``[...]``): up to and with its
    last scored step. What follows is padding (a task's shorter sequences, a population's
    smaller batches: ``evaluate.stack_batches``); a row with nothing scored has length 0."""
    steps = torch.arange(1, mask.shape[0] + 1, device=mask.device)
    steps = steps.view(-1, *([1] * (mask.dim() - 1)))
    return (mask.to(torch.bool) * steps).amax(0)


def reverse(x: Tensor, lengths: Tensor | None) -> Tensor:
    """``x`` ``[T, ..., F]`` reversed in time within each sequence's first ``lengths`` steps
    (``lengths`` ``[...]``, the dimensions between T and F), the padding after them left in
    place; all of it where ``lengths`` is None. Its own inverse."""
    if lengths is None:
        return x.flip(0)
    steps = torch.arange(x.shape[0], device=x.device).view(-1, *([1] * lengths.dim()))
    length = lengths.to(x.device).unsqueeze(0)
    index = torch.where(steps < length, length - 1 - steps, steps)
    return _Permute.apply(x, index.unsqueeze(-1).expand_as(x))


class _Permute(torch.autograd.Function):
    """``x.gather(0, index)`` for an index that is its own inverse (a reversal): the backward
    is the same gather, not a scatter-add (deterministic on every device)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, index: Tensor) -> Tensor:
        ctx.save_for_backward(index)
        return x.gather(0, index)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (index,) = ctx.saved_tensors
        return grad.gather(0, index), None


def trial_embedding(ids: Tensor, table: Tensor) -> Tensor:
    """Ids ``[..., K, B]`` -> each trial's embedding ``[..., K, B, N]`` from its own table
    (``table`` ``[K, V, N]``): one lookup in the tables laid end to end (its backward a
    sorted scatter, far cheaper than that of advanced indexing). On the CPU through
    ``index_select``, whose backward (an ``index_add_``) sums each row's gradients in the
    order ``embedding``'s does, 3-4x faster; elsewhere ``embedding``, whose backward is
    deterministic where ``index_add_``'s atomic adds are not."""
    offsets = torch.arange(table.shape[0], device=ids.device).view(-1, 1) * table.shape[1]
    ids, flat = ids + offsets, table.flatten(0, 1)
    if table.device.type != "cpu":
        return nn.functional.embedding(ids, flat)
    return flat.index_select(0, ids.flatten()).view(*ids.shape, -1)


def noise_generators(seeds: list[int], device: torch.device) -> list[torch.Generator]:
    """Each trial's own input-noise stream, apart from its data stream (``NOISE_SALT``), so
    that a trial draws the same noise alone or among others."""
    return [torch.Generator(device=device).manual_seed(seed ^ NOISE_SALT) for seed in seeds]


def with_input_noise(
    inputs: Tensor, stds: list[float], generators: list[torch.Generator]
) -> Tensor:
    """``inputs`` ``[T, K, B, W]`` plus trial k's Gaussian noise of std ``stds[k]``, drawn
    from its own generator (a trial without noise draws nothing)."""
    draws = [
        torch.randn(inputs[:, k].shape, generator=g, device=inputs.device, dtype=inputs.dtype) * std
        if std > 0
        else None
        for k, (std, g) in enumerate(zip(stds, generators))
    ]
    return inputs + torch.stack(
        [d if d is not None else torch.zeros_like(inputs[:, 0]) for d in draws], 1
    )


def through_layers(
    cells: nn.ModuleList,
    h: Tensor,
    state: State | None,
    hidden: list[Tensor] | None,
    lengths: Tensor | None = None,
) -> tuple[Tensor, State]:
    """The stacked layers: the last one's outputs and every layer's new state. When
    ``hidden`` is a list, the last layer runs step by step with a zero tensor ``probe``
    added to each h_t where it is both output and carried to the next step, and ``probe``
    ([T, ..., N], a leaf) is appended to ``hidden``: after a backward, ``probe.grad[t]`` is
    the total derivative dLoss/dh_t, through the output at t and through the recurrence
    after it (the gradient through time). The values are those of the whole-sequence pass;
    any backend runs it, since every cell takes a state and returns h_t first in its state.
    In a bidirectional model the probe is on the last layer's forward direction (``[T, ...,
    N]``, the first half of its output); ``lengths`` go to the ``Bidirectional`` layers."""
    new_state: State = []
    last = len(cells) - 1
    for k, cell in enumerate(cells):
        given = None if state is None else state[k]
        if isinstance(cell, Bidirectional):
            h, s = cell(h, given, lengths, hidden if k == last else None)
        elif hidden is not None and k == last:
            h, s = _probed(cell, h, given, hidden)
        else:
            h, s = cell(h, given)
        new_state.append(s)
    return h, new_state


def _probed(cell: nn.Module, x: Tensor, state: Any, hidden: list[Tensor]) -> tuple[Tensor, State]:
    """``cell`` over ``x`` one step at a time with the zero probe on each h_t (see above)."""
    outputs: list[Tensor] = []
    probe: Tensor | None = None
    for t in range(x.shape[0]):
        out, state = cell(x[t : t + 1], state)
        if probe is None:
            probe = torch.zeros(
                (x.shape[0], *out.shape[1:]), dtype=out.dtype, device=out.device, requires_grad=True
            )
            hidden.append(probe)
        h = out[0] + probe[t]
        state = (h, *state[1:])
        outputs.append(h)
    return torch.stack(outputs), state


def detach(state: State | None) -> State | None:
    """Cut the graph between truncated-BPTT windows, keeping the values."""
    return None if state is None else [tuple(t.detach() for t in s) for s in state]
