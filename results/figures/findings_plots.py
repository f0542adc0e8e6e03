"""Figures of the findings report, per task: Greff et al.'s box plots (their figure 3), the
metric against the learning rate (figure 4), fANOVA shares, a learning-rate × hidden-size
heat map, and per finding the effect sizes it rests on.

Seaborn off screen, PNG at the house dpi, every figure closed. Each function writes one file
into ``folder`` and returns its path, or None when there is nothing to draw. A variant keeps
its colour in every figure (one palette over all variants of the trials), and lstm comes
first, the rest by median, best first, so ~10 variants stay readable.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI or servers

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

from results.analysis.reproduction import Analysis  # noqa: E402
from results.analysis.top_trials import REFERENCE  # noqa: E402
from results.analysis.trained import baseline  # noqa: E402
from results.figures.plot_kit import same_jitter  # noqa: E402
from results.figures.plot_kit import save as _save  # noqa: E402
from results.figures.plots import PALETTE  # noqa: E402

# how each verdict against lstm is marked above its box
MARKS = {
    "worse": ("*", "tab:red"),
    "better": ("+", "tab:green"),
    "not significant": ("", "k"),
    "untested": ("?", "grey"),
}
WRAP = 5  # panels per row in the per-variant grids


def slug(text: str) -> str:
    """A file-name-safe version of a task name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "task"


def palette(variants: Iterable[str]) -> dict[str, tuple[float, float, float]]:
    """A fixed colour per variant, lstm black-ish first, the others in name order."""
    names = sorted(set(map(str, variants)) - {REFERENCE})
    colours = sns.color_palette(PALETTE, max(len(names), 1))
    return {REFERENCE: (0.25, 0.25, 0.25), **dict(zip(names, colours))}


def _task(trials: pd.DataFrame, task: str) -> tuple[pd.DataFrame, str, bool]:
    data = trials[trials["task"] == task].dropna(subset=["value"])
    if data.empty:
        return data, "", True
    metric = str(data["metric"].iloc[0]) if "metric" in data else "metric"
    return data, metric, bool(data["lower_is_better"].iloc[0])


def _order(data: pd.DataFrame, lower: bool) -> list[str]:
    medians = data.groupby("variant")["value"].median().sort_values(ascending=lower)
    rest = [str(v) for v in medians.index if v != REFERENCE]
    return ([REFERENCE] if REFERENCE in medians.index else []) + rest


def _grid(
    k: int, width: float = 2.6, height: float = 2.2, sharey: bool = True
) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(WRAP, k)
    rows = math.ceil(k / cols)
    figure, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), sharex=True, sharey=sharey, squeeze=False
    )
    # room for every panel's x labels and title: the last row may be incomplete, so all
    # panels keep their x tick labels
    figure.subplots_adjust(hspace=0.5, wspace=0.12 if sharey else 0.3)
    flat = list(axes.ravel())
    for ax in flat[k:]:
        ax.set_visible(False)
    return figure, flat[:k]


@same_jitter
def boxes(trials: pd.DataFrame, tests: pd.DataFrame, folder: Path, task: str) -> Path | None:
    """Every trial's test metric per variant: box, trials as points (diverged ones as red
    crosses), lstm's median as a dashed line, chance dotted, and the verdict against lstm
    above each box ("*" significantly worse, "+" better, "?" untested)."""
    data, metric, lower = _task(trials, task)
    if data.empty:
        return None
    order, colours = _order(data, lower), palette(trials["variant"].unique())
    figure, ax = plt.subplots(figsize=(1.5 + 0.55 * len(order), 3.8))
    with warnings.catch_warnings():
        # seaborn 0.13 passes matplotlib 3.11's deprecated ``vert`` itself: not ours to fix
        warnings.filterwarnings("ignore", "vert: bool", matplotlib.MatplotlibDeprecationWarning)
        sns.boxplot(
            data=data,
            x="variant",
            y="value",
            hue="variant",
            order=order,
            hue_order=order,
            palette=colours,
            legend=False,
            showfliers=False,
            ax=ax,
        )
    diverged = (
        data["diverged"].astype(bool) if "diverged" in data else pd.Series(False, index=data.index)
    )
    sns.stripplot(
        data=data[~diverged],
        x="variant",
        y="value",
        order=order,
        color="k",
        size=2,
        alpha=0.4,
        ax=ax,
    )
    if np.any(diverged):
        sns.stripplot(
            data=data[diverged],
            x="variant",
            y="value",
            order=order,
            color="tab:red",
            marker="X",
            size=3,
            alpha=0.6,
            ax=ax,
        )
    if REFERENCE in order:
        ax.axhline(
            data.loc[data["variant"] == REFERENCE, "value"].median(),
            color="k",
            linestyle="--",
            linewidth=1,
        )
    if "chance" in data:
        ax.axhline(float(data["chance"].iloc[0]), color="grey", linestyle=":", linewidth=1)
    verdicts = tests[(tests["task"] == task) & (tests["reference"] == REFERENCE)]
    verdicts = dict(zip(verdicts["variant"], verdicts["verdict"]))
    above = blended_transform_factory(ax.transData, ax.transAxes)
    for i, variant in enumerate(order):
        mark, colour = MARKS.get(verdicts.get(variant, ""), ("", "k"))
        ax.text(
            i,
            1.01,
            mark,
            transform=above,
            ha="center",
            va="bottom",
            color=colour,
            fontsize=12,
            fontweight="bold",
        )
    ax.set_title(f"{task}: test {metric} ({'lower' if lower else 'higher'} is better)", pad=16)
    ax.set_xlabel("")
    ax.set_ylabel(f"test {metric}")
    ax.tick_params(axis="x", rotation=90)
    return _save(figure, folder / f"box_{slug(task)}.png")


