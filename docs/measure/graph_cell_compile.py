"""Does ``torch.compile`` pay off for a graph cell (``variants.graphs.GraphCell``)?

    python docs/measure/graph_cell_compile.py

A search trains every candidate once, each a new graph: compiling pays only where the time
it saves over the candidate's training exceeds the time it takes. This times, for the
LSTM written as a graph (a population of 3, hidden 32, batch 32, 25 steps: the shape of
rung 0's memorization task), one forward + backward eager and compiled (the median of 20
after warm-up), and the compilation itself (the first compiled call, less an eager call),
on one thread. Break-even is the number of training steps at which the saving repays it.
"""

from __future__ import annotations

import statistics
import time

import torch

import variants
from variants import graphs

POPULATION, HIDDEN, BATCH, STEPS, ROUNDS = 3, 32, 32, 25, 20


def _timed(run) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    cell = variants.stack(
        [graphs.build_cell(graphs.known.lstm(), 8, HIDDEN) for _ in range(POPULATION)]
    )
    x = torch.randn(STEPS, POPULATION, BATCH, 8)
    compiled = torch.compile(cell)

    def step(module) -> None:  # type: ignore[no-untyped-def]
        y, _ = module(x)
        y.sum().backward()

    eager = _timed(lambda: step(cell))
    first = _timed(lambda: step(compiled))
    eager_ms = 1e3 * statistics.median(_timed(lambda: step(cell)) for _ in range(ROUNDS))
    compiled_ms = 1e3 * statistics.median(_timed(lambda: step(compiled)) for _ in range(ROUNDS))
    compile_s = first - eager
    saving = (eager_ms - compiled_ms) / 1e3
    even = f"{compile_s / saving:,.0f} steps" if saving > 0 else "never (not faster)"
    print(f"lstm graph, population {POPULATION}, hidden {HIDDEN}, batch {BATCH}, T {STEPS}")
    print(f"eager {eager_ms:.1f} ms, compiled {compiled_ms:.1f} ms a forward + backward")
    print(f"compiling took {compile_s:.1f} s; break-even after {even}")


if __name__ == "__main__":
    main()
