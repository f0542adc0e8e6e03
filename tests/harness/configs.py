"""A tiny run on the CPU, the starting point of the tests that train in this process."""

from __future__ import annotations

from harness.plans.config import RunConfig


def tiny_config(**changes: object) -> RunConfig:
    """lstm on parity, 8 wide, 20 steps with an evaluation every 10, short sequences and a small
    held-out set, on the CPU; ``changes`` replace any of these or set others."""
    tiny = dict(
        hidden_size=8,
        steps=20,
        eval_every=10,
        device="cpu",
        task_settings={"seq_len": 10, "eval_size": 64},
    )
    return RunConfig(**{**tiny, **changes})
