"""The outputs of ``harness inspect`` (tables, figures) and the report's section on them.

``write`` turns the models looked inside (``results.tables.inside.Inside``) into tables
(Parquet and CSV) and figures (PNG) in one folder; ``section`` reads those tables back into
Markdown, for the report of the study (``results.rendering.report``, when the folder
``inspect/`` is in the report's folder) and for ``inspection.md`` beside the tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from results.analysis.summary import to_markdown
from results.figures import inside_plots
from results.rendering.report_folder import STAGING
from results.tables import frames
from results.tables.inside import Inside
from results.tables.inside_tables import (
    LEFT,
    OVER_TIME,
    RIGHT,
    over_time_frame,
    saturation_frame,
    saturation_summary,
)
from results.tables.text_units import text_units

FOLDER = "inspect"  # in a study's report folder: outputs/STUDY/inspect
MARKER = "saturation_summary.parquet"  # written last of the tables: the folder is complete
PAGE = "inspection.md"
OVER_TIME_PNG = "figures/over_time.png"


def write(insides: Iterable[Inside], out: Path) -> list[Path]:
    """Tables and figures of ``insides`` in ``out``; returns the files written. Each model's
    activations are reduced to its rows as it comes, so the models need not be held at once."""
    parts: dict[str, list[pd.DataFrame]] = {
        name: [] for name in ("models", "saturation", "over_time", "text_units", "passages")
    }
    for inside in insides:
        parts["models"].append(_model_row(inside))
        parts["saturation"].append(saturation_frame(inside))
        parts["over_time"].append(over_time_frame(inside))
        units, passages = text_units(inside)
        parts["text_units"].append(units)
        parts["passages"].append(passages)
    tables = {
        name: pd.concat(p, ignore_index=True) if p else pd.DataFrame() for name, p in parts.items()
    }
    if tables["models"].empty:
        raise ValueError("no model to inspect")
    tables["saturation_summary"] = saturation_summary(tables["saturation"])
    frames.export(tables, out)  # saturation_summary (the marker) last: dicts keep order
    written = [
        inside_plots.saturation(rows, out / _saturation_png(task))
        for task, rows in tables["saturation"].groupby("task")
    ]
    written.append(inside_plots.over_time(tables["over_time"], out / OVER_TIME_PNG))
    units, passages = tables["text_units"], tables["passages"]
    if not passages.empty:
        for (task, variant), rows in units.groupby(["task", "variant"]):
            text = passages[(passages["task"] == task) & (passages["variant"] == variant)]
            if not text.empty:
                written.append(inside_plots.heat_map(rows, text, out / _text_png(task, variant)))
    (out / PAGE).write_text("\n".join(markdown(out, "")))
    return (
        [out / f"{n}.{ext}" for n in tables for ext in ("parquet", "csv")] + written + [out / PAGE]
    )


def _model_row(inside: Inside) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "task": inside.task,
                "variant": inside.variant,
                "run": inside.run,
                "layers": len(inside.layers),
                "steps": inside.valid.shape[0],
                "columns": inside.valid.shape[1],
                "deviation": inside.deviation,
            }
        ]
    )


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def _saturation_png(task: str) -> str:
    return f"figures/saturation_{_slug(task)}.png"


def _text_png(task: str, variant: str) -> str:
    return f"figures/text_{_slug(task)}_{_slug(variant)}.png"


# --- the report's section -------------------------------------------------------------------


def find(report_folder: Path) -> Path | None:
    """The inspect outputs of a report's folder, if written. A report is built in a staging
    folder inside its own (``report_folder.staged``), so there they are looked for beside
    it."""
    folder = Path(report_folder)
    places = [folder / FOLDER] + ([folder.parent / FOLDER] if folder.name == STAGING else [])
    return next((p for p in places if (p / MARKER).is_file()), None)


def section(report_folder: Path) -> list[str]:
    """The report's section on the inspected models (no lines when there are none)."""
    found = find(report_folder)
    return markdown(found, f"{FOLDER}/") if found is not None else []


