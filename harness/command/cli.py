"""The command line: ``python -m harness <command>`` (also installed as ``harness``)."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NoReturn

import tasks
import variants
from harness.command.cli_sample import add_arguments as sample_arguments
from harness.command.table import format_table
from harness.plans import plugins
from harness.queue import signals, storage_url

# Runs trained at once as one stacked model by a grid worker: large enough to amortise the
# per-step costs of small models, small enough that a worker's share of the grid stays even.
DEFAULT_POPULATION = 8

# Errors a user can cause by what they typed: reported in one line, exit code 2.
USER_ERRORS = (ValueError, LookupError)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (what is wrong, where to look), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"harness: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def cmd_list(args: argparse.Namespace) -> int:
    """Print the registered variants with their trainable-parameter counts."""
    selected = variants.names(args.family)
    if not selected:
        families = sorted({variants.info(n).family for n in variants.names()})
        raise LookupError(f"no variant of family {args.family!r}; families: {', '.join(families)}")
    rows = []
    for name in selected:
        entry = variants.info(name)
        cell = variants.build(name, args.input_size, args.hidden_size)
        rows.append(
            (
                name,
                entry.family,
                entry.paper,
                f"{variants.count_parameters(cell):,}",
                cell.backend,
                entry.description,
            )
        )
    params = f"params@{args.input_size}/{args.hidden_size}"
    print(
        f"Variants ({len(rows)}); parameters for input {args.input_size}, "
        f"hidden {args.hidden_size}:"
    )
    print(
        format_table(
            ("variant", "family", "paper", params, "backend", "description"), rows, right=(params,)
        )
    )
    if args.family is None:
        print()
        print(f"Tasks ({len(tasks.names())}); chance level at the defaults:")
        print(
            format_table(
                ("task", "kind", "metric", "chance", "source"),
                [_task_row(name, args.data_dir) for name in tasks.names()],
                right=("chance",),
            )
        )
    return 0


def _task_row(name: str, data_dir: str | None) -> tuple[str, ...]:
    """One task's listing; a task whose data is missing says why instead of failing."""
    kind = tasks.info(name).kind
    try:
        task = tasks.build(name, **tasks.data_dir_override(name, data_dir))
        metric = task.metrics[0]
        return (
            name,
            kind,
            f"{metric.name} ({metric.unit})" if metric.unit else metric.name,
            f"{metric.chance:.4g}",
            task.source_label,
        )
    except tasks.TaskError as error:
        return (name, kind, "-", "-", f"unavailable: {getattr(error, 'short', error)}")


def cmd_run(args: argparse.Namespace) -> int:
    """One run of a variant on a task, with a progress bar and a summary line."""
    if args.data_dir and (args.grid or tasks.data_dir_override(args.task, args.data_dir)):
        args.set = [*args.set, f"task.data_dir={args.data_dir}"]  # a grid: the tasks with one
    if args.grid:
        from harness.command.cli_grid import cmd_grid

        return cmd_grid(args)
    from harness.command.cli_grid import cmd_single
    from harness.plans.config import RunConfig, apply_overrides

    config = apply_overrides(
        RunConfig(variant=args.variant, task=args.task, seed=args.seed, device=args.device),
        args.set,
    )
    variants.info(config.variant)  # unknown names fail here, before any work
    tasks.info(config.task)
    return cmd_single(args, config)


def cmd_report(args: argparse.Namespace) -> int:
    if args.findings:
        from harness.command.cli_search import cmd_findings

        return cmd_findings(args)
    from harness.command.cli_report import cmd_report as report

    args.study = args.study or "grid-default"
    return report(args)


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """The handler ``name`` of ``harness/command/MODULE.py``, imported when its command runs
    (so that ``--help`` and ``list`` do not import what every other command needs)."""

    def handler(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(f"harness.command.{module}"), name)(args)

    return handler


def _work_options(p: argparse.ArgumentParser | argparse._ArgumentGroup, together: str) -> None:
    """Where a grid or search runs: local workers, populations, the storage."""
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=min(4, os.cpu_count() or 1),
        help="local worker processes (default: one per core, at most 4)",
    )
    p.add_argument(
        "--population",
        type=_positive_int,
        default=DEFAULT_POPULATION,
        metavar="K",
        help=f"train up to K {together} at once as one stacked model "
        f"(default {DEFAULT_POPULATION}; 1: one by one)",
    )
    p.add_argument(
        "--models",
        metavar="DIR",
        help="keep every run's best weights here "
        "(Optuna's artifact store; default: beside the journal, JOURNAL.models)",
    )
    p.add_argument(
        "--no-models",
        action="store_true",
        help="keep no weights (the records, curves and metrics are kept)",
    )


