"""The history of a cell search: each candidate's fitness at the base budget, and the best so
far, against the order in which the candidates were proposed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from results.figures import plot_kit
from results.figures.plot_kit import plt


def history(frame: pd.DataFrame, folder: Path) -> Path | None:
    """``folder/history.png`` from ``trial``, ``fitness`` (at rung 1, every task at the base
    budget) and ``best so far`` columns (a fitness of 1 is the GRU's); None when no
    candidate was scored at the base budget."""
    scored = frame.dropna(subset=["fitness"])
    if scored.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.scatter(scored["trial"], scored["fitness"], s=14, alpha=0.6, label="candidate")
    ax.step(frame["trial"], frame["best so far"], where="post", color="C3", label="best so far")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="GRU")
    ax.set_xlabel("trial (order proposed)")
    ax.set_ylabel("fitness at rung 1 (worst task / GRU's)")
    ax.legend(loc="lower right", fontsize=8)
    return plot_kit.save(fig, folder / "history.png")
