"""How much slower the graph cell is than the hand-written one (a measurement, not a test)::

    python -m variants.graphs.timing

Forward and backward of the lstm (and np) graph cell against the registered cell on its
``generic`` backend (both on autograd), hidden 64, input 64, batch 16, 50 steps, one CPU
thread; the median of 60 calls each, the cells taking turns so that a busy machine slows
both alike.
"""

from __future__ import annotations

import statistics
import time

import torch

import variants
from variants.graphs.cell import build_cell
from variants.graphs.known import lstm

T, B, M, N = 50, 16, 64, 64


def _once(cell: variants.RecurrentCell, x: torch.Tensor) -> float:
    start = time.perf_counter()
    y, state = cell(x)
    (y.sum() + state[-1].sum()).backward()
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cells = {
        "lstm": variants.build("lstm", M, N, backend="generic"),
        "graph lstm": build_cell(lstm(), M, N),
        "np": variants.build("np", M, N, backend="generic"),
        "graph np": build_cell(lstm(peepholes=False), M, N),
    }
    x = torch.randn(T, B, M)
    times: dict[str, list[float]] = {name: [] for name in cells}
    for cell in cells.values():  # warm up
        for _ in range(5):
            _once(cell, x)
    for _ in range(3):
        for name, cell in cells.items():
            times[name] += [_once(cell, x) for _ in range(20)]
    median = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name, ms in median.items():
        print(f"{name:12s} {ms:7.2f} ms")
    for name in ("lstm", "np"):
        print(f"graph {name} / {name}: {median[f'graph {name}'] / median[name]:.2f}")


if __name__ == "__main__":
    main()
