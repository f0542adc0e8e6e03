"""The benchmark command and its regression gate, on tiny shapes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

import variants
from harness import bench
from harness.cli import main

TINY = "4,6,3,5"
BASELINE = Path(__file__).parents[1] / "benchmarks" / "baseline.json"
REFRESH = ("python -m harness bench --rounds 15 --repeat 3 "
           "--json tests/benchmarks/baseline.json")


def test_shapes_parse_or_say_what_is_expected() -> None:
    assert bench.Shape.parse("32,100,32,128") == bench.Shape(32, 100, 32, 128)
    with pytest.raises(bench.BenchError, match="four positive integers"):
        bench.Shape.parse("32x100")


def test_rows_are_ratios_to_the_reference_of_their_family_in_the_same_run() -> None:
    rows = bench.run(["lstm", "np", "gru", "gru-cho", "rnn", "mut1"],
                     [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=3)
    by = {r.variant: r for r in rows}
    refs = ["torch.nn.LSTM", "torch.nn.GRU", "torch.nn.RNN"]
    assert [r.variant for r in rows[:3]] == refs  # the references first
    assert set(by) == {*refs, "lstm", "np", "gru", "gru-cho", "rnn", "mut1"}
    for ref in refs:
        assert by[ref].reference == ref and by[ref].backend == "fused"
        assert by[ref].train_ratio == 1.0 and by[ref].forward_ratio == 1.0
    assert {v: by[v].reference for v in ("lstm", "np", "gru", "gru-cho", "rnn", "mut1")} == {
        "lstm": "torch.nn.LSTM", "np": "torch.nn.LSTM", "gru": "torch.nn.GRU",
        "gru-cho": "torch.nn.GRU", "rnn": "torch.nn.RNN", "mut1": "torch.nn.LSTM"}
    assert by["np"].backend == "fused" and by["lstm"].backend == "native"
    for r in rows:
        ref = by[r.reference]
        assert r.forward_per_s > r.train_per_s > 0 and r.setup_s >= 0
        assert r.train_ratio == pytest.approx(ref.train_per_s / r.train_per_s)
        assert r.forward_ratio == pytest.approx(ref.forward_per_s / r.forward_per_s)
        assert r.peak_mb is None and r.saved_mb is not None and r.saved_mb > 0  # on the CPU


def test_a_reference_is_timed_only_when_a_cell_needs_it() -> None:
    rows = bench.run(["rnn"], [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=1,
                     warmup=0)
    assert [(r.variant, r.reference) for r in rows] == [("torch.nn.RNN", "torch.nn.RNN"),
                                                        ("rnn", "torch.nn.RNN")]


def test_saved_memory_is_what_backward_keeps_and_grows_with_length() -> None:
    saved = {}
    for length in (10, 40, 70):
        rows = bench.run(["lstm"], [bench.Shape(4, length, 3, 64)], torch.device("cpu"),
                         rounds=1, warmup=0)
        saved[length] = {r.variant: r.saved_mb for r in rows}
    for name in ("torch.nn.LSTM", "lstm"):  # activations: the same per 30 more steps
        assert saved[10][name] > 0
        assert saved[70][name] - saved[40][name] == pytest.approx(
            saved[40][name] - saved[10][name], rel=0.15)


def test_regressions_compare_ratios_with_a_tolerance() -> None:
    row = bench.Row("S", "lstm", "generic", 1.0, 1.0, forward_ratio=2.0, train_ratio=3.0,
                    setup_s=0.0, peak_mb=None)
    base = [{"shape": "S", "variant": "lstm", "forward_ratio": 2.0, "train_ratio": 2.5}]
    assert bench.regressions([row], base, 0.25) == []  # 3.0 <= 2.5 × 1.25
    found = bench.regressions([row], base, 0.1)
    assert found == ["lstm at S: train ratio 3.00 vs baseline 2.50 (+20%, tolerance 10%)"]


def test_a_slowed_cell_fails_the_gate(tmp_path: Path, capsys) -> None:
    baseline = tmp_path / "base.json"
    variants.register("test-bench", variants.LSTMCell, family="test", paper="-",
                      description="lstm, to be slowed")
    try:
        assert main(["bench", "--variants", "test-bench,np", "--shapes", TINY, "--rounds", "3",
                     "--json", str(baseline)]) == 0
        rows = json.loads(baseline.read_text())["rows"]
        assert {r["variant"] for r in rows} == {bench.REFERENCE, "test-bench", "np"}
        assert main(["bench", "--variants", "test-bench,np", "--shapes", TINY, "--rounds", "3",
                     "--compare", str(baseline), "--tolerance", "3.0"]) == 0

        class Slowed(variants.LSTMCell):
            def _forward(self, x, state):
                time.sleep(0.01)  # far more than a tiny LSTM step takes
                return super()._forward(x, state)

        variants.register("test-bench", Slowed, family="test", paper="-",
                          description="slowed", replace=True)
        capsys.readouterr()
        assert main(["bench", "--variants", "test-bench,np", "--shapes", TINY, "--rounds", "3",
                     "--compare", str(baseline), "--tolerance", "3.0"]) == 1
        err = capsys.readouterr().err
        assert "slower: test-bench at B4xT6xM3xN5" in err and "np at" not in err
    finally:
        variants.unregister("test-bench")


def test_a_bad_baseline_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "b.json").write_text("{}")
    assert main(["bench", "--variants", "rnn", "--shapes", TINY, "--compare",
                 str(tmp_path / "b.json")]) == 2
    assert "is not a benchmark file" in capsys.readouterr().err
    assert main(["bench", "--shapes", "1,2"]) == 2


def test_an_older_baseline_without_references_still_loads_and_compares(tmp_path: Path) -> None:
    path = tmp_path / "old.json"  # written before rows named their reference: all nn.LSTM
    path.write_text(json.dumps({"meta": {}, "rows": [
        {"shape": "S", "variant": "lstm", "forward_ratio": 2.0, "train_ratio": 2.0},
        {"shape": "S", "variant": "gru", "forward_ratio": 1.2, "train_ratio": 1.9}]}))
    old = bench.load(str(path))
    lstm = bench.Row("S", "lstm", "generic", 1.0, 1.0, 3.0, 3.0, 0.0, None)
    gru = bench.Row("S", "gru", "fused", 1.0, 1.0, 9.0, 9.0, 0.0, None,
                    reference="torch.nn.GRU")
    new = bench.Row("S", "new", "generic", 1.0, 1.0, 9.0, 9.0, 0.0, None)
    assert bench.regressions([lstm, gru, new], old, 0.25) == [
        "lstm at S: train ratio 3.00 vs baseline 2.00 (+50%, tolerance 25%)",
        "lstm at S: forward ratio 3.00 vs baseline 2.00 (+50%, tolerance 25%)"]
    assert bench.uncompared([lstm, gru, new], old) == [
        "gru at S: the baseline's ratio is to torch.nn.LSTM, this run's to torch.nn.GRU",
        "new at S: not in the baseline"]


def test_the_committed_baseline_covers_every_cell_at_the_default_shape() -> None:
    """The CI speed gate compares against tests/benchmarks/baseline.json: a new or changed
    cell needs a fresh baseline, or the gate would not look at it."""
    rows = bench.load(str(BASELINE))
    shape = str(bench.DEFAULT_SHAPES[0])
    have = {str(r["variant"]): r for r in rows if r["shape"] == shape}
    missing = [n for n in variants.names() if n not in have]
    assert not missing, (f"{BASELINE.name} has no row at {shape} for {', '.join(missing)}; "
                         f"refresh the speed baseline with: {REFRESH}")
    moved = [f"{n} (baseline {have[n].get('reference', bench.REFERENCE)}, now "
             f"{bench.reference_of(n)})" for n in variants.names()
             if have[n].get("reference", bench.REFERENCE) != bench.reference_of(n)]
    assert not moved, (f"{BASELINE.name} timed these cells against another reference: "
                       f"{', '.join(moved)}; refresh it with: {REFRESH}")
    for ref in {bench.reference_of(n) for n in variants.names()}:
        assert ref in have, f"{BASELINE.name} lacks {ref}; refresh it with: {REFRESH}"
