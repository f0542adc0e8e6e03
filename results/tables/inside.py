"""What ``harness inspect`` hands to the analysis: one trained model's activations over a
held-out batch, in plain numpy (the analysis reads no cell and no model).

``harness.training.inspect`` fills it from the probe (``variants.probe``); the tables, the
figures and the report's section are made from it in ``results`` alone, as the rest of the
report is made from the stored record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerTrace:
    """One layer's activations: ``values`` maps a name (gates, ``c``, ``h``...) to ``[T, B,
    N]``; ``gates`` are the sigmoid ones; ``missing`` the gates of the cell's family that this
    cell lacks (``("i",)`` for an LSTM without an input gate)."""

    values: Mapping[str, np.ndarray]
    gates: tuple[str, ...]
    missing: tuple[str, ...]
    names: Mapping[str, str]  # a gate's name in words ("i": "input gate")


@dataclass(frozen=True)
class Inside:
    """A model looked inside: which run, its layers, which steps count (``valid`` ``[T, B]``:
    a sequence's steps up to its last scored one, no padding), and for text the input token
    of every step and column (``tokens[b][t]``)."""

    task: str
    variant: str
    run: str  # where it comes from: study and trial, or the model file
    layers: list[LayerTrace]
    valid: np.ndarray
    tokens: list[list[str]] | None = None
    deviation: float = 0.0  # max |h of the probe - h of the model's own forward|, last layer
