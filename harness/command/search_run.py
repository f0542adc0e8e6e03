"""A search's trials worked through from the command line: queued in the storage, run by
the workers with a bar of trials (and with ``--verbose`` a line each), interrupted
cleanly by Ctrl-C."""

from __future__ import annotations

import argparse
import sys

import optuna
from tqdm import tqdm

from harness.command.cli_grid import models_choice, stopping
from harness.plans import search
from harness.plans.config import RunConfig
from harness.queue import runner
from harness.queue.progress import Progress
from harness.training.train import RunResult, summary_line


def run(spec: search.SearchSpec, args: argparse.Namespace) -> list[optuna.Study] | int:
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
