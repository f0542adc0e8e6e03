"""``harness evolve``: a search for new cells as Jozefowicz et al. (2015) did it
(``harness/evolution``), its report, the confirmation of its best finds with fresh seeds,
and the export of one as a plugin file."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import torch

from harness.command import evolve_report
from harness.command.cli_grid import stopping
from harness.evolution import candidates as cands
from harness.evolution import confirm, export, search, suite
from harness.queue import storage_url
from harness.queue.outage import ride_out

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def duration(text: str) -> float:
    """Seconds of ``1h``, ``90m``, ``1h30m``, ``45s`` (a number alone: seconds)."""
    if text.isdigit():
        return float(text)
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is no duration (1h, 30m, 1h30m, 90s)")
    h, m, s = (int(g or 0) for g in match.groups())
    return float(3600 * h + 60 * m + s)


def cmd_evolve(args: argparse.Namespace) -> int:
    started = time.monotonic()
    # one thread: a candidate's small stacked cells gain nothing from a second one, which
    # only waits on the first (measured: 8x slower with another process on the core); run a
    # process per core to use the machine (they share the search through the storage)
    torch.set_num_threads(1)
    tasks = _tasks(args.tasks)
    if args.export:
        export.check_name(args.export)  # before anything is opened or created
    storage = storage_url.open_storage(args.storage)
    study = ride_out(lambda: search.open_search(storage, args.study), "opening the search")
    out = Path(args.out) if args.out else storage_url.report_folder(args.storage, args.study)
    if args.export:
        return _export(study, args.export, Path(args.to))
    settings = search.Settings(
        tasks=tasks,
        population=args.population,
        seed=args.seed,
        scale=args.scale,
        seconds=args.budget,
        candidates=args.candidates,
    )
    if args.confirm:
        with stopping(None, "the confirmations finished are stored") as stopped:
            confirm.run(study, args.confirm, settings, _say)
        if stopped.code is not None:
            return stopped.code
    elif not args.report_only:
        before = sum(c.baseline is None for c in cands.counted(cands.read(study)))
        print(
            f"evolve {args.study}: {before} candidates evaluated so far; budget "
            f"{_budget(args)} (the tasks: {', '.join(t.name for t in suite.tasks_at(1, tasks))})",
            file=sys.stderr,
        )
        progress = _Progress(study)
        with stopping(
            None, "the candidates evaluated are stored; run the same command to go on"
        ) as stopped:
            search.run(study, settings, progress)
        if stopped.code is not None:
            return stopped.code
    folder = evolve_report.write(study, out, storage_url.shown(args.storage), started)
    print(f"report: {folder / 'report.md'}")
    return 0


def _tasks(text: str | None) -> tuple[str, ...] | None:
    if not text:
        return None
    chosen = tuple(t.strip() for t in text.split(",") if t.strip())
    known = [t.name for t in suite.SUITE]
    unknown = [t for t in chosen if t not in known]
    if unknown or suite.MEMORIZATION not in chosen:
        raise ValueError(
            f"--tasks {text!r}: the suite's tasks are {', '.join(known)}, and "
            f"{suite.MEMORIZATION} (the memorization filter) must be among them"
        )
    return chosen


def _budget(args: argparse.Namespace) -> str:
    parts = []
    if args.budget is not None:
        parts.append(f"{args.budget / 60:.0f} min")
    if args.candidates is not None:
        parts.append(f"{args.candidates} candidates")
    return " or ".join(parts) or "none (until Ctrl-C)"


def _export(study, name: str, folder: Path) -> int:  # type: ignore[no-untyped-def]
    found = cands.finds(cands.read(study))
    if not found:
        raise ValueError(f"study {study.study_name} has no evaluated candidate to export yet")
    path = export.write(name, found[0], study.study_name, folder)
    print(
        f"wrote {path}: variant {name} (trial #{found[0].number}); use it with "
        f"--plugin {export.module_name(name)} with {folder} on PYTHONPATH"
    )
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr)


class _Progress:
    """One line per candidate: what it scored, and the search's count and best so far."""

    def __init__(self, study) -> None:  # type: ignore[no-untyped-def]
        self.study = study

    def __call__(self, outcome: search.Outcome) -> None:
        c = outcome.candidate
        every = cands.read(self.study)
        evaluated = [x for x in cands.counted(every) if x.baseline is None]
        best = next(iter(cands.finds(every)), None)
        fit = c.fitness.get(c.top_rung)
        end = f"pruned after rung {outcome.pruned_at}" if outcome.pruned_at is not None else "done"
        best_text = (
            f"best {best.name} fitness {best.fitness.get(best.top_rung, float('nan')):.3f} "
            f"(rung {best.top_rung})"
            if best
            else "no candidate yet"
        )
        print(
            f"[{len(evaluated)} candidates] {c.name} ({c.mutation or 'baseline'}): fitness "
            f"{'n/a' if fit is None else f'{fit:.3f}'} at rung {c.top_rung}, {end}; {best_text}",
            file=sys.stderr,
        )
