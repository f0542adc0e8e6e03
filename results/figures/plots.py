"""The report's figures, drawn off screen (PNG, fixed dpi), readable at a browser's width.

Every figure fits a 1,400-pixel window (``plot_kit.MAX_WIDTH``), gives each of up to 30
variants its own colour and line style (``plot_kit.variant_styles``), and cuts its value
axis to the range the variants share, naming in the panel any variant that runs off it
(``plot_kit.robust_limits``), so that one diverging variant does not flatten the others.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from results.figures import plot_kit
from results.figures.plot_kit import Style, plt

PANEL = (3.4, 2.5)  # inches per panel: three across plus the legend fit MAX_WIDTH
COLUMNS = 3
PALETTE = "tab20"  # of the figures that colour by a palette (findings, inside the cells)
_CUT = (
    "The value axis is cut to the range the variants share; a variant that runs off it "
    "is named in the panel with its most extreme value."
)
CAPTIONS = {  # figure file's stem: (heading, what it shows)
    "train_loss": (
        "Training loss",
        "Per task, the median over seeds of each variant's "
        "training loss (log scale), the middle half of the seeds as a band. " + _CUT,
    ),
    "final_metric": (
        "Test metric per variant",
        "Per task, a box over seeds per variant "
        "with the seeds as points (diverged: red crosses), chance dashed. The "
        "axis is cut to the range the variants share: runs beyond it are red "
        "triangles on the edge, and their variant is named with its most "
        "extreme value.",
    ),
    "grad_norm": (
        "Gradient norm",
        "Per task, the median over seeds of the gradient's norm "
        "during training (log scale), the middle half as a band. " + _CUT,
    ),
    "gradient_through_time": (
        "Gradient through time",
        "||dLoss/dh_t|| against the "
        "distance from the end of the sequence (median over seeds, "
        "log scale), at the first evaluation (near the initialisation) "
        "and the last (trained). " + _CUT,
    ),
    "throughput": (
        "Throughput",
        "Each variant's training throughput per task: the median "
        "run's time steps × batch per second (in a population, its share of the "
        "stack's rate).",
    ),
}


def _save(figure: plt.Figure | sns.FacetGrid, path: Path) -> Path:
    """``plot_kit.save`` for a figure or a seaborn grid (the inside figures use it)."""
    return plot_kit.save(figure.figure if isinstance(figure, sns.FacetGrid) else figure, path)


def _panels(
    count: int, columns: int = COLUMNS, size: tuple[float, float] = PANEL, sharex: bool = False
) -> tuple[plt.Figure, list[plt.Axes]]:
    """A grid of ``count`` panels, ``columns`` across, the unused ones hidden."""
    cols = min(columns, count)
    rows = math.ceil(count / cols)
    figure, axes = plt.subplots(
        rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False, sharex=sharex
    )
    figure.subplots_adjust(hspace=0.55, wspace=0.32, right=0.97)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    return figure, flat[:count]


def _quartiles(data: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Per group of ``by``: the median of ``value`` over seeds and its middle half."""
    grouped = data.groupby(by, sort=True)[value]
    return pd.DataFrame(
        {"q25": grouped.quantile(0.25), "median": grouped.median(), "q75": grouped.quantile(0.75)}
    ).reset_index()


def _clip_notes(
    lines: dict[str, np.ndarray], limits: tuple[float, float]
) -> dict[str, tuple[float, str]]:
    """For each variant with values off ``limits``: its most extreme value, and where."""
    notes = {}
    for variant, values in lines.items():
        above, below = plot_kit.off_scale(values, limits)
        if above.any():
            notes[variant] = (float(np.nanmax(values)), "above")
        elif below.any():
            notes[variant] = (float(np.nanmin(values)), "below")
    return notes


