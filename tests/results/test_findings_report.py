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

from results.analysis import trained
from results.analysis.paper_tables import task_summary
from results.analysis.reproduction import analyse
from results.rendering import findings_report
from tests.results.test_findings import HOLDS, SPACE, make_trials

PROVENANCE = {
    "profile": "smoke",
    "studies": ["search-music", "search-reber"],
    "storage": "sqlite:///runs.db",
    "protocol": "quick: 60 draws a variant",
}


# Music (the paper's data) and reber (an extension), six variants with the effects of
# test_findings.HOLDS: findings 2-5 and 10 hold on music; 1, 6-9 lack a variant (fgr; nig,
# nog, niaf; lstm-b) and are inconclusive.
VARIANTS = ("nfg", "noaf", "cifg", "np", "gru")
EXPECTED = ["inconclusive"] + ["reproduced"] * 4 + ["inconclusive"] * 4 + ["reproduced"]


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    trials = make_trials({v: HOLDS[v] for v in VARIANTS}, n=60, tasks=("music", "reber"))
    folder = tmp_path_factory.mktemp("report")
    path = findings_report.build(
        analyse(trials, SPACE, n_trees=8, resamples=10), folder, PROVENANCE
    )
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
    assert figures == (
        {"box_music.png", "lr_music.png", "importance_music.png", "lr_hidden_music.png"}
        | {f"finding_{k}.png" for k in (2, 3, 8, 10)}  # 6, 7, 9: no variants
        | {"trained.png", "at_a_glance.png"}
    )


