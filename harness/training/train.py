"""Training: one run, or K runs as one stacked model (population training); build the task
and the model, train, evaluate, measure; a divergence is a result, never a crash."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

import tasks
import variants
from harness.plans.config import RunConfig
from harness.training import phases as phase_timing
from harness.training import seq2seq, snapshot, telemetry
from harness.training.evaluate import held_out, probe, stack_batches
from harness.training.model import SequenceModel, TrialStack, detach
from harness.training.optim import TrialOptimizer

EXPLODED = 100.0  # a training loss this many times its first value counts as diverged


@dataclass
class RunResult:
    """Everything a run records; curves are ``(step, name, value)`` rows."""

    config: dict[str, Any]
    status: str  # "complete" or "diverged"
    primary: str  # the metric used to pick the best evaluation
    lower_is_better: bool  # of the primary metric
    test: dict[str, float]
    valid: dict[str, float]
    chance: dict[str, float]
    best_step: int
    steps: int
    curves: list[tuple[int, str, float]] = field(default_factory=list)
    gradient_through_time: dict[str, list[float]] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    # the kept model (``kept_models``: best-validation weights and what rebuilds them);
    # stored in the artifact store, not in the record
    model: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def summary(self) -> str:
        return summary_line(dataclasses.asdict(self))


def summary_line(record: dict[str, Any]) -> str:
    """One line about a run, from a ``RunResult`` as stored."""
    config, metric = record["config"], record["primary"]
    tele = record["telemetry"]
    flag = " DIVERGED" if record["status"] == "diverged" else ""
    test = record["test"][metric]
    shown = f"{test:.4g}" if test is not None else "nan"
    return (
        f"{config['variant']} on {config['task']} (seed {config['seed']}){flag}: test "
        f"{metric} {shown} (chance {record['chance'][metric]:.4g}), best valid at step "
        f"{record['best_step']}/{record['steps']}{_cost(tele)}"
    )


def _cost(tele: dict[str, Any]) -> str:
    """The trial's rate and time; in a population, what the whole stack did besides, so
    that K seeds sharing one wall time do not each show it as their own."""
    speed, population = tele.get("steps×batch/s"), tele.get("population") or 1
    rate = f", {speed:,.0f} steps×batch/s" if speed else ""
    if population == 1:
        return f"{rate}, {tele.get('population_seconds') or 0:.1f} s"
    stack = tele.get("population_steps×batch/s")
    stack_rate = f": {stack:,.0f} steps×batch/s" if stack else ""
    return (
        f"{rate} (population of {population}{stack_rate} in "
        f"{tele.get('population_seconds') or 0:.1f} s; "
        f"{tele.get('trial_seconds') or 0:.1f} s per trial)"
    )


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device; use auto or cpu")
    return torch.device(name)


# Settings trials may differ in and still train as one stacked model; every other setting
# (variant, task and its settings, sizes, optimizer kind, schedule, device) must agree.
PER_TRIAL = ("seed", "lr", "momentum", "clip", "input_noise", "steps", "patience", "sequences")


def stack_key(config: RunConfig) -> str:
    """Runs with equal keys can train together as one population."""
    shared = {k: v for k, v in dataclasses.asdict(config).items() if k not in PER_TRIAL}
    return repr(sorted(shared.items(), key=lambda kv: kv[0]))


def build_task(config: RunConfig) -> tasks.Task:
    """The task with the run's overrides."""
    overrides = dict(config.task_settings)
    if config.batch_size is not None:
        overrides["batch_size"] = config.batch_size
    return tasks.build(config.task, **overrides)


def check_data(configs: list[RunConfig]) -> None:
    """Raise the task's one-line error where a run's task cannot read its data (a corpus or
    data file missing), before anything is stored or trained: a task reads it for its
    inputs and outputs (``io``) and its metrics' chance levels. Each distinct task setting is
    built once."""
    for config in {(c.task, repr(sorted(c.task_settings.items()))): c for c in configs}.values():
        task = build_task(config)
        _ = task.io, task.metrics
    for config in configs:
        seq2seq.check_architecture(config)


