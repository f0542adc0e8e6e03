"""The encoder-decoder (``--set architecture=encoder-decoder``), with optional additive
attention (``--set attention=true``), for sequence-to-sequence tasks (``tasks.addition``).

A sequence-to-sequence task lays a batch out on one time axis (see ``tasks/addition.py``):
steps ``0 .. S-1`` hold the source (``task.source_steps``, left-padded with
``task.blank``), step ``S`` the start symbol and the steps after it the answer's earlier
symbols; targets are scored from step ``S`` on. So the training loop's ``model(batch.x)``
and ``task.losses`` serve it unchanged, and teacher forcing needs no seam: the targets the
decoder is fed are in ``x``.

The model: an embedding (width N = ``hidden_size``, shared by source and answer symbols,
one vocabulary), an encoder stack of ``layers`` cells of the variant over the source, and a
decoder stack of ``layers`` cells of the same variant whose layer l starts from the
encoder's layer l final state. At decoder step t its input is the embedded previous symbol:
the given one in training (teacher forcing), its own previous argmax at evaluation
(``eval()``: greedy, step by step). Outputs over the source steps are zeros (never scored).

Attention (Bahdanau, Cho & Bengio 2015, "Neural machine translation by jointly learning to
align and translate", eq. 5-6 and appendix A.1.2): with the decoder's top state s_{t-1}
and the encoder's top-layer states h_j,

    e_tj = v^T tanh(W_s s_{t-1} + W_h h_j + b),   a_t = softmax_j(e_t) (blanks left out),
    c_t  = sum_j a_tj h_j,

and c_t is concatenated both to the decoder's input ([embed(y_{t-1}); c_t]) and to the
output layer's input ([s_t; c_t]), as in the paper, where c_i enters s_i and the output.

K trials train as one stacked model (``EncoderDecoderStack``), as ``model.TrialStack``
does for a stack: each parameter has a leading trial dimension and the cells are
``variants.stack``ed, so a variant that cannot stack trains one run at a time through the
queue's existing check (``worker._stackable``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

import tasks
import variants
from harness.plans.config import ConfigError, RunConfig
from harness.training.model import (
    State,
    TrialStack,
    noise_generators,
    trial_embedding,
    with_input_noise,
)


class EncoderDecoder(nn.Module):
    """One trial's encoder-decoder (its parameters under plain names: a kept model's file).
    Its ``forward`` runs a stack of one built from it (for sampling and rescoring)."""

    def __init__(
        self,
        io: tasks.IO,
        variant: str,
        hidden_size: int,
        layers: int,
        source_steps: int,
        blank: int,
        attention: bool,
        input_noise: float = 0.0,
        **cell_options: Any,
    ) -> None:
        super().__init__()
        if input_noise < 0:
            raise ValueError(f"input_noise must be at least 0, got {input_noise}")
        self.input_noise = input_noise
        if io.input != "tokens" or io.output != "classes" or io.input_size != io.output_size:
            raise ValueError(
                "an encoder-decoder needs a task whose inputs and outputs are "
                "symbols of one vocabulary"
            )
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        self.io, self.source_steps, self.blank = io, source_steps, blank
        self.attention = attention
        n = hidden_size
        self.embedding = nn.Embedding(io.input_size, n)
        self.encoder = nn.ModuleList(
            variants.build(variant, n, n, **cell_options) for _ in range(layers)
        )
        first = 2 * n if attention else n
        self.decoder = nn.ModuleList(
            variants.build(variant, first if k == 0 else n, n, **cell_options)
            for k in range(layers)
        )
        if attention:
            self.attend_state = nn.Linear(n, n, bias=False)  # W_s
            self.attend_source = nn.Linear(n, n)  # W_h, b
            self.attend_score = nn.Linear(n, 1, bias=False)  # v
        self.head = nn.Linear(2 * n if attention else n, io.output_size)

    def forward(
        self, x: Tensor, state: State | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, State]:
        """``x`` ``[T, B]`` -> outputs ``[T, B, V]`` and the decoder's final state."""
        stack = EncoderDecoderStack([self], [0]).to(x.device)
        stack.train(self.training)
        out, new = stack(x.unsqueeze(1))
        return out.squeeze(1), [tuple(s.squeeze(0) for s in layer) for layer in new]

    def lengths_of(self, mask: Tensor) -> None:
        return None