def _binned_median(x: np.ndarray, y: np.ndarray, bins: int = 8) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(x.min(), x.max(), bins + 1)
    which = np.clip(np.digitize(x, edges) - 1, 0, bins - 1)
    centres = (edges[1:] + edges[:-1]) / 2
    medians = np.array(
        [np.median(y[which == b]) if np.any(which == b) else np.nan for b in range(bins)]
    )
    return centres, medians


def learning_rate(trials: pd.DataFrame, folder: Path, task: str) -> Path | None:
    """Test metric against the learning rate (log x), one panel per variant, with the
    binned median of the variant (colour) and of lstm (dashed, in every panel)."""
    data, metric, lower = _task(trials, task)
    if data.empty or "lr" not in data or data["lr"].dropna().nunique() < 2:
        return None
    data = data.dropna(subset=["lr"])
    order, colours = _order(data, lower), palette(trials["variant"].unique())
    figure, axes = _grid(len(order))
    # log10 on a linear axis, labelled as powers of ten: the same picture as a log axis
    # without matplotlib's minor-tick machinery, which costs seconds on a grid of panels
    log_lr = np.log10(data["lr"].to_numpy(dtype=float))
    values = data["value"].to_numpy(dtype=float)
    reference = data["variant"].to_numpy() == REFERENCE
    ref_line = (
        _binned_median(log_lr[reference], values[reference]) if reference.sum() >= 2 else None
    )
    for ax, variant in zip(axes, order):
        mine = (data["variant"] == variant).to_numpy()
        ax.scatter(log_lr[mine], values[mine], s=6, alpha=0.5, color=colours[variant])
        if mine.sum() >= 2:
            ax.plot(
                *_binned_median(log_lr[mine], values[mine]), color=colours[variant], linewidth=1.5
            )
        if ref_line is not None and variant != REFERENCE:
            ax.plot(*ref_line, color="k", linestyle="--", linewidth=1)
        ax.set_title(variant, fontsize=9)
        ax.tick_params(labelbottom=True, labelsize=7)
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{v:.0f}"))
    figure.supxlabel("learning rate (log scale)")
    figure.supylabel(f"test {metric}")
    figure.suptitle(f"{task}: test {metric} against learning rate (dashed: lstm's median)")
    return _save(figure, folder / f"lr_{slug(task)}.png")


