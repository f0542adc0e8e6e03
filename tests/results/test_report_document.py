"""The grid report's documents from a hand-made runs frame: the HTML says what the Markdown
says (run count, "lower is better" headings, the glossary, the at-a-glance section first),
spells speeds with thousands separators, never ``5.819e+04``, and lets its figures scale
to the window."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from results.analysis.summary import to_markdown
from results.rendering import document, report

SPEED = 58190.25  # steps×batch/s that pandas would print as 5.819e+04


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    rows = []
    for task, metric, lower, chance, values in (
        ("lm", "bpc", True, 6.7, {"lstm": [3.3, 3.4, 3.5], "noaf": [3.6, 26.0, 31.0]}),
        (
            "parity",
            "accuracy",
            False,
            50.0,
            {"lstm": [100.0, 99.0, 52.0], "noaf": [50.0, 50.0, 48.0]},
        ),
    ):
        for variant, tests in values.items():
            for seed, test in enumerate(tests):
                rows.append(
                    {
                        "task": task,
                        "variant": variant,
                        "seed": seed,
                        "metric": metric,
                        "status": "diverged" if test == chance else "complete",
                        "test": test,
                        "chance": chance,
                        "lower_is_better": lower,
                        "steps×batch/s": SPEED,
                        "cell_parameters": 17632,
                        "backend": "native",
                        "torch": "2.13",
                    }
                )
    runs = pd.DataFrame(rows)
    out = tmp_path_factory.mktemp("report")
    blocks = report.report_blocks("grid-test", runs, [], out, {"profile": "test"})
    return document.to_md(blocks, out), document.to_html(blocks)


def test_the_html_carries_the_run_count_and_the_direction_headings(
    documents: tuple[str, str],
) -> None:
    markdown, page = documents
    assert "Runs: 12 (10 complete, 2 diverged)." in markdown
    assert "<p>Runs: 12 (10 complete, 2 diverged).</p>" in page
    for heading in ("lm: test bpc (lower is better)", "parity: test accuracy (higher is better)"):
        assert f"## {heading}" in markdown and f"<h2>{heading}</h2>" in page
    # the same headings, in the same order, in both documents
    assert re.findall(r"^#+ (.*)$", markdown, flags=re.M) == re.findall(r"<h\d>(.*?)</h\d>", page)


def test_numbers_are_spelt_for_a_reader(documents: tuple[str, str]) -> None:
    markdown, page = documents
    assert not re.search(r"\d\.\d+e[+-]\d", page), "scientific notation in the HTML"
    assert "58,190" in page and "58,190" in markdown and "17,632" in page
    assert '<td style="text-align: right;">58,190</td>' in page  # right-aligned


def test_one_format_per_column() -> None:
    frame = pd.DataFrame(
        {
            "variant": ["a", "b", "c"],
            "params": [6240, 16384, 512],
            "bpc": [3.3, 3.304, float("nan")],
            "speed": [58190.25, 812.5, 9.0],
        }
    )
    lines = to_markdown(frame).splitlines()
    assert lines[1] == "|---|---:|---:|---:|"  # numbers right-aligned
    assert lines[2:] == [
        "| a | 6,240 | 3.300 | 58,190.2 |",
        "| b | 16,384 | 3.304 | 812.5 |",
        "| c | 512 |  | 9.0 |",
    ]


def test_the_glossary_defines_the_task_tables_columns(documents: tuple[str, str]) -> None:
    markdown, page = documents
    for column in ("gap", "low, high", "steps×batch/s", "chance"):
        assert f"| {column} |" in markdown and f"<td>{column}</td>" in page
    assert "positive is better than chance" in page


def test_at_a_glance_comes_first_and_figures_scale(documents: tuple[str, str]) -> None:
    markdown, page = documents
    headings = re.findall(r"^## (.*)$", markdown, flags=re.M)
    assert headings[0] == "At a glance"
    assert "![at_a_glance](figures/at_a_glance.png)" in markdown
    assert "data:image/png;base64," in page and "img{max-width:100%" in page
    # at 800 pixels a wide table scrolls inside itself, and a long path breaks
    assert "overflow-x:auto}" in page.split("table{")[1] and "overflow-wrap:anywhere" in page
    # noaf never beat chance on parity, and is far behind on lm
    row = next(line for line in markdown.splitlines() if line.startswith("| noaf | "))
    assert "✗" in row.split("|")[-2]


def test_a_section_written_as_markdown_reads_the_same_in_html(tmp_path: Path) -> None:
    section = (
        "## Inside the trained cells\n\nGates of `lstm`, **mean**.\n\n"
        "| variant | gate |\n|---|---|\n| lstm | L 0.10 \\| R 0.20 |\n\n"
        "![saturation_lm](inspect/figures/saturation_lm.png)"
    )
    blocks = [("h1", "Report: x"), ("md", section)]
    assert section in document.to_md(blocks, tmp_path)
    page = document.to_html(blocks)
    assert "<h2>Inside the trained cells</h2>" in page
    assert "<p>Gates of <code>lstm</code>, <strong>mean</strong>.</p>" in page
    assert "<td>L 0.10 | R 0.20</td>" in page and "<th>gate</th>" in page
    assert '<img alt="saturation_lm" src="inspect/figures/saturation_lm.png">' in page
