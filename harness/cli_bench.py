"""``bench`` and ``quality``: the speed gate and the numerics gate from the command line."""

from __future__ import annotations

import argparse
import sys

import variants
from harness.table import format_table


def cmd_bench(args: argparse.Namespace) -> int:
    """Speed of the cells as ratios to torch's fused LSTM; a regression gate with --compare."""
    import platform

    import torch

    from harness import bench
    from harness.train import resolve_device

    device = resolve_device(args.device)
    names = [n.strip() for n in args.variants.split(",")] if args.variants else variants.names()
    for name in names:
        variants.info(name)
    if args.shapes == "all":
        shapes = [*bench.DEFAULT_SHAPES, *bench.MORE_SHAPES]
    elif args.shapes:
        shapes = [bench.Shape.parse(s) for s in args.shapes.split(";")]
    else:
        shapes = list(bench.DEFAULT_SHAPES)
    baseline = bench.load(args.compare) if args.compare else None
    rows = bench.run(names, shapes, device, rounds=args.rounds)
    header = ("variant", "backend", "fwd steps×B/s", "fwd ratio", "fwd+bwd steps×B/s",
              "fwd+bwd ratio", "setup s")
    for shape in shapes:
        print(f"\n{shape} on {device.type} ({torch.get_num_threads()} threads); ratio = time / "
              f"{bench.REFERENCE}'s time in this run")
        print(format_table(header, [(r.variant, r.backend, f"{r.forward_per_s:,.0f}",
                                     f"{r.forward_ratio:.2f}", f"{r.train_per_s:,.0f}",
                                     f"{r.train_ratio:.2f}", f"{r.setup_s:.2f}")
                                    for r in rows if r.shape == str(shape)],
                           right=header[2:]))
    if args.json:
        bench.save(rows, args.json, {"torch": torch.__version__, "device": device.type,
                                     "threads": torch.get_num_threads(),
                                     "machine": platform.machine()})
    if baseline is not None:
        slower = bench.regressions(rows, baseline, args.tolerance)
        if slower:  # a burst of load is not a regression: measure again, keep the faster
            again = bench.run(names, shapes, device, rounds=args.rounds)
            best = [min(a, b, key=lambda r: r.train_ratio + r.forward_ratio)
                    for a, b in zip(rows, again)]
            slower = bench.regressions(best, baseline, args.tolerance)
        for line in slower:
            print(f"slower: {line}", file=sys.stderr)
        if slower:
            return 1
        print(f"\nno cell slower than {args.compare} by more than {args.tolerance:.0%}")
    return 0


def cmd_quality(args: argparse.Namespace) -> int:
    """Fixed-seed smoke runs against a reference: fails when the numerics moved."""
    from harness import quality

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
    for line in moved:
        print(f"changed: {line}", file=sys.stderr)
    if not moved:
        print(f"{len(current)} smoke runs match {args.compare} "
              f"(relative tolerance {quality.RELATIVE:g})")
    return 1 if moved else 0
