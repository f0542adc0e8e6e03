"""The losses' shortcuts compute what the plain forms do: the log-softmax over few classes
(taken along the first dimension of the transposed logits) and the scored slots of a batch
where every slot is scored (flattened, not gathered)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import tasks
from tasks.base import Batch, at_scored, log_softmax


@pytest.mark.parametrize("classes", [2, 4, 10, 15, 16, 106])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_softmax_is_torchs_in_value_and_gradient(classes: int, dtype: torch.dtype) -> None:
    torch.manual_seed(classes)
    logits = (torch.randn(37, classes, dtype=dtype) * 5).requires_grad_(True)
    upstream = torch.randn(37, classes, dtype=dtype)
    (ours,) = torch.autograd.grad((log_softmax(logits) * upstream).sum(), logits)
    (torchs,) = torch.autograd.grad((F.log_softmax(logits, -1) * upstream).sum(), logits)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {}
    torch.testing.assert_close(log_softmax(logits), F.log_softmax(logits, -1), **tolerance)
    torch.testing.assert_close(ours, torchs, **tolerance)


def test_the_scored_slots_of_a_fully_scored_batch_are_those_a_mask_gathers() -> None:
    values = torch.randn(5, 3, 4, 6).transpose(0, 1)  # not contiguous, as a stack's outputs
    full = torch.ones(3, 5, 4, dtype=torch.bool)
    targets = torch.randint(0, 6, (3, 5, 4))
    for mask in (full, full.index_fill(2, torch.tensor([2]), False)):
        scored = at_scored(mask, values, targets)
        assert all(torch.equal(a, b) for a, b in zip(scored, (values[mask], targets[mask])))


@pytest.mark.parametrize(
    "name,settings",
    [
        ("lm", {"seq_len": 12, "eval_tokens": 600}),
        ("long-dependency", {"delay": 4, "eval_size": 64}),
    ],
)
def test_fully_scored_losses_are_the_gathered_ones(name: str, settings: dict) -> None:
    """``losses`` of K trials and ``loss`` of one, each checked against the boolean gather
    of the scored slots (the form for batches with unscored slots)."""
    task = tasks.build(name, batch_size=4, **settings)
    batches = [next(task.batches("train", seed)) for seed in (0, 1)]
    assert all(bool(b.mask.all()) for b in batches)
    mask = torch.stack([b.mask for b in batches], 1)
    y = torch.stack([b.y for b in batches], 1)
    outputs = torch.randn(*mask.shape, task.io.output_size)
    expected = F.cross_entropy(outputs[mask], y[mask], reduction="none").view(mask.shape)
    assert torch.allclose(task.losses(outputs, Batch(y, y, mask)), expected.mean((0, 2)), rtol=1e-6)
    one = Batch(batches[0].x, batches[0].y, batches[0].mask)
    assert torch.allclose(task.loss(outputs[:, 0], one), expected[:, 0].mean(), rtol=1e-6)
