"""Where a training step's time goes, task by task (``harness bench --runs``), and its gate.

One population per task is trained through ``train.train_population`` with a phase recorder
(``harness.training.phases``): data, forward, backward, optimiser, evaluation and
bookkeeping, as seconds, shares and trial-steps per second. The first ``WARMUP`` steps are
left out, and validation, which a short run does once (at its last step), is charged at
the profile's rate (``eval_every``: its time per call × steps / ``eval_every``), so the
shares are a full run's. Beside them:

- **the cells' own share**: the population's stacked cells alone, forward + backward on the
  inputs of the last training batch (``model.encode`` of it), timed apart right after
  training in rounds interleaved with the reference (below); the median of the rounds'
  ratios cell / reference, times the reference's mean time in the loop, over the loop's
  time per step. An estimate (one batch's shape; music's pieces differ in length), not a
  measurement inside the loop.
- **the reference**: torch's fused ``nn.LSTM`` forward + backward at the shape of the first
  training batch (the population's K × B rows as one batch, the cells' input and hidden
  widths, the network's layers and directions: ``x2`` in its shape where bidirectional),
  called before every step of the loop and left out of its time (``_Reference``).
  A task's ``step_ratio`` is the median over steps of each step's time over the reference's
  call just before it (a burst of load slows both and cancels, as in ``ratio_of_rounds``),
  the evaluation's amortised time added in proportion: a number that compares across
  machines, as the cells' ratios do. ``reference_seconds`` is the loop's time per step over
  the step ratio.

The gate (``judge``) fails a task whose ``step_ratio`` grew beyond the tolerance over the
baseline's. Unlike the cells' gate there is no machine factor: a slower training path slows
every task, and a median over tasks would hide it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from harness.gates.bench import clock_for, ratio_of_rounds
from harness.gates.speed_gate import read_baseline
from harness.training import phases as phase_timing
from harness.training.model import through_layers
from harness.training.train import precision, train_population

if TYPE_CHECKING:
    from harness.plans.config import RunConfig

REFERENCE = "torch.nn.LSTM"
ROUNDS = 5  # rounds of the cell-only and reference timings (median)
WARMUP = 5  # first steps of a run left out of its breakdown (first calls' one-time costs)


@dataclass
class Breakdown:
    task: str
    variant: str
    population: int
    steps: int  # loop steps trained
    loop_seconds: float
    seconds: dict[str, float]  # per phase, bookkeeping included
    shares: dict[str, float]
    trial_steps_per_s: float  # population × steps / loop seconds
    cell_seconds: float  # one forward + backward of the stacked cells alone (see above)
    cell_share: float  # cell_seconds / loop seconds per step
    reference_seconds: float  # nn.LSTM forward + backward at the same shape (median)
    step_ratio: float  # loop seconds per step / reference_seconds
    shape: str = ""  # T×K×B×width of the cells' timed input
    reference_shape: str = ""  # T×rows×M×N of the reference
    reference: str = REFERENCE
    phase_ratios: dict[str, float] = field(default_factory=dict)  # per step / reference

    @property
    def key(self) -> str:
        return f"{self.task}/{self.variant}"


def measure(configs: list[RunConfig], device: torch.device, rounds: int = ROUNDS) -> Breakdown:
    """Train ``configs`` as one population with phases recorded; time its cells and the
    reference right after."""
    first = configs[0]
    companion = _reference(configs, device)
    timer = phase_timing.Phases(
        warmup=WARMUP if (first.steps or 0) > 2 * WARMUP else 0, companion=companion
    )
    train_population(configs, phases=timer)
    timer.amortise("evaluation", first.eval_every)
    model, batch = timer.model, timer.batch
    if not hasattr(model, "encode"):  # an encoder-decoder: its cells are not one stack to time
        return _without_cells(first, configs, timer, companion)
    with torch.no_grad():
        inputs = model.encode(batch.x.to(device)).detach()
    steps_, trials, rows, width = inputs.shape
    hidden = first.hidden_size

    def cells() -> None:
        model.zero_grad(set_to_none=True)
        x = inputs.clone().requires_grad_(True)
        with autocast:
            h, _ = through_layers(model.cells, x, None, None)
        h.float().sum().backward()

    autocast = precision(device)
    clock = clock_for(device)
    cells()  # warm-up
    cell_times, reference_times = [], []
    for _ in range(rounds):  # interleaved with the reference: a ratio load cancels in
        cell_times.append(clock("cells", "train", cells))
        reference_times.append(clock(REFERENCE, "train", companion))
    model.zero_grad(set_to_none=True)
    breakdown = _without_cells(first, configs, timer, companion)
    cell_s = ratio_of_rounds(cell_times, reference_times)[0] * breakdown.reference_seconds
    per_step = timer.loop_seconds / max(timer.steps, 1)  # cells in the loop's terms:
    return dataclasses.replace(
        breakdown,
        cell_seconds=cell_s,
        cell_share=cell_s / per_step,
        shape=f"T{steps_}xK{trials}xB{rows}xM{width}xN{hidden}",
    )


def _without_cells(
    first: RunConfig, configs: list[RunConfig], timer: phase_timing.Phases, companion: _Reference
) -> Breakdown:
    """The loop's breakdown and step ratio; the cells' own time not measured (NaN)."""
    seconds = timer.breakdown()
    steps = max(timer.steps, 1)
    per_step = timer.loop_seconds / steps
    # each step against the reference's call just before it (the first call, the
    # reference's own warm-up, left out); the median ratio, evaluation charged on top
    pairs = list(zip(timer.step_seconds, timer.companion_seconds))[1:] or list(
        zip(timer.step_seconds, timer.companion_seconds)
    )
    training = timer.loop_seconds - seconds["evaluation"]
    step_ratio = (
        statistics.median(t / r for t, r in pairs) * timer.loop_seconds / training
        if training > 0
        else math.nan
    )
    ref_s = per_step / step_ratio
    return Breakdown(
        first.task,
        first.variant,
        len(configs),
        timer.steps,
        timer.loop_seconds,
        seconds,
        timer.shares(),
        len(configs) * timer.steps / timer.loop_seconds,
        math.nan,
        math.nan,
        ref_s,
        step_ratio,
        "",
        companion.shape,
        phase_ratios={k: v / steps / ref_s for k, v in seconds.items()},
    )


class _Reference:
    """torch's fused ``nn.LSTM`` forward + backward at the shape of the task's first training
    batch (the population's K × B rows as one batch), called before every step of the loop
    (``Phases.companion``): the loop's time per step over its mean time is the step ratio,
    both measured over the same seconds, so load that comes and goes weighs on both."""

    def __init__(self, configs: list[RunConfig], device: torch.device) -> None:
        from harness.training.train import build_task

        first = configs[0]
        task = build_task(first)
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            batch = next(task.batches("train", first.seed))
            width = first.hidden_size if task.io.input == "tokens" else task.io.input_size
            size = (batch.x.shape[0], len(configs) * batch.x.shape[1], width)
            # the network's own depth and directions: a bidirectional task's loop runs two
            # cells a layer, and so does its reference
            self.lstm = nn.LSTM(
                width, first.hidden_size, first.layers, bidirectional=first.bidirectional
            ).to(device)
        self.x = torch.rand(size, device=device, generator=torch.Generator(device)) * 2 - 1
        self.autocast = precision(device)
        directions = "x2" if first.bidirectional else ""
        depth = f"xL{first.layers}" if first.layers > 1 else ""
        self.shape = f"T{size[0]}xB{size[1]}xM{width}xN{first.hidden_size}{directions}{depth}"

    def __call__(self) -> None:
        self.lstm.zero_grad(set_to_none=True)
        with self.autocast:
            y, _ = self.lstm(self.x)
        y.float().sum().backward()


def _reference(configs: list[RunConfig], device: torch.device) -> _Reference:
    return _Reference(configs, device)


def best_of(old: Breakdown, new: Breakdown) -> Breakdown:
    """The faster of two measurements (by ratio): a burst of load is not a regression."""
    return new if new.step_ratio < old.step_ratio else old


def save(rows: list[Breakdown], path: str, meta: dict[str, object]) -> None:
    Path(path).write_text(
        json.dumps({"meta": {**meta, "kind": "runs"}, "runs": [asdict(r) for r in rows]}, indent=1)
    )


def load(path: str, threads: int | None = None) -> list[dict[str, object]]:
    """The rows of a ``bench --runs --json`` file (refused when measured with another number
    of torch threads)."""
    return read_baseline(
        path, threads, "runs", {"task", "variant", "step_ratio"}, "harness bench --runs --json"
    )


@dataclass
class Judgement:
    slower: dict[str, str] = field(default_factory=dict)  # key -> its failure line
    uncompared: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.slower


def judge(rows: list[Breakdown], baseline: list[dict[str, object]], tolerance: float) -> Judgement:
    """Each task's ``step_ratio`` against the baseline's: more than ``tolerance`` growth
    fails, with the phases that grew most named."""
    base = {f"{r['task']}/{r['variant']}": r for r in baseline}
    verdict = Judgement()
    for row in rows:
        old = base.get(row.key)
        if old is None:
            verdict.uncompared.append(f"{row.key}: not in the baseline")
            continue
        then = float(old["step_ratio"])  # type: ignore[arg-type]
        growth = row.step_ratio / then
        if growth > 1 + tolerance:
            before = old.get("phase_ratios") or {}
            grew = sorted(
                (
                    (row.phase_ratios[k] - float(before[k]), k)  # type: ignore[index]
                    for k in row.phase_ratios
                    if k in before
                ),
                reverse=True,
            )
            where = ", ".join(
                f"{k} {float(before[k]):.2f}->{row.phase_ratios[k]:.2f}"  # type: ignore[index]
                for _, k in grew[:2]
            )
            verdict.slower[row.key] = (
                f"{row.key}: step ratio {row.step_ratio:.2f} vs baseline {then:.2f} "
                f"(+{growth - 1:.0%}; tolerance {tolerance:.0%})"
                + (f"; grew most: {where}" if where else "")
            )
    return verdict
