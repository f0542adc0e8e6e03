"""Trainable-parameter counts equal the counts of the paper parameters each class declares
(N blocks, M inputs), and those equal the papers' counts worked out by hand."""

from __future__ import annotations

import pytest

import variants
from tests.variants.reference import expected_param_count


def formula(name: str, m: int, n: int, **options: object) -> int:
    """The count of the paper parameters that the variant's class declares for its options
    (``Cell.paper``), never from its name, so that a new preset or family is covered
    without an entry here."""
    return expected_param_count(name, m, n, **options)


def test_every_variant_has_a_formula() -> None:
    for name in variants.names():
        assert formula(name, 3, 4) > 0


@pytest.mark.parametrize("name", variants.names())
@pytest.mark.parametrize(("m", "n"), [(32, 128), (7, 7), (50, 3)])
def test_count_matches_the_paper(name: str, m: int, n: int) -> None:
    cell = variants.build(name, m, n)
    assert variants.count_parameters(cell) == formula(name, m, n)


def test_options_change_the_count_as_documented() -> None:
    m, n = 10, 10
    assert (
        variants.count_parameters(variants.build("mut1", m, n, project_input=True))
        == formula("mut1", m, n) + n * m
    )
    assert (
        variants.count_parameters(variants.build("nas", m, n, use_bias=True))
        == formula("nas", m, n) + 8 * n
    )
    # dropping peepholes from any LSTM preset removes exactly one vector per own gate
    assert (
        variants.count_parameters(variants.build("cifg", m, n, peepholes=False))
        == formula("cifg", m, n) - 2 * n
    )


def test_the_listed_numbers_at_input_32_hidden_128() -> None:
    # the numbers quoted in the issue and the README, worked out by hand
    counts = {n: variants.count_parameters(variants.build(n, 32, 128)) for n in variants.names()}
    assert counts["lstm"] == 82_816 and counts["np"] == 82_432 and counts["cifg"] == 62_080
    assert counts["fgr"] == 82_816 + 9 * 128 * 128
    # the other families: block = N M + N N + N = 20,608 (M = 32, N = 128)
    assert counts["rnn"] == 20_608 and counts["gru"] == 3 * 20_608 + 128
    assert counts["mut1"] == 2 * 4096 + 2 * 16_384 + 3 * 128 + 4096  # P: M != N
    assert counts["mut2"] == 2 * 4096 + 3 * 16_384 + 3 * 128 + 4096
    assert counts["mut3"] == 3 * 20_608 and counts["nas"] == 8 * 4096 + 8 * 16_384
    assert {n: counts[n] for n in counts if n in ("lstm", "gru", "nas")} == {
        n: formula(n, 32, 128) for n in ("lstm", "gru", "nas")
    }
