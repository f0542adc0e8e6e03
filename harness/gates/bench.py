"""Speed of every cell as a ratio to torch's fused kernel of its family, timed in the same run.

Each cell is divided by the fused kernel that computes its family: the GRU family by
``torch.nn.GRU``, the Elman RNN family by ``torch.nn.RNN`` (tanh), the LSTM family and every
other family by ``torch.nn.LSTM``. Ratios, not absolute times: a baseline taken on another
machine still says whether a cell got slower relative to its reference. Timings are
interleaved (each round times every cell and every reference once); a row's ratio is the
median over rounds of each round's ratio, so a burst of load that slows one round slows a
cell and its reference alike and cancels. The judging against a committed baseline is
``harness.gates.speed_gate``.

Memory: ``saved_mb`` is what autograd keeps for the backward pass after one forward
(activations; parameters excluded), counted exactly on any device through saved-tensor
hooks. ``peak_mb`` is the peak allocated by one forward + backward on a GPU; on the CPU
torch keeps no allocator statistics and the process's resident-set peak cannot be split
between cells timed in one process, so it is None there.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

import variants

REFERENCE = "torch.nn.LSTM"  # the LSTM family's reference, and any family without its own
FAMILY_REFERENCES = {"gru": "torch.nn.GRU", "rnn": "torch.nn.RNN"}
_REFERENCE_BUILDERS: dict[str, Callable[[int, int], nn.Module]] = {
    REFERENCE: nn.LSTM,
    "torch.nn.GRU": nn.GRU,
    "torch.nn.RNN": functools.partial(nn.RNN, nonlinearity="tanh"),
}
REFERENCES = tuple(_REFERENCE_BUILDERS)  # every reference, in the order rows list them


def reference_of(name: str) -> str:
    """The torch kernel ``name`` is timed against: its family's (a reference is its own)."""
    if name in _REFERENCE_BUILDERS:
        return name
    return FAMILY_REFERENCES.get(variants.info(name).family, REFERENCE)


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
            raise BenchError(
                f"a shape is four positive integers batch,length,input,hidden "
                f"(like 32,100,32,128), got {text!r}"
            )
        return Shape(*values)


DEFAULT_SHAPES = (Shape(32, 100, 32, 128),)
MORE_SHAPES = (Shape(32, 200, 32, 256), Shape(32, 50, 32, 64))
POPULATION_SHAPE = Shape(32, 50, 32, 64)  # small models: where stacking trials pays most
POPULATION_TRIALS = 16
ONE_BY_ONE = "one by one"  # the reference of population rows: the K trials run in turn
KINDS = ("forward", "train")  # the two timed passes: no autograd, and forward + backward


@dataclass
class Row:
    shape: str
    variant: str
    backend: str
    forward_per_s: float  # time steps × batch per second
    train_per_s: float  # the same for forward + backward
    forward_ratio: float  # time / its reference's time (1.0 = as fast as torch's kernel)
    train_ratio: float
    setup_s: float  # building the cell and its first call (one-time costs)
    peak_mb: float | None  # GPU: peak of one forward + backward; CPU: None (see the module)
    reference: str = REFERENCE  # the torch kernel of the ratios (older baselines: nn.LSTM)
    saved_mb: float | None = None  # kept by autograd for backward after one forward
    forward_spread: float | None = None  # interquartile range of the rounds' ratios / ratio
    train_spread: float | None = None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# A clock times one call: clock(label, kind, fn) -> seconds, where label names what is timed
# (a cell, a reference, "stack" or "one by one") and kind is "forward" or "train". Tests
# inject a fake one, so that what the gate decides is tested on known timings.
Clock = Callable[[str, str, Callable[[], None]], float]


def clock_for(device: torch.device) -> Clock:
    """The real clock: CUDA events on a GPU, the wall clock on the CPU."""
    if device.type == "cuda":

        def timed(label: str, kind: str, fn: Callable[[], None]) -> float:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            return start.elapsed_time(end) / 1000

        return timed

    def wall(label: str, kind: str, fn: Callable[[], None]) -> float:
        begin = time.perf_counter()
        fn()
        return time.perf_counter() - begin

    return wall


