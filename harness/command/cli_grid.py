"""``run --grid``, ``run`` and ``worker``: the grid from the command line through the queue
to the finished report (written by ``cli_report``)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator

from tqdm import tqdm

from harness.command import cli_report
from harness.plans import grid, plugins
from harness.plans.config import ConfigError, RunConfig
from harness.queue import finished, queueing, runner, signals, storage_url, store
from harness.queue.outage import ride_out
from harness.queue.progress import Progress
from harness.training.train import RunResult, check_data, summary_line
from results.tables import record


def cmd_grid(args: argparse.Namespace) -> int:
    started = time.monotonic()
    spec = grid.from_command(
        args.profile, args.variants, args.tasks, args.seeds, args.config, args.set
    )
    study_name = args.study or f"grid-{spec.profile}"
    runs = spec.runs()
    check_data(runs)
    prepared = queueing.open_grid(
        runs, grid.as_dict(spec), study_name, args.storage, *models_choice(args)
    )
    device = None if args.device == "auto" else args.device
    done = prepared.done()
    print(
        f"grid {study_name}: {prepared.total} runs ({len(spec.variants)} variants × "
        f"{len(spec.tasks)} tasks × {spec.seeds} seeds); {len(done)} done, "
        f"{prepared.total - len(done)} to run ({prepared.added} newly queued, "
        f"{prepared.requeued} re-queued from a stopped worker)",
        file=sys.stderr,
    )
    bar = tqdm(total=prepared.total, initial=len(done), unit="run", disable=None, desc=study_name)
    progress = _GridProgress(bar, prepared.total, set(done))

    with stopping(
        bar,
        "finished runs are stored, the runs in hand are back in the queue; "
        "run the same command to resume",
    ) as stopped:
        runner.run(
            prepared,
            args.storage,
            args.workers,
            device,
            args.population,
            progress,
        )
    if stopped.code is not None:
        return stopped.code
    for error in prepared.failures():
        print(f"failed run: {error}", file=sys.stderr)
    return ride_out(
        lambda: cli_report.write_report(
            prepared.studies, study_name, args.out, args.storage, started
        ),
        "writing the report",
    )


def models_choice(args: argparse.Namespace) -> tuple[str | None, bool]:
    """``--models DIR`` and not ``--no-models``, as the queue's entries take them."""
    return getattr(args, "models", None), not getattr(args, "no_models", False)


def cmd_single(args: argparse.Namespace, config: RunConfig) -> int:
    """``run`` without ``--grid``: one run, stored like a grid's (study ``NAME-TASK``,
    default ``runs-TASK``), with its model; it says where."""
    check_data([config])
    prepared = queueing.open_runs(
        [config], args.study or "runs", args.storage, *models_choice(args)
    )
    key = config.key
    if key not in prepared.done():
        bar = tqdm(desc=f"{config.variant} × {config.task}", unit="step", disable=None, leave=False)

        with stopping(
            bar, "the run is back in the queue; run the same command to run it"
        ) as stopped:
            runner.run_in_process(
                prepared, None if args.device == "auto" else args.device, _StepProgress(bar)
            )
        if stopped.code is not None:
            return stopped.code
        again = ""
    else:
        again = " (already stored: not trained again; --study NAME keeps another copy)"
    study = prepared.studies[0]
    trial = next((t for t in finished.completed(study) if t.user_attrs[record.KEY] == key), None)
    if trial is None:
        for error in prepared.failures():
            print(f"failed run: {error}", file=sys.stderr)
        return 1
    stored = trial.user_attrs[record.RESULT]
    differences = against_the_grid(config)
    if differences:
        print(
            f"settings that differ from the default grid's {config.variant} on "
            f"{config.task}: {differences} (run --grid trains with those)"
        )
    print(summary_line(stored))
    model = record.model_file(stored)
    kept = f"; model {model}" if model else "; no model kept"
    print(
        f"stored as trial {trial.number} of study {study.study_name} in "
        f"{storage_url.shown(args.storage)}{kept}{again}"
    )
    return 0


_COMPARED = (
    "hidden_size",
    "layers",
    "steps",
    "sequences",
    "batch_size",
    "lr",
    "optimizer",
    "eval_every",
    "patience",
    "task_settings",
)


def against_the_grid(config: RunConfig) -> str:
    """ "hidden_size 64 (grid 32), patience none (grid 5)": where a single run's settings
    differ from the default grid's run of the same variant and task ("" where none do, or
    the default grid has no such task)."""
    try:
        reference = grid.resolve("default", [config.variant], [config.task], 1).runs()[0]
    except (ConfigError, LookupError, IndexError):
        return ""
    parts = []
    for name in _COMPARED:
        mine, theirs = getattr(config, name), getattr(reference, name)
        if mine != theirs:
            parts.append(f"{name} {_shown(mine, name)} (grid {_shown(theirs, name)})")
    return ", ".join(parts)


