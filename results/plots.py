"""The report's figures, drawn with seaborn off screen (PNG, fixed size and dpi)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI or servers

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

DPI = 110
PALETTE = "tab20"  # 17+ variants need many distinguishable colours


def _save(grid: sns.FacetGrid | plt.Figure, path: Path) -> Path:
    figure = grid.figure if isinstance(grid, sns.FacetGrid) else grid
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return path


def _order(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["variant"].unique())


def loss_curves(curves: pd.DataFrame, out: Path, name: str = "train_loss") -> Path | None:
    """One panel per task, one line per variant, a band over seeds (50 % interval)."""
    data = curves[curves["name"] == name]
    if data.empty:
        return None
    grid = sns.relplot(data=data, x="step", y="value", hue="variant", col="task", kind="line",
                       errorbar=("pi", 50), facet_kws={"sharey": False, "sharex": False},
                       col_wrap=min(3, data["task"].nunique()), height=3.2, aspect=1.3,
                       palette=PALETTE, hue_order=_order(data))
    grid.set(yscale="log")
    grid.set_ylabels("gradient norm" if name == "grad_norm" else "training loss")
    return _save(grid, out / f"{name}.png")


def final_metric(runs: pd.DataFrame, out: Path) -> Path | None:
    """Test metric per variant (box with the runs as points), chance as a dashed line."""
    done = runs[runs["status"].isin(["complete", "diverged"])]
    if done.empty:
        return None
    grid = sns.catplot(data=done, x="variant", y="test", col="task", kind="box", hue="variant",
                       legend=False, sharey=False, col_wrap=min(3, done["task"].nunique()),
                       height=3.2, aspect=1.4, palette=PALETTE, order=_order(done),
                       hue_order=_order(done))
    for task, ax in grid.axes_dict.items():
        rows = done[done["task"] == task]
        sns.stripplot(data=rows, x="variant", y="test", order=_order(done), color="k",
                      size=3, alpha=0.5, ax=ax)
        ax.axhline(rows["chance"].iloc[0], color="grey", linestyle="--", label="chance")
        ax.set_ylabel(f"test {rows['metric'].iloc[0]}")
        ax.tick_params(axis="x", rotation=90)
    return _save(grid, out / "final_metric.png")


def gradient_through_time(profiles: pd.DataFrame, out: Path) -> Path | None:
    """How far back the gradient reaches: ||dLoss/dh_t|| against the distance from the end
    of the sequence, per variant (log scale, median over seeds), at the first evaluation
    (near the initialisation: the vanishing gradient of the lectures' picture) and at the
    last (trained)."""
    data = profiles[profiles["when"].isin(["first", "last"])]
    if data.empty:
        return None
    data = data.assign(when=data["when"].map({"first": "first evaluation",
                                              "last": "last evaluation"}))
    grid = sns.relplot(data=data, x="lag", y="norm", hue="variant", col="task", row="when",
                       kind="line", estimator="median", errorbar=None,
                       facet_kws={"sharey": False, "sharex": "col"}, height=3.0, aspect=1.25,
                       palette=PALETTE, hue_order=_order(data),
                       row_order=["first evaluation", "last evaluation"])
    grid.set(yscale="log")
    grid.set_titles("{col_name}, {row_name}")
    grid.set_axis_labels("steps before the end", "||dLoss/dh_t||")
    return _save(grid, out / "gradient_through_time.png")


def throughput(runs: pd.DataFrame, out: Path) -> Path | None:
    """Training throughput per variant and task: each trial's own time steps × batch per
    second (in a population, the stack's rate over K)."""
    data = runs.dropna(subset=["steps×batch/s"]) if "steps×batch/s" in runs else runs[:0]
    if data.empty:
        return None
    figure, ax = plt.subplots(figsize=(9, 3.6))
    sns.barplot(data=data, x="variant", y="steps×batch/s", hue="task", ax=ax,
                order=_order(data), errorbar=None)
    ax.set_ylabel("steps×batch/s per trial")
    ax.tick_params(axis="x", rotation=90)
    return _save(figure, out / "throughput.png")


def all_figures(runs: pd.DataFrame, curves: pd.DataFrame, profiles: pd.DataFrame,
                out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    drawn = [loss_curves(curves, out), final_metric(runs, out),
             loss_curves(curves, out, "grad_norm"), gradient_through_time(profiles, out),
             throughput(runs, out)]
    return [p for p in drawn if p is not None]