def _lines(
    ax: plt.Axes, summary: pd.DataFrame, x: str, styles: dict[str, Style], band: bool, log: bool
) -> None:
    """One median line per variant (with its band over seeds when ``band``; a few markers
    on it, the variant's, which tell apart two of one colour), the value axis cut above to
    the variants' shared range (a diverging loss or gradient goes up; how far one falls is
    the picture's content), variants off it named."""
    lines = {str(v): g["median"].to_numpy(dtype=float) for v, g in summary.groupby("variant")}
    for variant, rows in summary.groupby("variant"):
        style = styles[str(variant)]
        ax.plot(
            rows[x],
            rows["median"],
            color=style.color,
            linestyle=style.linestyle,
            linewidth=1.1,
            marker=style.marker,
            markersize=2.5,
            markevery=max(1, len(rows) // 5),
        )
        if band:
            ax.fill_between(
                rows[x], rows["q25"], rows["q75"], color=style.color, alpha=0.08, linewidth=0
            )
    if log:
        ax.set_yscale("log")
    limits = plot_kit.robust_limits(lines.values(), log=log, cut="above")
    if limits is not None:
        ax.set_ylim(*limits)
        plot_kit.note_off_scale(ax, _clip_notes(lines, limits), styles)
    if log:
        plot_kit.log_axis(ax)


def loss_curves(curves: pd.DataFrame, out: Path, name: str = "train_loss") -> Path | None:
    """One panel per task, one line per variant (median over seeds, the middle half as a
    band), log scale cut to the variants' shared range."""
    data = curves[curves["name"] == name]
    if data.empty:
        return None
    styles = plot_kit.variant_styles(data["variant"].unique())
    tasks = sorted(data["task"].unique())
    figure, axes = _panels(len(tasks))
    summary = _quartiles(data, ["task", "variant", "step"], "value")
    for ax, task in zip(axes, tasks):
        _lines(ax, summary[summary["task"] == task], "step", styles, band=True, log=True)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[:: min(COLUMNS, len(tasks))]:
        ax.set_ylabel("gradient norm" if name == "grad_norm" else "training loss", fontsize=8)
    plot_kit.legend_of(figure, styles, data["variant"].unique())
    return plot_kit.save(figure, out / f"{name}.png")


def final_metric(runs: pd.DataFrame, out: Path) -> Path | None:
    """Test metric per variant and task: a box over seeds with the seeds as points
    (diverged ones as red crosses), chance dashed, the axis cut to the variants' shared
    range with the runs beyond it drawn as triangles on the edge and named."""
    done = runs[runs["status"].isin(["complete", "diverged"])].dropna(subset=["test"])
    if done.empty:
        return None
    variants = sorted(done["variant"].unique())
    styles = plot_kit.variant_styles(variants)
    tasks = sorted(done["task"].unique())
    figure, axes = _panels(len(tasks), size=(3.5, 2.9))
    for ax, task in zip(axes, tasks):
        rows = done[done["task"] == task]
        _boxes(ax, rows, variants, styles)
        lower = bool(rows["lower_is_better"].iloc[0])
        ax.set_title(f"{task} ({'lower' if lower else 'higher'} is better)", fontsize=9)
        ax.set_ylabel(f"test {rows['metric'].iloc[0]}", fontsize=8)
    return plot_kit.save(figure, out / "final_metric.png")


def _boxes(ax: plt.Axes, rows: pd.DataFrame, variants: list[str], styles: dict[str, Style]) -> None:
    """One task's panel; the axis is cut on the metric's bad side only (a run far worse
    than the others is the one to cut; none can be better than the best)."""
    values = {v: rows.loc[rows["variant"] == v, "test"].to_numpy(dtype=float) for v in variants}
    chance = float(rows["chance"].iloc[0])
    worse = "above" if bool(rows["lower_is_better"].iloc[0]) else "below"
    limits = plot_kit.robust_limits(values.values(), include=[chance], cut=worse)
    present = [i for i, v in enumerate(variants) if len(values[v])]
    boxes = ax.boxplot(
        [values[variants[i]] for i in present],
        positions=present,
        widths=0.6,
        showfliers=False,
        patch_artist=True,
    )
    for patch, i in zip(boxes["boxes"], present):
        patch.set(facecolor=(*styles[variants[i]].color, 0.45), edgecolor="0.3", linewidth=0.8)
    for part in ("medians", "whiskers", "caps"):
        plt.setp(boxes[part], color="0.3", linewidth=0.8)
    jitter = np.random.default_rng(0)  # fixed: the same figure every build
    for i, variant in enumerate(variants):
        mine = rows[rows["variant"] == variant]
        x = i + jitter.uniform(-0.15, 0.15, len(mine))
        y = mine["test"].to_numpy(dtype=float)
        diverged = (mine["status"] == "diverged").to_numpy()
        if limits is not None:
            above, below = plot_kit.off_scale(y, limits)
            for beyond, edge, marker in ((above, limits[1], "^"), (below, limits[0], "v")):
                ax.scatter(
                    x[beyond],
                    np.full(beyond.sum(), edge),
                    marker=marker,
                    color="tab:red",
                    s=18,
                    zorder=3,
                    clip_on=False,
                )
        ax.scatter(x[~diverged], y[~diverged], s=4, color="k", alpha=0.5, zorder=2)
        ax.scatter(x[diverged], y[diverged], s=12, color="tab:red", marker="x", zorder=2)
    ax.axhline(chance, color="grey", linestyle="--", linewidth=1)
    if limits is not None:
        ax.set_ylim(*limits)
        plot_kit.note_off_scale(ax, _clip_notes(values, limits), styles)
    ax.set_xticks(range(len(variants)), variants, rotation=90, fontsize=7)
    ax.set_xlim(-0.7, len(variants) - 0.3)
    ax.tick_params(axis="y", labelsize=7)


def gradient_through_time(profiles: pd.DataFrame, out: Path) -> Path | None:
    """How far back the gradient reaches: ||dLoss/dh_t|| against the distance from the end
    of the sequence, per variant (log scale, median over seeds), at the first evaluation
    (near the initialisation: the vanishing gradient of the lectures' picture) and at the
    last (trained), side by side for each task."""
    data = profiles[profiles["when"].isin(["first", "last"])]
    if data.empty:
        return None
    styles = plot_kit.variant_styles(data["variant"].unique())
    tasks = sorted(data["task"].unique())
    figure, axes = _panels(2 * len(tasks), columns=4, size=(2.6, 2.1))
    summary = _quartiles(data, ["task", "when", "variant", "lag"], "norm")
    panels = [(t, w) for t in tasks for w in ("first", "last")]
    for ax, (task, when) in zip(axes, panels):
        mine = summary[(summary["task"] == task) & (summary["when"] == when)]
        _lines(ax, mine, "lag", styles, band=False, log=True)
        ax.set_title(f"{task}, {when} evaluation", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[-min(4, len(axes)) :]:
        ax.set_xlabel("steps before the end", fontsize=8)
    for ax in axes[::4]:
        ax.set_ylabel("||dLoss/dh_t||", fontsize=8)
    plot_kit.legend_of(figure, styles, data["variant"].unique())
    return plot_kit.save(figure, out / "gradient_through_time.png")


def throughput(runs: pd.DataFrame, out: Path) -> Path | None:
    """Training throughput per variant and task: each trial's own time steps × batch per
    second (in a population, the stack's rate over K), median over seeds."""
    data = runs.dropna(subset=["steps×batch/s"]) if "steps×batch/s" in runs else runs[:0]
    if data.empty:
        return None
    variants = sorted(data["variant"].unique())
    figure, ax = plt.subplots(
        figsize=(min(plot_kit.MAX_WIDTH - 1.5, 1.5 + 0.5 * len(variants)), 3.4)
    )
    sns.barplot(
        data=data,
        x="variant",
        y="steps×batch/s",
        hue="task",
        ax=ax,
        order=variants,
        hue_order=sorted(data["task"].unique()),
        estimator="median",
        errorbar=None,
        palette="tab10",
    )
    ax.set_ylabel("steps×batch/s per trial", fontsize=8)
    ax.set_xlabel("")
    plot_kit.thousands(ax)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        fontsize=8,
        title="task",
        title_fontsize=8,
    )
    return plot_kit.save(figure, out / "throughput.png")


def all_figures(
    runs: pd.DataFrame, curves: pd.DataFrame, profiles: pd.DataFrame, out: Path
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    drawn = [
        loss_curves(curves, out),
        final_metric(runs, out),
        loss_curves(curves, out, "grad_norm"),
        gradient_through_time(profiles, out),
        throughput(runs, out),
    ]
    return [p for p in drawn if p is not None]
