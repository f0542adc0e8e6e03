"""``harness inspect``: look inside trained cells (Karpathy, Johnson & Fei-Fei 2015): gate
saturation per unit, gates and states over time, units that track the text; tables, figures
and a page, for a study's best kept model per variant and task or for given model files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from optuna.trial import FrozenTrial

import tasks
import variants
from harness.command import model_choice
from harness.command.table import format_table
from harness.plans.grid import split_names
from harness.queue import finished, kept_models, storage_url, store
from harness.training.inspect import DEFAULT_STEPS, look_inside
from results.rendering import inspection
from results.rendering.report_folder import final_path, staged
from results.tables import record
from results.tables.inside import Inside

Target = tuple[str, Callable[[], kept_models.Kept]]  # (what the tables call it, its loader)


def cmd_inspect(args: argparse.Namespace) -> int:
    targets = (
        _files(args.model)
        if args.model
        else _best_runs(
            args.storage,
            args.study,
            _names(args.variants, variants.info),
            _names(args.tasks, tasks.info),
        )
    )
    # a study's inspection goes into its report folder (that storage's), where its report
    # finds it and another storage's study of the same name cannot overwrite it
    default = (
        Path(storage_url.OUTPUT) / inspection.FOLDER
        if args.model
        else storage_url.report_folder(args.storage, args.study) / inspection.FOLDER
    )
    folder = Path(args.out) if args.out else default
    rows: list[list[str]] = []
    with staged(folder) as staging:
        written = inspection.write(_looked_at(targets, args.steps or DEFAULT_STEPS, rows), staging)
        written = [final_path(p, staging, folder) for p in written]
    print(
        format_table(
            ["task", "variant", "run", "layers", "steps×columns", "deviation"],
            rows,
            right=("layers", "deviation"),
        )
    )
    count = {suffix: sum(p.suffix == suffix for p in written) for suffix in (".parquet", ".png")}
    print(
        f"{len(rows)} models looked inside: {count['.parquet']} tables (Parquet and CSV), "
        f"{count['.png']} figures and {inspection.PAGE} in {folder}",
        file=sys.stderr,
    )
    return 0


def _looked_at(targets: list[Target], steps: int, rows: list[list[str]]) -> Iterator[Inside]:
    """Each target loaded and looked inside in turn (one model in memory at a time)."""
    for run, load in targets:
        kept = load()
        inside = look_inside(kept.config, kept.model, kept.vocabulary, run, steps)
        rows.append(
            [
                inside.task,
                inside.variant,
                run,
                str(len(inside.layers)),
                "×".join(map(str, inside.valid.shape)),
                f"{inside.deviation:.1g}",
            ]
        )
        yield inside


def _files(paths: list[str]) -> list[Target]:
    """The model files, each checked before any work (``model_choice.of_file`` says what is
    wrong with one), loaded again when its turn comes."""
    for path in paths:
        model_choice.of_file(path, None)
    return [(Path(p).name, lambda p=p: model_choice.of_file(p, None).kept) for p in paths]


def _names(text: str | None, check: Callable[[str], object]) -> list[str] | None:
    """A comma-separated list of registered names (an unknown one fails with the closest)."""
    names = split_names(text)
    for name in names or ():
        check(name)
    return names


def _best_runs(
    storage: str | None,
    study_name: str,
    wanted_variants: list[str] | None,
    wanted_tasks: list[str] | None,
) -> list[Target]:
    """Per task and variant, the run ``harness sample --variant V --task T`` takes: the
    completed run with the best test score that kept its model (``model_choice``'s rule)."""
    targets, seen = [], set()
    for study in store.named_studies(storage_url.open_storage(storage), study_name):
        best: dict[tuple[str, str], tuple[float, FrozenTrial]] = {}
        for trial in finished.completed(study):
            config = trial.user_attrs[record.CONFIG]
            key = (config["task"], config["variant"])
            seen.add(key[1])
            score = model_choice.score(study, trial)
            if (
                (wanted_variants and key[1] not in wanted_variants)
                or (wanted_tasks and key[0] not in wanted_tasks)
                or score is None
                or not record.model_file(trial.user_attrs[record.RESULT])
            ):
                continue
            if key not in best or score < best[key][0]:
                best[key] = (score, trial)
        targets += [
            (
                f"{study.study_name}#{trial.number}",
                lambda s=study, t=trial: kept_models.load(kept_models.path_of(s, t)),
            )
            for _, (_, trial) in sorted(best.items())
        ]
    for name in sorted(set(wanted_variants or ()) - seen) if targets else ():
        print(f"harness: no completed run of {name} in {study_name}", file=sys.stderr)
    if not targets:
        raise LookupError(
            f"no completed run with a kept model in {study_name}"
            + (f" for variants {','.join(wanted_variants)}" if wanted_variants else "")
            + (f" on tasks {','.join(wanted_tasks)}" if wanted_tasks else "")
            + " (runs keep their models unless run with --no-models)"
        )
    return targets
