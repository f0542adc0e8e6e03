"""The cost of one training sequence of a reproduction's trial, per task and hidden size.

    python docs/measure/cost_per_sequence.py music,speech,handwriting

A population of 8 lstm trials (the reproduction's default) trains on 100 sequences online
(batch 1, SGD with Nesterov momentum on the summed loss, as ``reproduce`` trains), read
both ways on the stand-ins as Greff et al. read TIMIT and IAM Online, at hidden 20, 64 and
200 (the ends and the middle of Greff's range); one thread, as each worker runs. The
figure is the wall time over 8 × 100 sequences, one scoring of the test split included,
and beside it what the ``quick`` profile's budget of sequences costs a trial. The budgets
of ``quick`` and ``paper`` (harness/plans/profiles.py) are sized with these numbers.
"""

from __future__ import annotations

import sys
import time

import torch

from harness.plans.config import RunConfig
from harness.plans.profiles import REPRODUCE_PROFILES
from harness.training.train import train_population

SEQUENCES, POPULATION, HIDDEN = 100, 8, (20, 64, 200)


def seconds_a_sequence(task: str, hidden: int, settings: dict) -> float:
    configs = [
        RunConfig(
            variant="lstm",
            task=task,
            seed=k,
            hidden_size=hidden,
            batch_size=1,
            bidirectional=task != "music",
            sequences=SEQUENCES,
            eval_every=10**6,
            lr=1e-3,
            optimizer="sgd",
            momentum=0.9,
            loss_reduction="sum",
            momentum_scaled_lr=True,
            task_settings=settings,
        )
        for k in range(POPULATION)
    ]
    started = time.perf_counter()
    train_population(configs)
    return (time.perf_counter() - started) / (POPULATION * SEQUENCES)


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    quick = REPRODUCE_PROFILES["quick"]["tasks"]
    print("| task | hidden | ms a sequence a trial | quick's budget | seconds a quick trial |")
    print("|---|---:|---:|---:|---:|")
    for task in names:
        budget, settings = quick[task]["sequences"], quick[task]["task_settings"]
        for hidden in HIDDEN:
            cost = seconds_a_sequence(task, hidden, settings)
            print(
                f"| {task} | {hidden} | {1000 * cost:.2f} | {budget:,} | {cost * budget:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["music", "speech", "handwriting"])
