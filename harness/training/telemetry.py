"""What a run measures besides its loss: gradient norms, gradient through time, speed, setup."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import Tensor


def gradient_through_time_of(grad: Tensor) -> list[float]:
    """``||dLoss/dh_t||`` for every step t (averaged over the batch) from the gradient of a
    layer's probe ``[T, B, N]`` (``model.through_layers``: the total derivative through the
    recurrence): how far back from the scored steps the gradient reaches."""
    per_step = grad.detach().float().norm(dim=-1).mean(dim=1)
    return [float(v) for v in per_step]


class Throughput:
    """Time steps × batch per second over the timed steps (warm-up steps excluded)."""

    def __init__(self, device: torch.device, warmup: int = 5) -> None:
        self.device, self.warmup = device, warmup
        self.seen = 0
        self.items = 0
        self.seconds = 0.0
        self._start = 0.0

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def start(self) -> None:
        self._sync()
        self._start = time.perf_counter()

    def stop(self, items: int) -> None:
        self._sync()
        self.seen += 1
        if self.seen > self.warmup:
            self.seconds += time.perf_counter() - self._start
            self.items += items

    @property
    def per_second(self) -> float | None:
        return self.items / self.seconds if self.seconds > 0 else None


def peak_memory_mb(device: torch.device) -> float:
    """Peak device memory (CUDA) or peak resident memory of this process (CPU), in MB."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    kilobytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kilobytes / 1024 if sys.platform != "darwin" else kilobytes / 2**20


def git_commit() -> str | None:
    """``git describe --dirty --always`` of the harness's checkout, if it is one."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "describe", "--dirty", "--always", "--long"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(device: torch.device) -> dict[str, object]:
    """Versions and machine facts recorded with every run."""
    import numpy
    import optuna
    import pandas

    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else (platform.processor() or platform.machine())
    )
    return {
        "device": device.type,
        "device_name": name,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "optuna": optuna.__version__,
        "threads": torch.get_num_threads(),
        "host": platform.node(),
        "pid": os.getpid(),
        "git": git_commit(),
    }
