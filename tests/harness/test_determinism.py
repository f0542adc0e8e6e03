"""The same run (seed, settings) in two separate processes on the same CPU gives the same
loss curve, bit for bit: native kernels, data streams, input noise and optimiser included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CODE = """
import json, sys
from harness.plans.config import RunConfig
from harness.training.train import train
config = RunConfig(**json.loads(sys.argv[1]))
result = train(config)
print(json.dumps([(s, n, v.hex()) for s, n, v in result.curves] + [result.test]))
"""


@pytest.mark.parametrize(
    "settings",
    [
        {
            "variant": "lstm",
            "task": "memory-add",
            "input_noise": 0.3,
            "clip": 0.5,
            "task_settings": {"seq_len": 12, "eval_size": 64},
        },
        {
            "variant": "gru",
            "task": "lm",
            "optimizer": "sgd",
            "lr": 0.5,
            "task_settings": {"seq_len": 12, "eval_tokens": 500},
        },
    ],
)
def test_a_run_repeats_bit_for_bit_in_another_process(settings: dict) -> None:
    config = {
        **settings,
        "hidden_size": 16,
        "steps": 30,
        "eval_every": 10,
        "log_every": 1,
        "seed": 3,
    }
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", CODE, json.dumps(config)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        for _ in range(2)
    ]
    first, second = (json.loads(o) for o in outputs)
    assert len(first) > 60  # every step's loss and gradient norm, the evaluations, the test
    assert first == second
