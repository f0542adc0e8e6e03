"""Would a bidirectional layer gain by running its two directions as one time loop?

    python docs/measure/directions_in_one_loop.py

A bidirectional layer (harness/training/model.py, ``Bidirectional``) runs its forward cells
and then its backward cells: two time loops of a population of K trials. The two directions
are independent, so they could run as one stacked population of 2K trials, one loop. This
times both ways, forward and backward, for a population of 8 ``lstm`` trials reading
handwriting-sized inputs (3 features, 217 steps) online (batch 1, as ``reproduce`` trains),
at hidden sizes across Greff's range; one thread, as each worker runs; the median of 7
interleaved rounds. Where one loop is not faster, the time loop is the cells' own
arithmetic (the native kernels' loops already run in C) and there is nothing to fuse.
"""

from __future__ import annotations

import statistics
import time

import torch

import variants

POPULATION, STEPS, FEATURES, ROUNDS = 8, 217, 3, 7


def _stack(k: int, hidden: int) -> variants.RecurrentCell:
    return variants.stack(
        [variants.build("lstm", input_size=FEATURES, hidden_size=hidden) for _ in range(k)]
    )


def milliseconds(hidden: int) -> tuple[float, float]:
    """(two loops, one loop of both directions) for one forward + backward."""
    ahead, back = _stack(POPULATION, hidden), _stack(POPULATION, hidden)
    both = _stack(2 * POPULATION, hidden)
    x = torch.randn(STEPS, POPULATION, 1, FEATURES)
    x2 = torch.cat([x, x.flip(0)], 1)

    def two() -> None:
        y1, _ = ahead(x)
        y2, _ = back(x.flip(0))
        (y1.sum() + y2.sum()).backward()

    def one() -> None:
        y, _ = both(x2)
        y.sum().backward()

    times: dict[str, list[float]] = {"two": [], "one": []}
    for _ in range(ROUNDS + 1):  # the first round warms up and is dropped
        for name, run in (("two", two), ("one", one)):
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    two_ms, one_ms = (1e3 * statistics.median(times[n][1:]) for n in ("two", "one"))
    return two_ms, one_ms


def main() -> None:
    torch.set_num_threads(1)
    print(f"population {POPULATION}, T {STEPS}, batch 1, lstm, forward + backward (ms)")
    print("| hidden | two loops | one loop of both |")
    print("|---:|---:|---:|")
    for hidden in (20, 39, 75, 144):
        two, one = milliseconds(hidden)
        print(f"| {hidden} | {two:.1f} | {one:.1f} |")


if __name__ == "__main__":
    main()
