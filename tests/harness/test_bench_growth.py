"""``harness bench --growth``: time per trial-step against hidden size, length and population,
beside torch's fused kernels. No test asserts a time: the tests check what is measured,
against what, and how it is shown."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.command.cli import main
from harness.gates import growth


def test_the_sweeps_are_the_base_shape_with_one_size_changed() -> None:
    chosen = growth.points({"hidden": (16, 512), "population": (1, 8)})
    assert [(p.sweep, p.value, p.shape.hidden, p.shape.length, p.trials) for p in chosen] == [
        ("hidden", 16, 16, 50, 1),
        ("hidden", 512, 512, 50, 1),
        ("population", 1, 64, 50, 1),
        ("population", 8, 64, 50, 8),
    ]


def test_a_sweep_table_shows_times_with_their_ratio_to_the_fused_kernel() -> None:
    frame = pd.DataFrame(
        [
            ("population", 4, "gru", "cell", 250.0, 0.5),
            ("population", 4, "gru", growth.ONE_BY_ONE, 1000.0, 2.0),
            ("population", 4, "torch.nn.GRU", "fused", 500.0, 1.0),
        ],
        columns=list(growth.COLUMNS),
    )
    table = growth.table(frame, "population")
    assert list(table.columns) == ["population", "gru", "gru one by one", "torch.nn.GRU"]
    assert table.iloc[0].tolist() == [4, "250 (0.50×)", "1,000 (2.00×)", "500"]


def test_the_command_measures_every_point_against_its_family_kernel(tmp_path: Path, capsys) -> None:
    out_json, figure = tmp_path / "growth.json", tmp_path / "growth.png"
    assert (
        main(
            [
                "bench",
                "--growth",
                "--variants",
                "rnn,lstm",
                "--sweep",
                "hidden=8,16",
                "--sweep",
                "population=1,3",
                "--rounds",
                "1",
                "--threads",
                "1",
                "--device",
                "cpu",
                "--json",
                str(out_json),
                "--figure",
                str(figure),
            ]
        )
        == 0
    )
    rows = json.loads(out_json.read_text())
    seen = {(r["sweep"], r["value"], r["variant"], r["kind"]) for r in rows}
    for value in (8, 16):
        assert {
            ("hidden", value, "rnn", "cell"),
            ("hidden", value, "torch.nn.RNN", "fused"),
            ("hidden", value, "lstm", "cell"),
            ("hidden", value, "torch.nn.LSTM", "fused"),
        } <= seen
    assert ("population", 3, "lstm", growth.ONE_BY_ONE) in seen  # stacks beside their cells
    assert ("population", 1, "lstm", growth.ONE_BY_ONE) not in seen
    assert all(r["us_per_trial_step"] > 0 and r["ratio"] > 0 for r in rows)
    assert all(r["ratio"] == 1.0 for r in rows if r["kind"] == "fused")
    assert figure.stat().st_size > 10_000
    out = capsys.readouterr().out
    assert "| hidden | lstm | rnn | torch.nn.LSTM | torch.nn.RNN |" in out


@pytest.mark.parametrize("sweep", ["depth=3", "hidden=", "hidden=0,8", "length=ten"])
def test_a_bad_sweep_is_one_line_and_exit_2(sweep: str, capsys) -> None:
    assert main(["bench", "--growth", "--sweep", sweep]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sweep takes NAME=V1,V2" in err[0]