@same_jitter
def importance(
    shares: pd.DataFrame,
    medians: pd.DataFrame,
    folder: Path,
    task: str,
    intervals: pd.DataFrame | None = None,
) -> Path | None:
    """fANOVA shares of variance on ``task``: every main effect and the largest pair (by
    ``medians``, ``importance.median_shares``), the bar at the median over variants, the
    variants as coloured points, and where ``intervals`` (``importance.share_intervals``)
    has the term its 95 % bootstrap interval."""
    mine = shares[shares["task"] == task]
    if mine.empty:
        return None
    medians = medians[medians["task"] == task]
    pairs = medians[medians["order"] == 2].sort_values("share", ascending=False)
    terms = list(
        medians[medians["order"] == 1].sort_values("share", ascending=False)["term"]
    ) + list(pairs["term"].head(1))
    data = mine[mine["term"].isin(terms)]
    figure, ax = plt.subplots(figsize=(6.5, 0.45 * len(terms) + 1.2))
    sns.barplot(
        data=data,
        x="share",
        y="term",
        order=terms,
        estimator="median",
        errorbar=None,
        color="lightgrey",
        ax=ax,
    )
    sns.stripplot(
        data=data,
        x="share",
        y="term",
        order=terms,
        hue="variant",
        palette=palette(shares["variant"].unique()),
        size=5,
        jitter=0.15,
        ax=ax,
    )
    if intervals is not None:
        known = intervals[intervals["task"] == task].set_index("term")
        for y, term in enumerate(terms):
            if term in known.index:
                ax.plot(
                    [known.at[term, "low"], known.at[term, "high"]],
                    [y, y],
                    color="k",
                    linewidth=1.5,
                    solid_capstyle="butt",
                )
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "share of variance (fANOVA; bar: median over variants; line: its 95 % bootstrap interval)",
        fontsize=8,
    )
    ax.set_ylabel("")
    ax.set_title(f"{task}: hyperparameter importance")
    return _save(figure, folder / f"importance_{slug(task)}.png")


def lr_hidden(
    trials: pd.DataFrame, folder: Path, task: str, bins: tuple[int, int] = (6, 4)
) -> Path | None:
    """Median test metric per cell of log10(lr) × log10(hidden_size), one panel per variant,
    one colour scale per task (bright is good whichever the metric's direction); empty
    cells blank."""
    data, metric, lower = _task(trials, task)
    needed = ["lr", "hidden_size"]
    if (
        data.empty
        or not set(needed) <= set(data)
        or any(data[c].dropna().nunique() < 2 for c in needed)
    ):
        return None
    data = data.dropna(subset=needed)
    x, y = (np.log10(data[c].to_numpy(dtype=float)) for c in needed)
    x_edges, y_edges = (np.linspace(v.min(), v.max(), k + 1) for v, k in zip((x, y), bins))
    ix = np.clip(np.digitize(x, x_edges) - 1, 0, bins[0] - 1)
    iy = np.clip(np.digitize(y, y_edges) - 1, 0, bins[1] - 1)
    values = data["value"].to_numpy(dtype=float)
    order = _order(data, lower)
    figure, axes = _grid(len(order), width=2.4, height=2.3)
    low, high = np.nanpercentile(values, [5, 95])
    cmap = "viridis_r" if lower else "viridis"
    for ax, variant in zip(axes, order):
        mine = (data["variant"] == variant).to_numpy()
        cells = np.full((bins[1], bins[0]), np.nan)
        for (b, a), group in pd.Series(values[mine]).groupby([iy[mine], ix[mine]]):
            cells[b, a] = group.median()
        mesh = ax.pcolormesh(x_edges, y_edges, cells, cmap=cmap, vmin=low, vmax=high)
        ax.set_title(variant, fontsize=9)
        ax.tick_params(labelbottom=True, labelsize=7)
    axes[0].xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{v:.0f}"))
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{10**v:.0f}"))
    figure.colorbar(mesh, ax=axes, label=f"median test {metric}", shrink=0.8)
    figure.supxlabel("learning rate (log scale)")
    figure.supylabel("hidden size (log scale)")
    figure.suptitle(f"{task}: median test {metric} per learning rate × hidden size cell")
    return _save(figure, folder / f"lr_hidden_{slug(task)}.png")


