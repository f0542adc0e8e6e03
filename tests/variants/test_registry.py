"""The registry: names, errors that help, overrides, and a user's own cell in one file."""

from __future__ import annotations

import pytest
import torch

import variants
from tests.variants.helpers import ReadmeCell
from variants import probe

ALL = [
    "cifg",
    "fgr",
    "gru",
    "gru-cho",
    "lstm",
    "lstm-b",
    "mut1",
    "mut2",
    "mut3",
    "nas",
    "nfg",
    "niaf",
    "nig",
    "noaf",
    "nog",
    "np",
    "rnn",
]


def test_names_are_sorted_and_complete() -> None:
    assert variants.names() == ALL
    assert variants.names("gru") == ["gru", "gru-cho"]
    assert len(variants.names("lstm")) == 10


@pytest.mark.parametrize(
    ("typo", "suggested"),
    [("lstmb", "lstm-b"), ("gru_cho", "gru-cho"), ("cfig", "cifg"), ("LSTM", "lstm")],
)
def test_unknown_name_names_the_closest(typo: str, suggested: str) -> None:
    with pytest.raises(variants.UnknownVariantError, match="did you mean") as error:
        variants.build(typo, 4, 4)
    assert suggested in str(error.value)


def test_unknown_option_lists_the_options() -> None:
    with pytest.raises(ValueError, match="no option 'peephole'.*peepholes"):
        variants.build("lstm", 4, 4, peephole=False)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_sizes(size: object) -> None:
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        variants.build("lstm", 4, size)


def test_overrides_replace_preset_options() -> None:
    cell = variants.build("lstm", 4, 6, peepholes=False, backend="generic")
    assert "p_i" not in cell.paper_parameters() and cell.backend == "generic"
    assert variants.build("lstm", 4, 6, peepholes=False).backend == "fused"
    for bias in (1.0, 3.5):
        cell = (
            variants.build("lstm-b", 4, 6)
            if bias == 1.0
            else variants.build("lstm-b", 4, 6, forget_bias=bias)
        )
        b = cell.paper_parameters()
        assert torch.all(b["b_f"] == bias)
        assert b["b_i"].std() > 0  # the other biases keep the uniform initialisation


def test_invalid_flag_combinations_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="backend='fused' is not exact"):
        variants.build("lstm", 4, 4, backend="fused")
    with pytest.raises(ValueError, match="backend must be one of"):
        variants.build("np", 4, 4, backend="cudnn")
    with pytest.raises(ValueError, match="forget_bias needs a forget gate"):
        variants.build("nfg", 4, 4, forget_bias=1.0)
    with pytest.raises(ValueError, match="coupled=True"):
        variants.build("nig", 4, 4, coupled=True)
    with pytest.raises(ValueError, match="input_activation must be one of"):
        variants.build("lstm", 4, 4, input_activation="relu")
    with pytest.raises(ValueError, match="set project_input=True"):
        variants.build("mut1", 4, 6, project_input=False)


def test_register_a_cell_in_one_file() -> None:
    Minimal = variants.register(
        "test-minimal", family="custom", paper="Me 2026", description="tiny"
    )(ReadmeCell)

    try:
        assert "test-minimal" in variants.names()
        cell = variants.build("test-minimal", 3, 5, scale=0.5)
        assert cell.scale == 0.5 and variants.count_parameters(cell) == 3 * 5 + 5 * 5
        x = torch.randn(4, 2, 3)
        y, (h,) = cell(x)
        assert y.shape == (4, 2, 5) and torch.equal(h, y[-1])
        # its declared paper step (the docs' one-file cell) is what it computes
        trace = probe.run("test-minimal", cell.paper_parameters(), x, scale=0.5)
        torch.testing.assert_close(trace.h, y.double(), rtol=0, atol=1e-6)
        with pytest.raises(ValueError, match="already registered"):
            variants.register("test-minimal", Minimal, family="c", paper="p", description="d")
    finally:
        variants.unregister("test-minimal")
    assert "test-minimal" not in variants.names()


def test_preset_with_unknown_option_is_refused_at_registration() -> None:
    with pytest.raises(TypeError, match="no option"):
        variants.register(
            "test-bad", variants.LSTMCell, family="lstm", paper="p", description="d", peephole=False
        )
    assert "test-bad" not in variants.names()
