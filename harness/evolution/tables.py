"""A search's candidates as the tables its report shows: what was evaluated and what it
cost, the best finds beside the baselines at equal budget, the history of the best, and the
fresh-seed confirmation."""

from __future__ import annotations

import math

import optuna
import pandas as pd
from optuna.trial import TrialState

from harness.evolution import candidates as cands
from harness.evolution import confirm, suite
from variants import graphs

TOP = 3


def overview(every: list[cands.Candidate], trials: list[optuna.trial.FrozenTrial]) -> dict:
    """Counts (evaluated, pruned at each rung, scored at the top rung, interrupted) and the
    cost: worker-hours over the evaluated candidates and candidates per worker-hour."""
    found = [c for c in cands.counted(every) if c.baseline is None]
    hours = sum(_hours(t) for t in trials if t.number in {c.number for c in found})
    top = suite.RUNGS[-1]
    return {
        "candidates": len(found),
        "pruned": {
            r: sum(c.state == TrialState.PRUNED and c.top_rung == r for c in found)
            for r in suite.RUNGS[:-1]
        },
        "at_top": sum(c.top_rung == top for c in found),
        "interrupted": sum(c.interrupted for c in every),
        "worker_hours": hours,
        "per_hour": len(found) / hours if hours > 0 else float("nan"),
    }


def _hours(trial: optuna.trial.FrozenTrial) -> float:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return 0.0
    return (trial.datetime_complete - trial.datetime_start).total_seconds() / 3600


def best(every: list[cands.Candidate]) -> list[cands.Candidate]:
    """The ``TOP`` best candidates that are no baseline, best first."""
    return cands.finds(every)[:TOP]


def beside_baselines(every: list[cands.Candidate], rung: int) -> pd.DataFrame:
    """At ``rung`` (every cell with the same budget): the best finds and the baselines, their
    fitness and each task's test metric (its own units) and the learning rate kept."""
    chosen = [c for c in best(every) if rung in c.rungs]
    chosen += [c for c in every if c.baseline and rung in c.rungs and not c.interrupted]
    rows = []
    for c in chosen:
        row = {"cell": c.name, "fitness": c.fitness.get(rung, math.nan)}
        for task, result in c.rungs[rung].items():
            about = suite.by_name(task)
            row[f"{task} {about.metric}"] = about.metric_of(result["test"])
            row[f"{task} lr"] = result["lr"]
        rows.append(row)
    return pd.DataFrame(rows)


def equations(every: list[cands.Candidate]) -> list[tuple[str, str]]:
    """(name, equations) of the best finds, each named with the mutation that made it."""
    names = {c.hash: c.name for c in every}
    return [
        (
            f"{c.name}: {c.mutation} mutation of {names.get(c.parent or '', '-')}",
            graphs.render(c.graph),
        )
        for c in best(every)
    ]


def history(every: list[cands.Candidate]) -> pd.DataFrame:
    """Per evaluated candidate in trial order: its fitness at rung 1 (every task, the base
    budget) and the best so far; NaN where it was pruned before."""
    rows, so_far = [], -math.inf
    for c in cands.counted(every):
        if c.baseline is not None:
            continue
        value = c.fitness.get(1, math.nan)
        if math.isfinite(value):
            so_far = max(so_far, value)
        rows.append(
            {
                "trial": c.number,
                "fitness": value,
                "best so far": so_far if so_far > -math.inf else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=["trial", "fitness", "best so far"])


def confirmation(study: optuna.Study, every: list[cands.Candidate]) -> pd.DataFrame:
    """The fresh-seed fitness of each confirmed cell against the GRU and LSTM-b."""
    stored = study.user_attrs.get(confirm.CONFIRMATION) or {}
    if not stored:
        return pd.DataFrame()
    by_hash = {c.hash: c for c in every}
    against = {b: confirm.intervals(study, b) for b in confirm.AGAINST}
    rows = []
    for key, entry in stored.items():
        c = by_hash.get(key)
        searched = c.fitness.get(suite.RUNGS[-1]) if c else None
        row = {"cell": entry["name"], "seeds": len(entry["seeds"]), "search fitness": searched}
        for name, table in against.items():
            ci = table.get(key)
            if ci is None:
                continue
            row[f"vs {name}"] = f"{ci.mean:.3f} [{ci.low:.3f}, {ci.high:.3f}]"
            if name == cands.REFERENCE and c is not None and c.baseline is None:
                row["rank"] = ci.verdict(searched)
        rows.append(row)
    return pd.DataFrame(rows)
