"""Speed of every cell as a ratio to torch's fused LSTM timed in the same run.

Ratios, not absolute times: a baseline taken on another machine still says whether a cell
got slower relative to the reference. Timings are interleaved (each round times every cell
and the reference once) and the median over rounds is kept, so a burst of load on a noisy
machine hits all of them alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

import variants

REFERENCE = "torch.nn.LSTM"


class BenchError(ValueError):
    """A shape or baseline that cannot be used (the message says what to do)."""


@dataclass(frozen=True)
class Shape:
    batch: int
    length: int
    input: int
    hidden: int

    def __str__(self) -> str:
        return f"B{self.batch}xT{self.length}xM{self.input}xN{self.hidden}"

    @staticmethod
    def parse(text: str) -> Shape:
        """``"32,100,32,128"``: batch, length, input, hidden."""
        try:
            values = [int(v) for v in text.split(",")]
        except ValueError:
            values = []
        if len(values) != 4 or min(values) < 1:
            raise BenchError(f"a shape is four positive integers batch,length,input,hidden "
                             f"(like 32,100,32,128), got {text!r}")
        return Shape(*values)


DEFAULT_SHAPES = (Shape(32, 100, 32, 128),)
MORE_SHAPES = (Shape(32, 200, 32, 256), Shape(32, 50, 32, 64))


@dataclass
class Row:
    shape: str
    variant: str
    backend: str
    forward_per_s: float  # time steps × batch per second
    train_per_s: float  # the same for forward + backward
    forward_ratio: float  # time / the reference's time (1.0 = as fast as nn.LSTM)
    train_ratio: float
    setup_s: float  # building the cell and its first call (one-time costs)
    peak_mb: float | None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timer(device: torch.device) -> Callable[[Callable[[], None]], float]:
    """Seconds of one call: CUDA events on a GPU, the wall clock on the CPU."""
    if device.type == "cuda":
        def timed(fn: Callable[[], None]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            return start.elapsed_time(end) / 1000
        return timed

    def wall(fn: Callable[[], None]) -> float:
        begin = time.perf_counter()
        fn()
        return time.perf_counter() - begin
    return wall


def run(names: list[str], shapes: list[Shape], device: torch.device, rounds: int = 9,
        warmup: int = 2) -> list[Row]:
    """Benchmark ``names`` at every shape; the reference is timed in the same rounds."""
    rows = []
    timed = _timer(device)
    for shape in shapes:
        x = torch.randn(shape.length, shape.batch, shape.input, device=device)
        models: dict[str, nn.Module] = {}
        setup: dict[str, float] = {}
        for name in [REFERENCE, *names]:
            begin = time.perf_counter()
            models[name] = (nn.LSTM(shape.input, shape.hidden) if name == REFERENCE else
                            variants.build(name, shape.input, shape.hidden)).to(device)
            models[name](x)
            _sync(device)
            setup[name] = time.perf_counter() - begin
        calls = {n: _calls(m, x) for n, m in models.items()}
        samples: dict[tuple[str, str], list[float]] = {(n, k): [] for n in models
                                                       for k in ("forward", "train")}
        for r in range(warmup + rounds):
            for name, (forward, train) in calls.items():
                for kind, fn in (("forward", forward), ("train", train)):
                    seconds = timed(fn)
                    if r >= warmup:
                        samples[(name, kind)].append(seconds)
        median = {key: sorted(v)[len(v) // 2] for key, v in samples.items()}
        items = shape.batch * shape.length
        for name in [REFERENCE, *names]:
            backend = "fused" if name == REFERENCE else models[name].backend
            rows.append(Row(
                str(shape), name, backend, items / median[(name, "forward")],
                items / median[(name, "train")],
                median[(name, "forward")] / median[(REFERENCE, "forward")],
                median[(name, "train")] / median[(REFERENCE, "train")], setup[name],
                torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
                else None))
    return rows


def _calls(model: nn.Module, x: torch.Tensor) -> tuple[Callable[[], None], Callable[[], None]]:
    def forward() -> None:
        with torch.no_grad():
            model(x)

    def train() -> None:
        model.zero_grad(set_to_none=True)
        y, _ = model(x)
        y.sum().backward()
    return forward, train


def save(rows: list[Row], path: str, meta: dict[str, object]) -> None:
    Path(path).write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]},
                                     indent=1))


def load(path: str) -> list[dict[str, object]]:
    try:
        data = json.loads(Path(path).read_text())
        rows = data["rows"]
        assert all({"shape", "variant", "train_ratio", "forward_ratio"} <= set(r) for r in rows)
    except FileNotFoundError:
        raise BenchError(f"baseline {path} does not exist; write one with --json") from None
    except (json.JSONDecodeError, KeyError, TypeError, AssertionError):
        raise BenchError(f"baseline {path} is not a benchmark file written by "
                         "'harness bench --json'") from None
    return rows


def regressions(rows: list[Row], baseline: list[dict[str, object]], tolerance: float
                ) -> list[str]:
    """Every (shape, variant) whose ratio to the reference grew by more than ``tolerance``
    over the baseline's, forward or forward + backward."""
    base = {(str(r["shape"]), str(r["variant"])): r for r in baseline}
    found = []
    for row in rows:
        old = base.get((row.shape, row.variant))
        if old is None or row.variant == REFERENCE:
            continue
        for kind in ("train_ratio", "forward_ratio"):
            now, then = getattr(row, kind), float(old[kind])  # type: ignore[arg-type]
            if now > then * (1 + tolerance):
                found.append(f"{row.variant} at {row.shape}: {kind.split('_')[0]} ratio "
                             f"{now:.2f} vs baseline {then:.2f} (+{now / then - 1:.0%}, "
                             f"tolerance {tolerance:.0%})")
    return found
