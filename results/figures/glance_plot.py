"""The at-a-glance figures: variants × tasks on one scale, and the ranking.

Left, a heatmap: a row per variant (best first), a column per task, coloured by the median
share of the way from chance to the task's best run (``results.analysis.glance``), the seeds' middle
half printed under it, hatched with ✗ where no run beat chance. Right, the ranking: each
variant's overall score with its 95 % bootstrap interval, so that two rows whose intervals
overlap read as a tie, not as an order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.image import AxesImage

from results.analysis import glance
from results.figures import plot_kit
from results.figures.plot_kit import plt

CMAP = "viridis"


def cost_figure(trials: pd.DataFrame, folder: Path) -> Path | None:
    """``folder/quality_cost.png``: each variant's score (with its 95 % interval) against its
    time per trial-step relative to lstm's, so that the cheapest variant as good as the best
    stands out (up and to the left); None without costs."""
    cost = glance.costs(trials)
    if cost.empty:
        return None
    ranked = glance.ranking(trials).merge(cost, on="variant")
    ranked = ranked[np.isfinite(ranked["time"].astype(float)) & np.isfinite(ranked["score"])]
    if ranked.empty:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    markers = "osD^vP*Xh<>p"
    colours = plt.get_cmap("tab20").colors
    for k, r in enumerate(ranked.itertuples()):
        ax.errorbar(
            r.time,
            r.score,
            yerr=[[r.score - r.low], [r.high - r.score]],
            fmt=markers[k % len(markers)],
            color=colours[k % len(colours)],
            markersize=6,
            capsize=2,
            elinewidth=1,
            label=r.variant,
        )
        ax.annotate(
            r.variant, (r.time, r.score), textcoords="offset points", xytext=(5, 3), fontsize=7
        )
    ax.set_xscale("log")
    ax.axvline(1.0, color="0.8", linewidth=1, zorder=0)
    ax.set_xlabel(
        f"time per trial-step relative to {glance.REFERENCE} (log scale; left is cheaper)",
        fontsize=8,
    )
    ax.set_ylabel("score (share of the way from chance to the best run)", fontsize=8)
    ax.set_title("quality against cost: one point per variant, 95 % interval", fontsize=9)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    ax.grid(color="0.93")
    return plot_kit.save(fig, folder / "quality_cost.png")


def figure(trials: pd.DataFrame, folder: Path, runs: str = "seeds") -> Path | None:
    """Draw ``folder/at_a_glance.png``; None when no task has a share (no trials)."""
    each, ranked = glance.cells(trials), glance.ranking(trials)
    if each.empty:
        return None
    variants = list(ranked["variant"])
    tasks = sorted(map(str, each["task"].unique()))
    grid = each.set_index(["variant", "task"])
    share = grid["share"].unstack("task").reindex(index=variants, columns=tasks)
    fig, (ax, rank) = plt.subplots(
        1,
        2,
        sharey=True,
        figsize=(min(plot_kit.MAX_WIDTH, 3.6 + 1.2 * len(tasks)), 1.6 + 0.4 * len(variants)),
        gridspec_kw={"width_ratios": [1.2 * len(tasks), 2.2], "wspace": 0.04},
    )
    image = ax.imshow(
        share.to_numpy(dtype=float).clip(0, 1), cmap=CMAP, vmin=0, vmax=1, aspect="auto"
    )
    for i, variant in enumerate(variants):
        for j, task in enumerate(tasks):
            if (variant, task) in grid.index:
                _annotate(ax, i, j, grid.loc[(variant, task)], image)
            else:  # a grid still running, or a variant left out of a task
                ax.text(j, i, "no runs", ha="center", va="center", fontsize=7, color="0.5")
    ax.set_xticks(range(len(tasks)), tasks, rotation=20, ha="left", fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(variants)), variants, fontsize=9)
    ax.tick_params(length=0)
    # below the heatmap, inside its height budget: a colour bar that took its own room
    # would shorten the heatmap and leave the ranking's rows out of line with it
    rows = len(variants)  # the heatmap is 0.4 inch a row: the bar 0.12 inch, 0.24 below
    colourbar = fig.colorbar(
        image, cax=ax.inset_axes([0.0, -0.9 / rows, 1.0, 0.3 / rows]), orientation="horizontal"
    )
    colourbar.set_label(
        "median share of the way from chance (0) to the task's best run "
        f"(1); small: the middle half of the {runs}; ✗: never beat chance",
        fontsize=8,
    )
    colourbar.ax.tick_params(labelsize=7)
    _ranking(rank, ranked, runs)
    return plot_kit.save(fig, folder / "at_a_glance.png")


def _annotate(ax: plt.Axes, i: int, j: int, cell: pd.Series, image: AxesImage) -> None:
    """The median share, its spread below in small type; hatched with ✗ if never beaten."""
    share = float(cell["share"])
    if cell["beat"] == 0:
        ax.add_patch(
            plt.Rectangle(
                (j - 0.5, i - 0.5),
                1,
                1,
                facecolor="0.93",
                hatch="///",
                edgecolor="0.75",
                linewidth=0,
            )
        )
        text = "✗" if not np.isfinite(share) else f"✗ {glance.two(share)}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8.5, color="0.3")
        return
    rgba = image.cmap(image.norm(np.clip(share, 0, 1)))
    ink = "white" if 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.55 else "black"
    ax.text(j, i - 0.14, glance.two(share), ha="center", va="center", fontsize=8.5, color=ink)
    ax.text(
        j,
        i + 0.24,
        glance.spread(cell["q25"], cell["q75"]),
        ha="center",
        va="center",
        fontsize=6.5,
        color=ink,
    )


def _ranking(ax: plt.Axes, ranked: pd.DataFrame, runs: str) -> None:
    """The overall score per variant, a dot with its 95 % interval as a bar; hollow where
    the variant has fewer tasks than the others (a mean over other tasks)."""
    y = np.arange(len(ranked))
    score = ranked["score"].to_numpy(dtype=float)
    errors = np.vstack(
        [score - ranked["low"].to_numpy(dtype=float), ranked["high"].to_numpy(dtype=float) - score]
    )
    ax.errorbar(
        score, y, xerr=np.nan_to_num(errors), fmt="none", ecolor="k", elinewidth=1, capsize=2
    )
    partial = (ranked["tasks"] < ranked["tasks"].max()).to_numpy()
    ax.scatter(score[~partial], y[~partial], s=14, color="k", zorder=3)
    ax.scatter(
        score[partial],
        y[partial],
        s=14,
        facecolor="white",
        edgecolor="k",
        zorder=3,
        label="on fewer tasks",
    )
    if partial.any():
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xticks([0, 0.5, 1])
    ax.tick_params(labelsize=7, length=2)
    ax.grid(axis="x", color="0.9")
    ax.set_title("score, 95 % interval\n(bootstrap over " + runs + ")", fontsize=8, pad=14)
    ax.xaxis.tick_top()
    ax.tick_params(axis="y", length=0)