def _search_options(p: argparse.ArgumentParser) -> None:
    """What ``search`` and ``reproduce`` share: workers, storage, device, overrides."""
    _work_options(p, "trials of one variant and hidden size")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting of every trial (steps=300, task.seq_len=30)",
    )
    p.add_argument("--verbose", action="store_true", help="a line per finished trial")


def _shared_options() -> dict[str, argparse.ArgumentParser]:
    """Options that several commands take, declared once (argparse parents)."""
    storage = argparse.ArgumentParser(add_help=False)
    storage.add_argument(
        "--storage",
        help="journal file or database URL (default "
        "$HARNESS_STORAGE, else outputs/harness.journal)",
    )
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return {"storage": storage, "device": device}


class _Commands:
    """The subcommands, each with the options every command takes (``--plugin``) and the
    shared ones it names (``takes``: storage, device)."""

    def __init__(self, subparsers: argparse._SubParsersAction) -> None:
        self.subparsers = subparsers
        self.shared = _shared_options()

    def add_parser(
        self, name: str, takes: tuple[str, ...] = (), **kwargs: object
    ) -> argparse.ArgumentParser:
        p = self.subparsers.add_parser(name, parents=[self.shared[t] for t in takes], **kwargs)
        p.add_argument(
            "--plugin",
            action="append",
            default=[],
            metavar="MODULE",
            help="import MODULE first: its cells and tasks join the registries "
            "(repeatable; also $HARNESS_PLUGINS and installed entry points)",
        )
        return p


