"""``harness models``: the kept models of a grid, search or single runs, and (``--rescore``)
the check that each reloads into its run's stored test metrics exactly."""

from __future__ import annotations

import argparse
import sys

from harness.command.table import format_table
from harness.queue import finished, kept_models, storage_url, store
from results.tables import record


def cmd_models(args: argparse.Namespace) -> int:
    studies = store.named_studies(storage_url.open_storage(args.storage), args.study)
    rows, differ, missing = [], 0, 0
    for study in studies:
        for trial in finished.completed(study):
            result = trial.user_attrs[record.RESULT]
            config, metric = result["config"], result["primary"]
            if not result.get("model"):
                missing += 1
                continue
            path = kept_models.path_of(study, trial)
            row = [
                study.study_name,
                trial.number,
                config["variant"],
                config["seed"],
                f"{metric} {result['test'][metric]:.6g}",
                f"{result['model']['bytes'] / 1024:.0f}",
                str(path),
            ]
            if args.rescore:
                again = kept_models.rescore(kept_models.load(path))
                same = again == result["test"]
                differ += not same
                row.insert(5, "equal" if same else f"differs: {again[metric]!r}")
            rows.append(row)
    header = ["study", "trial", "variant", "seed", "test", "KB", "file"]
    if args.rescore:
        header.insert(5, "rescored")
    print(format_table(header, rows, right=("trial", "seed", "KB")))
    print(
        f"{len(rows)} kept models"
        + (f", {missing} completed runs without one (diverged, or --no-models)" if missing else "")
        + (
            f"; rescored: {len(rows) - differ} equal to the stored test metrics, {differ} differ"
            if args.rescore
            else ""
        ),
        file=sys.stderr,
    )
    return 1 if differ else 0
