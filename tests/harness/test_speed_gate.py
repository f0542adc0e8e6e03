"""What the speed gate decides, on injected timings: recorded rounds of real runs (an idle
machine, a loaded one), a baseline from another machine, and slowdowns put in by hand.
No test here times anything; the real gate's own end-to-end check is tests/gate (README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.command.cli import main
from harness.gates import bench, speed_gate

RECORDED = json.loads((Path(__file__).parent / "recorded_bench_rounds.json").read_text())
SHAPE = "B32xT100xM32xN128"
CELLS = sorted({k.split("/")[0] for k in RECORDED["quiet"]} - set(bench.REFERENCES))


def _replay(recording: dict[str, list[float]], slower: dict[str, float] | None = None):
    """A clock returning the recorded seconds of each call in turn (``slower``: a factor on
    some variants' times), so that a cell and its reference keep their rounds together."""
    calls: dict[tuple[str, str], int] = {}

    def clock(label: str, kind: str, fn) -> float:
        n = calls[(label, kind)] = calls.get((label, kind), -1) + 1
        times = recording[f"{label}/{kind}"]
        return times[n % len(times)] * (slower or {}).get(label, 1.0)

    return clock


def _rows(monkeypatch, recording, slower=None) -> list[bench.Row]:
    monkeypatch.setattr(bench, "clock_for", lambda device: _replay(recording, slower))
    import torch

    return bench.run(
        CELLS, [bench.Shape(32, 100, 32, 128)], torch.device("cpu"), rounds=15, warmup=0
    )


def _baseline(rows: list[bench.Row]) -> list[dict[str, object]]:
    return [
        {
            "shape": r.shape,
            "variant": r.variant,
            "reference": r.reference,
            "forward_ratio": r.forward_ratio,
            "train_ratio": r.train_ratio,
        }
        for r in rows
    ]


def test_a_loaded_machine_passes_against_its_idle_baseline(monkeypatch) -> None:
    idle = _rows(monkeypatch, RECORDED["quiet"])
    loaded = _rows(monkeypatch, RECORDED["loaded"])
    verdict = speed_gate.judge(loaded, _baseline(idle), 0.6)
    assert verdict.passed, verdict.slower
    assert verdict.uncompared == []
    # the loaded machine's rounds are noisier, and the per-round ratio absorbs it
    assert max(r.train_spread for r in loaded) > max(r.train_spread for r in idle)


def test_another_machine_s_baseline_passes_through_the_machine_factor(monkeypatch) -> None:
    here = _rows(monkeypatch, RECORDED["quiet"])
    other = RECORDED["other_machine_baseline"]
    verdict = speed_gate.judge(here, other, 0.6)
    assert verdict.passed, verdict.slower
    assert 1.3 < verdict.factors[(SHAPE, "forward")] < 1.6  # this machine's nn.LSTM is faster
    # without a factor (too few cells to take one), a plain comparison fails
    alone = [r for r in here if r.variant in ("fgr", "nig") or r.variant in bench.REFERENCES]
    assert not speed_gate.judge(alone, other, 0.6).passed


@pytest.mark.parametrize("recording", ["quiet", "loaded"])
def test_one_cell_made_twice_as_slow_fails_idle_or_loaded(monkeypatch, recording) -> None:
    baseline = _baseline(_rows(monkeypatch, RECORDED["quiet"]))
    rows = _rows(monkeypatch, RECORDED[recording], slower={"cifg": 2.0})
    verdict = speed_gate.judge(rows, baseline, 0.6)
    assert verdict.suspects == {"cifg"}
    assert [line.split(":")[0] for line in verdict.slower] == [f"cifg at {SHAPE}"] * 2


def test_one_cell_slower_on_another_machine_fails(monkeypatch) -> None:
    rows = _rows(monkeypatch, RECORDED["quiet"], slower={"mut2": 2.0})
    verdict = speed_gate.judge(rows, RECORDED["other_machine_baseline"], 0.6)
    assert verdict.suspects == {"mut2"}, verdict.slower


def test_every_cell_slower_at_once_fails_as_a_group(monkeypatch) -> None:
    baseline = _baseline(_rows(monkeypatch, RECORDED["quiet"]))
    rows = _rows(monkeypatch, RECORDED["quiet"], slower={c: 2.5 for c in CELLS})
    verdict = speed_gate.judge(rows, baseline, 0.6)
    assert [line.split(":")[0] for line in verdict.slower] == [f"every cell at {SHAPE}"] * 2
    assert "median 2.50x the baseline's" in verdict.slower[0]
    assert verdict.suspects == set(CELLS)


def test_population_rows_are_judged_against_the_other_populations() -> None:
    label = "population K16 B32xT50xM32xN64"

    def row(variant: str, ratio: float) -> bench.Row:
        return bench.Row(
            label, variant, "native", 1.0, 1.0, ratio, ratio, 0.0, None, bench.ONE_BY_ONE
        )

    baseline = [
        {
            "shape": label,
            "variant": v,
            "reference": bench.ONE_BY_ONE,
            "forward_ratio": 0.4,
            "train_ratio": 0.4,
        }
        for v in ("a", "b", "c", "d")
    ]
    # a machine whose stacks gain less: every ratio 0.6 (+50%), one 1.1 (+175%)
    rows = [row("a", 0.6), row("b", 0.6), row("c", 0.6), row("d", 1.1)]
    verdict = speed_gate.judge(rows, baseline, 0.6)
    assert verdict.suspects == {"d"} and len(verdict.slower) == 2
    assert verdict.factors[(label, "train")] == pytest.approx(1.5)


def test_what_cannot_be_compared_is_said_and_never_fails() -> None:
    lstm = bench.Row("S", "lstm", "generic", 1.0, 1.0, 3.0, 3.0, 0.0, None)
    gru = bench.Row("S", "gru", "fused", 1.0, 1.0, 9.0, 9.0, 0.0, None, reference="torch.nn.GRU")
    new = bench.Row("S", "new", "generic", 1.0, 1.0, 9.0, 9.0, 0.0, None)
    old = [
        {"shape": "S", "variant": "lstm", "forward_ratio": 2.0, "train_ratio": 2.0},
        {"shape": "S", "variant": "gru", "forward_ratio": 1.2, "train_ratio": 1.9},
    ]
    verdict = speed_gate.judge([lstm, gru, new], old, 0.25)  # one cell: no factor
    assert verdict.slower == [
        "lstm at S: forward ratio 3.00 vs baseline 2.00 (+50%; tolerance 25%)",
        "lstm at S: train ratio 3.00 vs baseline 2.00 (+50%; tolerance 25%)",
    ]
    assert verdict.uncompared == [
        "gru at S: the baseline's ratio is to torch.nn.LSTM, this run's to torch.nn.GRU",
        "new at S: not in the baseline",
    ]


def test_the_command_measures_suspects_again_and_fails_only_a_lasting_slowdown(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    baseline = tmp_path / "base.json"
    args = ["bench", "--variants", ",".join(CELLS), "--population", "0", "--rounds", "15"]
    monkeypatch.setattr(bench, "clock_for", lambda device: _replay(RECORDED["quiet"]))
    assert main([*args, "--json", str(baseline)]) == 0
    assert {r["variant"] for r in speed_gate.load(str(baseline))} == {*CELLS, *bench.REFERENCES}
    compare = [*args, "--compare", str(baseline), "--tolerance", "0.6"]
    monkeypatch.setattr(bench, "clock_for", lambda device: _replay(RECORDED["loaded"]))
    capsys.readouterr()
    assert main(compare) == 0
    assert "no cell slower than" in capsys.readouterr().out

    # slow in the first measurement only (a burst): measured again, it passes
    runs: list[int] = []

    def bursty(device):
        runs.append(1)
        return _replay(RECORDED["quiet"], {"nog": 3.0} if len(runs) == 1 else None)

    monkeypatch.setattr(bench, "clock_for", bursty)
    assert main(compare) == 0
    assert (
        len(runs) == 2
        and "over the tolerance: nog; measuring them again" in capsys.readouterr().err
    )

    # slow every time: three measurements, then the failure
    runs.clear()
    monkeypatch.setattr(
        bench,
        "clock_for",
        lambda device: runs.append(1) or _replay(RECORDED["loaded"], {"nog": 3.0}),
    )
    assert main(compare) == 1
    err = capsys.readouterr().err
    assert len(runs) == 3 and f"slower: nog at {SHAPE}: train ratio" in err
    assert "slower: " in err and all(
        "nog" in line for line in err.splitlines() if line.startswith("slower: ")
    )
