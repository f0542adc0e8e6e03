"""The report: per task a table of variants, the figures, and where the numbers come from.

Built from the storage alone (``report.md``, and ``report.html`` with the figures inlined),
next to the tables as Parquet and CSV.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from results import frames, plots
from results.summary import task_table, to_markdown


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
    markdown = render(name, runs, figures, out, grid)
    (out / "report.md").write_text(markdown)
    (out / "report.html").write_text(to_html(name, runs, figures, grid))
    return out / "report.md"


def _grid_of(studies: list[optuna.Study]) -> dict[str, Any] | None:
    """The grid as resolved (every task's study records it; the task it holds set aside)."""
    for study in studies:
        grid = study.user_attrs.get("grid")
        if grid is not None:
            return {k: v for k, v in grid.items() if k != "task"}
    return None


def tables(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {task: task_table(runs, task) for task in sorted(runs["task"].unique())} \
        if len(runs) else {}


def render(name: str, runs: pd.DataFrame, figures: list[Path], out: Path,
           grid: dict[str, Any] | None) -> str:
    lines = [f"# Report: {name}", ""]
    status = runs["status"].value_counts().to_dict() if len(runs) else {}
    lines += [f"Runs: {len(runs)} ({', '.join(f'{v} {k}' for k, v in status.items())}).", ""]
    for task, table in tables(runs).items():
        if table.empty:
            continue
        metric = runs.loc[runs["task"] == task, "metric"].dropna().iloc[0]
        better = "lower" if bool(runs.loc[runs["task"] == task, "lower_is_better"].iloc[0]) \
            else "higher"
        lines += [f"## {task}: test {metric} ({better} is better)", "", to_markdown(table), ""]
    for path in figures:
        lines += [f"![{path.stem}]({path.relative_to(out).as_posix()})", ""]
    lines += kept_models(runs)
    lines += ["## Provenance", "", to_markdown(provenance(runs)), ""]
    if grid is not None:
        lines += ["Configuration: `resolved_config.json`.", ""]
    return "\n".join(lines)


def kept_models(runs: pd.DataFrame) -> list[str]:
    """Where the runs' models are, and how to reload one."""
    if "model" not in runs:
        return []
    kept = runs.dropna(subset=["model"])
    if kept.empty:
        return ["## Kept models", "", "No run of this grid kept its model (run with "
                "`--no-models`, or stored by an earlier version).", ""]
    folders = sorted({str(Path(m).parent) for m in kept["model"]})
    size = kept["model_bytes"].astype(float)
    return ["## Kept models", "",
            f"{len(kept)} of {len(runs)} runs keep their best-validation weights "
            f"({size.sum() / 2**20:.1f} MB, {size.median() / 2**10:.0f} KB a run) in "
            f"{', '.join(f'`{f}`' for f in folders)}; `runs.csv` names each run's file "
            "(column `model`). Reload one with `harness.queue.kept_models.load(PATH)` (and "
            "`kept_models.rescore` to score it again).", ""]


def provenance(runs: pd.DataFrame) -> pd.DataFrame:
    """Versions, device and commit: each distinct value seen across the runs."""
    keys = ["device", "device_name", "torch", "python", "numpy", "pandas", "optuna",
            "threads", "git", "host"]
    rows = [(k, ", ".join(sorted(map(str, runs[k].dropna().unique())))) for k in keys
            if k in runs]
    return pd.DataFrame(rows, columns=["what", "value"])


def to_html(name: str, runs: pd.DataFrame, figures: list[Path],
            grid: dict[str, Any] | None) -> str:
    """A single self-contained page: the same tables, the figures inlined as base64."""
    parts = [f"<h1>Report: {html.escape(name)}</h1>"]
    for task, table in tables(runs).items():
        if not table.empty:
            parts += [f"<h2>{html.escape(task)}</h2>",
                      table.to_html(index=False, float_format=lambda v: f"{v:.4g}")]
    for path in figures:
        data = base64.b64encode(path.read_bytes()).decode()
        parts.append(f'<h3>{html.escape(path.stem)}</h3><img src="data:image/png;base64,{data}">')
    parts += ["<h2>Provenance</h2>", provenance(runs).to_html(index=False)]
    if grid is not None:
        parts.append(f"<pre>{html.escape(json.dumps(grid, indent=2))}</pre>")
    return ("<!doctype html><meta charset='utf-8'><title>" + html.escape(name) +
            "</title><body style='font-family:sans-serif'>" + "\n".join(parts) + "</body>")
