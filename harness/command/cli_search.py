"""``search``, ``reproduce`` and ``report --findings``: Greff et al.'s protocol from the
command line, from the random search to the findings report."""

from __future__ import annotations

import argparse
import time

import optuna

from harness.command import search_report, search_run
from harness.plans import grid, search
from harness.plans.config import ConfigError, parse_assignments
from harness.plans.profiles import check_paper_data, reproduce_spec
from harness.queue import finished, storage_url, store
from results.analysis.summary import duration, time_breakdown
from results.tables import frames


def cmd_search(args: argparse.Namespace) -> int:
    """Random search: every variant × task, ``--trials`` draws from the space."""
    if not args.variants or not args.tasks:
        raise ConfigError(
            "search needs --variants and --tasks (comma-separated); reproduce runs a whole profile"
        )
    spec = search.SearchSpec(
        tuple(grid.split_names(args.variants)),
        tuple(grid.split_names(args.tasks)),
        args.trials,
        args.space,
        args.seed,
        args.prefix,
        parse_assignments(args.set),
    )
    studies = search_run.run(spec, args)
    if isinstance(studies, int):
        return studies
    for study in studies:
        print(f"{study.study_name}: {len(finished.completed(study))} trials finished")
    print(
        f"analyse with: python -m harness report --findings --study {spec.prefix}"
        + (f" --storage {storage_url.shown(args.storage)}" if args.storage else "")
    )
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """The whole protocol of a profile: the search, then the findings report."""
    spec = reproduce_spec(
        args.profile,
        grid.split_names(args.tasks),
        grid.split_names(args.variants),
        args.trials,
        parse_assignments(args.set),
        args.seed,
    )
    check_paper_data(spec)
    started = time.monotonic()
    studies = search_run.run(spec, args)
    if isinstance(studies, int):
        return studies
    code = search_report.write(
        studies,
        spec.prefix,
        args.storage,
        args.out,
        {"profile": args.profile, "command": "reproduce"},
    )
    runs = frames.runs_frame(studies)
    spent = time_breakdown(runs)
    print(
        f"\nreproduce {spec.prefix} finished in {duration(time.monotonic() - started)} "
        f"({len(runs):,} trials stored)" + (f"; {spent}" if spent else "")
    )
    return code


def cmd_findings(args: argparse.Namespace) -> int:
    """``report --findings``: the analysis alone, from the storage."""
    storage = storage_url.open_storage(args.storage)
    name = args.study or _only_search(storage)
    studies = store.named_studies(storage, name)
    return search_report.write(studies, name, args.storage, args.out, {"command": "report"})


def _only_search(storage: optuna.storages.BaseStorage) -> str:
    """The search in the storage, when there is exactly one (``--study`` names it else)."""
    prefixes = sorted(
        {
            s.user_attrs["search"].get("prefix", s.study_name.rsplit("-", 1)[0])
            for s in optuna.get_all_study_summaries(storage)
            if "search" in s.user_attrs
        }
    )
    if len(prefixes) != 1:
        raise ConfigError(
            "name the search with --study: "
            + (
                f"this storage holds {', '.join(prefixes)}"
                if prefixes
                else "this storage holds no search; run search or reproduce"
            )
        )
    return prefixes[0]
