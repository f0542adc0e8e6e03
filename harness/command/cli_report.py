"""``report``: a grid's report from the storage, its tables printed (``run --grid`` ends
with it too)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness.queue import storage_url, store
from results.analysis.summary import closing_summary, task_table, to_markdown
from results.rendering import report as reports
from results.rendering import report_folder


def cmd_report(args: argparse.Namespace) -> int:
    studies = store.named_studies(storage_url.open_storage(args.storage), args.study)
    return write_report(studies, args.study, args.out, args.storage)


def write_report(
    studies: list, name: str, out: str | None, storage: str | None, started: float | None = None
) -> int:
    """Build the report (into ``out``, else the storage's own report folder) and print its
    tables; a grid (``started``: when its command began) ends with its summary line and
    both reports' paths."""
    folder = Path(out or storage_url.report_folder(storage, name))
    shown = storage_url.shown(storage)
    path = report_folder.write(folder, lambda staging: reports.build(studies, name, staging), shown)
    runs = reports.frames.runs_frame(studies)
    for task in sorted(runs["task"].unique()) if len(runs) else []:
        table = task_table(runs, task)
        if not table.empty:
            print(f"\n{task} (test {runs.loc[runs['task'] == task, 'metric'].dropna().iloc[0]})")
            print(to_markdown(table))
    print(
        "\n"
        + (
            closing_summary(name, runs, time.monotonic() - started, path)
            if started is not None
            else f"report: {path}"
        )
    )
    return 0