def ratio_of_rounds(times: list[float], reference: list[float]) -> tuple[float, float]:
    """(median, relative spread) of the per-round ratios ``times[i] / reference[i]``.

    Both were timed in the same round, one right after the other, so a burst of load that
    slows a round slows both: the ratio of a round cancels it where a ratio of medians
    would not. The spread is the interquartile range of the ratios over their median."""
    ratios = sorted(t / r for t, r in zip(times, reference))
    n = len(ratios)
    median = statistics.median(ratios)
    q1, q3 = ratios[(n - 1) // 4], ratios[(3 * (n - 1) + 3) // 4]
    return median, (q3 - q1) / median


def run(
    names: list[str],
    shapes: list[Shape],
    device: torch.device,
    rounds: int = 9,
    warmup: int = 2,
    clock: Clock | None = None,
) -> list[Row]:
    """Benchmark ``names`` at every shape, each as a ratio to its family's reference; the
    references some name needs are timed in the same rounds (and listed first)."""
    rows = []
    timed = clock or clock_for(device)
    needed = {reference_of(n) for n in names}
    order = [r for r in REFERENCES if r in needed] + [n for n in names if n not in REFERENCES]
    for shape in shapes:
        x = torch.randn(shape.length, shape.batch, shape.input, device=device)
        models: dict[str, nn.Module] = {}
        setup: dict[str, float] = {}
        for name in order:
            begin = time.perf_counter()
            models[name] = build(name, shape, device)
            models[name](x)
            _sync(device)
            setup[name] = time.perf_counter() - begin
        memory = {n: _memory(m, x, device) for n, m in models.items()}
        calls = {n: passes(m, x) for n, m in models.items()}
        samples: dict[tuple[str, str], list[float]] = {(n, k): [] for n in models for k in KINDS}
        for r in range(warmup + rounds):
            for name, (forward, train) in calls.items():
                for kind, fn in zip(KINDS, (forward, train)):
                    seconds = timed(name, kind, fn)
                    if r >= warmup:
                        samples[(name, kind)].append(seconds)
        items = shape.batch * shape.length
        for name in order:
            ref = reference_of(name)
            backend = "fused" if name in REFERENCES else models[name].backend
            (fwd, fwd_spread), (train, train_spread) = (
                ratio_of_rounds(samples[(name, k)], samples[(ref, k)]) for k in KINDS
            )
            rows.append(
                Row(
                    str(shape),
                    name,
                    backend,
                    items / statistics.median(samples[(name, "forward")]),
                    items / statistics.median(samples[(name, "train")]),
                    fwd,
                    train,
                    setup[name],
                    memory[name][0],
                    ref,
                    memory[name][1],
                    fwd_spread,
                    train_spread,
                )
            )
    return rows


def population(
    names: list[str],
    shape: Shape,
    trials: int,
    device: torch.device,
    rounds: int = 5,
    warmup: int = 1,
    clock: Clock | None = None,
) -> list[Row]:
    """K trials of each cell as one stacked cell (``variants.stack``) against the same K
    cells run one after another, interleaved in the same rounds. Rows are named
    ``population K<k> <shape>``; their ratios are the stack's time over the K runs' (so
    1 / ratio is the speed-up of each trial's throughput) and the rates are per trial."""
    timed = clock or clock_for(device)
    label = f"population K{trials} {shape}"
    rows = []
    for name in names:
        x = torch.randn(shape.length, shape.batch, shape.input, device=device)
        xs = torch.randn(shape.length, trials, shape.batch, shape.input, device=device)
        begin = time.perf_counter()
        cells = [build(name, shape, device) for _ in range(trials)]
        stacked = variants.stack(cells)
        stacked(xs)
        setup = time.perf_counter() - begin
        singles = [passes(c, x) for c in cells]
        together = passes(stacked, xs)
        samples: dict[tuple[str, str], list[float]] = {
            (w, k): [] for w in ("one", "stack") for k in KINDS
        }
        for r in range(warmup + rounds):
            for index, kind in enumerate(KINDS):
                one = timed(f"{name} {ONE_BY_ONE}", kind, lambda: [s[index]() for s in singles])  # noqa: B023
                both = timed(f"{name} stacked", kind, together[index])
                if r >= warmup:
                    samples[("one", kind)].append(one)
                    samples[("stack", kind)].append(both)
        (fwd, fwd_spread), (train, train_spread) = (
            ratio_of_rounds(samples[("stack", k)], samples[("one", k)]) for k in KINDS
        )
        items = shape.batch * shape.length
        rows.append(
            Row(
                label,
                name,
                stacked.backend,
                items / statistics.median(samples[("stack", "forward")]),
                items / statistics.median(samples[("stack", "train")]),
                fwd,
                train,
                setup,
                None,
                ONE_BY_ONE,
                _memory(stacked, xs, device)[1],
                fwd_spread,
                train_spread,
            )
        )
    return rows


def product_rate(
    device: torch.device, size: int = 1024, rounds: int = 5, clock: Clock | None = None
) -> float:
    """Multiply-adds per second of one large float32 matrix product (``size``³) here, at
    the current thread count: about the most any cell's matrix products can reach on this
    machine (small products reach less), so it bounds what stacking trials can gain."""
    timed = clock or clock_for(device)
    a, b = (torch.randn(size, size, device=device) for _ in range(2))
    seconds = [
        timed("matrix product", "forward", lambda: torch.mm(a, b)) for _ in range(rounds + 1)
    ][1:]  # the first one warms up
    return size**3 / statistics.median(seconds)


def train_macs(name: str, shape: Shape) -> float:
    """Multiply-adds of one trial's forward + backward in its matrix products, per batch
    row and time step: three times the entries of its weight matrices, ``weight_*`` by the
    cells' convention (the forward product, the gradients of its inputs and of its
    weights); elementwise work (peepholes, biases, gates) is left out."""
    cell = variants.build(name, shape.input, shape.hidden)
    return 3.0 * sum(p.numel() for key, p in cell.named_parameters() if key.startswith("weight"))


def _memory(model: nn.Module, x: torch.Tensor, device: torch.device) -> tuple[float | None, float]:
    """(peak MB of one forward + backward on a GPU or None, MB saved for backward)."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}  # storage address -> bytes: views of one storage count once

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y, _ = model(x)
    y.sum().backward()
    peak = None
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
    model.zero_grad(set_to_none=True)
    return peak, sum(saved.values()) / 2**20


def build(name: str, shape: Shape, device: torch.device) -> nn.Module:
    """A registered cell, or a reference (``torch.nn.LSTM``...), at ``shape``'s sizes."""
    if name in _REFERENCE_BUILDERS:
        return _REFERENCE_BUILDERS[name](shape.input, shape.hidden).to(device)
    return variants.build(name, shape.input, shape.hidden).to(device)


def passes(model: nn.Module, x: torch.Tensor) -> tuple[Callable[[], None], Callable[[], None]]:
    """The two timed calls: forward (no autograd) and forward + backward."""

    def forward() -> None:
        with torch.no_grad():
            model(x)

    def train() -> None:
        model.zero_grad(set_to_none=True)
        y, _ = model(x)
        y.sum().backward()

    return forward, train
