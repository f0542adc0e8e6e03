"""Figures of what trained cells do inside, after Karpathy, Johnson & Fei-Fei 2015: the gate
saturation scatter, gates and states over time, and text heat maps of named units.

Drawn with matplotlib off screen from the tables of ``results.tables.inside_tables`` and
``results.tables.text_units`` (so a figure can be drawn again from the Parquet files alone).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from results.figures.plot_kit import MAX_WIDTH, legend_of, log_axis, plt, save, variant_styles
from results.tables.inside_tables import LEFT, OVER_TIME, RIGHT
from results.tables.text_units import NEWLINES

PANEL = 1.3  # inches per scatter panel, at most
WRAP = 60  # tokens per line of a heat map


def _panels(frame: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame | None, str]]:
    """One variant's panels in order: (variant, gate, its rows or None, note)."""
    panels = []
    for gate, rows in frame.groupby("gate", sort=False):
        note = rows["note"].iloc[0]
        panels.append((rows["variant"].iloc[0], gate, None if note else rows, note))
    return panels


def saturation(frame: pd.DataFrame, path: Path) -> Path:
    """One task's scatter: per variant and gate a panel, one dot per unit (x: fraction of
    steps left-saturated, y: right-saturated; colour: layer); a gate the cell lacks is an
    empty panel saying so. Variants run down the rows, in two halves side by side when many
    (each half as wide as its variant with the most gates)."""
    variants = sorted(frame["variant"].unique())
    per_variant = {v: _panels(frame[frame["variant"] == v]) for v in variants}
    rows = math.ceil(len(variants) / (2 if len(variants) > 8 else 1))
    halves = [variants[k : k + rows] for k in range(0, len(variants), rows)]
    slots = [max(len(per_variant[v]) for v in half) for half in halves]
    panel = min(PANEL, (MAX_WIDTH - 0.6) / sum(slots))
    figure = plt.figure(
        layout="constrained", figsize=(panel * sum(slots) + 0.6, panel * rows + 0.8)
    )
    layers = sorted(frame["layer"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.8, max(len(layers), 1)))
    parts = figure.subfigures(1, len(halves), width_ratios=slots, squeeze=False)[0]
    for part, half, width in zip(parts, halves, slots):
        axes = part.subplots(rows, width, squeeze=False)
        for ax in axes.flat:
            ax.set_visible(False)
        for row, variant in enumerate(half):
            for j, (_, gate, units, note) in enumerate(per_variant[variant]):
                ax = axes[row, j]
                ax.set_visible(True)
                _scatter_panel(ax, units, layers, colours)
                ax.set_title(f"{variant}: {gate}" if gate else variant, fontsize=8, pad=2)
                if note:
                    ax.text(
                        0.5,
                        0.5,
                        note,
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="0.35",
                        transform=ax.transAxes,
                    )
    task = frame["task"].iloc[0]
    figure.suptitle(
        f"{task}: gate saturation per unit (one dot per unit"
        + (", colour: layer" if len(layers) > 1 else "")
        + ")",
        fontsize=10,
    )
    figure.supxlabel(f"fraction of steps left-saturated (gate < {LEFT})", fontsize=9)
    figure.supylabel(f"fraction of steps right-saturated (gate > {RIGHT})", fontsize=9)
    return save(figure, path)


def _scatter_panel(
    ax: plt.Axes, units: pd.DataFrame | None, layers: list[int], colours: np.ndarray
) -> None:
    ax.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.03), xticks=[0, 0.5, 1], yticks=[0, 0.5, 1])
    ax.tick_params(labelsize=6, length=2, pad=1)
    ax.plot([0, 1], [1, 0], color="0.85", linewidth=0.8, zorder=0)  # left + right = 1
    if units is None:
        return
    for layer, colour in zip(layers, colours):
        mine = units[units["layer"] == layer]
        ax.scatter(mine["left"], mine["right"], s=7, color=colour, alpha=0.7, linewidths=0)


