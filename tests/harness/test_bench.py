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


def test_shapes_parse_or_say_what_is_expected() -> None:
    assert bench.Shape.parse("32,100,32,128") == bench.Shape(32, 100, 32, 128)
    with pytest.raises(bench.BenchError, match="four positive integers"):
        bench.Shape.parse("32x100")


def test_rows_are_ratios_to_the_reference_of_the_same_run() -> None:
    rows = bench.run(["lstm", "np"], [bench.Shape.parse(TINY)], torch.device("cpu"), rounds=3)
    by = {r.variant: r for r in rows}
    assert set(by) == {bench.REFERENCE, "lstm", "np"}
    assert by[bench.REFERENCE].train_ratio == 1.0 and by[bench.REFERENCE].forward_ratio == 1.0
    assert by["np"].backend == "fused" and by["lstm"].backend == "generic"
    for r in rows:
        assert r.forward_per_s > r.train_per_s > 0 and r.setup_s >= 0
        assert r.train_ratio == pytest.approx(by[bench.REFERENCE].train_per_s / r.train_per_s)


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
