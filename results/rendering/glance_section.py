"""The reports' "At a glance" section: the table of quality beside cost, the figure of the
two, and the heatmap with the ranking (``results.figures.glance_plot``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from results.analysis import glance
from results.figures.glance_plot import cost_figure, figure
from results.rendering.document import Block


def section(trials: pd.DataFrame, figures: Path, runs: str, run: str) -> list[Block]:
    """The report's "At a glance" blocks (heading, legend, figure, table) for ``trials``
    (``results.analysis.glance``'s layout); ``runs``/``run`` name what the spread is over ("seeds"
    of a grid, "trials" of a search). Nothing when there are no trials."""
    if trials.empty:
        return []
    picture = figure(trials, figures, runs)
    priced = cost_figure(trials, figures)
    # quality beside cost first (the table, then the figure of the two), the tasks after
    return [
        ("h2", "At a glance"),
        ("p", glance.LEGEND.format(runs=runs, run=run)),
        ("table", glance.table(trials)),
        *([("img", priced)] if priced is not None else []),
        *([("img", picture)] if picture is not None else []),
    ]
