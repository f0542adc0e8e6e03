"""The numerics gate: every smoke run still gives the committed results, and the gate
catches a cell whose arithmetic changed."""

from __future__ import annotations

from pathlib import Path

import torch

import variants
from harness.gates import quality

REFERENCE = Path(__file__).with_name("quality_reference.json")


def test_smoke_runs_match_the_committed_reference() -> None:
    # regenerate after an intended change: python -m harness quality --write <this file>
    moved = quality.differences(quality.measure(), quality.load(REFERENCE))
    assert moved == [], "\n".join(moved)


def test_a_changed_cell_moves_the_numbers() -> None:
    reference = quality.load(REFERENCE)

    class Tweaked(variants.LSTMCell):
        def reset_parameters(self) -> None:
            super().reset_parameters()
            with torch.no_grad():
                self.paper_parameters()["b_f"].add_(1e-2)  # a small change of the init

    variants.register("lstm", Tweaked, family="lstm", paper="-", description="-", replace=True)
    try:
        moved = quality.differences(quality.measure(["lstm"], ["memory-add"]), reference)
    finally:
        variants.register(
            "lstm",
            variants.LSTMCell,
            family="lstm",
            paper="Greff et al. 2017",
            description="vanilla LSTM: three gates, peepholes, tanh",
            replace=True,
        )
    assert any(line.startswith("lstm/memory-add: final loss") for line in moved), moved


def test_a_cell_the_reference_lacks_is_not_compared_and_not_a_failure() -> None:
    reference = quality.load(REFERENCE)
    variants.register(
        "lstm-fb3-unreferenced",
        variants.LSTMCell,
        family="lstm",
        paper="-",
        description="-",
        forget_bias=3.0,
    )
    try:
        current = quality.measure(["lstm-fb3-unreferenced"], ["memory-add"])
    finally:
        variants.unregister("lstm-fb3-unreferenced")
    assert quality.not_compared(current, reference) == ["lstm-fb3-unreferenced/memory-add"]
    assert not any(
        line.startswith("lstm-fb3-unreferenced") for line in quality.differences(current, reference)
    )
