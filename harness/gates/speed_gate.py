"""The CI speed gate: this run's ratios (``harness.gates.bench``) judged against a committed
baseline.

A ratio (a cell's time over its torch reference's, or a stack of K trials' over the K run
one by one) still depends on the machine: another CPU's vector units, caches and threading
make torch's fused kernels, our kernels and batched products gain or lose against each
other. Measured between two 2-core machines, every cell's ratio moved by a factor of
1.1-1.7 (population rows 1.2-1.9), mostly together. So the gate judges each cell against
the others measured with it:

- **the machine's factor**: for each group of rows (one shape, one pass: forward or forward +
  backward), the median over its cells of (ratio now / ratio in the baseline). It is what
  this machine does to every cell alike.
- **a slower cell**: a cell whose ratio grew by more than ``tolerance`` beyond its group's
  factor. One cell made slower stands out however different the machine is.
- **a slower group**: a group whose factor itself exceeds ``1 + machine_tolerance``: most
  cells slower at once (a change to code they share), or a machine far from the baseline's
  (then refresh the baseline there). With fewer than ``MIN_GROUP`` compared cells there is
  no factor to take, and cells are judged against the baseline directly.

The command (``harness bench --compare``) measures the cells over the tolerance again, up to
three runs, each cell keeping its best, before it fails: a burst of load is not a regression.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.gates.bench import KINDS, REFERENCE, REFERENCES, BenchError, Row

MIN_GROUP = 3  # compared cells a group needs before its median is the machine's factor
MACHINE_TOLERANCE = 1.0  # a group's factor above 2x fails: a common slowdown


def save(rows: list[Row], path: str, meta: dict[str, object]) -> None:
    Path(path).write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1))


def load(path: str, threads: int | None = None) -> list[dict[str, object]]:
    """The rows of a baseline file; with ``threads``, refused unless it was measured with
    as many torch threads (a ratio at one thread count says nothing about another's)."""
    return read_baseline(
        path,
        threads,
        "rows",
        {"shape", "variant", "train_ratio", "forward_ratio"},
        "harness bench --json",
    )


def read_baseline(
    path: str, threads: int | None, table: str, columns: set[str], writer: str
) -> list[dict[str, object]]:
    """The ``table`` rows (each with ``columns``) of a JSON baseline that ``writer``
    wrote; one line (``BenchError``) when it is missing, not such a file, or measured with
    another number of torch threads than ``threads``."""
    try:
        data = json.loads(Path(path).read_text())
        rows = data[table]
        assert all(columns <= set(r) for r in rows)
    except FileNotFoundError:
        raise BenchError(f"baseline {path} does not exist; write one with '{writer}'") from None
    except (json.JSONDecodeError, KeyError, TypeError, AssertionError):
        raise BenchError(f"baseline {path} is not a file written by '{writer}'") from None
    measured = data.get("meta", {}).get("threads") if isinstance(data, dict) else None
    if threads is not None and measured is not None and measured != threads:
        raise BenchError(
            f"baseline {path} was measured with {measured} torch thread(s), this "
            f"run uses {threads}: pass --threads {measured}, or refresh the "
            "baseline with --json"
        )
    return rows


@dataclass
class Judgement:
    """What the gate found: failures (``slower``), and what it could not judge."""

    slower: list[str] = field(default_factory=list)  # each line a failure
    uncompared: list[str] = field(default_factory=list)
    factors: dict[tuple[str, str], float] = field(default_factory=dict)  # (shape, kind)
    suspects: set[str] = field(default_factory=set)  # variants worth measuring again

    @property
    def passed(self) -> bool:
        return not self.slower


def _comparable(
    rows: list[Row], baseline: list[dict[str, object]]
) -> tuple[list[tuple[Row, dict]], list[str]]:
    """(row, its baseline row) pairs that measure the same thing, and why the others don't."""
    base = {(str(r["shape"]), str(r["variant"])): r for r in baseline}
    pairs, skipped = [], []
    for row in rows:
        if row.variant in REFERENCES:
            continue
        old = base.get((row.shape, row.variant))
        if old is None:
            skipped.append(f"{row.variant} at {row.shape}: not in the baseline")
        elif old.get("reference", REFERENCE) != row.reference:
            skipped.append(
                f"{row.variant} at {row.shape}: the baseline's ratio is to "
                f"{old.get('reference', REFERENCE)}, this run's to {row.reference}"
            )
        else:
            pairs.append((row, old))
    return pairs, skipped


def judge(
    rows: list[Row],
    baseline: list[dict[str, object]],
    tolerance: float,
    machine_tolerance: float = MACHINE_TOLERANCE,
) -> Judgement:
    """Judge ``rows`` against ``baseline`` (see the module's docstring)."""
    pairs, skipped = _comparable(rows, baseline)
    verdict = Judgement(uncompared=skipped)
    for shape in dict.fromkeys(row.shape for row, _ in pairs):
        for kind in KINDS:
            growth = {
                row.variant: (getattr(row, f"{kind}_ratio"), float(old[f"{kind}_ratio"]))  # type: ignore[arg-type]
                for row, old in pairs
                if row.shape == shape
            }
            factor = (
                statistics.median(now / then for now, then in growth.values())
                if len(growth) >= MIN_GROUP
                else 1.0
            )
            verdict.factors[(shape, kind)] = factor
            for variant, (now, then) in growth.items():
                beyond = now / then / factor
                if beyond > 1 + tolerance:
                    against = (
                        f"; +{beyond - 1:.0%} beyond this machine's factor "
                        f"{factor:.2f} at this shape"
                        if len(growth) >= MIN_GROUP
                        else ""
                    )
                    verdict.slower.append(
                        f"{variant} at {shape}: {kind} ratio {now:.2f} vs baseline {then:.2f} "
                        f"(+{now / then - 1:.0%}{against}; tolerance {tolerance:.0%})"
                    )
                    verdict.suspects.add(variant)
            if factor > 1 + machine_tolerance:
                verdict.slower.append(
                    f"every cell at {shape}: {kind} ratios a median {factor:.2f}x the "
                    f"baseline's (tolerance {machine_tolerance:.0%}): code the cells share "
                    "got slower, or this machine is far from the baseline's (refresh the "
                    "baseline on it)"
                )
                verdict.suspects.update(growth)
    return verdict
