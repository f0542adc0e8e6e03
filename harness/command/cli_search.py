"""``search``, ``reproduce`` and ``report --findings``: Greff et al.'s protocol from the
command line, from the random search to the findings report."""

from __future__ import annotations

import argparse
import sys
import time

import optuna
from tqdm import tqdm

from harness.command import search_report
from harness.command.cli_grid import models_choice, stopping
from harness.plans import grid, search
from harness.plans.config import ConfigError, RunConfig, parse_assignments
from harness.plans.profiles import check_paper_data, reproduce_spec
from harness.queue import finished, runner, storage_url, store
from harness.queue.progress import Progress
from harness.training.train import RunResult, summary_line
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
    studies = _run(spec, args)
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
    studies = _run(spec, args)
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


def _run(spec: search.SearchSpec, args: argparse.Namespace) -> list[optuna.Study] | int:
    """Enqueue the search and work through it; the exit code when interrupted."""
    prepared = search.prepare(spec, args.storage, *models_choice(args))
    studies, keys = prepared.studies, prepared.keys
    done = len(prepared.done())
    print(
        f"search {spec.prefix}: {len(keys)} trials ({len(spec.variants)} variants × "
        f"{len(spec.tasks)} tasks × {spec.trials} draws from {spec.space!r}); {done} done, "
        f"{len(keys) - done} to run ({prepared.added} newly queued, {prepared.requeued} "
        "re-queued from a stopped worker)",
        file=sys.stderr,
    )
    bar = tqdm(total=len(keys), initial=done, unit="trial", disable=None, desc=spec.prefix)
    device = None if args.device == "auto" else args.device
    progress = _SearchProgress(bar, args.verbose)

    with stopping(
        bar,
        "finished trials are stored, the trials in hand are back in the "
        "queue; run the same command to resume",
    ) as stopped:
        runner.run(studies, args.storage, args.workers, device, args.population, progress, keys)
    if stopped.code is not None:
        return stopped.code
    for error in prepared.failures():
        print(f"failed trial: {error}", file=sys.stderr)
    return studies


class _SearchProgress(Progress):
    """A search's bar of trials; with ``verbose``, a line per finished trial."""

    def __init__(self, bar: tqdm, verbose: bool) -> None:
        self.bar, self.verbose, self.reported = bar, verbose, set()

    def finished(self, config: RunConfig, result: RunResult | None) -> None:
        self.bar.update(1)
        if self.verbose and result is not None:
            tqdm.write(result.summary(), file=sys.stderr)

    def found(self, records: dict[str, dict]) -> None:
        for key in sorted(set(records) - self.reported):
            if self.verbose:
                tqdm.write(summary_line(records[key]), file=sys.stderr)
            self.reported.add(key)
        self.bar.update(len(records) - self.bar.n)
