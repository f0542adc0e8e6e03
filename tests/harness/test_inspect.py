"""``harness inspect``: saturation fractions as counted by hand, the steps that count, the
features of a text and the unit that tracks one, and the command on tiny trained runs: every
table and figure written, the probe exact on every layer, gates a cell lacks said so, the
report's section where the outputs are, and bad input in one line with exit code 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import tasks
from harness.command import cli
from harness.queue import finished, kept_models, storage_url, store
from harness.training.inspect import held_out, valid_steps
from results.rendering import inspection
from results.tables.inside import Inside, LayerTrace
from results.tables.inside_tables import saturation_fractions, saturation_frame
from results.tables.text_units import features, text_units
from tests.harness.commands import settings

TEXT = (
    "".join(
        f"x = f(\"{w} {v}\")  # {w}\nif (a[{v}]):\n    print('{w}')\n"
        for w in ("cat", "dog", "hen")
        for v in ("1", "22", "333")
    )
    * 12
)
TINY = [*settings("hidden_size=6", "eval_every=10"), "--device", "cpu"]


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Kept models of single runs (studies runs-TASK): nfg (no forget gate) and rnn (no
    gates) on a small text, a two-layer lstm on parity."""
    folder = tmp_path_factory.mktemp("inspect")
    (folder / "text.txt").write_text(TEXT)
    journal = folder / "j.journal"
    lm = ["--task", "lm", *settings(f"task.corpus={folder / 'text.txt'}", "task.seq_len=20")]
    two_layers = settings("layers=2", "task.seq_len=8", "task.eval_size=32")
    runs = [
        ["--variant", "nfg", *lm, *settings("steps=10")],
        ["--variant", "rnn", *lm, *settings("steps=10")],
        ["--variant", "lstm", "--task", "parity", *two_layers, *settings("steps=10")],
    ]
    for run in runs:
        assert cli.main(["run", *run, *TINY, "--storage", str(journal)]) == 0
    return journal


def _inspect(journal: Path, *args: str) -> int:
    """``harness inspect`` on study runs of ``journal`` in this process: its exit code."""
    return cli.main(["inspect", "--study", "runs", "--storage", str(journal), *args])


@pytest.fixture(scope="module")
def inspected(journal: Path) -> Path:
    out = journal.parent / "report" / inspection.FOLDER
    assert _inspect(journal, "--out", str(out), "--steps", "50") == 0
    return out


# --- by hand ------------------------------------------------------------------------------


def test_saturation_fractions_count_the_valid_steps_on_each_side() -> None:
    gate = np.array(
        [
            [[0.05, 0.95, 0.5], [0.09, 0.5, 0.91]],
            [[0.5, 0.99, 0.1], [0.01, 0.92, 0.9]],
            [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
        ]
    )  # step 2: padding
    valid = np.array([[True, True], [True, True], [False, False]])
    left, right = saturation_fractions(gate, valid)
    np.testing.assert_array_equal(left, [3 / 4, 0, 0])  # 0.1 is not below 0.1
    np.testing.assert_array_equal(right, [0, 3 / 4, 1 / 4])  # 0.9 is not above 0.9


def test_a_missing_gate_and_a_cell_without_gates_are_rows_that_say_so() -> None:
    gate = np.full((2, 1, 2), 0.95)
    valid = np.ones((2, 1), bool)
    names = {"i": "input gate", "f": "forget gate"}
    nig = Inside(
        "t", "nig", "r", [LayerTrace({"f": gate, "h": gate}, ("f",), ("i",), names)], valid
    )
    rnn = Inside("t", "rnn", "r", [LayerTrace({"h": gate}, (), (), names)], valid)
    frame = saturation_frame(nig)
    assert frame[["gate", "right", "note"]].fillna(-1).values.tolist() == [  # names' order
        ["i", -1, "no input gate"],
        ["f", 1.0, ""],
        ["f", 1.0, ""],
    ]
    assert saturation_frame(rnn)["note"].tolist() == ["no gates"]


def test_the_steps_that_count_end_at_each_sequences_last_scored_step() -> None:
    mask = torch.tensor([[False, False, False], [True, False, False], [False, True, False]])
    assert valid_steps(mask).tolist() == [
        [True, True, False],
        [True, True, False],
        [False, True, False],
    ]


def test_text_features_read_quotes_brackets_comments_and_the_line() -> None:
    text = list('a("b)") # (\nc')
    got = {name: values[:, 0].tolist() for name, values in features([text]).items()}
    assert got["inside quotes"] == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert got["inside brackets"] == [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert got["inside a comment"] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0]
    assert got["position in line"] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1]
    docstring = list('"""a\n(b"""c\'d\ne')  # a triple quote spans lines, one quote does not
    got = {name: values[:, 0].tolist() for name, values in features([docstring]).items()}
    assert got["inside quotes"] == [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]
    assert got["inside brackets"] == [0] * 15


def test_the_unit_that_tracks_a_feature_is_found_and_named() -> None:
    columns = [list('ab "cd" e "f"\n'), list('"g" hi "jk" l\n')]
    quotes = features(columns)["inside quotes"]  # [T, 2]
    rng = np.random.default_rng(0)
    c = rng.normal(size=(*quotes.shape, 5))
    c[..., 3] = 2 * quotes - 1 + 0.01 * rng.normal(size=quotes.shape)
    h = rng.normal(size=c.shape)
    inside = Inside(
        "lm",
        "lstm",
        "r",
        [LayerTrace({"c": c, "h": h}, (), (), {})],
        np.ones(quotes.shape, bool),
        columns,
    )
    units, passages = text_units(inside)
    best = units.set_index("feature").loc["inside quotes"]
    assert (best["signal"], best["unit"]) == ("c", 3) and best["r"] > 0.99
    shown = passages[passages["feature"] == "inside quotes"]
    assert "".join(shown["token"]) == "".join(columns[0])
    np.testing.assert_array_equal(shown["value"], c[:, 0, 3])


