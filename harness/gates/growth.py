"""How a trial-step's cost grows with the hidden size, the length and the population
(``harness bench --growth``): where the cells keep up with torch's fused kernels and where
stacking trials stops paying.

Three sweeps from one base shape (batch 32, input 32, length 50, hidden 64, one trial),
each changing one size: hidden 16-512, length 10-400, population 1-32. A point is the time
of one trial's forward + backward over its whole batch (a training step without the loss
and the optimiser), in microseconds: for a population, the stack's time over K. Beside each
cell, its family's fused torch kernel (``bench.reference_of``) at the same point: one model,
so at a population of K it stands for K models trained one after another (torch cannot
stack weights), as does the cell alone (``one by one``). Every row of a point is timed in
the same rounds, interleaved, and ``ratio`` is the median of the rounds' ratios to the
reference, so load that comes and goes cancels as in the speed gate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace

import pandas as pd
import torch

import variants
from harness.gates.bench import Shape, build, clock_for, passes, ratio_of_rounds, reference_of

BASE = Shape(batch=32, length=50, input=32, hidden=64)
SWEEPS: dict[str, tuple[int, ...]] = {
    "hidden": (16, 32, 64, 128, 256, 512),
    "length": (10, 25, 50, 100, 200, 400),
    "population": (1, 2, 4, 8, 16, 32),
}
ONE_BY_ONE = "one by one"  # a population's cells run in turn (the cell alone, times K)
COLUMNS = ("sweep", "value", "variant", "kind", "us_per_trial_step", "ratio")


@dataclass(frozen=True)
class Point:
    sweep: str
    value: int
    shape: Shape
    trials: int


def points(sweeps: dict[str, tuple[int, ...]] | None = None) -> list[Point]:
    """Every point of the sweeps, each the base shape with one size changed."""
    out = []
    for sweep, values in (sweeps or SWEEPS).items():
        for value in values:
            if sweep == "population":
                out.append(Point(sweep, value, BASE, value))
            else:
                out.append(Point(sweep, value, replace(BASE, **{sweep: value}), 1))
    return out


def measure(
    names: list[str],
    device: torch.device,
    rounds: int = 5,
    sweeps: dict[str, tuple[int, ...]] | None = None,
) -> pd.DataFrame:
    """One row per point and cell (kind ``cell``), per point and reference (``fused``)
    and, in the population sweep, per point and cell alone run K times (``one by one``)."""
    rows = []
    for point in points(sweeps):
        rows += _point(names, point, device, rounds)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _point(names: list[str], point: Point, device: torch.device, rounds: int) -> list[tuple]:
    shape, k = point.shape, point.trials
    x = torch.randn(shape.length, shape.batch, shape.input, device=device)
    calls: dict[tuple[str, str], object] = {}
    for name in dict.fromkeys(reference_of(n) for n in names):
        calls[(name, "fused")] = passes(build(name, shape, device), x)[1]
    for name in names:
        if k == 1:
            calls[(name, "cell")] = passes(build(name, shape, device), x)[1]
            continue
        if not variants.info(name).builder.supports_trials:
            continue
        stacked = variants.stack([build(name, shape, device) for _ in range(k)])
        xs = torch.randn(shape.length, k, shape.batch, shape.input, device=device)
        calls[(name, "cell")] = passes(stacked, xs)[1]
        calls[(name, ONE_BY_ONE)] = passes(build(name, shape, device), x)[1]
    clock = clock_for(device)
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    for r in range(rounds + 1):  # the first round warms up
        for key, call in calls.items():
            seconds = clock(key[0], "train", call)
            if r:
                samples[key].append(seconds)
    rows = []
    for (name, kind), times in samples.items():
        per_trial = [t / k for t in times] if kind == "cell" else times  # others: one model
        reference = samples[(reference_of(name), "fused")]
        rows.append(
            (
                point.sweep,
                point.value,
                name,
                kind,
                statistics.median(per_trial) * 1e6,
                ratio_of_rounds(per_trial, reference)[0],
            )
        )
    return rows


def table(frame: pd.DataFrame, sweep: str) -> pd.DataFrame:
    """One sweep as values × rows (``cell`` rows by their name, the others by name and
    kind): microseconds per trial-step, with the ratio to the fused kernel."""
    part = frame[frame["sweep"] == sweep]
    label = part["variant"].where(part["kind"] != ONE_BY_ONE, part["variant"] + " " + ONE_BY_ONE)
    cells = [
        f"{us:,.0f} ({ratio:.2f}×)" if kind != "fused" else f"{us:,.0f}"
        for us, ratio, kind in zip(part["us_per_trial_step"], part["ratio"], part["kind"])
    ]
    wide = pd.DataFrame({"value": part["value"], "row": label, "cell": cells}).pivot(
        index="value", columns="row", values="cell"
    )
    wide.index.name = sweep
    return wide.reset_index()