def _stacked(models: list[EncoderDecoder], name: str) -> nn.Parameter:
    return nn.Parameter(torch.stack([m.get_parameter(name).detach() for m in models]))


class EncoderDecoderStack(nn.Module):
    """K ``EncoderDecoder``s of one configuration as one model, their parameters copied and
    stacked along a leading trial dimension: inputs ``[T, K, B]``, outputs ``[T, K, B, V]``.
    Training (``train()``) feeds the decoder the given previous symbols; ``eval()`` its own."""

    def __init__(self, models: list[EncoderDecoder], seeds: list[int]) -> None:
        super().__init__()
        first = models[0]
        self.io, self.trials = first.io, len(models)
        self.source_steps, self.blank, self.attention = (
            first.source_steps,
            first.blank,
            first.attention,
        )
        self.encoder = nn.ModuleList(
            variants.stack([m.encoder[k] for m in models]) for k in range(len(first.encoder))
        )
        self.decoder = nn.ModuleList(
            variants.stack([m.decoder[k] for m in models]) for k in range(len(first.decoder))
        )
        names = [
            n for n, _ in first.named_parameters() if not n.startswith(("encoder.", "decoder."))
        ]
        with torch.no_grad():
            self.weights = nn.ParameterDict(
                {n.replace(".", "__"): _stacked(models, n) for n in names}
            )
        # Greff et al.'s input noise, on the source's embeddings only (the decoder is fed
        # clean symbols), each trial's from its own stream as in a ``TrialStack``
        self.noise = [m.input_noise for m in models]
        self.generators = noise_generators(seeds, next(first.parameters()).device)
        self.noisy = True  # off for the gradient probes and evaluation, as in a TrialStack

    @property
    def cells(self) -> list[nn.Module]:
        """The encoder's cells, then the decoder's (``L0 ..`` in the gradient probes)."""
        return [*self.encoder, *self.decoder]

    def w(self, name: str) -> Tensor:
        return self.weights[name.replace(".", "__")]

    def single_weights(self, k: int) -> dict[str, Tensor]:
        """Trial ``k``'s parameters under ``EncoderDecoder``'s names (a kept model)."""
        out = {}
        for name, value in self.named_parameters():
            plain = name.removeprefix("weights.").replace("__", ".")
            out[plain] = value[k].detach().cpu().clone()
        return out

    def lengths_of(self, mask: Tensor) -> None:
        """No ``lengths``: the source is left-padded and blanks are left out of attention."""
        return None

    def backend(self, device: torch.device) -> str:
        probe = torch.empty(0, device=device, dtype=self.w("head.weight").dtype)
        return self.encoder[0].runs_on(probe)

    def embed(self, ids: Tensor) -> Tensor:
        """Ids ``[..., K, B]`` -> each trial's embedding ``[..., K, B, N]``."""
        return trial_embedding(ids, self.w("embedding.weight"))

    def forward(
        self,
        x: Tensor,
        state: State | None = None,
        hidden: list[Tensor] | None = None,
        lengths: Tensor | None = None,
    ) -> tuple[Tensor, State]:
        """Outputs ``[T, K, B, V]`` (zeros over the source) and the decoder's final state.
        ``state`` is not used: every batch starts anew. If ``hidden`` is a list, a zero probe
        ``[T, K, B, N]`` on the top layer's h_t (the encoder's over the source, the
        decoder's after it) is appended, as ``model.through_layers`` does."""
        source = self.source_steps
        inputs = self.embed(x)
        if self.training and self.noisy and any(self.noise):
            inputs = torch.cat(
                [with_input_noise(inputs[:source], self.noise, self.generators), inputs[source:]]
            )
        probe = _Probe(hidden, x.shape[0])
        h, carried = inputs[:source], []
        for k, cell in enumerate(self.encoder):
            if probe.on and k == len(self.encoder) - 1:
                h, s = probe.run(cell, h, None, 0)
            else:
                h, s = cell(h, None)
            carried.append(s)
        encoded = h  # [S, K, B, N]
        if self.attention:
            keys = _linear(encoded, self.w("attend_source.weight"), self.w("attend_source.bias"))
            blank = x[:source] == self.blank
        state_now: State = carried
        outputs: list[Tensor] = []
        given = inputs[source]
        for t in range(x.shape[0] - source):
            if self.attention:
                query = _linear(state_now[-1][0], self.w("attend_state.weight"))
                scores = _linear(torch.tanh(keys + query), self.w("attend_score.weight"))[..., 0]
                scores = scores.masked_fill(blank, torch.finfo(scores.dtype).min)
                weights = torch.softmax(scores.float(), 0).to(encoded.dtype)
                context = (weights.unsqueeze(-1) * encoded).sum(0)
                step = torch.cat([given, context.to(given.dtype)], -1)
            else:
                step = given
            h, new_state = step.unsqueeze(0), []
            for k, cell in enumerate(self.decoder):
                if probe.on and k == len(self.decoder) - 1:
                    h, s = probe.run(cell, h, state_now[k], source + t)
                else:
                    h, s = cell(h, state_now[k])
                new_state.append(s)
            state_now = new_state
            top = h[0]
            features = torch.cat([top, context.to(top.dtype)], -1) if self.attention else top
            logits = _linear(features, self.w("head.weight"), self.w("head.bias"))
            outputs.append(logits)
            if source + t + 1 < x.shape[0]:
                given = inputs[source + t + 1] if self.training else self.embed(logits.argmax(-1))
        answer = torch.stack(outputs)
        return torch.cat([answer.new_zeros((source, *answer.shape[1:])), answer]), state_now


