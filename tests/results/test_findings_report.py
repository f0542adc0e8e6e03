"""The findings report built from synthetic trials: the files, the verdict table first with
the ten verdicts, findings.json matching it, the HTML carrying its own images; and a
frame too small for most checks and figures still builds."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from results import findings_report
from tests.results.test_findings import HOLDS, SPACE, TASKS, make_trials

PROVENANCE = {"profile": "smoke", "studies": ["greff-music", "greff-lm"],
              "storage": "sqlite:///runs.db", "trials per variant": {"lstm": 30}}


# Two tasks and six variants, effects as in test_findings.HOLDS: findings 1-5 and 10 hold by
# construction, 6-9 lack their variants (fgr; nig, nog, niaf; lstm-b) and are inconclusive.
VARIANTS = ("nfg", "noaf", "cifg", "np", "gru")
REPORT_TASKS = ("music", "memory-add")
EXPECTED = ["reproduced"] * 5 + ["inconclusive"] * 4 + ["reproduced"]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    trials = make_trials({v: HOLDS[v] for v in VARIANTS},
                         tasks={t: TASKS[t] for t in REPORT_TASKS})
    folder = tmp_path_factory.mktemp("report")
    path = findings_report.build(trials, SPACE, folder, PROVENANCE, n_trees=8)
    assert path == folder / "findings.md"
    return folder, trials


def _tables(markdown: str) -> list[list[list[str]]]:
    """Every Markdown table as rows of cells (header first, the rule line dropped)."""
    tables, current = [], []
    for line in markdown.splitlines() + [""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                current.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_files_and_figures_are_written(full: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = full
    for name in ("findings.md", "findings.html", "findings.json", "trials.csv"):
        assert (folder / name).stat().st_size > 0, name
    figures = {p.name for p in (folder / "figures").glob("*.png")}
    assert figures == ({f"{kind}_{task}.png" for task in REPORT_TASKS
                        for kind in ("box", "lr", "importance", "lr_hidden")}
                       | {f"finding_{k}.png" for k in (2, 3, 8, 10)}  # 6, 7, 9: no variants
                       | {"trained.png", "at_a_glance.png"})


def test_verdict_table_comes_first_with_the_ten_verdicts(
        full: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = full
    markdown = (folder / "findings.md").read_text()
    first = _tables(markdown)[0]
    assert first[0] == ["#", "finding", "source", "verdict", "statistic", "n"]
    assert [row[0] for row in first[1:]] == [str(k) for k in range(1, 11)]
    assert [row[3] for row in first[1:]] == EXPECTED
    assert first[6][4] == "absent: fgr" and first[9][4] == "absent: lstm-b"
    assert [row[2] for row in first[1:]].count("Jozefowicz et al. 2015") == 3
    # then a section per finding, in order, the per-task summaries, the provenance
    headings = re.findall(r"^## (.*)$", markdown, flags=re.M)
    assert headings[:2] == ["At a glance", "Which trials trained"]
    assert [h.split(".")[0] for h in headings[2:12]] == [str(k) for k in range(1, 11)]
    assert headings[12:] == ["Per-task summaries", "Provenance"]
    glance = _tables(markdown)[1]
    assert glance[0] == ["variant", "score [95 % CI]", *sorted(REPORT_TASKS)]
    assert sorted(row[0] for row in glance[1:]) == sorted(("lstm", *VARIANTS))
    trained = _tables(markdown)[2]
    assert trained[0][:4] == ["task", "variant", "trained", "lr ≥ 0.0001"]
    assert [row[1] for row in trained[1:]].count("all") == len(REPORT_TASKS)
    assert "sqlite:///runs.db" in markdown and "greff-music" in markdown
    for task in REPORT_TASKS:
        assert f"### {task}: test" in markdown
    images = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", markdown)
    assert images and all((folder / p).exists() for p in images)


def test_json_matches_the_markdown(full: tuple[Path, pd.DataFrame]) -> None:
    folder, trials = full
    data = json.loads((folder / "findings.json").read_text())
    rows = _tables((folder / "findings.md").read_text())[0][1:]
    assert [f["number"] for f in data["findings"]] == list(range(1, 11))
    assert [f["verdict"] for f in data["findings"]] == [row[3] for row in rows]
    assert [f["statistic"] for f in data["findings"]] == [row[4] for row in rows]
    assert [f["n"] for f in data["findings"]] == [int(row[5]) for row in rows]
    three = pd.DataFrame(data["findings"][2]["details"])
    assert set(three["variant"]) == {"nfg", "noaf"} and (three["verdict"] == "worse").all()
    assert data["settings"]["space"]["momentum"] == [0.0, 0.99, False]
    assert data["provenance"]["studies"] == PROVENANCE["studies"]
    back = pd.read_csv(folder / "trials.csv")
    assert len(back) == len(trials) and list(back.columns) == list(trials.columns)


def test_html_is_self_contained(full: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = full
    page = (folder / "findings.html").read_text()
    markdown = (folder / "findings.md").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == markdown.count("![") == 14  # 13 of the findings, at a glance
    assert base64.b64decode(embedded[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/" not in page  # nothing to fetch next to the file
    assert page.count("<table") == markdown.count("\n|---")
    assert "<strong>reproduced" in page and "<strong>inconclusive" in page


def test_one_task_two_variants_still_builds(tmp_path: Path) -> None:
    """Too few trials for fANOVA and no hidden size: checks inconclusive, the figures that
    cannot be drawn left out, everything else written."""
    trials = make_trials({"gru": 0.0}, n=12, tasks={"music": TASKS["music"]}).drop(
        columns="hidden_size")
    findings_report.build(trials, SPACE, tmp_path, {"profile": "tiny"})
    first = _tables((tmp_path / "findings.md").read_text())[0]
    assert len(first) == 11 and all(row[3] == "inconclusive" for row in first[1:10])
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {"box_music.png", "lr_music.png", "trained.png"} <= figures
    assert not any(n.startswith(("importance_", "lr_hidden_")) for n in figures)
    data = json.loads((tmp_path / "findings.json").read_text())
    assert "12 < 30 trials" in data["findings"][3]["statistic"]
    assert "hidden_size: not in the trials" in data["findings"][3]["statistic"]


def test_task_summary_counts_the_trials_that_trained() -> None:
    # trained: at least 5 % under chance (10.95 - 0.5475 = 10.4025)
    trials = pd.DataFrame({
        "task": "music", "variant": ["lstm"] * 3 + ["gru"] * 3, "metric": "nll",
        "value": [9.0, 12.0, 30.0, 8.0, 9.9, 10.5], "lower_is_better": True, "chance": 10.95,
        "diverged": False})
    tests = pd.DataFrame({"task": ["music"], "variant": ["gru"], "reference": ["lstm"],
                          "n": [3], "diff": [-0.5], "low": [-0.9], "high": [-0.1],
                          "detectable": [0.6], "needed": [40.0], "p_holm": [0.4],
                          "verdict": ["not significant"]})
    table = findings_report.task_summary(trials, tests, "music").set_index("variant")
    assert table.loc["lstm", "trained"] == 1 and table.loc["gru", "trained"] == 2
    assert table.loc["gru", "pairs"] == 3 and table.loc["gru", "diff"] == -0.5
    assert list(table.index) == ["gru", "lstm"]  # best median first
    assert table.loc["lstm", "verdict"] == "reference"