EVAL_BATCH = 32  # held-out sequences scored at once, at least


def build_scorer(config: RunConfig, task: tasks.Task) -> tasks.Task:
    """The task whose held-out batches score the run: ``task`` itself, or for runs trained
    on small batches (Greff's online updates: one sequence a batch) the same task with
    batches of ``EVAL_BATCH``, so that scoring does not take one call per held-out sequence.
    (Pieces and strings score the same in any batch; a language model's held-out text is
    then read as ``EVAL_BATCH`` streams instead of one.)"""
    if task.settings.batch_size >= EVAL_BATCH:
        return task
    return build_task(dataclasses.replace(config, batch_size=EVAL_BATCH))


def build_model(config: RunConfig, task: tasks.Task, device: torch.device) -> SequenceModel:
    """One trial's model, initialised from its seed."""
    torch.manual_seed(config.seed)
    seq2seq.check_architecture(config)
    if config.architecture == "encoder-decoder":
        return seq2seq.build(config, task).to(device)
    return SequenceModel(
        task.io,
        config.variant,
        config.hidden_size,
        config.layers,
        config.input_noise,
        bidirectional=config.bidirectional,
        **config.cell_options,
    ).to(device)


def train(config: RunConfig, on_step: Callable[[int, int, float], None] | None = None) -> RunResult:
    """Train one run to the end (or early stop, or divergence) and score it."""
    return train_population([config], on_step)[0]


@dataclass
class _Trial:
    """What the loop tracks of one trial."""

    config: RunConfig
    steps: int
    lr: float
    active: bool = True
    status: str = "complete"
    last_step: int = 0
    first_loss: float | None = None
    best: tuple[float, int, dict[str, float], list[torch.Tensor]] | None = None
    stalled: int = 0
    curves: list[tuple[int, str, float]] = field(default_factory=list)
    through_time: dict[str, list[float]] = field(default_factory=dict)
    batch: tasks.Batch | None = None


def train_population(
    configs: list[RunConfig],
    on_step: Callable[[int, int, float], None] | None = None,
    phases: phase_timing.Off | None = None,
) -> list[RunResult]:
    """Train K runs that share a ``stack_key`` as one stacked model (population training):
    each trial keeps its own initialisation, data stream, input noise, learning rate,
    momentum, clipping, divergence and early stopping, so it gives what it gives alone.
    ``on_step`` gets the mean training loss of the trials still training.

    Subnormal floats are flushed to zero while it trains: a cell whose gates saturate
    (measured: ``niaf`` at hidden 200 on music) otherwise computes on subnormal numbers, which
    x86 CPUs handle in microcode, 6x slower for the whole run, for a difference below 1e-38.

    ``phases`` (a ``phases.Phases``) records where the loop's time goes (``harness bench
    --runs``); it only reads the clock, so training computes the same with it or without.
    Without one, a run on the CPU records its own (no warm-up, no reference), and each
    trial's record says where its share of the population's time went (``time.data`` ...,
    ``time.outside``: building, the test scoring); on a GPU, where timing a phase means
    waiting for it, nothing is timed."""
    with subnormals_flushed():
        return _train_population(configs, on_step, phases)


@contextlib.contextmanager
def subnormals_flushed() -> Iterator[None]:
    """Subnormal floats flushed to zero inside (where the CPU can): how a run trains and is
    scored, so that a kept model is scored again the same way."""
    flushed = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flushed:
            torch.set_flush_denormal(False)


