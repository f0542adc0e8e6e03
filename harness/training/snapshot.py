"""What a kept model's file holds, taken from a trained population: one trial's weights
under a ``SequenceModel``'s names, its configuration, vocabulary, population and slot
(``harness.queue.kept_models`` stores the file and reads it back)."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any

import torch

from harness.plans.config import RunConfig
from harness.training.model import TrialStack

FORMAT = 1


def single_weights(stack: TrialStack, k: int) -> dict[str, torch.Tensor]:
    """Trial ``k``'s parameters of ``stack`` under a ``SequenceModel``'s names (an
    encoder-decoder's stack names its own: ``seq2seq.EncoderDecoderStack``)."""
    if hasattr(stack, "single_weights"):
        return stack.single_weights(k)
    out = {"head.weight": stack.head_weight[k], "head.bias": stack.head_bias[k]}
    if stack.embedding is not None:
        out["encoder.weight"] = stack.embedding[k]
    for layer, cell in enumerate(stack.cells):
        for name, value in cell.named_parameters():
            out[f"cells.{layer}.{name}"] = value[k]
    return {name: value.detach().cpu().clone() for name, value in out.items()}


def serialize(
    config: RunConfig,
    weights: dict[str, torch.Tensor],
    population: int,
    slot: int,
    vocabulary: list[str] | None,
    test: dict[str, float],
) -> bytes:
    buffer = io.BytesIO()
    torch.save(
        {
            "format": FORMAT,
            "config": asdict(config),
            "weights": weights,
            "population": population,
            "slot": slot,
            "vocabulary": vocabulary,
            "test": test,
        },
        buffer,
    )
    return buffer.getvalue()


def vocabulary_of(task: Any) -> list[str] | None:
    corpus = getattr(task, "corpus", None)
    return list(corpus.vocab) if corpus is not None and hasattr(corpus, "vocab") else None
