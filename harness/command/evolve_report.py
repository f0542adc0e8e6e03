"""The report of ``harness evolve``: what the search evaluated and what it cost, its best
finds as equations and beside GRU, LSTM-b and LSTM at equal budget, its history, and the
fresh-seed confirmation (``report.md`` and ``report.html``)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import optuna

from harness.evolution import candidates as cands
from harness.evolution import suite, tables
from results.figures import evolution_plot
from results.rendering import document, report_folder
from results.rendering.document import Block
from variants.graphs import MUTATIONS


def write(study: optuna.Study, folder: Path, shown_storage: str, started: float) -> Path:
    """Write the report into ``folder``; returns the folder."""
    every = cands.read(study)
    trials = study.get_trials(deepcopy=False)

    def build(staging: Path) -> Path:
        blocks = _blocks(study, every, trials, staging, shown_storage, started)
        (staging / "report.md").write_text(document.to_md(blocks, staging))
        (staging / "report.html").write_text(document.to_html(blocks))
        return staging / "report.md"

    return report_folder.write(folder, build, shown_storage).parent


def _blocks(
    study: optuna.Study,
    every: list[cands.Candidate],
    trials: list[optuna.trial.FrozenTrial],
    staging: Path,
    shown_storage: str,
    started: float,
) -> list[Block]:
    seen = tables.overview(every, trials)
    top = suite.RUNGS[-1]
    pruned = ", ".join(f"{n} after rung {r}" for r, n in seen["pruned"].items())
    blocks: list[Block] = [
        ("h1", f"Cell search {study.study_name}"),
        (
            "p",
            f"Storage {shown_storage}. **{seen['candidates']} candidates evaluated** "
            f"({pruned}; {seen['at_top']} scored at rung {top}, the full budget); "
            f"{seen['interrupted']} cut short by an interruption, not counted. Worker time "
            f"{seen['worker_hours']:.2f} h: {_rate(seen['per_hour'])} candidates per "
            f"worker-hour. This command ran {time.monotonic() - started:.0f} s.",
        ),
        ("h2", "Protocol"),
        ("p", _protocol()),
        ("h2", f"Best finds beside the baselines (rung {top}, equal budget)"),
    ]
    side = tables.beside_baselines(every, top)
    blocks += [("table", side)] if not side.empty else [("p", f"Nothing scored at rung {top} yet.")]
    blocks.append(("h2", "The best finds' equations"))
    for name, text in tables.equations(every):
        blocks += [("h3", name), ("md", f"```\n{text}\n```")]
    figure = evolution_plot.history(tables.history(every), staging)
    if figure is not None:
        blocks += [("h2", "History"), ("img", figure)]
    confirmed = tables.confirmation(study, every)
    blocks.append(("h2", "Confirmation with fresh seeds"))
    if confirmed.empty:
        blocks.append(
            (
                "p",
                "None yet: `harness evolve --confirm 5` trains the best find and "
                "the baselines again with five fresh seeds.",
            )
        )
    else:
        blocks += [("p", _confirmation_note()), ("table", confirmed)]
    return blocks


def _rate(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.1f}"


def _protocol() -> str:
    names = ", ".join(f"{t.name} ({t.kind}, {t.metric})" for t in suite.SUITE)
    mutations = ", ".join(f"{k} {p:.2f}" for k, p in MUTATIONS.items())
    return (
        f"Jozefowicz et al. (2015), on a laptop's budget. Tasks: {names}. Each task trains "
        f"with Adam at learning rates {', '.join(f'{lr:g}' for lr in suite.LEARNING_RATES)} "
        f"(hidden {suite.HIDDEN}, seed of the search) and keeps the best by validation. "
        "Score: recall or digit accuracy, or the per-step likelihood exp(-nll). Fitness: "
        "the minimum over tasks of the score over the GRU's at the same rung. Rungs: 0 "
        "memorization alone (the paper's filter), 1 every task, 2 every task at three times "
        "the budget; Optuna's successive-halving pruner keeps the top third after rungs 0 "
        f"and 1. Mutations (one per candidate, kind drawn with these probabilities): "
        f"{mutations}. One seed per candidate: a ranking here is a hypothesis until the "
        "confirmation below tests it."
    )


def _confirmation_note() -> str:
    return (
        "Each cell trained again with fresh seeds at rung 2's budget; fitness against the GRU "
        "and LSTM-b of the same seed, on test scores: mean [95 % t interval]. A rank is "
        "confirmed where the interval lies on the side of 1 the search fitness was on, "
        "refuted where it lies on the other, inconclusive where it holds 1."
    )