def test_the_papers_analysis_comes_first_then_the_verdicts(full: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = full
    markdown = (folder / "findings.md").read_text()
    first, verdicts = _tables(markdown)[:2]
    assert first[0][:4] == ["data", "variant", "draws", "top"]
    assert {row[0] for row in first[1:]} == {"JSB Chorales"}  # no extension in it
    assert sorted(row[1] for row in first[1:]) == sorted(VARIANTS)
    assert {row[3] for row in first[1:]} == {"6"}  # the best 10 % of 60 draws
    assert verdicts[0] == ["#", "finding", "source", "verdict", "data", "statistic", "n"]
    assert [row[0] for row in verdicts[1:]] == [str(k) for k in range(1, 11)]
    assert [row[3] for row in verdicts[1:]] == EXPECTED
    assert {row[4] for row in verdicts[1:]} == {"JSB Chorales"}
    assert verdicts[6][5] == "absent: fgr [JSB Chorales]"
    assert verdicts[9][5] == "absent: lstm-b [JSB Chorales]"
    assert "Protocol: quick: 60 draws a variant." in markdown
    headings = re.findall(r"^## (.*)$", markdown, flags=re.M)
    assert headings[:2] == ["The paper's analysis on the paper's data", "Verdicts"]
    assert [h.split(".")[0] for h in headings[2:12]] == [str(k) for k in range(1, 11)]
    assert headings[12:] == [
        "Compare with the paper",
        "Beyond the paper",
        "Robustness: paired comparisons on the draws both cells trained on",
        "At a glance",
        "Which trials trained",
        "Per-task summaries",
        "Provenance",
    ]  # no cost: no worker time
    # reber is analysed in its own section, never in a verdict
    beyond = markdown.split("## Beyond the paper")[1].split("## ")[0]
    assert "| reber | nfg |" in beyond and "reber" not in "".join(row[5] for row in verdicts[1:])
    # a verdict's section lists the trials it rests on
    assert re.search(
        r"Rests on the best trials \(study: variant and draws k\): "
        r"search-music: lstm( \d+){6}, nfg( \d+){6}, noaf( \d+){6}\.",
        markdown,
    )
    compare = _tables(markdown.split("## Compare with the paper")[1])[0]
    rows = {row[0]: row for row in compare[1:]}
    assert rows["nfg"][1] == "significantly worse" and rows["nfg"][-1] == "significantly worse"
    assert rows["cifg"][1] == "no significant change"
    images = re.findall(r"!\[[^\]]*\]\((figures/[^)]+)\)", markdown)
    assert images and all((folder / p).exists() for p in images)


def test_json_matches_the_markdown(full: tuple[Path, pd.DataFrame]) -> None:
    folder, trials = full
    data = json.loads((folder / "findings.json").read_text())
    rows = _tables((folder / "findings.md").read_text())[1][1:]
    assert [f["number"] for f in data["findings"]] == list(range(1, 11))
    assert [f["verdict"] for f in data["findings"]] == [row[3] for row in rows]
    assert [f["statistic"] for f in data["findings"]] == [row[5] for row in rows]
    assert [f["n"] for f in data["findings"]] == [int(row[6]) for row in rows]
    three = pd.DataFrame(data["findings"][2]["details"])
    assert set(three["variant"]) == {"nfg", "noaf"} and (three["verdict"] == "worse").all()
    assert data["settings"]["space"]["momentum"] == [0.0, 0.99, False]
    assert data["provenance"]["studies"] == PROVENANCE["studies"]
    assert {r["task"] for r in data["primary"]} == {"music", "reber"}
    back = pd.read_csv(folder / "trials.csv")
    assert len(back) == len(trials) and list(back.columns) == list(trials.columns)


def test_html_is_self_contained(full: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = full
    page = (folder / "findings.html").read_text()
    markdown = (folder / "findings.md").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(embedded) == markdown.count("![") == 10  # box, 4 findings' effects, 3 of
    # findings 4-5, at a glance
    assert base64.b64decode(embedded[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/" not in page  # nothing to fetch next to the file
    assert page.count("<table") == markdown.count("\n|---")
    assert "<strong>reproduced" in page and "<strong>inconclusive" in page


def test_one_task_two_variants_still_builds(tmp_path: Path) -> None:
    """Too few trials for fANOVA and no hidden size: checks inconclusive, the figures that
    cannot be drawn left out, everything else written."""
    trials = make_trials({"gru": 0.0}, n=12).drop(columns="hidden_size")
    findings_report.build(analyse(trials, SPACE, resamples=5), tmp_path, {"profile": "tiny"})
    verdicts = _tables((tmp_path / "findings.md").read_text())[1]
    assert len(verdicts) == 11 and all(row[3] == "inconclusive" for row in verdicts[1:10])
    figures = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert {"box_music.png", "lr_music.png", "trained.png"} <= figures
    assert not any(n.startswith(("importance_", "lr_hidden_")) for n in figures)
    data = json.loads((tmp_path / "findings.json").read_text())
    assert "too few trials for fANOVA" in data["findings"][3]["statistic"]


def test_task_summary_counts_the_trials_that_trained() -> None:
    # trained: better than the trivial model, here the chance level (10.95)
    trials = pd.DataFrame(
        {
            "task": "music",
            "variant": ["lstm"] * 3 + ["gru"] * 3,
            "metric": "nll",
            "value": [9.0, 12.0, 30.0, 8.0, 9.9, 11.5],
            "lower_is_better": True,
            "chance": 10.95,
            "diverged": False,
        }
    )
    best = pd.DataFrame(
        {
            "task": ["music"],
            "variant": ["gru"],
            "reference": ["lstm"],
            "top": [1],
            "mean": [8.0],
            "diff": [-1.0],
            "low": [-1.5],
            "high": [-0.5],
            "p": [0.01],
        }
    )
    table = task_summary(trained.mark(trials), best, "music").set_index("variant")
    assert table.loc["lstm", "trained"] == 1 and table.loc["gru", "trained"] == 2
    assert table.loc["gru", "best_by_valid"] == 8.0 and table.loc["gru", "diff"] == -1.0
    assert list(table.index) == ["gru", "lstm"]  # best median first


def test_a_box_plot_is_the_same_whatever_the_global_generator_held(tmp_path: Path) -> None:
    """Seaborn jitters strip-plot points with numpy's global generator: the report's
    figures must not depend on what was drawn or computed before them."""
    import numpy as np

    from results.figures import findings_plots

    trials = make_trials({v: HOLDS[v] for v in ("nfg", "gru")}, n=20, tasks=("music",))
    tests = analyse(trials, SPACE, n_trees=4, resamples=5).tests
    drawn = []
    for seed in (1, 2):
        np.random.seed(seed)
        path = findings_plots.boxes(trials, tests, tmp_path / str(seed), "music")
        drawn.append(path.read_bytes())
    assert drawn[0] == drawn[1]
    # and the global generator is given back where it was
    assert np.random.random() == np.random.RandomState(2).random()