def _shown(value: object, name: str) -> str:
    if value is None:
        return "the task's default" if name in ("steps", "sequences") else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "defaults"
    return str(value)


def cmd_worker(args: argparse.Namespace) -> int:
    """Join the grid or search in a storage and take its waiting runs until none is left."""
    storage = storage_url.open_storage(args.storage)

    def join() -> tuple[list, set[str], set[str], int]:
        studies = store.named_studies(storage, args.study)
        keys = {
            t.user_attrs[record.KEY]
            for s in studies
            for t in s.get_trials(deepcopy=False)
            if record.KEY in t.user_attrs
        }
        before = {k for s in studies for k in finished.done_keys(s)}
        return studies, keys, before, sum(finished.counts(s).get("waiting", 0) for s in studies)

    studies, keys, before, waiting = ride_out(join, "joining the study")
    needed = plugins.recorded(studies)
    if needed:  # the cells and tasks of the machine that queued the work
        print(f"loading the plugins the study records: {', '.join(needed)}", file=sys.stderr)
        plugins.load(needed)
    device = None if args.device == "auto" else args.device
    print(
        f"worker on {', '.join(s.study_name for s in studies)}: {len(before)} runs done, "
        f"{waiting} waiting",
        file=sys.stderr,
    )
    progress = _WorkerProgress(set(before))

    with stopping(
        None, "finished runs are stored, the runs in hand are back in the queue"
    ) as stopped:
        runner.run(studies, args.storage, args.workers, device, args.population, progress, keys)
    if stopped.code is not None:
        return stopped.code
    done = ride_out(
        lambda: {k for s in studies for k in finished.done_keys(s)}, "reading the finished runs"
    )
    print(
        f"no waiting runs left: {len(done)} done in all, {len(done - before)} by this "
        "worker's processes"
        if args.workers > 1
        else f"no waiting runs left: {len(done)} done in all",
        file=sys.stderr,
    )
    return 0


class Stopped:
    """How work under ``stopping`` ended: the exit code of its interruption, or None."""

    code: int | None = None


@contextlib.contextmanager
def stopping(bar: tqdm | None, kept: str) -> Iterator[Stopped]:
    """Work (under a progress bar, if any) that Ctrl-C or SIGTERM ends cleanly: the bar
    closed, what is kept said (``kept``), and the exit code noted in what it yields."""
    stopped = Stopped()
    try:
        yield stopped
    except KeyboardInterrupt as interrupt:
        if bar is not None:
            bar.close()
        print(f"{_stopped_by(interrupt)}: {kept}", file=sys.stderr)
        stopped.code = signals.exit_code(interrupt)
        return
    if bar is not None:
        bar.close()


def _stopped_by(interrupt: KeyboardInterrupt) -> str:
    return "terminated (SIGTERM)" if isinstance(interrupt, signals.Terminated) else "interrupted"


def _ended(config: RunConfig, result: RunResult | None) -> str:
    return result.summary() if result else f"{config.variant} on {config.task}: FAILED"


class _GridProgress(Progress):
    """A grid's bar and one line per finished run, ``[k/N]`` where it stands in the grid
    (the bar counts nothing when it is off, with no terminal)."""

    def __init__(self, bar: tqdm, total: int, done: set[str]) -> None:
        self.bar, self.total, self.reported = bar, total, done
        self.count, self.current = len(done), ""

    def _line(self, text: str) -> None:
        self.count += 1
        tqdm.write(f"[{self.count}/{self.total}] {text}", file=sys.stderr)

    def started(self, config: RunConfig) -> None:
        self.current = f"{config.variant} × {config.task}"

    def step(self, step: int, total: int, loss: float) -> None:
        if step % 25 == 0:
            self.bar.set_postfix_str(f"{self.current} step {step}/{total} loss {loss:.4g}")

    def finished(self, config: RunConfig, result: RunResult | None) -> None:
        self.bar.update(1)
        self._line(_ended(config, result))

    def found(self, records: dict[str, dict]) -> None:
        for key in sorted(set(records) - self.reported):
            self.reported.add(key)
            self.bar.update(1)
            self._line(summary_line(records[key]))
        self.bar.update(len(records) - self.bar.n)


class _StepProgress(Progress):
    """A single run's bar of steps."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def step(self, step: int, total: int, loss: float) -> None:
        self.bar.total = total
        self.bar.update(1)
        if step % 10 == 0:
            self.bar.set_postfix(loss=f"{loss:.4g}")


class _WorkerProgress(Progress):
    """A worker's line per finished run, its own and (read back) its processes'."""

    def __init__(self, done: set[str]) -> None:
        self.reported = done

    def finished(self, config: RunConfig, result: RunResult | None) -> None:
        print(_ended(config, result), file=sys.stderr)

    def found(self, records: dict[str, dict]) -> None:
        for key in sorted(set(records) - self.reported):
            print(summary_line(records[key]), file=sys.stderr)
            self.reported.add(key)