def effects(tests: pd.DataFrame, folder: Path, name: str, title: str) -> Path | None:
    """The mean difference against the reference (positive = worse, in the metric's units)
    of each tested comparison in ``tests``, with its 90 % interval: one row per variant (and
    reference), a colour per task, a dot when Holm significant and a cross when not; the
    grey band is the equivalence margin."""
    data = tests[tests["verdict"] != "untested"].copy()
    if data.empty:
        return None
    data["comparison"] = [
        v if r == REFERENCE else f"{v} vs {r}" for v, r in zip(data["variant"], data["reference"])
    ]
    worst = data.groupby("comparison")["diff"].max().sort_values(ascending=False)
    rows = {k: i for i, k in enumerate(worst.index)}
    tasks = sorted(data["task"].unique())
    colours = dict(zip(tasks, sns.color_palette("tab10", len(tasks))))
    figure, ax = plt.subplots(figsize=(6.5, 0.4 * len(worst) + 1.4))
    margin = float(data["margin"].iloc[0])
    ax.axvspan(-margin, margin, color="0.92", zorder=0)
    ax.axvline(0, color="grey", linewidth=1)
    for k, task in enumerate(tasks):
        mine = data[data["task"] == task]
        y = mine["comparison"].map(rows).to_numpy() + (k - (len(tasks) - 1) / 2) * 0.18
        significant = mine["verdict"].isin(["better", "worse"]).to_numpy()
        ax.errorbar(
            mine["diff"],
            y,
            xerr=[mine["diff"] - mine["low"], mine["high"] - mine["diff"]],
            fmt="none",
            ecolor=colours[task],
            elinewidth=1,
            capsize=2,
        )
        ax.scatter(
            mine["diff"][significant],
            y[significant],
            color=colours[task],
            marker="o",
            s=30,
            label=task,
        )
        ax.scatter(
            mine["diff"][~significant], y[~significant], color=colours[task], marker="x", s=30
        )
    ax.set_yticks(range(len(worst)), list(worst.index))
    ax.invert_yaxis()
    ax.set_xlabel(
        "difference against the reference in the metric's units (positive: worse; "
        "bars: 90 % interval; grey: margin)",
        fontsize=8,
    )
    ax.set_title(title)
    ax.legend(
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        fontsize=7,
        frameon=False,
        title="task (x: not significant)",
        title_fontsize=7,
    )
    return _save(figure, folder / f"{slug(name)}.png")


def trained(trials: pd.DataFrame, folder: Path) -> Path | None:
    """Every trial's test metric against its learning rate, one panel per task: trained
    trials (better than the task's trivial model, dashed) dark, the others light."""
    data = trials.dropna(subset=["value", "lr"])
    if data.empty or data["lr"].nunique() < 2:
        return None
    tasks = sorted(data["task"].unique())
    figure, axes = _grid(len(tasks), width=3.6, height=3.0, sharey=False)
    for ax, task in zip(axes, tasks):
        mine = data[data["task"] == task]
        lower = bool(mine["lower_is_better"].iloc[0])
        line = float(baseline(mine).median())
        good = (mine["value"] < line) if lower else (mine["value"] > line)
        x = np.log10(mine["lr"].to_numpy(dtype=float))
        ax.scatter(x[~good], mine["value"][~good], s=5, color="tab:grey", alpha=0.4)
        ax.scatter(x[good], mine["value"][good], s=5, color="tab:blue", alpha=0.6)
        ax.axhline(line, color="k", linestyle="--", linewidth=1)
        spread = np.nanpercentile(mine["value"], [1, 99])
        pad = 0.1 * (spread[1] - spread[0] or 1.0)
        ax.set_ylim(min(spread[0], line) - pad, max(spread[1], line) + pad)
        metric = str(mine["metric"].iloc[0]) if "metric" in mine else "metric"
        ax.set_title(f"{task}: {good.mean():.0%} trained", fontsize=9)
        ax.set_ylabel(f"test {metric}", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{v:.0f}"))
        ax.tick_params(labelbottom=True, labelsize=7)
    # one row of short panels: the figure's title and label clear the panels' own only
    # when set outside them (the tight bounding box keeps them in the picture)
    figure.supxlabel("learning rate (log scale)", y=-0.06)
    figure.suptitle(
        "trials that trained (beat the task's trivial model: dashed) against the learning rate",
        y=1.06,
    )
    return _save(figure, folder / "trained.png")


def draw(analysis: Analysis, folder: Path) -> dict[str, list[Path]]:
    """Every figure of the findings report, drawn once: ``boxes`` (per paper dataset),
    ``finding N`` (the evidence of finding N where it has a figure) and ``trained``."""
    paper, trials = analysis.paper, analysis.trials
    drawn: dict[str, list[Path | None]] = {
        "boxes": [boxes(trials, analysis.tests, folder, t) for t in paper],
        "finding 4": [
            importance(analysis.importance.shares, analysis.medians, folder, t, analysis.shares)
            for t in paper
        ]
        + [learning_rate(trials, folder, t) for t in paper],
        "finding 5": [lr_hidden(trials, folder, t) for t in paper],
        "trained": [trained(trials, folder)] if len(trials) else [],
    }
    for f in analysis.results:
        if f.number in analysis.effects:
            drawn[f"finding {f.number}"] = [
                effects(
                    analysis.effects[f.number],
                    folder,
                    f"finding_{f.number}",
                    f"{f.number}. {f.title}",
                )
            ]
    return {name: [p for p in paths if p is not None] for name, paths in drawn.items()}
