"""Look inside a kept model: every layer's gates, cell state and output over a held-out batch
of its task (``harness inspect``; Karpathy, Johnson & Fei-Fei 2015).

The cells run on kernels that keep their gates to themselves, so each layer is run again by
the probe (``variants.probe``: the paper equations over the layer's paper parameters, in
float64) on the very inputs the model's own layer got; the largest difference between the
probe's output and the layer's own is kept with the result (``deviation``), so every table
made from it says how exact it is.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

import tasks
from harness.plans.config import RunConfig
from harness.training.evaluate import evaluating
from harness.training.model import Bidirectional, SequenceModel, reverse, valid_lengths
from harness.training.train import build_scorer, build_task
from results.tables.inside import Inside, LayerTrace
from variants import probe

DEFAULT_STEPS = 200  # steps of a language model's passage (its windows joined)


def held_out(task: tasks.Task, steps: int = DEFAULT_STEPS) -> tasks.Batch:
    """The first test batch; where batches continue one another (a language model's
    windows over its text), the next ones joined to it, up to ``steps`` steps."""
    batches = task.batches("test")
    first = next(iter(batches), None)
    if first is None:
        raise ValueError(f"task {task.name!r} has no test batch to look at")
    parts = [first]
    if task.io.stateful:
        for batch in batches:
            if (
                batch.reset
                or sum(p.x.shape[0] for p in parts) >= steps
                or batch.x.shape[1:] != first.x.shape[1:]
            ):
                break
            parts.append(batch)
    joined = [torch.cat([getattr(p, name) for p in parts]) for name in ("x", "y", "mask")]
    if task.io.stateful:
        joined = [t[:steps] for t in joined]
    return tasks.Batch(*joined, reset=True)


def valid_steps(mask: Tensor) -> Tensor:
    """``[T, B]``: the steps of each sequence up to its last scored one (what comes after is
    padding); a row with nothing scored has none."""
    scored = mask.reshape(mask.shape[0], mask.shape[1], -1).any(-1)
    return torch.arange(scored.shape[0]).unsqueeze(1) < valid_lengths(scored).unsqueeze(0)


def look_inside(
    config: RunConfig,
    model: SequenceModel,
    vocabulary: list[str] | None,
    run: str,
    steps: int = DEFAULT_STEPS,
) -> Inside:
    """Every layer of ``model`` (trained as ``config`` says; a kept model as
    ``kept_models.load`` rebuilds it) probed on a held-out batch of its task; ``run`` names
    where the model comes from, for the tables. A bidirectional layer is one trace of 2N
    units, as its output is: the forward cell's N, then the backward cell's N, both in time
    order."""
    batch = held_out(build_scorer(config, build_task(config)), steps)
    layers, deviation = [], 0.0
    with evaluating(model):
        device = next(model.parameters()).device
        inputs = model.encode(batch.x.to(device))
        lengths = model.lengths_of(batch.mask.to(device))
        for cell in model.cells:
            bidirectional = isinstance(cell, Bidirectional)
            own, _ = cell(inputs, lengths=lengths) if bidirectional else cell(inputs)
            trace = _probed(config, cell, inputs, lengths)
            deviation = max(deviation, float((trace.h - own.double()).abs().max()))
            layers.append(
                LayerTrace(
                    {k: v.cpu().numpy() for k, v in trace.values.items()},
                    trace.gates,
                    trace.missing,
                    trace.gate_names,
                )
            )
            inputs = own  # the next layer gets what the model's own layer gave it
    tokens = None
    if vocabulary is not None:
        tokens = [[vocabulary[i] for i in column] for column in batch.x.t().tolist()]
    return Inside(
        config.task, config.variant, run, layers, valid_steps(batch.mask).numpy(), tokens, deviation
    )


def _probed(
    config: RunConfig, cell: torch.nn.Module, x: Tensor, lengths: Tensor | None
) -> probe.Trace:
    """The probe's trace of one layer on ``x``; a bidirectional layer's backward cell is
    probed on ``x`` reversed within each valid length, as the layer runs it, and its trace
    put back in time order beside the forward cell's."""
    if not isinstance(cell, Bidirectional):
        return probe.run(config.variant, cell.paper_parameters(), x, **config.cell_options)
    ahead = probe.run(
        config.variant, cell.forward_cell.paper_parameters(), x, **config.cell_options
    )
    back = probe.run(
        config.variant,
        cell.backward_cell.paper_parameters(),
        reverse(x, lengths),
        **config.cell_options,
    )
    values = {
        k: torch.cat([v, reverse(back.values[k], lengths)], -1) for k, v in ahead.values.items()
    }
    return dataclasses.replace(ahead, values=values, state=(*ahead.state, *back.state))
