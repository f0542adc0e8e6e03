"""The probe shows what the cell computed: its h equals the cell's own output, on the
backend the cell picks by itself (native or fused kernels), for every registered variant; its
gates are named, in (0, 1), and a gate a variant lacks is said to be missing."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import random_state, randomize
from variants import probe

T, B, M, N = 7, 3, 5, 4


@pytest.mark.parametrize("name", variants.names())
def test_probe_equals_the_cells_forward(name: str) -> None:
    torch.manual_seed(0)
    cell = variants.build(name, M, N)  # its own backend, float32, as a model trains it
    randomize(cell, scale=0.7)
    x = torch.randn(T, B, M)
    start = random_state(cell, B, torch.float32)
    with torch.no_grad():
        y, state = cell(x, start)
    trace = probe.run(name, cell.paper_parameters(), x, start)
    assert trace.h.dtype == torch.float64
    torch.testing.assert_close(trace.h.float(), y, rtol=0, atol=2e-5)
    for got, want in zip(trace.state, state, strict=True):
        torch.testing.assert_close(got.float(), want, rtol=0, atol=2e-5)
    for gate in trace.gates:  # sigmoids, never saturated to exactly 0 or 1 here
        values = trace.values[gate]
        assert values.shape == (T, B, N)
        assert 0 < values.min() and values.max() < 1, gate
    assert not set(trace.missing) & set(trace.values)


@pytest.mark.parametrize(
    ("name", "gates", "missing"),
    [
        ("lstm", ("i", "f", "o"), ()),
        ("nig", ("f", "o"), ("i",)),
        ("nfg", ("i", "o"), ("f",)),
        ("nog", ("i", "f"), ("o",)),
        ("cifg", ("i", "f", "o"), ()),
        ("gru", ("r", "z"), ()),
        ("rnn", (), ()),
        ("nas", ("l1_0", "l1_2", "l1_5", "l1_7", "l2_3"), ()),
    ],
)
def test_gates_are_named_and_missing_ones_said(name: str, gates: tuple, missing: tuple) -> None:
    cell = variants.build(name, M, N)
    trace = probe.run(name, cell.paper_parameters(), torch.randn(T, B, M))
    assert (trace.gates, trace.missing) == (gates, missing)
    assert (trace.c is not None) == (trace.kind in ("lstm", "nas"))


def test_coupled_forget_gate_is_one_minus_input_gate() -> None:
    cell = variants.build("cifg", M, N)
    trace = probe.run("cifg", cell.paper_parameters(), torch.randn(T, B, M))
    torch.testing.assert_close(trace.values["f"], 1 - trace.values["i"])


def test_options_over_the_preset_change_the_equations() -> None:
    """A cell built with an option (a run's ``--set cell.input_gate=false``) is probed with
    it: the lstm without its input gate is nig."""
    cell = variants.build("lstm", M, N, input_gate=False)
    x = torch.randn(T, B, M)
    with torch.no_grad():
        y, _ = cell(x)
    trace = probe.run("lstm", cell.paper_parameters(), x, input_gate=False)
    assert trace.missing == ("i",)
    torch.testing.assert_close(trace.h.float(), y, rtol=0, atol=2e-5)


def test_bad_input_says_what_is_wrong() -> None:
    cell = variants.build("gru", M, N)
    with pytest.raises(ValueError, match=r"\[T, B, M\]"):
        probe.run("gru", cell.paper_parameters(), torch.randn(T, M))
    with pytest.raises(TypeError, match="unsupported option"):
        probe.run("gru", cell.paper_parameters(), torch.randn(T, B, M), peepholes=False)
    with pytest.raises(ValueError, match="state must have 2 tensors"):
        probe.run(
            "lstm",
            variants.build("lstm", M, N).paper_parameters(),
            torch.randn(T, B, M),
            (torch.zeros(B, N),),
        )
