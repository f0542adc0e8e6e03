"""The report: at a glance first, then per task a table of variants, the figures, and where
the numbers come from.

Built from the storage alone (``report.md``, and ``report.html`` with the figures inlined),
next to the tables as Parquet and CSV. Both documents render from one list of blocks
(``results.rendering.document``), so the page a browser shows says what the Markdown says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from results.analysis import glance
from results.analysis.summary import glossary, task_table
from results.figures import plots
from results.rendering import document, glance_section
from results.rendering.document import Block
from results.tables import frames


def build(studies: list[optuna.Study], name: str, out_dir: str | Path) -> Path:
    """Write tables, figures and the report for the grid ``name`` (its ``studies``, one per
    task) into ``out_dir``; returns the Markdown report's path."""
    out = Path(out_dir)
    runs = frames.runs_frame(studies)
    curves = frames.curves_frame(studies)
    profiles = frames.through_time_frame(studies)
    frames.export({"runs": runs, "curves": curves, "gradient_through_time": profiles}, out)
    figures = plots.all_figures(runs, curves, profiles, out / "figures") if len(curves) else []
    grid = _grid_of(studies)
    if grid is not None:
        (out / "resolved_config.json").write_text(json.dumps(grid, indent=2))
    blocks = report_blocks(name, runs, figures, out, grid)
    (out / "report.md").write_text(document.to_md(blocks, out))
    (out / "report.html").write_text(document.to_html(blocks))
    return out / "report.md"


def _grid_of(studies: list[optuna.Study]) -> dict[str, Any] | None:
    """The grid as resolved (every task's study records it; the task it holds set aside)."""
    for study in studies:
        grid = study.user_attrs.get("grid")
        if grid is not None:
            return {k: v for k, v in grid.items() if k != "task"}
    return None


def tables(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return (
        {task: task_table(runs, task) for task in sorted(runs["task"].unique())}
        if len(runs)
        else {}
    )


def report_blocks(
    name: str, runs: pd.DataFrame, figures: list[Path], out: Path, grid: dict[str, Any] | None
) -> list[Block]:
    """The report, top to bottom: the run count, the at-a-glance figure and table, a table
    per task (with what its columns mean), the figures, the kept models, the inspected
    models where ``harness inspect`` wrote them, the provenance."""
    status = runs["status"].value_counts().to_dict() if len(runs) else {}
    blocks: list[Block] = [
        ("h1", f"Report: {name}"),
        ("p", f"Runs: {len(runs)} ({', '.join(f'{v} {k}' for k, v in status.items())})."),
    ]
    blocks += glance_section.section(glance.from_runs(runs), out / "figures", "seeds", "seed")
    per_task = {task: table for task, table in tables(runs).items() if not table.empty}
    if per_task:
        blocks += [
            ("h2", "Per task"),
            ("p", "One table per task, the variants best first. The columns:"),
            ("table", glossary(list(next(iter(per_task.values())).columns))),
        ]
    for task, table in per_task.items():
        metric = runs.loc[runs["task"] == task, "metric"].dropna().iloc[0]
        better = (
            "lower" if bool(runs.loc[runs["task"] == task, "lower_is_better"].iloc[0]) else "higher"
        )
        blocks += [("h2", f"{task}: test {metric} ({better} is better)"), ("table", table)]
    if figures:
        blocks.append(("h2", "Figures"))
    for path in figures:
        blocks += [
            ("h3", plots.CAPTIONS.get(path.stem, (path.stem, ""))[0]),
            ("p", plots.CAPTIONS.get(path.stem, ("", ""))[1]),
            ("img", path),
        ]
    blocks += kept_models(runs)
    from results.rendering.inspection import section  # harness inspect's outputs, where written

    inspected = section(out)
    blocks += [("md", "\n".join(inspected))] if inspected else []
    blocks += [("h2", "Provenance"), ("table", provenance(runs))]
    if grid is not None:
        blocks += [
            ("p", "Configuration (`resolved_config.json`):"),
            ("pre", json.dumps(grid, indent=2)),
        ]
    return blocks


def kept_models(runs: pd.DataFrame) -> list[Block]:
    """Where the runs' models are, and how to reload one."""
    if "model" not in runs:
        return []
    kept = runs.dropna(subset=["model"])
    if kept.empty:
        return [
            ("h2", "Kept models"),
            (
                "p",
                "No run of this grid kept its model (run with "
                "`--no-models`, or stored by an earlier version).",
            ),
        ]
    folders = sorted({str(Path(m).parent) for m in kept["model"]})
    size = kept["model_bytes"].astype(float)
    return [
        ("h2", "Kept models"),
        (
            "p",
            f"{len(kept)} of {len(runs)} runs keep their best-validation weights "
            f"({size.sum() / 2**20:.1f} MB, {size.median() / 2**10:.0f} KB a run) in "
            f"{', '.join(f'`{f}`' for f in folders)}; `runs.csv` names each run's file "
            "(column `model`). Reload one with `harness.queue.kept_models.load(PATH)` "
            "(and `kept_models.rescore` to score it again).",
        ),
    ]


def provenance(runs: pd.DataFrame) -> pd.DataFrame:
    """Versions, device and commit: each distinct value seen across the runs."""
    keys = [
        "device",
        "device_name",
        "torch",
        "python",
        "numpy",
        "pandas",
        "optuna",
        "threads",
        "git",
        "host",
    ]
    rows = [(k, ", ".join(sorted(map(str, runs[k].dropna().unique())))) for k in keys if k in runs]
    return pd.DataFrame(rows, columns=["what", "value"])
