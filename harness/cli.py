"""The command line: ``python -m harness <command>`` (also installed as ``harness``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

import tasks
import variants
from harness.table import format_table

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
        rows.append((name, entry.family, entry.paper, f"{variants.count_parameters(cell):,}",
                     cell.backend, entry.description))
    params = f"params@{args.input_size}/{args.hidden_size}"
    print(f"Variants ({len(rows)}); parameters for input {args.input_size}, "
          f"hidden {args.hidden_size}:")
    print(format_table(("variant", "family", "paper", params, "backend", "description"), rows,
                       right=(params,)))
    if args.family is None:
        print()
        print(f"Tasks ({len(tasks.names())}); chance level at the defaults:")
        print(format_table(("task", "kind", "metric", "chance", "source"),
                           [_task_row(name, args.data_dir) for name in tasks.names()],
                           right=("chance",)))
    return 0


def _task_row(name: str, data_dir: str | None) -> tuple[str, ...]:
    """One task's listing; a task whose data is missing says why instead of failing."""
    kind = tasks.info(name).kind
    try:
        task = tasks.build(name, **tasks.data_dir_override(name, data_dir))
        metric = task.metrics[0]
        return (name, kind, f"{metric.name} ({metric.unit})" if metric.unit else metric.name,
                f"{metric.chance:.4g}", task.source_label)
    except tasks.TaskError as error:
        return (name, kind, "-", "-", f"unavailable: {error}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="harness", description="Benchmark and ablate recurrent cells.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("list", help="list the registered variants")
    p.add_argument("--family", help="only this family (lstm, gru, rnn, mut, nas)")
    p.add_argument("--input-size", type=_positive_int, default=32, metavar="M")
    p.add_argument("--hidden-size", type=_positive_int, default=128, metavar="N")
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder holding the datasets (default: $HARNESS_DATA)")
    p.set_defaults(handler=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        print(f"harness: error: {error}", file=sys.stderr)
        return 2
