"""Trainable-parameter counts equal the papers' analytic counts (N blocks, M inputs)."""

from __future__ import annotations

import pytest

import variants


def block(m: int, n: int) -> int:
    """One gate or block: W (N×M), R (N×N), b (N)."""
    return n * m + n * n + n


FORMULAS = {
    "lstm": lambda m, n: 4 * block(m, n) + 3 * n,
    "lstm-b": lambda m, n: 4 * block(m, n) + 3 * n,
    "niaf": lambda m, n: 4 * block(m, n) + 3 * n,
    "noaf": lambda m, n: 4 * block(m, n) + 3 * n,
    "nig": lambda m, n: 3 * block(m, n) + 2 * n,
    "nfg": lambda m, n: 3 * block(m, n) + 2 * n,
    "nog": lambda m, n: 3 * block(m, n) + 2 * n,
    "cifg": lambda m, n: 3 * block(m, n) + 2 * n,
    "np": lambda m, n: 4 * block(m, n),
    "fgr": lambda m, n: 4 * block(m, n) + 3 * n + 9 * n * n,
    "gru": lambda m, n: 3 * block(m, n) + n,          # + b_Rh inside the reset
    "gru-cho": lambda m, n: 3 * block(m, n),
    "rnn": lambda m, n: block(m, n),
    "mut1": lambda m, n: 2 * n * m + 2 * n * n + 3 * n + (n * m if m != n else 0),
    "mut2": lambda m, n: 2 * n * m + 3 * n * n + 3 * n + (n * m if m != n else 0),
    "mut3": lambda m, n: 3 * block(m, n),
    "nas": lambda m, n: 8 * n * m + 8 * n * n,         # TensorFlow's default: no bias
}


def test_every_variant_has_a_formula() -> None:
    assert sorted(FORMULAS) == variants.names()


@pytest.mark.parametrize("name", sorted(FORMULAS))
@pytest.mark.parametrize(("m", "n"), [(32, 128), (7, 7), (50, 3)])
def test_count_matches_the_paper(name: str, m: int, n: int) -> None:
    cell = variants.build(name, m, n)
    assert variants.count_parameters(cell) == FORMULAS[name](m, n)


def test_options_change_the_count_as_documented() -> None:
    m, n = 10, 10
    assert variants.count_parameters(variants.build("mut1", m, n, project_input=True)) == \
        FORMULAS["mut1"](m, n) + n * m
    assert variants.count_parameters(variants.build("nas", m, n, use_bias=True)) == \
        FORMULAS["nas"](m, n) + 8 * n
    # dropping peepholes from any LSTM preset removes exactly one vector per own gate
    assert variants.count_parameters(variants.build("cifg", m, n, peepholes=False)) == \
        FORMULAS["cifg"](m, n) - 2 * n


def test_the_listed_numbers_at_input_32_hidden_128() -> None:
    # the numbers quoted in the issue and the README, worked out by hand
    counts = {n: variants.count_parameters(variants.build(n, 32, 128)) for n in variants.names()}
    assert counts["lstm"] == 82_816 and counts["np"] == 82_432 and counts["cifg"] == 62_080
    assert counts["fgr"] == 82_816 + 9 * 128 * 128
