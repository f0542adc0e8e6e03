"""pytest-benchmark timings of representative cells at the default shape (B32 T100 M32 N128).

One benchmark per (cell, pass): ``forward`` (no autograd) and ``train`` (forward + backward),
plus torch's fused ``nn.LSTM``/``nn.GRU``/``nn.RNN``. Fixed rounds (``benchmark.pedantic``),
so the whole suite takes a bounded time. Absolute times depend on the machine and its load:
they are for looking at and for ``--benchmark-compare`` on one machine, never a CI gate (the
gate is ``python -m harness bench --compare``, on ratios). Each cell's ``extra_info`` holds
its ratio to its family's reference, timed once per round in the same rounds (in
``pedantic``'s untimed setup), as ``harness bench`` does.
"""

from __future__ import annotations

import statistics
import time

import pytest
import torch

import variants
from harness.gates import bench

SHAPE = bench.DEFAULT_SHAPES[0]
# LSTM (generic, fused, two Greff variants and the widest cell), GRU (fused and generic),
# a Jozefowicz mutant, NAS and the Elman RNN.
CELLS = ["lstm", "cifg", "fgr", "np", "gru", "gru-cho", "mut1", "nas", "rnn"]
ROUNDS, WARMUP = 15, 3


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(
        SHAPE.length, SHAPE.batch, SHAPE.input, generator=torch.Generator().manual_seed(0)
    )


@pytest.mark.parametrize("kind", ["forward", "train"])
@pytest.mark.parametrize("name", [*bench.REFERENCES, *CELLS])
def test_speed(benchmark, x: torch.Tensor, name: str, kind: str) -> None:
    device = torch.device("cpu")
    forward, train = bench.passes(bench.build(name, SHAPE, device), x)
    target = train if kind == "train" else forward
    reference = bench.reference_of(name)
    benchmark.group = f"{kind} {SHAPE}"
    benchmark.extra_info.update(variant=name, kind=kind, shape=str(SHAPE), reference=reference)
    reference_times: list[float] = []
    setup = None
    if reference != name:
        ref_forward, ref_train = bench.passes(bench.build(reference, SHAPE, device), x)
        ref_target = ref_train if kind == "train" else ref_forward

        def setup() -> None:  # untimed by pytest-benchmark: the reference, in the same round
            begin = time.perf_counter()
            ref_target()
            reference_times.append(time.perf_counter() - begin)

    benchmark.pedantic(target, setup=setup, rounds=ROUNDS, warmup_rounds=WARMUP)
    stats = getattr(benchmark.stats, "stats", None)  # None under --benchmark-disable
    if stats is not None:
        ref_median = statistics.median(reference_times[-ROUNDS:]) if setup else stats.median
        benchmark.extra_info["ratio_to_reference"] = round(stats.median / ref_median, 3)
        benchmark.extra_info["steps_x_batch_per_s"] = round(
            SHAPE.batch * SHAPE.length / stats.median
        )


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_population_speed(benchmark, name: str) -> None:
    """A training pass of K trials stacked as one cell (``variants.stack``); the same K cells
    run one after another in the untimed setup of each round give the speed-up."""
    shape, trials = bench.POPULATION_SHAPE, bench.POPULATION_TRIALS
    device = torch.device("cpu")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape.length, shape.batch, shape.input, generator=generator)
    xs = torch.randn(shape.length, trials, shape.batch, shape.input, generator=generator)
    cells = [bench.build(name, shape, device) for _ in range(trials)]
    _, train = bench.passes(variants.stack(cells), xs)
    singles = [bench.passes(c, x)[1] for c in cells]
    one_by_one: list[float] = []

    def setup() -> None:
        begin = time.perf_counter()
        for single in singles:
            single()
        one_by_one.append(time.perf_counter() - begin)

    benchmark.group = f"population K{trials} {shape}"
    benchmark.extra_info.update(variant=name, kind="train", shape=str(shape), trials=trials)
    benchmark.pedantic(train, setup=setup, rounds=7, warmup_rounds=1)
    stats = getattr(benchmark.stats, "stats", None)
    if stats is not None:
        benchmark.extra_info["speed_up_over_one_by_one"] = round(
            statistics.median(one_by_one[-7:]) / stats.median, 2
        )
