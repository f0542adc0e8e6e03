"""The figure of ``harness bench --growth``: microseconds per trial-step against each swept
size, a panel per sweep (log-log), the cells solid and torch's fused kernels dashed; in the
population panel the cells alone, run one after another, dotted (where the stack's line
meets theirs, stacking stops paying)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from results.figures import plot_kit

_KIND_LINES = {"cell": "-", "fused": "--", "one by one": ":"}
_TITLES = {
    "hidden": "hidden size (length 50, one trial)",
    "length": "length (hidden 64, one trial)",
    "population": "trials stacked (hidden 64, length 50)",
}


def figure(frame: pd.DataFrame, path: Path) -> Path:
    """Draw ``frame`` (``harness.gates.growth.measure``'s rows) into ``path``."""
    sweeps = list(dict.fromkeys(frame["sweep"]))
    styles = plot_kit.variant_styles(frame["variant"])
    fig, axes = plt.subplots(1, len(sweeps), figsize=(plot_kit.MAX_WIDTH, 3.6), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps):
        part = frame[frame["sweep"] == sweep]
        for (name, kind), line in part.groupby(["variant", "kind"], sort=True):
            style = styles[name]
            ax.plot(
                line["value"],
                line["us_per_trial_step"],
                color=style.color,
                linestyle=_KIND_LINES[kind],
                marker=style.marker,
                markersize=3,
                label=f"{name} ({kind})" if kind != "cell" else name,
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(part["value"].unique()))
        ax.get_xaxis().set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_yscale("log")
        ax.set_title(_TITLES.get(sweep, sweep), fontsize=9)
        ax.set_xlabel(sweep, fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("µs per trial-step (forward + backward)", fontsize=8)
    handles, labels = [], []
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(
        handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, fontsize=8
    )
    fig.tight_layout()
    return plot_kit.save(fig, path)
