"""The numerics gate: fixed-seed ``smoke`` runs whose results must match a reference.

A change that alters what a cell or task computes, even slightly, moves the final training
loss of a short fixed-seed run; a pure speed-up does not. The reference is a JSON file of
``{"variant/task": [final training loss, mean training loss]}``: continuous numbers only, since
a metric such as accuracy can flip on a borderline example with the last bit of a float.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

from harness.plans import grid
from harness.training.train import train

RELATIVE = 1e-3  # across machines of one kind, float differences stay far below this


def measure(
    variant_names: list[str] | None = None, task_names: list[str] | None = None
) -> dict[str, list[float]]:
    """Final and mean training loss of every smoke run, single-threaded."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thread count changes reduction order, hence last bits
    try:
        spec = grid.resolve("smoke", variant_names, task_names, 1)
        out = {}
        for config in spec.runs():
            result = train(config)
            losses = [v for _, name, v in result.curves if name == "train_loss"]
            out[f"{config.variant}/{config.task}"] = [losses[-1], sum(losses) / len(losses)]
        return out
    finally:
        torch.set_num_threads(threads)


def not_compared(current: dict[str, list[float]], reference: dict[str, list[float]]) -> list[str]:
    """Runs the reference has no numbers for (a cell or task added since it was written):
    reported, never a failure, so that adding a cell needs no regenerated reference."""
    return sorted(set(current) - set(reference))


def differences(
    current: dict[str, list[float]], reference: dict[str, list[float]], relative: float = RELATIVE
) -> list[str]:
    """What moved beyond ``relative``, and what the reference has that this run lacks."""
    found = [f"{key}: missing from this run" for key in sorted(set(reference) - set(current))]
    for key in sorted(set(current) & set(reference)):
        for label, now, then in zip(("final loss", "mean loss"), current[key], reference[key]):
            if (now is None or then is None or math.isnan(now) or math.isnan(then)) and (
                now is None or math.isnan(now)
            ) == (then is None or math.isnan(then)):
                continue  # both diverged to NaN: the same outcome
            if not math.isclose(now, then, rel_tol=relative, abs_tol=1e-9):
                found.append(f"{key}: {label} {now:.6g}, reference {then:.6g}")
    return found


def save(values: dict[str, list[float]], path: str | Path) -> None:
    Path(path).write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")


def load(path: str | Path) -> dict[str, list[float]]:
    return json.loads(Path(path).read_text())
