"""Adding an LSTM preset is one line in one file: a preset registered here, at test time,
passes the whole registry-wide suite (contract, equations, counts, gradients, stacking,
native kernels) with no entry anywhere else, because every fact the suite checks derives
from the variant's class and options."""

from __future__ import annotations

import pytest

import variants
from tests.variants import (
    test_contract,
    test_counts,
    test_equations,
    test_gradcheck,
    test_native,
    test_stack,
)
from tests.variants.helpers import backends

NAME = "lstm-test-preset"


@pytest.fixture
def preset():
    # the one line a contributor writes (here: no input gate, no peepholes, forget bias 1)
    variants.register(
        NAME,
        variants.LSTMCell,
        family="lstm",
        paper="-",
        description="-",
        input_gate=False,
        peepholes=False,
        forget_bias=1.0,
    )
    try:
        yield NAME
    finally:
        variants.unregister(NAME)


def test_a_preset_added_in_one_line_passes_every_registry_wide_test(preset: str) -> None:
    assert backends(preset) == ["generic", "native"]  # no fused kernel without peepholes+i
    for backend in backends(preset):
        test_contract.test_shapes_finite_and_state_layout(preset, backend)
        test_contract.test_every_parameter_receives_a_gradient(preset, backend)
        for split in (1, 3, 6):
            test_contract.test_state_continuation(preset, backend, split)
        test_equations.test_cell_matches_equations(preset, 3, 4, {}, backend)
        test_gradcheck.test_gradcheck(preset, backend)
        if backend != "fused":
            test_stack.test_a_stack_of_three_equals_three_cells(preset, backend)
    test_contract.test_paper_parameters_are_views_covering_every_parameter_once(preset)
    test_contract.test_wrong_input_or_state_shape_is_a_clear_error(preset)
    test_contract.test_empty_sequence_returns_the_state_unchanged(preset)
    test_native.test_native_matches_the_torch_loop_in_values_and_every_gradient(preset)
    for m, n in ((32, 128), (7, 7), (50, 3)):
        test_counts.test_count_matches_the_paper(preset, m, n)
    assert variants.count_parameters(variants.build(preset, 5, 4)) == 3 * (4 * 5 + 16 + 4)
