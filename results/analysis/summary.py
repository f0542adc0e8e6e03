"""Per-task tables of variants (median metric with its interval, chance, gap to chance,
seeds, speed), what their columns mean, and the lines a grid ends with."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from results.analysis import intervals
from results.tables.numbers import column, is_numeric

GLOSSARY = {
    "median": "the median over seeds of the test metric (a diverged run counts at chance, "
    "as recorded); the rows are sorted by it, best first",
    "low, high": "the 95 % bootstrap interval of that median over seeds (percentile "
    f"interval, {intervals.RESAMPLES:,} resamples, fixed seed): rows whose "
    "intervals overlap could swap places with other seeds",
    "best": "the best seed's test metric",
    "chance": "the metric of a model that ignores its input (the task's chance level)",
    "gap": "how far the median is from chance in the good direction: positive is better "
    "than chance, in the metric's units",
    "seeds": "runs (seeds) of the variant on the task that finished",
    "diverged": "how many of them diverged (their loss exploded; scored at chance)",
    "steps×batch/s": "training throughput: the median run's time steps × batch per second "
    "(in a population, each run's share of the stack's rate)",
    "params": "the recurrent cell's parameter count",
    "bidirectional": "whether each layer also read the sequence backwards (a forward and a "
    "backward cell, outputs concatenated; params counts both, every layer)",
    "architecture": "stack (causal layers) or encoder-decoder (an encoder stack reads the "
    "source, a decoder stack answers, greedily at evaluation)",
    "attention": "whether the decoder attended over the encoder's states (Bahdanau et al. "
    "2015's additive attention)",
    "backend": "the cell's implementation: native (fused kernel) or generic (autograd)",
}


def task_table(runs: pd.DataFrame, task: str) -> pd.DataFrame:
    """Variants on ``task`` sorted best first by median test metric, with the median's
    bootstrap interval over seeds (``low``, ``high``): a ranking of a few seeds is only as
    firm as those intervals are apart. Columns are defined in :data:`GLOSSARY`."""
    done = runs[(runs["task"] == task) & runs["status"].isin(["complete", "diverged"])]
    if done.empty:
        return pd.DataFrame()
    lower = bool(done["lower_is_better"].iloc[0])
    # a grid with bidirectional runs tells them apart from the causal runs of their variant
    keys = ["variant"] + (
        ["bidirectional"]
        if "bidirectional" in done and done["bidirectional"].fillna(False).astype(bool).any()
        else []
    )
    # and encoder-decoders, with attention or without, likewise
    keys += [
        k
        for k, plain in (("architecture", "stack"), ("attention", False))
        if k in done and (done[k].fillna(plain) != plain).any()
    ]
    table = done.groupby(keys).agg(
        median=("test", "median"),
        best=("test", "min" if lower else "max"),
        chance=("chance", "first"),
        seeds=("seed", "nunique"),
        diverged=("status", lambda s: int((s == "diverged").sum())),
        **{"steps×batch/s": ("steps×batch/s", "median")},
        params=("cell_parameters", "first"),
        backend=("backend", "first"),
    )
    bounds = done.groupby(keys)["test"].apply(
        lambda s: intervals.median_interval(s.to_numpy(dtype=float))
    )
    table["low"], table["high"] = zip(*bounds.reindex(table.index))
    table["gap"] = (
        (table["chance"] - table["median"]) if lower else (table["median"] - table["chance"])
    )
    table = table.sort_values("median", ascending=lower)
    columns = [
        "median",
        "low",
        "high",
        "best",
        "chance",
        "gap",
        "seeds",
        "diverged",
        "steps×batch/s",
        "params",
        "backend",
    ]
    return table[columns].reset_index()


def glossary(columns: list[str] | None = None) -> pd.DataFrame:
    """The task tables' columns and what they mean (those of ``columns`` only, if given):
    a name such as ``gap`` is not self-explaining."""
    rows = [
        (k, v)
        for k, v in GLOSSARY.items()
        if columns is None or any(c in columns for c in k.split(", "))
    ]
    return pd.DataFrame(rows, columns=["column", "meaning"])


def closing_summary(name: str, runs: pd.DataFrame, wall_seconds: float, report: Path) -> str:
    """The lines a grid ends with: its wall time, how many runs are done (and of those,
    diverged), failed or left, where the workers' time went (``time_breakdown``), and where
    the report is, Markdown and HTML (``report`` is
    ``report.md``; ``report.html`` lies next to it). ``runs`` is the grid's runs frame
    (``results.tables.frames.runs_frame``), ``wall_seconds`` what the command took."""
    status = runs["status"].value_counts() if len(runs) else pd.Series(dtype=int)
    done = int(status.get("complete", 0) + status.get("diverged", 0))
    failed = int(status.get("failed", 0))
    left = len(runs) - done - failed
    parts = [f"{done} done ({int(status.get('diverged', 0))} diverged)"]
    parts += [f"{failed} failed"] if failed else []
    parts += [f"{left} not finished"] if left else []
    html_path = Path(report).with_suffix(".html")
    spent = time_breakdown(runs)
    return "\n".join(
        [
            f"grid {name} finished in {duration(wall_seconds)}: {len(runs)} runs, "
            f"{', '.join(parts)}.",
            *([spent] if spent else []),
            f"report: {report}",
            f"        {html_path} (open in a browser)",
        ]
    )


TIME_PARTS = (
    "data",
    "forward",
    "backward",
    "optimiser",
    "evaluation",
    "bookkeeping",
    "outside",
)  # a record's ``time.PART`` seconds (harness/training/phases.py)


def time_breakdown(runs: pd.DataFrame) -> str | None:
    """Where the workers' time went, over the finished runs that recorded it (a CPU run
    records its share of its population's time per phase; ``outside`` is building the
    model and scoring the test set): one line, or None when no run recorded it."""
    columns = [f"time.{part}" for part in TIME_PARTS]
    if not set(columns) <= set(runs.columns):
        return None
    timed = runs.dropna(subset=columns)
    if timed.empty:
        return None
    seconds = timed[columns].sum()
    total = float(seconds.sum())
    shares = ", ".join(f"{part} {seconds[f'time.{part}'] / total:.0%}" for part in TIME_PARTS)
    return (
        f"the workers' time, {duration(total)} over {len(timed):,} runs: {shares} "
        "(outside: building the models and scoring the test sets)"
    )


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``: a wall time at the precision that matters."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table, each column in one format (``numbers.column``), columns of
    numbers right-aligned."""
    columns = [frame[c].tolist() for c in frame.columns]
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---:" if is_numeric(v) else "---" for v in columns) + "|"
    cells = [column(v) for v in columns]
    body = ["| " + " | ".join(row) + " |" for row in zip(*cells)] if cells else []
    return "\n".join([header, rule, *body])
