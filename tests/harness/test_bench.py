"""The benchmark command and its regression gate, on tiny shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import variants
from harness.command.cli import main
from harness.gates import bench, speed_gate

TINY = "4,6,3,5"
BASELINE = Path(__file__).parents[1] / "benchmarks" / "baseline.json"
REFRESH = "python -m harness bench --rounds 15 --repeat 3 --json tests/benchmarks/baseline.json"


def test_shapes_parse_or_say_what_is_expected() -> None:
    assert bench.Shape.parse("32,100,32,128") == bench.Shape(32, 100, 32, 128)
    with pytest.raises(bench.BenchError, match="four positive integers"):
        bench.Shape.parse("32x100")


def _fixed_clock(seconds: dict[tuple[str, str], float]):
    """A clock that times nothing: each (label, kind) takes the given seconds."""

    def clock(label: str, kind: str, fn) -> float:
        return seconds[(label, kind)]

    return clock


def test_rows_are_ratios_to_the_reference_of_their_family_in_the_same_run() -> None:
    refs = ["torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN"]
    names = ["lstm", "np", "gru", "gru-cho", "rnn", "mut1"]
    seconds = {
        (n, k): 0.001 * (i + 1) * (2 if k == "train" else 1)
        for i, n in enumerate(refs + names)
        for k in bench.KINDS
    }
    rows = bench.run(
        names, [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=3, clock=_fixed_clock(seconds)
    )
    by = {r.variant: r for r in rows}
    assert [r.variant for r in rows[:3]] == refs  # the references first
    assert set(by) == {*refs, *names}
    for ref in refs:
        assert by[ref].reference == ref and by[ref].backend == "fused"
        assert by[ref].train_ratio == 1.0 and by[ref].forward_ratio == 1.0
    assert {v: by[v].reference for v in names} == {
        "lstm": "torch.nn.LSTM",
        "np": "torch.nn.LSTM",
        "gru": "torch.nn.GRU",
        "gru-cho": "torch.nn.GRU",
        "rnn": "torch.nn.RNN",
        "mut1": "torch.nn.LSTM",
    }
    assert by["np"].backend == "fused" and by["lstm"].backend == "native"
    for r in rows:
        ref = r.reference
        for kind in bench.KINDS:
            assert getattr(r, f"{kind}_ratio") == pytest.approx(
                seconds[(r.variant, kind)] / seconds[(ref, kind)]
            )
            assert getattr(r, f"{kind}_spread") == 0.0  # every round the same
        assert r.forward_per_s == pytest.approx(4 * 6 / seconds[(r.variant, "forward")])
        assert r.train_per_s == pytest.approx(4 * 6 / seconds[(r.variant, "train")])
        assert r.setup_s >= 0
        assert r.peak_mb is None and r.saved_mb is not None and r.saved_mb > 0  # on the CPU


def test_a_round_s_ratio_cancels_a_burst_that_slows_the_whole_round() -> None:
    # round 2 is 50x slower for everything timed in it: a ratio of medians would move
    calls: dict[tuple[str, str], int] = {}

    def clock(label: str, kind: str, fn) -> float:
        n = calls[(label, kind)] = calls.get((label, kind), -1) + 1
        base = {"torch.nn.RNN": 0.002, "rnn": 0.003}[label]
        return base * (50 if n == 2 else 1) * (1 + 0.01 * n)

    rows = bench.run(
        ["rnn"], [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=4, warmup=0, clock=clock
    )
    assert rows[1].variant == "rnn" and rows[1].forward_ratio == pytest.approx(1.5)
    assert bench.ratio_of_rounds([1.0, 2.0, 3.0, 4.0, 10.0], [1.0] * 5) == (3.0, 2 / 3)


def test_real_timings_give_positive_rates() -> None:
    rows = bench.run(
        ["lstm", "gru"], [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=2, warmup=0
    )
    assert [r.variant for r in rows] == ["torch.nn.LSTM", "torch.nn.GRU", "lstm", "gru"]
    assert all(
        r.forward_per_s > 0 and r.train_per_s > 0 and r.forward_ratio > 0 and r.train_ratio > 0
        for r in rows
    )


def test_a_reference_is_timed_only_when_a_cell_needs_it() -> None:
    rows = bench.run(["rnn"], [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=1, warmup=0)
    assert [(r.variant, r.reference) for r in rows] == [
        ("torch.nn.RNN", "torch.nn.RNN"),
        ("rnn", "torch.nn.RNN"),
    ]


def test_saved_memory_is_what_backward_keeps_and_grows_with_length() -> None:
    saved = {}
    for length in (10, 40, 70):
        rows = bench.run(
            ["lstm"], [bench.Shape(4, length, 3, 64)], torch.device("cpu"), rounds=1, warmup=0
        )
        saved[length] = {r.variant: r.saved_mb for r in rows}
    for name in ("torch.nn.LSTM", "lstm"):  # activations: the same per 30 more steps
        assert saved[10][name] > 0
        assert saved[70][name] - saved[40][name] == pytest.approx(
            saved[40][name] - saved[10][name], rel=0.15
        )


def test_a_bad_baseline_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "b.json").write_text("{}")
    assert (
        main(
            ["bench", "--variants", "rnn", "--shapes", TINY, "--compare", str(tmp_path / "b.json")]
        )
        == 2
    )
    assert "is not a file written by 'harness bench --json'" in capsys.readouterr().err
    (tmp_path / "t.json").write_text(json.dumps({"meta": {"threads": 7}, "rows": []}))
    assert (
        main(
            [
                "bench",
                "--variants",
                "rnn",
                "--shapes",
                TINY,
                "--threads",
                "1",
                "--compare",
                str(tmp_path / "t.json"),
            ]
        )
        == 2
    )
    assert (
        "was measured with 7 torch thread(s), this run uses 1: pass --threads 7"
        in capsys.readouterr().err
    )
    assert main(["bench", "--shapes", "1,2"]) == 2


def test_the_committed_baseline_covers_every_cell_at_the_default_shape() -> None:
    """The CI speed gate compares against tests/benchmarks/baseline.json: a new or changed
    cell needs a fresh baseline, or the gate would not look at it."""
    rows = speed_gate.load(str(BASELINE))
    shape = str(bench.DEFAULT_SHAPES[0])
    have = {str(r["variant"]): r for r in rows if r["shape"] == shape}
    missing = [n for n in variants.names() if n not in have]
    assert not missing, (
        f"{BASELINE.name} has no row at {shape} for {', '.join(missing)}; "
        f"refresh the speed baseline with: {REFRESH}"
    )
    moved = [
        f"{n} (baseline {have[n].get('reference', bench.REFERENCE)}, now {bench.reference_of(n)})"
        for n in variants.names()
        if have[n].get("reference", bench.REFERENCE) != bench.reference_of(n)
    ]
    assert not moved, (
        f"{BASELINE.name} timed these cells against another reference: "
        f"{', '.join(moved)}; refresh it with: {REFRESH}"
    )
    for ref in {bench.reference_of(n) for n in variants.names()}:
        assert ref in have, f"{BASELINE.name} lacks {ref}; refresh it with: {REFRESH}"


def test_matrix_products_are_counted_from_a_cell_s_weight_matrices() -> None:
    shape = bench.Shape(32, 50, 32, 64)
    assert bench.train_macs("lstm", shape) == 3 * (4 * 64 * 32 + 4 * 64 * 64)  # no peepholes
    assert bench.train_macs("gru", shape) == 3 * 3 * 64 * (32 + 64)
    assert bench.train_macs("rnn", shape) == 3 * 64 * (32 + 64)
    seconds = iter([9.0, 2.0, 4.0, 2.0])  # a warm-up, then the median of three: 2 s
    assert (
        bench.product_rate(
            torch.device("cpu"), size=8, rounds=3, clock=lambda label, kind, fn: next(seconds)
        )
        == 8**3 / 2.0
    )


def test_a_population_bench_says_how_far_a_stack_could_go_here(capsys, monkeypatch) -> None:
    """The ceiling is the large product's rate over the rate one by one reaches: the
    speed-up of a stack whose products ran at that rate and did nothing else."""
    from harness.command import cli_bench

    assert (
        main(
            [
                "bench",
                "--variants",
                "rnn,gru",
                "--shapes",
                TINY,
                "--population",
                "2",
                "--rounds",
                "1",
                "--threads",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    table = out[out.index("speed-up ceiling") :].splitlines()[2:]
    assert sorted(line.split()[0] for line in table if line.strip()) == ["gru", "rnn"]
    # the arithmetic, on known figures: rnn at B32 T50 M32 N64 makes 3 * 64 * 96 = 18,432
    # multiply-adds per step and row; 2 trials at 1,000 steps×B/s each, stacked, and one
    # by one in 1.5 times the stack's time, against 1e9 multiply-adds/s in one product
    monkeypatch.setattr(bench, "product_rate", lambda device: 1e9)
    row = bench.Row(
        "population", "rnn", "native", 0.0, 1000.0, 1.0, 1 / 1.5, 0.0, None, bench.ONE_BY_ONE
    )
    cli_bench._print_ceiling([row], bench.Shape(32, 50, 32, 64), 2, torch.device("cpu"))
    line = capsys.readouterr().out.splitlines()[-1].split()
    stack = 2 * 1000.0 * 18_432 / 1e9  # 3.7 % of the rate; one by one: 2/3 of that
    assert line == ["rnn", f"{stack / 1.5:.0%}", f"{stack:.0%}", f"{1.5 / stack:.1f}×"]