def precision(device: torch.device) -> Any:
    """The autocast a run computes under: bfloat16 on a GPU, full precision elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def _train_population(
    configs: list[RunConfig],
    on_step: Callable[[int, int, float], None] | None,
    clock: phase_timing.Off | None = None,
) -> list[RunResult]:
    started = time.perf_counter()
    keys = {stack_key(c) for c in configs}
    if len(keys) != 1:
        raise ValueError(f"a population needs runs that differ only in {', '.join(PER_TRIAL)}")
    first = configs[0]
    device = resolve_device(first.device)
    if clock is None:
        clock = phase_timing.Phases() if device.type == "cpu" else phase_timing.OFF
    task = build_task(first)
    scorer = build_scorer(first, task)
    model = seq2seq.stack_models(
        [build_model(c, task, device) for c in configs], [c.seed for c in configs]
    )
    trials = [
        _Trial(
            c, c.steps_for(task.settings.batch_size, task.settings.steps), c.lr or task.settings.lr
        )
        for c in configs
    ]
    params = list(model.parameters())
    optimizer = TrialOptimizer(
        params,
        first.optimizer,
        torch.tensor([step_size(t.lr, t.config) for t in trials], dtype=torch.float64),
        torch.tensor([c.momentum for c in configs], dtype=torch.float64),
        torch.tensor(
            [c.clip if c.clip is not None else math.inf for c in configs], dtype=torch.float64
        ),
    )
    primary = task.metrics[0]
    autocast = precision(device)
    timer = telemetry.Throughput(device)
    streams = [task.batches("train", c.seed) for c in configs]
    total, state = max(t.steps for t in trials), None
    model.train()
    clock.begin(device)
    step = 0
    for step in range(1, total + 1):
        with clock.phase("data"):
            for k, t in enumerate(trials):  # a trial that stopped keeps its last batch
                if t.active or t.batch is None:
                    t.batch = next(streams[k])
            batch = stack_batches([t.batch for t in trials]).to(device)
            state = _carry(state, task, [t.batch.reset for t in trials])
        timer.start()
        with clock.phase("forward"), autocast:
            outputs, state = model(batch.x, detach(state), lengths=model.lengths_of(batch.mask))
            losses = task.losses(outputs, batch)  # per scored step: what the curves show
        live = [k for k, t in enumerate(trials) if t.active]
        with clock.phase("backward"):
            model.zero_grad(set_to_none=True)
            on = torch.tensor([t.active for t in trials], device=losses.device)
            # a diverged trial's NaN loss is left out; its gradients are never used
            objective = objective_of(losses, batch, task, first)
            torch.where(on, objective, torch.zeros_like(objective)).sum().backward()
        values = losses.detach().float().tolist()
        for k in live:
            t = trials[k]
            t.first_loss = values[k] if t.first_loss is None else t.first_loss
            if not math.isfinite(values[k]) or values[k] > EXPLODED * max(t.first_loss, 1.0):
                t.status, t.active, t.last_step = "diverged", False, step
                t.curves.append((step, "train_loss", values[k]))
        with clock.phase("optimiser"):
            norms = optimizer.step(torch.tensor([t.active for t in trials]))
        timer.stop(trials[0].batch.x.shape[0] * trials[0].batch.x.shape[1])
        live = [k for k in live if trials[k].active]
        if on_step is not None and live:
            on_step(step, total, sum(values[k] for k in live) / len(live))
        norm_values = norms.tolist()
        for k in live:
            t = trials[k]
            t.last_step = step
            if step % t.config.log_every == 0 or step == 1:
                t.curves += [(step, "train_loss", values[k]), (step, "grad_norm", norm_values[k])]
        due = [k for k in live if step % first.eval_every == 0 or step == trials[k].steps]
        if due:
            with clock.phase("evaluation"):
                _evaluate(task, scorer, model, trials, due, step, batch, primary, device, autocast)
        if not any(t.active for t in trials):
            break
    clock.end(step)
    clock.keep(model, batch if step else None)

    valid_tests = [k for k, t in enumerate(trials) if t.status != "diverged" and t.best]
    with torch.no_grad():
        for k in valid_tests:
            for p, saved in zip(params, trials[k].best[3]):
                p[k].copy_(saved)
    tests = held_out(scorer, model, "test", device, autocast) if valid_tests else []
    wall = time.perf_counter() - started
    environment = telemetry.environment(device)  # once: it asks git, a process a call
    time_shares = phase_timing.per_trial(clock, wall, len(trials))
    results = []
    for k, t in enumerate(trials):
        if k in valid_tests:
            valid, best_step, test = t.best[2], t.best[1], tests[k]
        else:
            t.status, valid, test, best_step = "diverged", dict(task.chance), dict(task.chance), 0
        record = {
            **environment,
            "population": len(trials),
            "population_seconds": wall,
            "population_steps×batch/s": len(trials) * timer.per_second
            if timer.per_second is not None
            else None,
            "trial_seconds": wall / len(trials),
            "steps×batch/s": timer.per_second,
            "peak_memory_mb": telemetry.peak_memory_mb(device),
            "parameters": sum(p[k].numel() for p in params),
            "cell_parameters": sum(variants.count_parameters(c) for c in model.cells)
            // len(trials),
            "backend": model.backend(device),
            "lr": t.lr,
            "task_source": task.source,
            **time_shares,
        }
        kept = (
            snapshot.serialize(
                t.config,
                snapshot.single_weights(model, k),
                len(trials),
                k,
                snapshot.vocabulary_of(task),
                test,
            )
            if k in valid_tests
            else None
        )
        results.append(
            RunResult(
                dataclasses.asdict(t.config),
                t.status,
                primary.name,
                primary.lower_is_better,
                test,
                valid,
                task.chance,
                best_step,
                t.last_step,
                t.curves,
                t.through_time,
                record,
                kept,
            )
        )
    return results


def step_size(lr: float, config: RunConfig) -> float:
    """The learning rate the update uses: lr × (1 - momentum) where the run asks for
    pylstm's scaling (its NesterovStep, which Greff et al. trained with), else lr."""
    return lr * (1.0 - config.momentum) if config.momentum_scaled_lr else lr