def test_a_language_models_windows_are_joined_into_one_passage(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text(TEXT)
    task = tasks.build("lm", corpus=str(tmp_path / "t.txt"), seq_len=7, batch_size=4)
    batch = held_out(task, steps=30)
    windows = list(task.batches("test"))
    assert batch.x.shape == (30, 4)
    assert torch.equal(batch.x[:7], windows[0].x) and torch.equal(batch.x[7:14], windows[1].x)


# --- the command --------------------------------------------------------------------------


def test_the_command_writes_every_table_and_figure(inspected: Path) -> None:
    for table in (
        "models",
        "saturation",
        "saturation_summary",
        "over_time",
        "text_units",
        "passages",
    ):
        assert (inspected / f"{table}.csv").is_file()
        assert not pd.read_parquet(inspected / f"{table}.parquet").empty, table
    for figure in ("saturation_lm", "saturation_parity", "over_time", "text_lm_nfg", "text_lm_rnn"):
        assert (inspected / "figures" / f"{figure}.png").stat().st_size > 10_000, figure
    page = (inspected / inspection.PAGE).read_text()
    assert "## Inside the trained cells" in page and "no forget gate" in page


def test_every_layer_is_probed_exactly_and_missing_gates_are_said(inspected: Path) -> None:
    models = pd.read_parquet(inspected / "models.parquet").set_index("variant")
    assert models.loc["lstm", "layers"] == 2 and models.loc["nfg", "layers"] == 1
    assert (models["deviation"] < 1e-5).all()
    saturation = pd.read_parquet(inspected / "saturation.parquet")
    lstm = saturation[saturation["variant"] == "lstm"]
    assert sorted(lstm.groupby(["layer", "gate"]).size().items()) == [
        ((layer, gate), 6) for layer in (0, 1) for gate in "fio"
    ]
    assert lstm["left"].between(0, 1).all() and lstm["right"].between(0, 1).all()
    notes = saturation.set_index("variant")["note"]
    assert notes.loc["nfg"].tolist().count("no forget gate") == 1
    assert notes.loc["rnn"] == "no gates"
    over_time = pd.read_parquet(inspected / "over_time.parquet")
    has = over_time.groupby("variant")["statistic"].unique().map(set)
    assert has["lstm"] == {"forget gate", "abs c", "abs h"}
    assert has["nfg"] == {"abs c", "abs h"} and has["rnn"] == {"abs h"}


def test_the_units_of_the_text_are_named_per_feature(inspected: Path) -> None:
    units = pd.read_parquet(inspected / "text_units.parquet")
    assert sorted(units["variant"].unique()) == ["nfg", "rnn"]
    assert units.groupby("variant")["feature"].nunique().eq(4).all()
    assert units["r"].abs().between(0, 1).all()
    assert set(units.loc[units["variant"] == "rnn", "signal"]) == {"h"}


def test_the_report_has_the_section_where_the_outputs_are(
    journal: Path, inspected: Path, tmp_path: Path
) -> None:
    assert (
        cli.main(
            [
                "report",
                "--study",
                "runs-lm",
                "--storage",
                str(journal),
                "--out",
                str(inspected.parent),
            ]
        )
        == 0
    )
    report = (inspected.parent / "report.md").read_text()
    assert "## Inside the trained cells" in report
    assert "](inspect/figures/saturation_lm.png)" in report
    assert inspection.section(tmp_path) == []  # a report folder without them: no section


def test_variants_and_tasks_choose_the_models(journal: Path, tmp_path: Path) -> None:
    assert _inspect(journal, "--variants", "rnn", "--tasks", "lm", "--out", str(tmp_path)) == 0
    assert pd.read_parquet(tmp_path / "models.parquet")["variant"].tolist() == ["rnn"]


def test_a_model_file_is_inspected_alone(journal: Path, tmp_path: Path) -> None:
    study = store.named_studies(storage_url.open_storage(str(journal)), "runs-parity")[0]
    path = kept_models.path_of(study, finished.completed(study)[0])
    assert cli.main(["inspect", "--model", str(path), "--out", str(tmp_path)]) == 0
    models = pd.read_parquet(tmp_path / "models.parquet")
    assert models[["variant", "run", "layers"]].values.tolist() == [["lstm", path.name, 2]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "missing.pt"], "no model file missing.pt"),
        (["--model", "j.journal"], "j.journal is not a kept model"),
        (["--variants", "lsmt"], "unknown variant 'lsmt'"),
        (["--variants", "gru"], "no completed run with a kept model in runs for variants gru"),
        (["--study", "nothing"], "no study named 'nothing'"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    journal: Path,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    args: list,
    message: str,
) -> None:
    monkeypatch.chdir(journal.parent)
    capsys.readouterr()
    assert _inspect(journal, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith("harness: error: ") and message in err and err.count("\n") == 1


def test_a_study_s_inspection_goes_into_its_storage_s_report_folder(
    journal: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _inspect(journal, "--variants", "rnn", "--tasks", "lm") == 0
    beside = journal.with_suffix(".reports") / "runs" / inspection.FOLDER
    assert pd.read_parquet(beside / "models.parquet")["variant"].tolist() == ["rnn"]
    assert not (tmp_path / "outputs").exists()  # not the default journal's folder
