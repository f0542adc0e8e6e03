"""Named grid profiles: how long, how big, how many seeds.

``smoke`` is what CI runs end to end: every variant on every embedded task, tiny.
``default`` is calibrated on the 2-core CPU (see the README's calibration section).
``paper`` is sized for a GPU.
"""

from __future__ import annotations

from typing import Any

# the tasks that need no data folder and no network
EMBEDDED_TASKS = ("parity", "memory-add", "long-dependency", "lm")

PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "seeds": 1,
        "run": {"hidden_size": 8, "steps": 12, "eval_every": 6, "log_every": 3},
        "tasks": {
            "parity": {"task_settings": {"seq_len": 10, "eval_size": 64}},
            "memory-add": {"task_settings": {"seq_len": 12, "eval_size": 64}},
            "long-dependency": {"task_settings": {"delay": 5, "eval_size": 64}},
            "lm": {"task_settings": {"seq_len": 16, "eval_tokens": 1000}},
            "reber": {"task_settings": {"eval_size": 64}},
            "music": {"task_settings": {}},
        },
    },
    "default": {
        "seeds": 8,  # one population of 8 per variant and task (--population)
        "run": {"hidden_size": 32, "eval_every": 100, "log_every": 10, "patience": 5},
        "tasks": {
            "parity": {"steps": 1000,
                       "task_settings": {"seq_len": 10, "min_len": 2, "eval_size": 200}},
            "memory-add": {"steps": 800, "task_settings": {"seq_len": 30, "eval_size": 500}},
            "long-dependency": {"steps": 1200, "task_settings": {"delay": 10, "copy_len": 5,
                                                                 "eval_size": 500}},
            "lm": {"steps": 400, "task_settings": {"seq_len": 50, "eval_tokens": 20_000}},
            "reber": {"steps": 800, "task_settings": {"eval_size": 500}},
            "music": {"steps": 800, "task_settings": {}},
        },
    },
    "paper": {
        "seeds": 5,
        "run": {"hidden_size": 128, "eval_every": 500, "log_every": 50, "patience": 10},
        "tasks": {
            "parity": {"steps": 20_000, "task_settings": {"seq_len": 50}},
            "memory-add": {"steps": 20_000, "task_settings": {"seq_len": 200}},
            "long-dependency": {"steps": 20_000, "task_settings": {"delay": 100}},
            "lm": {"steps": 20_000, "task_settings": {"seq_len": 100}},
            "reber": {"steps": 10_000, "task_settings": {}},
            "music": {"steps": 10_000, "task_settings": {}},
        },
    },
}
