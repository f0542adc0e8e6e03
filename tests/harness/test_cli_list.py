"""`python -m harness list`, run as a user runs it."""

from __future__ import annotations

import subprocess

import tasks.music
import variants
from harness.command import cli
from tasks import music21_chorales
from tests.harness import commands


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` with Python's warnings off: the listing is read as it is."""
    env = commands.harness_env(PYTHONWARNINGS="ignore")
    return commands.harness(*args, env=env, timeout=120)


def test_list_shows_every_variant_with_its_count() -> None:
    result = harness("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n\n")[0].splitlines()
    assert lines[0].startswith("Variants (17)")
    rows = {line.split()[0]: line for line in lines[3:]}
    assert sorted(rows) == variants.names()
    for name, line in rows.items():
        count = variants.count_parameters(variants.build(name, 32, 128))
        assert f" {count:,} " in line, line
        assert variants.info(name).paper in line
    assert "82,816" in rows["lstm"] and "fused" in rows["np"] and "native" in rows["lstm"]


def test_list_other_sizes_and_family() -> None:
    result = harness("list", "--family", "gru", "--input-size", "10", "--hidden-size", "20")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[3:]
    assert [r.split()[0] for r in rows] == ["gru", "gru-cho"]
    assert "1,880" in rows[0]  # 3 (20·10 + 20² + 20) + 20


def test_bad_input_is_one_line_and_exit_code_2() -> None:
    expected = {  # what the user typed -> the start of the one line they see
        (
            "list",
            "--family",
            "lstmm",
        ): "harness: error: no variant of family 'lstmm'; families: gru, lstm, mut, nas, rnn",
        (
            "list",
            "--hidden-size",
            "0",
        ): "harness: error: argument --hidden-size: expected a positive integer, got 0 "
        "(see 'harness list --help')",
        ("lst",): "harness: error: argument COMMAND: invalid choice: 'lst'",
    }
    for args, message in expected.items():
        result = harness(*args)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.startswith(message)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_list_shows_every_task_with_its_chance_level(tmp_path) -> None:
    import tasks

    result = harness("list")
    assert result.returncode == 0, result.stderr
    section = result.stdout.split("\n\n")[1].splitlines()
    assert section[0] == f"Tasks ({len(tasks.names())}); chance level at the defaults:"
    rows = {line.split()[0]: line for line in section[3:]}
    assert sorted(rows) == tasks.names()
    assert "accuracy (%)" in rows["parity"] and " 50 " in rows["parity"]
    assert "mse (squared error)" in rows["memory-add"] and "0.1667" in rows["memory-add"]
    assert "0.2971" in rows["long-dependency"]  # 10 ln 8 / (50 + 20)
    assert "bpc (bits/char)" in rows["lm"] and "pysrc: " in rows["lm"]


def test_list_says_why_a_task_is_unavailable(tmp_path, monkeypatch, capsys) -> None:
    # no JSB file in the data folder, no network, and no music21 for the offline stand-in
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(tasks.music, "_URL", (tmp_path / "nowhere").as_uri() + "/")
    monkeypatch.setattr(music21_chorales, "available", lambda: False)
    assert cli.main(["list"]) == 0
    music = [line for line in capsys.readouterr().out.splitlines() if line.startswith("music ")]
    assert "unavailable: jsb_chorales/jsb-chorales-quarter.json missing" in music[0]
    assert len(music[0]) < 200  # a few words, not a driver's message