def objective_of(
    losses: torch.Tensor, batch: tasks.Batch, task: tasks.Task, config: RunConfig
) -> torch.Tensor:
    """What each trial minimises: the mean loss per scored step (``losses``, ``[K]``), or
    with ``loss_reduction="sum"`` the loss summed over each sequence's scored steps and
    outputs and averaged over the sequences (pylstm's error)."""
    if config.loss_reduction == "mean":
        return losses
    return losses * task.sequence_scale(batch).to(losses.dtype)


def _carry(state: Any, task: tasks.Task, resets: list[bool]) -> Any:
    """The state entering this step: none for tasks without state; for stateful ones, the
    previous step's, zero for the trials whose sequences start anew."""
    if not task.io.stateful or state is None or all(resets):
        return None
    if not any(resets):
        return state
    keep = torch.tensor([0.0 if r else 1.0 for r in resets], device=state[0][0].device)
    keep = keep.view(-1, 1, 1)
    return [tuple(s * keep.to(s.dtype) for s in layer) for layer in state]


def _evaluate(
    task: tasks.Task,
    scorer: tasks.Task,
    model: TrialStack,
    trials: list[_Trial],
    due: list[int],
    step: int,
    batch: tasks.Batch,
    primary: tasks.Metric,
    device: torch.device,
    autocast: Any,
) -> None:
    """Validation of the trials due at ``step`` (on ``scorer``'s held-out batches): curves,
    gradient probes, best states, early stopping, divergence."""
    scores = held_out(scorer, model, "valid", device, autocast)
    sizes = [tuple(t.batch.x.shape[:2]) for t in trials]
    grads, profiles = probe(
        task,
        model,
        batch,
        sizes,
        autocast,
        lambda losses: objective_of(losses, batch, task, trials[0].config),
    )
    for k in due:
        t = trials[k]
        t.curves += [(step, f"valid_{name}", v) for name, v in scores[k].items()]
        t.curves += [(step, f"grad.{name}", v) for name, v in grads[k].items()]
        t.through_time.setdefault("first", profiles[k])
        t.through_time["last"] = profiles[k]
        score = scores[k][primary.name]
        if not math.isfinite(score):
            t.status, t.active = "diverged", False
            continue
        if t.best is None or (score < t.best[0] if primary.lower_is_better else score > t.best[0]):
            t.best = (score, step, scores[k], [p[k].detach().clone() for p in model.parameters()])
            t.stalled = 0
        else:
            t.stalled += 1
            if t.config.patience is not None and t.stalled >= t.config.patience:
                t.active = False
        if step >= t.steps:
            t.active = False
