"""One run: build the task and model, train, evaluate, measure; never crash on divergence."""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

import tasks
import variants
from harness import telemetry
from harness.config import RunConfig
from harness.model import SequenceModel, detach

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

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def summary(self) -> str:
        return summary_line(dataclasses.asdict(self))


def summary_line(record: dict[str, Any]) -> str:
    """One line about a run, from a ``RunResult`` as stored."""
    config, metric, tele = record["config"], record["primary"], record["telemetry"]
    flag = " DIVERGED" if record["status"] == "diverged" else ""
    speed = tele.get("steps_per_second")
    rate = f", {speed:,.0f} steps×batch/s" if speed else ""
    test = record["test"][metric]
    shown = f"{test:.4g}" if test is not None else "nan"
    return (f"{config['variant']} on {config['task']} (seed {config['seed']}){flag}: test "
            f"{metric} {shown} (chance {record['chance'][metric]:.4g}), best valid at step "
            f"{record['best_step']}/{record['steps']}{rate}, "
            f"{tele.get('wall_seconds', 0):.1f} s")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA device; use auto or cpu")
    return torch.device(name)


def build(config: RunConfig) -> tuple[tasks.Task, SequenceModel, torch.device]:
    """The task (with the run's overrides) and the model on its device, seeded."""
    device = resolve_device(config.device)
    overrides = dict(config.task_settings)
    if config.batch_size is not None:
        overrides["batch_size"] = config.batch_size
    task = tasks.build(config.task, **overrides)
    torch.manual_seed(config.seed)
    model = SequenceModel(task.io, config.variant, config.hidden_size, config.layers,
                          config.input_noise, **config.cell_options).to(device)
    return task, model, device


def make_optimizer(config: RunConfig, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=config.momentum,
                               nesterov=config.momentum > 0)
    return torch.optim.Adam(model.parameters(), lr=lr)


def train(config: RunConfig, on_step: Callable[[int, int, float], None] | None = None
          ) -> RunResult:
    """Train one run to the end (or early stop, or divergence) and score it."""
    started = time.perf_counter()
    task, model, device = build(config)
    steps = config.steps or task.settings.steps
    lr = config.lr or task.settings.lr
    optimizer = make_optimizer(config, model, lr)
    primary = task.metrics[0]
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    curves: list[tuple[int, str, float]] = []
    through_time: dict[str, list[float]] = {}
    timer = telemetry.Throughput(device)
    best: tuple[float, int, dict[str, float], dict[str, Any]] | None = None
    stalled, first_loss, status, step = 0, None, "complete", 0
    stream, state = task.batches("train", config.seed), None

    def predict(batch: tasks.Batch, s: Any) -> tuple[torch.Tensor, Any]:
        """Outputs for a held-out batch, back on the CPU where the task scores them."""
        with torch.no_grad(), autocast:
            out, s = model(batch.x.to(device), s)
        return out.float().cpu(), s

    def evaluate(split: str) -> dict[str, float]:
        model.eval()
        scores = task.evaluate(predict, split)
        model.train()
        return scores

    model.train()
    for step in range(1, steps + 1):
        batch = next(stream).to(device)
        if not task.io.stateful or batch.reset:
            state = None
        timer.start()
        with autocast:
            outputs, state = model(batch.x, detach(state))
            loss = task.loss(outputs, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        value = float(loss.detach())
        first_loss = value if first_loss is None else first_loss
        if not math.isfinite(value) or value > EXPLODED * max(first_loss, 1.0):
            status = "diverged"
            curves.append((step, "train_loss", value))
            break
        norm = telemetry.global_grad_norm(model)
        if config.clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        timer.stop(batch.x.shape[0] * batch.x.shape[1])
        if on_step is not None:
            on_step(step, steps, value)
        if step % config.log_every == 0 or step == 1:
            curves += [(step, "train_loss", value), (step, "grad_norm", norm)]
        if step % config.eval_every == 0 or step == steps:
            scores = evaluate("valid")
            curves += [(step, f"valid_{k}", v) for k, v in scores.items()]
            probe = _probe_gradients(model, task, batch, autocast)
            curves += [(step, f"grad.{k}", v) for k, v in probe[0].items()]
            through_time.setdefault("first", probe[1])
            through_time["last"] = probe[1]
            score = scores[primary.name]
            if not math.isfinite(score):
                status = "diverged"
                break
            improved = best is None or (score < best[0] if primary.lower_is_better
                                        else score > best[0])
            if improved:
                best = (score, step, scores, copy.deepcopy(model.state_dict()))
                stalled = 0
            else:
                stalled += 1
                if config.patience is not None and stalled >= config.patience:
                    break

    if status == "diverged" or best is None:
        status = "diverged"
        valid = test = dict(task.chance)
        best_step = 0
    else:
        model.load_state_dict(best[3])
        valid, best_step = best[2], best[1]
        test = evaluate("test")
    record = {**telemetry.environment(device),
              "steps_per_second": timer.per_second,
              "wall_seconds": time.perf_counter() - started,
              "peak_memory_mb": telemetry.peak_memory_mb(device),
              "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
              "cell_parameters": sum(variants.count_parameters(c) for c in model.cells),
              "backend": model.backend, "lr": lr, "task_source": task.source}
    return RunResult(dataclasses.asdict(config), status, primary.name, primary.lower_is_better,
                     test, valid, task.chance, best_step, step, curves, through_time, record)


def _probe_gradients(model: SequenceModel, task: tasks.Task, batch: tasks.Batch,
                     autocast: Any) -> tuple[dict[str, float], list[float]]:
    """One extra backward on ``batch`` (no update): per-gate gradient norms, and the
    gradient-through-time profile ||dLoss/dh_t|| of the last layer."""
    hidden: list[torch.Tensor] = []
    with autocast:
        outputs, _ = model(batch.x, None, hidden=hidden)
        hidden[0].retain_grad()
        loss = task.loss(outputs, batch)
    model.zero_grad(set_to_none=True)
    loss.backward()
    result = telemetry.paper_grad_norms(model), telemetry.gradient_through_time(hidden[0],
                                                                                 batch.mask)
    model.zero_grad(set_to_none=True)
    return result
