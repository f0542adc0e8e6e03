"""``bench`` and ``quality``: the speed gate and the numerics gate from the command line."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import tasks
import variants
from harness.command.table import format_table

if TYPE_CHECKING:
    import torch

    from harness.gates.bench import Row
    from harness.gates.runs import Breakdown
    from harness.plans.config import RunConfig

MEASUREMENTS = 3  # --compare fails a cell only when every one of up to three runs finds it slower


def cmd_bench(args: argparse.Namespace) -> int:
    """Speed of the cells as ratios to torch's fused kernel of their family (nn.LSTM, nn.GRU,
    nn.RNN); a regression gate with --compare."""
    import torch

    from harness.gates import bench, speed_gate
    from harness.training.train import resolve_device

    if getattr(args, "runs", False):
        return cmd_bench_runs(args)
    if getattr(args, "growth", False):
        return cmd_bench_growth(args)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [n.strip() for n in args.variants.split(",")] if args.variants else variants.names()
    for name in names:
        variants.info(name)
    if args.shapes == "all":
        shapes = [*bench.DEFAULT_SHAPES, *bench.MORE_SHAPES]
    elif args.shapes:
        shapes = [bench.Shape.parse(s) for s in args.shapes.split(";")]
    else:
        shapes = list(bench.DEFAULT_SHAPES)
    baseline = speed_gate.load(args.compare, torch.get_num_threads()) if args.compare else None
    stackable = [n for n in names if variants.info(n).builder.supports_trials]

    def measure(chosen: list[str]) -> list[Row]:
        rows = bench.run(chosen, shapes, device, rounds=args.rounds)
        if args.population > 1:
            rows += bench.population(
                [n for n in chosen if n in stackable],
                bench.POPULATION_SHAPE,
                args.population,
                device,
                rounds=max(3, args.rounds // 3),
            )
        return rows

    rows = measure(names)
    for _ in range(args.repeat - 1):
        rows = _keep_best(rows, measure(names))
    header = (
        "variant",
        "backend",
        "reference",
        "fwd steps×B/s",
        "fwd ratio",
        "fwd+bwd steps×B/s",
        "fwd+bwd ratio",
        "spread",
        "saved MB",
        "setup s",
    )
    for shape in shapes:
        runs = f", best of {args.repeat} runs" if args.repeat > 1 else ""
        print(
            f"\n{shape} on {device.type} ({torch.get_num_threads()} threads{runs}); ratio = "
            "time / the reference's time in the same run (torch's fused kernel of the "
            "cell's family)"
        )
        print(
            format_table(
                header,
                [
                    (
                        r.variant,
                        r.backend,
                        r.reference,
                        f"{r.forward_per_s:,.0f}",
                        f"{r.forward_ratio:.2f}",
                        f"{r.train_per_s:,.0f}",
                        f"{r.train_ratio:.2f}",
                        _spread(r),
                        f"{r.saved_mb:.1f}",
                        f"{r.setup_s:.2f}",
                    )
                    for r in rows
                    if r.shape == str(shape)
                ],
                right=header[3:],
            )
        )
    populations = [r for r in rows if r.reference == bench.ONE_BY_ONE]
    if populations:
        print(
            f"\n{populations[0].shape}: {args.population} trials of a cell as one stacked "
            f"model against the same {args.population} run one after another (per-trial "
            "throughput; speed-up = their time / the stack's)"
        )
        print(
            format_table(
                (
                    "variant",
                    "backend",
                    "fwd steps×B/s per trial",
                    "fwd speed-up",
                    "fwd+bwd steps×B/s per trial",
                    "fwd+bwd speed-up",
                ),
                [
                    (
                        r.variant,
                        r.backend,
                        f"{r.forward_per_s:,.0f}",
                        f"{1 / r.forward_ratio:.2f}×",
                        f"{r.train_per_s:,.0f}",
                        f"{1 / r.train_ratio:.2f}×",
                    )
                    for r in populations
                ],
                right=(
                    "fwd steps×B/s per trial",
                    "fwd speed-up",
                    "fwd+bwd steps×B/s per trial",
                    "fwd+bwd speed-up",
                ),
            )
        )
        _print_ceiling(populations, bench.POPULATION_SHAPE, args.population, device)
    if args.json:
        speed_gate.save(
            rows,
            args.json,
            _machine(device),
        )
    if baseline is not None:
        return _gate(rows, baseline, args, measure)
    return 0


def _print_ceiling(populations: list[Row], shape: object, trials: int, device: object) -> None:
    """How close one by one and the stack come to this machine's rate in one large matrix
    product, and so the most a stack could gain here (its matrix products alone, at that
    rate, over the trials' time one after another)."""
    from harness.gates import bench

    rate = bench.product_rate(device)
    lines = []
    for r in populations:
        stack = trials * r.train_per_s * bench.train_macs(r.variant, shape)  # MAC/s
        one = stack * r.train_ratio
        lines.append((r.variant, f"{one / rate:.0%}", f"{stack / rate:.0%}", f"{rate / one:.1f}×"))
    print(
        f"\nfwd+bwd matrix products against one large product here ({rate / 1e9:,.0f} "
        "G multiply-adds/s, measured now): the share each reaches, and the speed-up that "
        "a stack whose products ran at that rate (and did nothing else) would have"
    )
    print(
        format_table(
            ("variant", "one by one", "stack", "speed-up ceiling"),
            lines,
            right=("one by one", "stack", "speed-up ceiling"),
        )
    )


def cmd_bench_growth(args: argparse.Namespace) -> int:
    """``bench --growth``: microseconds per trial-step against hidden size, length and
    population, each cell beside its family's fused torch kernel."""
    from pathlib import Path

    import torch

    from harness.gates import growth
    from harness.plans.grid import split_names
    from harness.training.train import resolve_device
    from results.analysis.summary import to_markdown
    from results.figures import growth_plot

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = split_names(args.variants) or ["lstm", "gru", "rnn"]
    for name in names:
        variants.info(name)
    sweeps = _sweeps(args.sweep or [])
    frame = growth.measure(names, device, rounds=args.rounds, sweeps=sweeps)
    for sweep in dict.fromkeys(frame["sweep"]):
        print(
            f"\n{sweep}: µs per trial-step, forward + backward (ratio to the family's fused "
            f"kernel, {torch.get_num_threads()} threads on {device.type}; base shape "
            f"{growth.BASE}, one trial unless swept)"
        )
        print(to_markdown(growth.table(frame, sweep)))
    if args.json:
        frame.to_json(args.json, orient="records", indent=1)
    if args.figure:
        print(f"\nfigure: {growth_plot.figure(frame, Path(args.figure))}")
    return 0


def _sweeps(given: list[str]) -> dict[str, tuple[int, ...]] | None:
    """``--sweep hidden=16,64``... as growth.measure takes them (None: every sweep)."""
    from harness.gates import growth
    from harness.gates.bench import BenchError

    if not given:
        return None
    out = {}
    for item in given:
        name, _, values = item.partition("=")
        try:
            numbers = tuple(int(v) for v in values.split(","))
        except ValueError:
            numbers = ()
        if name not in growth.SWEEPS or not numbers or min(numbers) < 1:
            raise BenchError(
                f"--sweep takes NAME=V1,V2 with NAME one of {', '.join(growth.SWEEPS)} and "
                f"positive integers, got {item!r}"
            )
        out[name] = numbers
    return out


RUN_STEPS = 30  # default --steps of --runs: all six tasks in well under a minute on 2 cores


def run_configs(
    task: str, variant: str, population: int, steps: int, device: str
) -> list[RunConfig]:
    """One population of ``task`` at the default profile's settings, ``steps`` long, without
    early stopping (every step is trained; validation at least at the last step)."""
    import dataclasses

    from harness.plans import grid

    spec = grid.resolve("default", [variant], [task], population)
    return [
        dataclasses.replace(c, steps=steps, sequences=None, patience=None, device=device)
        for c in spec.runs()
    ]


def cmd_bench_runs(args: argparse.Namespace) -> int:
    """``bench --runs``: where a trial-step's time goes, one population per task at the
    default profile's settings; a gate on each task's step ratio with --compare."""
    import torch

    from harness.command.cli import DEFAULT_POPULATION
    from harness.gates import runs
    from harness.plans.grid import split_names
    from harness.plans.profiles import PROFILES
    from harness.training.phases import ALL
    from harness.training.train import check_data, resolve_device

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    names = split_names(args.variants) or ["lstm"]
    for name in names:
        variants.info(name)
    chosen = split_names(getattr(args, "tasks", None)) or list(PROFILES["default"]["tasks"])
    for task in chosen:
        tasks.info(task)  # an unknown name fails here
    steps = getattr(args, "steps", None) or RUN_STEPS
    population = DEFAULT_POPULATION
    baseline = runs.load(args.compare, torch.get_num_threads()) if args.compare else None

    def measure(task: str, variant: str) -> runs.Breakdown:
        return runs.measure(run_configs(task, variant, population, steps, args.device), device)

    rows: list[runs.Breakdown] = []
    for task in chosen:
        if not getattr(args, "tasks", None):  # of the default tasks, those with their data
            try:
                check_data(run_configs(task, names[0], 1, steps, args.device))
            except tasks.TaskError as error:
                print(f"\n{task}: skipped, its data is not here ({error})", file=sys.stderr)
                continue
        for variant in names:
            rows.append(measure(task, variant))
            _print_breakdown(rows[-1], ALL)
    print(
        f"\nall tasks ({', '.join(names)}, population {population}, {steps} steps, "
        f"{torch.get_num_threads()} threads on {device.type}, first {runs.WARMUP} steps "
        "left out, evaluation charged at the profile's eval_every); shares of the loop's "
        "time; "
        "cells: forward + backward of the cells alone, timed apart on the last batch; "
        f"step ratio: loop time per step / {runs.REFERENCE} forward + backward at the "
        "first batch's shape, timed before every step)"
    )
    header = ("task", "trial-steps/s", *ALL, "cells", "step ratio")
    print(
        format_table(
            header,
            [
                (
                    r.task if len(names) == 1 else r.key,
                    f"{r.trial_steps_per_s:,.1f}",
                    *(f"{r.shares[k]:.1%}" for k in ALL),
                    _share(r.cell_share),
                    f"{r.step_ratio:.2f}",
                )
                for r in rows
            ],
            right=header[1:],
        )
    )
    if args.json:
        runs.save(
            rows,
            args.json,
            {
                **_machine(device),
                "steps": steps,
                "population": population,
            },
        )
    if baseline is None:
        return 0
    verdict = runs.judge(rows, baseline, args.tolerance)
    for _ in range(MEASUREMENTS - 1):  # a burst of load is not a regression
        if verdict.passed:
            break
        print(
            f"over the tolerance: {', '.join(sorted(verdict.slower))}; measuring them again",
            file=sys.stderr,
        )
        rows = [
            runs.best_of(r, measure(r.task, r.variant)) if r.key in verdict.slower else r
            for r in rows
        ]
        verdict = runs.judge(rows, baseline, args.tolerance)
    return _said(
        verdict.uncompared,
        list(verdict.slower.values()),
        verdict.passed,
        f"no task's training step slower than {args.compare} by more than "
        f"{args.tolerance:.0%} (step ratios)",
    )


def _print_breakdown(r: Breakdown, phases: tuple[str, ...]) -> None:
    """One task's phases: seconds, shares, milliseconds per step; the cells and the ratio."""
    print(
        f"\n{r.task} / {r.variant}: population {r.population}, {r.steps} steps in "
        f"{r.loop_seconds:.2f} s: {r.trial_steps_per_s:,.1f} trial-steps/s"
    )
    per_step = 1000 / max(r.steps, 1)
    print(
        format_table(
            ("phase", "seconds", "share", "ms / step"),
            [
                (k, f"{r.seconds[k]:.3f}", f"{r.shares[k]:.1%}", f"{r.seconds[k] * per_step:.2f}")
                for k in phases
            ]
            + [("total", f"{r.loop_seconds:.3f}", "100.0%", f"{r.loop_seconds * per_step:.2f}")],
            right=("seconds", "share", "ms / step"),
        )
    )
    cells = (
        f"cells' own share: {r.cell_share:.1%} (the stacked cells alone, forward + "
        f"backward at {r.shape}, timed apart after training against the reference: "
        f"{r.cell_seconds * 1000:.2f} ms in the loop's terms)"
        if math.isfinite(r.cell_share)
        else "cells' own share: n/a (an encoder-decoder's cells are not one stack to time apart)"
    )
    print(
        f"{cells}; {r.reference} forward + "
        f"backward at {r.reference_shape}, timed before "
        f"every step: {r.reference_seconds * 1000:.2f} ms, step ratio {r.step_ratio:.2f}"
    )


def _share(value: float) -> str:
    return f"{value:.1%}" if math.isfinite(value) else "n/a"


def _gate(
    rows: list[Row],
    baseline: list[dict[str, object]],
    args: argparse.Namespace,
    measure: Callable[[list[str]], list[Row]],
) -> int:
    """Judge ``rows`` against the baseline; the suspects are measured again (up to
    ``MEASUREMENTS`` runs in all, each keeping its best) before the gate fails."""
    from harness.gates import speed_gate

    best = rows
    verdict = speed_gate.judge(best, baseline, args.tolerance, args.machine_tolerance)
    for _ in range(MEASUREMENTS - 1):  # a burst of load is not a regression
        if verdict.passed:
            break
        print(
            f"over the tolerance: {', '.join(sorted(verdict.suspects))}; measuring them again",
            file=sys.stderr,
        )
        best = _keep_best(best, measure(sorted(verdict.suspects)))
        verdict = speed_gate.judge(best, baseline, args.tolerance, args.machine_tolerance)
    factors = ", ".join(
        f"{shape} {kind} {factor:.2f}" for (shape, kind), factor in verdict.factors.items()
    )
    print(f"\nthis machine against the baseline (median ratio now / then): {factors}")
    return _said(
        verdict.uncompared,
        list(verdict.slower),
        verdict.passed,
        f"no cell slower than {args.compare} by more than {args.tolerance:.0%} "
        f"beyond this machine's factor, and no factor over "
        f"{1 + args.machine_tolerance:.2f}",
    )


def _said(uncompared: list[str], slower: list[str], passed: bool, ok: str) -> int:
    """A gate's verdict on the terminal: what it could not compare and what got slower (on
    stderr), else ``ok``; the exit code."""
    for line in uncompared:
        print(f"not compared: {line}", file=sys.stderr)
    for line in slower:
        print(f"slower: {line}", file=sys.stderr)
    if not passed:
        return 1
    print(ok)
    return 0


def _spread(row: Row) -> str:
    """The interquartile range of the rounds' ratios, relative, forward / forward + backward."""
    if row.forward_spread is None or row.train_spread is None:
        return "-"
    return f"{row.forward_spread:.0%}/{row.train_spread:.0%}"


def _keep_best(rows: list[Row], again: list[Row]) -> list[Row]:
    """``rows``, each replaced by its run in ``again`` where that one was faster (ratios)."""
    new = {(r.shape, r.variant): r for r in again}

    def best(r: Row) -> Row:
        other = new.get((r.shape, r.variant))
        if other is None or (
            r.train_ratio + r.forward_ratio <= other.train_ratio + other.forward_ratio
        ):
            return r
        return other

    return [best(r) for r in rows]


def cmd_quality(args: argparse.Namespace) -> int:
    """Fixed-seed smoke runs against a reference: fails when the numerics moved."""
    from harness.gates import quality

    names = [n.strip() for n in args.variants.split(",")] if args.variants else None
    current = quality.measure(names)
    if args.write:
        quality.save(current, args.write)
        print(f"wrote {len(current)} reference results to {args.write}")
        return 0
    reference = quality.load(args.compare)
    if names:  # a subset is compared with its part of the reference
        reference = {k: v for k, v in reference.items() if k.split("/")[0] in names}
    moved = quality.differences(current, reference)
    for line in quality.not_compared(current, reference):
        print(f"not compared: {line} (not in {args.compare})", file=sys.stderr)
    for line in moved:
        print(f"changed: {line}", file=sys.stderr)
    if not moved:
        compared = len(set(current) & set(reference))
        print(
            f"{compared} smoke runs match {args.compare} (relative tolerance {quality.RELATIVE:g})"
        )
    return 1 if moved else 0


def _machine(device: torch.device) -> dict[str, object]:
    """What a baseline file records of where it was measured."""
    import platform

    import torch

    return {
        "torch": torch.__version__,
        "device": device.type,
        "threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