def _evolve_parser(commands: _Commands) -> None:
    from harness.command.cli_evolve import duration

    p = commands.add_parser(
        "evolve",
        takes=("storage",),
        help="search for new cells as Jozefowicz et al. did: mutated graphs, successive "
        "halving, fitness against the GRU (harness/evolution)",
    )
    p.add_argument("--study", default="evolve", help="the search's study (default evolve)")
    p.add_argument("--budget", type=duration, help="stop proposing after this long (1h, 30m, 90s)")
    p.add_argument("--candidates", type=_positive_int, help="or after this many candidates")
    p.add_argument(
        "--tasks",
        help="the suite's tasks to use (default all: long-dependency, addition, lm, music)",
    )
    p.add_argument(
        "--population", type=_positive_int, default=20, help="parents come from the N best (20)"
    )
    p.add_argument("--seed", type=int, default=0, help="the search seed (default 0)")
    p.add_argument(
        "--scale", type=float, default=1.0, help="every training budget times this (default 1)"
    )
    p.add_argument("--out", help="report folder (default beside the storage, like a grid's)")
    p.add_argument("--report-only", action="store_true", help="write the report; train nothing")
    p.add_argument(
        "--confirm",
        type=_positive_int,
        metavar="K",
        help="train the best find and GRU, LSTM-b again with K fresh seeds (5 is usual)",
    )
    p.add_argument("--export", metavar="NAME", help="write the best find as plugin NAME")
    p.add_argument("--to", default=".", help="folder of the exported plugin (default .)")
    p.set_defaults(handler=_lazy("cli_evolve", "cmd_evolve"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description="Benchmark and ablate recurrent cells.")
    commands = _Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))

    p = commands.add_parser("list", help="list the registered variants")
    p.add_argument("--family", help="only this family (lstm, gru, rnn, mut, nas)")
    p.add_argument("--input-size", type=_positive_int, default=32, metavar="M")
    p.add_argument("--hidden-size", type=_positive_int, default=128, metavar="N")
    p.add_argument(
        "--data-dir", metavar="DIR", help="folder holding the datasets (default: $HARNESS_DATA)"
    )
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser(
        "run",
        takes=("storage", "device"),
        help="train one variant on one task, or a whole grid (stored either way)",
    )
    p.add_argument("--variant", default="lstm", help="a registered variant (default lstm)")
    p.add_argument("--task", default="parity", help="a registered task (default parity)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a run setting (steps=500, lr=0.01, optimizer='sgd'), "
        "a task setting (task.seq_len=30) or a cell option (cell.forget_bias=2)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder holding the datasets, for the "
        "tasks that read one (lm, music): --set task.data_dir=DIR there (default: "
        "$HARNESS_DATA, else the embedded data)",
    )
    g = p.add_argument_group("grid (with --grid)")
    g.add_argument("--grid", action="store_true", help="cross variants × tasks × seeds")
    g.add_argument("--profile", default="default", help="smoke, default or paper")
    g.add_argument("--variants", help="comma-separated variants (default: all)")
    g.add_argument("--tasks", help="comma-separated tasks (default: the embedded ones)")
    g.add_argument("--seeds", type=_positive_int, help="seeds per variant and task")
    _work_options(g, "runs of one variant and task (its seeds)")
    g.add_argument(
        "--study",
        help="name of the grid or single run, stored as one study per "
        "task NAME-TASK (default grid-PROFILE; a single run: runs)",
    )
    g.add_argument("--config", help="a grid file (TOML)")
    g.add_argument(
        "--out",
        help="report folder (default outputs/STUDY on the default "
        "journal, JOURNAL.reports/STUDY beside another, outputs/STUDY@HOST-DB on "
        "a database)",
    )
    p.set_defaults(handler=cmd_run)

    p = commands.add_parser(
        "bench",
        takes=("device",),
        help="speed of the cells, as ratios to torch's fused kernel of their family",
    )
    p.add_argument("--variants", help="comma-separated variants (default: all)")
    p.add_argument("--shapes", help="'B,T,M,N;B,T,M,N' or 'all' (default 32,100,32,128)")
    p.add_argument("--rounds", type=_positive_int, default=9, help="timed rounds (median)")
    p.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="torch threads (default: torch's, one per core); the CI gate uses 1, "
        "which a busy machine cannot stall",
    )
    p.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        help="runs of every cell, each keeping its best (default 1)",
    )
    p.add_argument(
        "--population",
        type=int,
        default=16,
        metavar="K",
        help="also time K trials of each cell as one stacked model against K "
        "runs one after another, at 32,50,32,64 (default 16; 0 skips)",
    )
    p.add_argument(
        "--runs",
        action="store_true",
        help="instead: train one population of each task at the default "
        "profile's settings and show where a trial-step's time goes (data, "
        "forward, backward, optimiser, evaluation, bookkeeping)",
    )
    p.add_argument(
        "--growth",
        action="store_true",
        help="instead: time per trial-step against hidden size (16-512), length "
        "(10-400) and population (1-32), beside torch's fused kernels; a "
        "table per sweep (default variants lstm,gru,rnn)",
    )
    p.add_argument(
        "--sweep",
        action="append",
        metavar="NAME=V1,V2",
        help="with --growth: only this sweep, at these values (hidden, length or "
        "population; repeatable)",
    )
    p.add_argument("--figure", metavar="PNG", help="with --growth: also draw the sweeps here")
    p.add_argument(
        "--tasks", help="with --runs: comma-separated tasks (default: the default profile's)"
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="with --runs: steps trained per task (default 30)",
    )
    p.add_argument("--json", help="write the results here (a baseline for --compare)")
    p.add_argument("--compare", metavar="BASELINE", help="fail if a ratio got worse")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.25,
        help="allowed growth of a cell's ratio over the baseline, beyond what this "
        "machine does to every cell (default 0.25)",
    )
    p.add_argument(
        "--machine-tolerance",
        type=float,
        default=1.0,
        help="allowed growth of the median ratio of a shape's cells over the "
        "baseline: a slowdown they share, or another machine (default 1.0)",
    )
    p.set_defaults(handler=_lazy("cli_bench", "cmd_bench"))

    p = commands.add_parser("quality", help="fixed-seed smoke runs against a reference")
    p.add_argument("--variants", help="comma-separated variants (default: all)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--write", metavar="FILE", help="write the reference")
    target.add_argument("--compare", metavar="FILE", help="fail if a result moved")
    p.set_defaults(handler=_lazy("cli_bench", "cmd_quality"))

    p = commands.add_parser(
        "search",
        takes=("storage", "device"),
        help="random search of hyperparameters, one study per task (Greff et al.'s protocol)",
    )
    p.add_argument("--variants", help="comma-separated variants")
    p.add_argument("--tasks", help="comma-separated tasks")
    p.add_argument(
        "--trials", type=_positive_int, default=20, help="draws per variant and task (default 20)"
    )
    p.add_argument(
        "--space", default="greff", help="greff (default), greff-upper (lr in [1e-4, 1e-2]) or adam"
    )
    p.add_argument("--seed", type=int, default=0, help="the search seed (default 0)")
    p.add_argument("--prefix", default="search", help="studies are named PREFIX-TASK")
    _search_options(p)
    p.set_defaults(handler=_lazy("cli_search", "cmd_search"))

    p = commands.add_parser(
        "reproduce",
        takes=("storage", "device"),
        help="Greff et al.'s protocol at a profile's scale: the search, then the findings report",
    )
    p.add_argument(
        "--profile",
        default="ci",
        help="ci (the machinery, tiny), quick (the "
        "paper's protocol shrunk to under 90 minutes on 2 cores) or paper "
        "(Greff's scale)",
    )
    p.add_argument(
        "--tasks",
        help="tasks (default: music, Greff's JSB Chorales; reber and lm "
        "run as extensions, reported beyond the paper)",
    )
    p.add_argument("--variants", help="only these of the profile's variants")
    p.add_argument(
        "--trials",
        type=_positive_int,
        help="draws per variant and task: the "
        "first K of the profile's (a slice; slices add up to the whole)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the search seed: another seed draws another, equally valid set of "
        "trials (studies reproduce-PROFILE-seedS-TASK; default 0)",
    )
    p.add_argument(
        "--out",
        help="report folder (default outputs/reproduce-PROFILE on the "
        "default journal, JOURNAL.reports/reproduce-PROFILE beside another)",
    )
    _search_options(p)
    p.set_defaults(handler=_lazy("cli_search", "cmd_reproduce"))

    _evolve_parser(commands)

    p = commands.add_parser(
        "worker",
        takes=("storage", "device"),
        help="join a grid or search in a storage (e.g. a "
        "PostgreSQL URL shared by many machines) and run its waiting runs",
    )
    p.add_argument(
        "--study",
        required=True,
        help="the study (grid-default, ...) or search (reproduce-quick, ...)",
    )
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="local processes (default 1; run one worker per machine or core)",
    )
    p.add_argument(
        "--population",
        type=_positive_int,
        default=DEFAULT_POPULATION,
        metavar="K",
        help=f"runs trained at once (default {DEFAULT_POPULATION})",
    )
    p.set_defaults(handler=_lazy("cli_grid", "cmd_worker"))

    p = commands.add_parser(
        "report", takes=("storage",), help="rebuild tables, figures and report from storage"
    )
    p.add_argument(
        "--study",
        help="a study (default grid-default), or with --findings a "
        "search (studies NAME-TASK; default: the storage's only search)",
    )
    p.add_argument(
        "--out",
        help="report folder (default outputs/STUDY on the default "
        "journal, JOURNAL.reports/STUDY beside another, outputs/STUDY@HOST-DB on "
        "a database)",
    )
    p.add_argument(
        "--findings",
        action="store_true",
        help="the findings report of a search (verdicts, statistics, figures)",
    )
    p.set_defaults(handler=cmd_report)

    p = commands.add_parser(
        "models", takes=("storage",), help="the kept models of a grid, search or single runs"
    )
    p.add_argument(
        "--study",
        default="grid-default",
        help="a grid, search or study (default grid-default; single runs: runs)",
    )
    p.add_argument(
        "--rescore",
        action="store_true",
        help="reload each and score it again: "
        "exit 1 unless every one gives its run's stored test metrics exactly",
    )
    p.set_defaults(handler=_lazy("cli_models", "cmd_models"))

    p = commands.add_parser(
        "sample",
        takes=("storage",),
        help="text, a chorale (MIDI) or held-out answers from a kept model",
    )
    sample_arguments(p, _positive_int)
    p.set_defaults(handler=_lazy("cli_sample", "cmd_sample"))

    p = commands.add_parser(
        "inspect",
        takes=("storage",),
        help="look inside trained cells: gate saturation, "
        "gates and states over time, units that track the text",
    )
    p.add_argument(
        "--study",
        default="grid-default",
        help="its best kept run per variant and task (default grid-default)",
    )
    p.add_argument("--variants", help="comma-separated variants (default: all in the study)")
    p.add_argument("--tasks", help="comma-separated tasks (default: all in the study)")
    p.add_argument(
        "--model",
        action="append",
        metavar="FILE",
        help="a kept model's file instead of a study (repeatable)",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        metavar="T",
        help="steps of a language model's passage (default 200; other tasks: "
        "their first held-out batch)",
    )
    p.add_argument(
        "--out",
        help="folder (default: the study's report folder's inspect/, e.g. outputs/STUDY/"
        "inspect; with --model outputs/inspect)",
    )
    p.set_defaults(handler=_lazy("cli_inspect", "cmd_inspect"))

    p = commands.add_parser(
        "dashboard",
        takes=("storage",),
        help="browse the storage in optuna-dashboard (pip install -e '.[dashboard]')",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free)")
    p.set_defaults(handler=_lazy("dashboard", "cmd_dashboard"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from harness.queue.journal import JournalWriteError
    from harness.queue.outage import StorageDown
    from harness.queue.runner import WorkerFailed, quiet_optuna
    from harness.training.memory import keep_freed_memory

    args = build_parser().parse_args(argv)
    keep_freed_memory()
    if hasattr(args, "storage"):  # --storage, else $HARNESS_STORAGE, else the default journal
        args.storage = storage_url.resolve(args.storage)
        if args.storage is None and (earlier := storage_url.earlier_default()):
            print(earlier, file=sys.stderr)
    quiet_optuna()
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if threading.current_thread() is threading.main_thread():
        signals.install()  # SIGTERM interrupts like Ctrl-C: runs in hand back in the queue
    try:
        plugins.load(args.plugin)
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return 2
    except (StorageDown, JournalWriteError, WorkerFailed) as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (``harness list | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt as interrupt:  # outside the work loop: nothing in hand
        print("interrupted", file=sys.stderr)
        return signals.exit_code(interrupt)
    finally:
        if threading.current_thread() is threading.main_thread():
            for number, handler in handlers.items():
                signal.signal(number, handler)