def markdown(folder: Path, link: str) -> list[str]:
    """The section from the tables in ``folder``; figures are linked as ``link`` + their
    path in it."""
    read = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in ("models", "saturation_summary", "over_time", "text_units")
    }
    models = read["models"]
    lines = [
        "## Inside the trained cells",
        "",
        f"{len(models)} kept models (by default the best run of each variant and task) "
        "run again step by step from their paper parameters on a held-out batch "
        "(`harness inspect`, after Karpathy, Johnson & Fei-Fei 2015). The probe's "
        "output equals "
        f"each model's own to {models['deviation'].max():.1g} at most. Multi-layer "
        "models: every layer.",
        "",
        "### Gate saturation",
        "",
        f"Mean over units of the fraction of steps each gate is left-saturated (< {LEFT}, "
        f"L) and right-saturated (> {RIGHT}, R); `mostly` counts the units saturated on "
        "one side more than half the time.",
        "",
        to_markdown(_saturation_table(read["saturation_summary"])),
        "",
    ]
    lines += [
        _image(link, _saturation_png(task))
        for task in sorted(read["saturation_summary"]["task"].unique())
    ] + [""]
    lines += [
        "### Over time",
        "",
        "Mean forget gate, mean |c_t| and mean |h_t| at the first and the last step.",
        "",
        to_markdown(_over_time_table(read["over_time"])),
        "",
        _image(link, OVER_TIME_PNG),
        "",
    ]
    units = read["text_units"]
    if not units.empty:
        lines += [
            "### Units that track the text",
            "",
            "Per feature of the text, the unit (layer, c or h, index) most correlated "
            "with it over the batch, and Pearson r.",
            "",
            to_markdown(_units_table(units)),
            "",
        ]
        strength = (
            units.dropna(subset=["unit"])
            .assign(r=lambda u: u["r"].abs())
            .groupby(["task", "variant"])["r"]
            .mean()
            .sort_values(ascending=False)
        )
        if not strength.empty:
            (task, variant), *others = strength.index
            lines += [
                f"The model whose units track the features best (mean |r| "
                f"{strength.iloc[0]:.2f}), {variant} on {task}:",
                "",
                _image(link, _text_png(task, variant)),
                "",
            ]
        if len(strength) > 1:
            lines += [
                "The others: "
                + ", ".join(f"[{v} on {t}]({link}{_text_png(t, v)})" for t, v in sorted(others))
                + ".",
                "",
            ]
    return lines


def _image(link: str, path: str) -> str:
    return f"![{Path(path).stem}]({link}{path})"


def _saturation_table(summary: pd.DataFrame) -> pd.DataFrame:
    def cell(row: pd.Series) -> str:
        if row["note"]:
            return row["note"]
        return (
            f"L {row['left']:.2f} / R {row['right']:.2f} (mostly "
            f"{row['mostly_left']:.0f}/{row['mostly_right']:.0f} of {row['units']:.0f})"
        )

    table = summary.assign(value=summary.apply(cell, axis=1))
    return (
        table.pivot_table(
            index=["variant", "gate"], columns="task", values="value", aggfunc="first", sort=False
        )
        .reset_index()
        .fillna("")
        .rename_axis(None, axis=1)
    )


def _over_time_table(over_time: pd.DataFrame) -> pd.DataFrame:
    first = over_time[over_time["layer"] == 0].sort_values("step")
    rows = []
    for (task, variant), data in first.groupby(["task", "variant"]):
        row = {"task": task, "variant": variant}
        for statistic, label in OVER_TIME:
            values = data.loc[data["statistic"] == statistic, "value"].to_numpy()
            row[label.replace("|", "\\|")] = (
                f"{values[0]:.3g} → {values[-1]:.3g}" if len(values) else "-"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _units_table(units: pd.DataFrame) -> pd.DataFrame:
    def cell(row: pd.Series) -> str:
        if pd.isna(row["unit"]):
            return "does not vary"
        return f"L{row['layer']} {row['signal']}[{row['unit']}] r={row['r']:+.2f}"

    table = units.assign(value=units.apply(cell, axis=1))
    return (
        table.pivot_table(
            index=["task", "variant"], columns="feature", values="value", aggfunc="first"
        )
        .reset_index()
        .rename_axis(None, axis=1)
    )
