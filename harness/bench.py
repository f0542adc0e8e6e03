"""Speed of every cell as a ratio to torch's fused kernel of its family, timed in the same run.

Each cell is divided by the fused kernel that computes its family: the GRU family by
``torch.nn.GRU``, the Elman RNN family by ``torch.nn.RNN`` (tanh), the LSTM family and every
other family by ``torch.nn.LSTM``. Ratios, not absolute times: a baseline taken on another
machine still says whether a cell got slower relative to its reference. Timings are
interleaved (each round times every cell and every reference once) and the median over
rounds is kept, so a burst of load on a noisy machine hits all of them alike.

Memory: ``saved_mb`` is what autograd keeps for the backward pass after one forward
(activations; parameters excluded), counted exactly on any device through saved-tensor
hooks. ``peak_mb`` is the peak allocated by one forward + backward on a GPU; on the CPU
torch keeps no allocator statistics and the process's resident-set peak cannot be split
between cells timed in one process, so it is None there.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

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
            raise BenchError(f"a shape is four positive integers batch,length,input,hidden "
                             f"(like 32,100,32,128), got {text!r}")
        return Shape(*values)


DEFAULT_SHAPES = (Shape(32, 100, 32, 128),)
MORE_SHAPES = (Shape(32, 200, 32, 256), Shape(32, 50, 32, 64))
POPULATION_SHAPE = Shape(32, 50, 32, 64)  # small models: where stacking trials pays most
POPULATION_TRIALS = 16
ONE_BY_ONE = "one by one"  # the reference of population rows: the K trials run in turn


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
    """Benchmark ``names`` at every shape, each as a ratio to its family's reference; the
    references some name needs are timed in the same rounds (and listed first)."""
    rows = []
    timed = _timer(device)
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
        for name in order:
            ref = reference_of(name)
            backend = "fused" if name in REFERENCES else models[name].backend
            rows.append(Row(
                str(shape), name, backend, items / median[(name, "forward")],
                items / median[(name, "train")],
                median[(name, "forward")] / median[(ref, "forward")],
                median[(name, "train")] / median[(ref, "train")], setup[name],
                memory[name][0], ref, memory[name][1]))
    return rows


def population(names: list[str], shape: Shape, trials: int, device: torch.device,
               rounds: int = 5, warmup: int = 1) -> list[Row]:
    """K trials of each cell as one stacked cell (``variants.stack``) against the same K
    cells run one after another, interleaved in the same rounds. Rows are named
    ``population K<k> <shape>``; their ratios are the stack's time over the K runs' (so
    1 / ratio is the speed-up of each trial's throughput) and the rates are per trial."""
    timed = _timer(device)
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
        samples: dict[tuple[str, str], list[float]] = {(w, k): [] for w in ("one", "stack")
                                                       for k in ("forward", "train")}
        for r in range(warmup + rounds):
            for kind, index in (("forward", 0), ("train", 1)):
                one = timed(lambda: [s[index]() for s in singles])
                both = timed(together[index])
                if r >= warmup:
                    samples[("one", kind)].append(one)
                    samples[("stack", kind)].append(both)
        median = {key: sorted(v)[len(v) // 2] for key, v in samples.items()}
        items = shape.batch * shape.length
        rows.append(Row(label, name, stacked.backend, items / median[("stack", "forward")],
                        items / median[("stack", "train")],
                        median[("stack", "forward")] / median[("one", "forward")],
                        median[("stack", "train")] / median[("one", "train")], setup, None,
                        ONE_BY_ONE, _memory(stacked, xs, device)[1]))
    return rows


def _memory(model: nn.Module, x: torch.Tensor, device: torch.device
            ) -> tuple[float | None, float]:
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


def passes(model: nn.Module, x: torch.Tensor
           ) -> tuple[Callable[[], None], Callable[[], None]]:
    """The two timed calls: forward (no autograd) and forward + backward."""
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


def _baseline_rows(baseline: list[dict[str, object]]) -> dict[tuple[str, str], dict]:
    return {(str(r["shape"]), str(r["variant"])): r for r in baseline}


def regressions(rows: list[Row], baseline: list[dict[str, object]], tolerance: float
                ) -> list[str]:
    """Every (shape, variant) whose ratio to its reference grew by more than ``tolerance``
    over the baseline's, forward or forward + backward. Rows the baseline measured against
    another reference, or lacks, are not compared (``uncompared`` names them)."""
    base = _baseline_rows(baseline)
    found = []
    for row in rows:
        old = base.get((row.shape, row.variant))
        if (old is None or row.variant in REFERENCES
                or old.get("reference", REFERENCE) != row.reference):
            continue
        for kind in ("train_ratio", "forward_ratio"):
            now, then = getattr(row, kind), float(old[kind])  # type: ignore[arg-type]
            if now > then * (1 + tolerance):
                found.append(f"{row.variant} at {row.shape}: {kind.split('_')[0]} ratio "
                             f"{now:.2f} vs baseline {then:.2f} (+{now / then - 1:.0%}, "
                             f"tolerance {tolerance:.0%})")
    return found


def uncompared(rows: list[Row], baseline: list[dict[str, object]]) -> list[str]:
    """The cells of ``rows`` that ``regressions`` cannot judge against ``baseline``."""
    base = _baseline_rows(baseline)
    found = []
    for row in rows:
        if row.variant in REFERENCES:
            continue
        old = base.get((row.shape, row.variant))
        if old is None:
            found.append(f"{row.variant} at {row.shape}: not in the baseline")
        elif old.get("reference", REFERENCE) != row.reference:
            found.append(f"{row.variant} at {row.shape}: the baseline's ratio is to "
                         f"{old.get('reference', REFERENCE)}, this run's to {row.reference}")
    return found