class _Probe:
    """The gradient probe of the top layers: one zero leaf over all steps (created at the
    first step, in the cells' dtype), added to each h_t where it is output and carried."""

    def __init__(self, hidden: list[Tensor] | None, steps: int) -> None:
        self.hidden, self.steps, self.probe = hidden, steps, None
        self.on = hidden is not None

    def run(self, cell: nn.Module, x: Tensor, state: Any, offset: int) -> tuple[Tensor, Any]:
        outputs = []
        for t in range(x.shape[0]):
            out, state = cell(x[t : t + 1], state)
            if self.probe is None:
                self.probe = torch.zeros(
                    (self.steps, *out.shape[1:]),
                    dtype=out.dtype,
                    device=out.device,
                    requires_grad=True,
                )
                self.hidden.append(self.probe)
            h = out[0] + self.probe[offset + t]
            state = (h, *state[1:])
            outputs.append(h)
        return torch.stack(outputs), state


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """Each trial's own linear map: ``x`` ``[..., K, B, F]``, ``weight`` ``[K, O, F]``."""
    out = torch.einsum("...kbf,kof->...kbo", x, weight.to(x.dtype))
    return out + bias.to(out.dtype).unsqueeze(1) if bias is not None else out


def check_architecture(config: RunConfig) -> None:
    """A sequence-to-sequence task is refused to a causal stack: fed the answer's earlier
    symbols in ``x``, it would read them at evaluation too (a teacher-forced score)."""
    task = tasks.info(config.task).cls
    if config.architecture != "encoder-decoder" and getattr(task, "sequence_to_sequence", False):
        raise ConfigError(
            f"task {config.task!r} is sequence to sequence: run it with "
            "--set architecture=encoder-decoder"
        )


def build(config: RunConfig, task: tasks.Task) -> EncoderDecoder:
    """One trial's encoder-decoder for ``task`` (the caller seeds torch)."""
    return EncoderDecoder(
        task.io,
        config.variant,
        config.hidden_size,
        config.layers,
        task.source_steps,
        task.blank,
        config.attention,
        config.input_noise,
        **config.cell_options,
    )


def stack_models(models: list[nn.Module], seeds: list[int]) -> nn.Module:
    """K single models as one stacked model: a ``TrialStack``, or for encoder-decoders an
    ``EncoderDecoderStack``."""
    if isinstance(models[0], EncoderDecoder):
        return EncoderDecoderStack(models, seeds)  # type: ignore[arg-type]
    return TrialStack(models, seeds)  # type: ignore[arg-type]
