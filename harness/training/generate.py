"""Sequences from a trained model: text a token at a time, piano rolls a frame at a time.

Each step feeds what was drawn back in as the next input, the state carried from step to
step, exactly as the model reads a sequence when it is scored (``model(x, state)``); so a
model of ``T`` steps generates step ``T + 1`` from what it would have seen there. At
temperature 0 a step takes the most likely outcome (greedy decoding); above it, the logits
are divided by the temperature before the draw (below 1: safer, above 1: wilder). The draws
come from one ``torch.Generator``, so a seed gives the same sequence every time.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from harness.training.evaluate import evaluating
from harness.training.model import SequenceModel, State


def next_token(logits: Tensor, temperature: float, generator: torch.Generator) -> int:
    """One class from ``logits`` ``[classes]``: the argmax at temperature 0, else a draw
    from ``softmax(logits / temperature)``."""
    if temperature == 0:
        return int(logits.argmax())
    probabilities = torch.softmax(logits.double() / temperature, -1)
    return int(torch.multinomial(probabilities, 1, generator=generator))


def next_frame(logits: Tensor, temperature: float, generator: torch.Generator) -> Tensor:
    """One multi-hot frame from independent sigmoids ``[labels]``: at temperature 0 the
    labels more likely on than off, else each drawn from ``sigmoid(logits / temperature)``."""
    if temperature == 0:
        return (logits > 0).float()
    return torch.bernoulli(
        torch.sigmoid(logits.double() / temperature), generator=generator
    ).float()


def sample_tokens(
    model: SequenceModel,
    prime: list[int],
    length: int,
    temperature: float,
    generator: torch.Generator,
) -> list[int]:
    """``length`` token ids following ``prime`` (at least one id, read first as a whole)."""
    if not prime:
        raise ValueError("sampling text needs a prime of at least one token")
    tokens: list[int] = []
    with evaluating(model):
        outputs, state = model(torch.tensor(prime).view(-1, 1), None)
        while True:
            tokens.append(next_token(outputs[-1, 0], temperature, generator))
            if len(tokens) == length:
                return tokens
            outputs, state = model(torch.tensor([[tokens[-1]]]), state)


def sample_piano_roll(
    model: SequenceModel, frames: int, temperature: float, generator: torch.Generator
) -> np.ndarray:
    """``frames`` multi-hot frames ``[frames, keys]`` of 0 and 1; the first is drawn after a
    silent frame, as a piece starts in training."""
    keys = model.io.output_size
    roll = torch.zeros(frames, keys)
    frame = torch.zeros(keys)
    state: State | None = None
    with evaluating(model):
        for t in range(frames):
            outputs, state = model(frame.view(1, 1, keys), state)
            frame = next_frame(outputs[0, 0], temperature, generator)
            roll[t] = frame
    return roll.numpy()
