"""What the training loop measures on a stack of K trials: held-out metrics, gradient probes,
and the stacking of each trial's own training batch into one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

import tasks
from harness.training import telemetry
from harness.training.model import TrialStack


def stack_batches(batches: list[tasks.Batch]) -> tasks.Batch:
    """Each trial's batch as one ``[T, K, B, ...]`` batch.

    Batches of different sizes (music: pieces of different lengths, a smaller last batch)
    are padded at the end with unscored steps and rows; a recurrent cell reads forward in
    time, so the padding changes none of a trial's scored outputs, loss or gradients."""
    steps = max(b.x.shape[0] for b in batches)
    rows = max(b.x.shape[1] for b in batches)
    xs_ys_masks = list(zip(*((b.x, b.y, b.mask) for b in batches)))
    if all(b.x.shape[:2] == (steps, rows) for b in batches):
        return tasks.Batch(*(torch.stack(parts, 1) for parts in xs_ys_masks))

    def padded(parts: tuple[Tensor, ...]) -> Tensor:  # copied once, into the stack's zeros
        out = parts[0].new_zeros((steps, len(parts), rows, *parts[0].shape[2:]))
        for k, part in enumerate(parts):
            out[: part.shape[0], k, : part.shape[1]] = part
        return out

    return tasks.Batch(*(padded(parts) for parts in xs_ys_masks))


def held_out(
    task: tasks.Task, model: TrialStack, split: str, device: torch.device, autocast: Any
) -> list[dict[str, float]]:
    """Every trial's metrics on ``split`` (the same data for all of them), computed as
    ``Task.evaluate`` does for one model, the state carried between continuing batches."""
    trials = model.trials
    totals: list[dict[str, tuple[float, int]]] = [{} for _ in range(trials)]
    state = None
    with evaluating(model), autocast:
        for batch in task.batches(split):
            if batch.reset:
                state = None
            x = batch.x.to(device)
            x = x.unsqueeze(1).expand(x.shape[0], trials, *x.shape[1:])
            out, state = model(x, state, lengths=model.lengths_of(batch.mask.to(device)))
            out = (out if out.dtype == torch.float64 else out.float()).cpu()
            for k in range(trials):
                for name, (s, n) in task.score(out[:, k], batch).items():
                    old = totals[k].get(name, (0.0, 0))
                    totals[k][name] = (old[0] + s, old[1] + n)
    return [task.summarize(t) for t in totals]


@contextlib.contextmanager
def evaluating(model: torch.nn.Module) -> Iterator[None]:
    """The model in evaluation mode (no input noise; an encoder-decoder decodes its own
    answers) and without gradients inside, in the mode it was in afterwards."""
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(training)


def probe(
    task: tasks.Task,
    model: TrialStack,
    batch: tasks.Batch,
    sizes: list[tuple[int, int]],
    autocast: Any,
    objective: Callable[[Tensor], Tensor] = lambda losses: losses,
) -> tuple[list[dict[str, float]], list[list[float]]]:
    """One extra backward on the training batch, without input noise and without an update,
    of what training minimises (``objective`` of the per-step losses): each trial's gradient
    norm per paper parameter of every layer (``L0.W_f``...), and its
    gradient-through-time profile ``||dLoss/dh_t||`` of the last layer, the total derivative
    through the recurrence (``model.through_layers``), over its own steps and rows
    (``sizes``)."""
    hidden: list[Tensor] = []
    model.noisy = False
    try:
        with autocast:
            outputs, _ = model(
                batch.x,
                None,
                hidden=hidden,  # hidden[0]: the probe
                lengths=model.lengths_of(batch.mask),
            )
            loss = objective(task.losses(outputs, batch)).sum()
        model.zero_grad(set_to_none=True)
        loss.backward()
    finally:
        model.noisy = True
    norms: list[dict[str, float]] = [{} for _ in sizes]
    for layer, cell in enumerate(model.cells):
        for name, grad in cell.paper_gradients().items():
            if grad is not None:
                for k, value in enumerate(grad.flatten(1).norm(dim=1).tolist()):
                    norms[k][f"L{layer}.{name}"] = value
    profiles = []
    for k, (steps, rows) in enumerate(sizes):
        grad = hidden[0].grad[:steps, k, :rows]
        profiles.append(telemetry.gradient_through_time_of(grad))
    model.zero_grad(set_to_none=True)
    return norms, profiles