def over_time(frame: pd.DataFrame, path: Path) -> Path:
    """Rows: tasks; columns: mean forget gate, mean |c_t| (log scale: unbounded cells
    show), mean |h_t|, per step; a line per variant, in its style across the report's
    figures (``plot_kit.variant_styles``); the first layer only."""
    frame = frame[frame["layer"] == 0]
    tasks = sorted(frame["task"].unique())
    styles = variant_styles(frame["variant"])
    width = (MAX_WIDTH - 1.5) / len(OVER_TIME)
    figure, axes = plt.subplots(
        len(tasks),
        len(OVER_TIME),
        squeeze=False,
        figsize=(width * len(OVER_TIME), 2.4 * len(tasks)),
    )
    for r, task in enumerate(tasks):
        for c, (statistic, label) in enumerate(OVER_TIME):
            ax = axes[r, c]
            data = frame[(frame["task"] == task) & (frame["statistic"] == statistic)]
            for variant, line in data.groupby("variant"):
                style = styles[variant]
                ax.plot(
                    line["step"],
                    line["value"],
                    color=style.color,
                    linestyle=style.linestyle,
                    marker=style.marker,
                    markersize=3,
                    markevery=max(1, len(line) // 6),
                    linewidth=1.1,
                )
            if statistic == "abs c" and not data.empty:
                log_axis(ax)
            ax.set_title(f"{task}: {label}", fontsize=9)
            ax.tick_params(labelsize=7)
            if data.empty:
                ax.text(
                    0.5,
                    0.5,
                    "no cell here has it",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="0.35",
                    transform=ax.transAxes,
                )
            if r == len(tasks) - 1:
                ax.set_xlabel("step", fontsize=8)
    figure.tight_layout()
    legend_of(figure, styles, styles)
    return save(figure, path)


def heat_map(units: pd.DataFrame, passages: pd.DataFrame, path: Path) -> Path:
    """One model's named units over its passage: per feature, the text with each token on
    the colour of the unit's activation there (red positive, blue negative, scaled to the
    unit's largest magnitude in the passage), underlined where a yes-or-no feature holds."""
    blocks = []
    for _, unit in units.dropna(subset=["unit"]).iterrows():
        text = passages[passages["feature"] == unit["feature"]].sort_values("step")
        holds = text["feature_value"].to_numpy()
        marks = holds > 0 if set(np.unique(holds)) <= {0.0, 1.0} else np.zeros(len(text), bool)
        blocks.append((unit, _lines(text["token"].tolist(), text["value"].to_numpy(), marks)))
    height = sum(len(lines) + 1.6 for _, lines in blocks)
    figure, ax = plt.subplots(figsize=(WRAP * 0.13 + 0.4, height * 0.2 + 0.6))
    ax.set(xlim=(0, WRAP), ylim=(height, 0))
    ax.axis("off")
    y = 0.0
    colormap = plt.get_cmap("coolwarm")
    for unit, lines in blocks:
        ax.text(
            0,
            y + 0.9,
            f"{unit['feature']}: layer {unit['layer']} {unit['signal']} unit "
            f"{unit['unit']} (r = {unit['r']:+.2f})",
            fontsize=8,
            fontweight="bold",
        )
        y += 1.6
        scale = max((abs(v) for line in lines for _, v, _ in line), default=1.0) or 1.0
        for line in lines:
            for x, (token, value, mark) in enumerate(line):
                ax.add_patch(
                    plt.Rectangle(
                        (x, y), 1, 1, linewidth=0, color=colormap(0.5 + 0.5 * value / scale)
                    )
                )
                ax.text(x + 0.5, y + 0.78, token, fontsize=7, family="monospace", ha="center")
                if mark:
                    ax.plot([x + 0.05, x + 0.95], [y + 0.97, y + 0.97], color="k", linewidth=0.8)
            y += 1
    first = units.iloc[0]
    ax.set_title(
        f"{first['task']}, {first['variant']}: the units most correlated with features of the text",
        fontsize=9,
        loc="left",
    )
    return save(figure, path)


def _lines(
    tokens: list[str], values: np.ndarray, marks: np.ndarray
) -> list[list[tuple[str, float, bool]]]:
    """The passage cut into lines: at a line end (shown as ↵) or after ``WRAP`` tokens;
    a space is shown as ·, a word cut to its first three letters."""
    lines: list[list[tuple[str, float, bool]]] = [[]]
    for token, value, mark in zip(tokens, values, marks):
        newline = token in NEWLINES
        shown = "↵" if newline else ("·" if token == " " else token[:3])
        lines[-1].append((shown, float(value), bool(mark)))
        if newline or len(lines[-1]) >= WRAP:
            lines.append([])
    return [line for line in lines if line]
