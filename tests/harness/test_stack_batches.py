"""Each trial's batch stacked into one ``[T, K, B, ...]`` batch: batches of different sizes
(music's pieces, Reber's strings) padded at the end with unscored zeros."""

from __future__ import annotations

import torch

from harness.training.evaluate import stack_batches
from tasks import Batch


def _batch(steps: int, rows: int) -> Batch:
    return Batch(
        torch.randn(steps, rows, 4), torch.randn(steps, rows, 1), torch.rand(steps, rows) < 0.7
    )


def test_batches_of_one_size_are_stacked_as_they_are() -> None:
    batches = [_batch(3, 2), _batch(3, 2)]
    stacked = stack_batches(batches)
    for name in ("x", "y", "mask"):
        assert torch.equal(
            getattr(stacked, name), torch.stack([getattr(b, name) for b in batches], 1)
        )


def test_batches_of_other_sizes_are_padded_with_unscored_zeros() -> None:
    short, long = _batch(3, 2), _batch(5, 1)
    stacked = stack_batches([short, long])
    assert stacked.x.shape == (5, 2, 2, 4) and stacked.mask.shape == (5, 2, 2)
    for k, batch in enumerate((short, long)):
        steps, rows = batch.mask.shape
        for name in ("x", "y", "mask"):
            part = getattr(stacked, name)[:, k]
            assert torch.equal(part[:steps, :rows], getattr(batch, name))
            padding = torch.ones(part.shape[:2], dtype=torch.bool)
            padding[:steps, :rows] = False
            assert not part[padding].any()
