"""What the findings report says, as one list of blocks (``results.rendering.document``)
from which findings.md and findings.html are both rendered, so they cannot drift apart: the
verdict table first, one section per finding with its evidence table and figures, the
comparison with the paper, the extensions, the robustness table, per-task summaries, cost
and provenance. It only places what the analysis (``results.analysis.reproduction``) and the
figures computed."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from results.analysis.findings import RULES
from results.analysis.reproduction import Analysis
from results.analysis.top_trials import TOP_FRACTION
from results.rendering.document import Block

LEGEND = (
    "The paper's analysis: per dataset, each variant's best "
    f"{TOP_FRACTION:.0%} of trials by validation (top) against vanilla LSTM's, Welch's "
    "t-test on their test metric; diff is the difference of their means in the "
    "metric's units (positive: the variant is worse), [low, high] its 90 % interval "
    "(two one-sided 95 % bounds), p the uncorrected two-sided p-value (each verdict "
    "applies Holm over the tests it spans), detectable the difference the test finds "
    "with 80 % power, draws the draws per variant with which the interval would fit the "
    "margin. A claim of no difference needs the interval inside the margin; without it "
    "the answer is inconclusive."
)


def blocks(
    analysis: Analysis,
    figures: dict[str, list[Path]],
    glance: list[Block],
    provenance: Mapping[str, Any],
) -> list[Block]:
    """What findings.md and findings.html say of ``analysis``, in order: ``figures`` (by
    name, as ``findings_plots.draw`` returns them) and the ``glance`` section placed, and
    ``provenance`` with the analysis settings and library versions last."""
    trials, tables, beyond = analysis.trials, analysis.tables, analysis.beyond
    variants = trials["variant"].nunique() if len(trials) else 0
    protocol = provenance.get("protocol", "")
    blocks: list[Block] = [
        ("h1", "Findings: Greff et al. (2017) and Jozefowicz et al. (2015)"),
        (
            "p",
            f"{len(trials)} trials, {len(analysis.tasks)} task(s), {variants} variant(s); "
            f"search seed {provenance.get('search seed', '?')}; "
            f"α = {analysis.settings['alpha']}. "
            + (f"Protocol: {protocol}. " if protocol else "")
            + f"Paper data: {analysis.paper_names}"
            + (f"; beyond the paper (deciding nothing): {', '.join(beyond)}" if beyond else "")
            + ".",
        ),
        ("h2", "The paper's analysis on the paper's data"),
        ("p", LEGEND),
        ("table", tables["primary"]),
        ("h2", "Verdicts"),
        ("table", tables["verdicts"]),
        *(("img", p) for p in figures["boxes"]),
    ]
    for f in analysis.results:
        blocks += [
            ("h2", f"{f.number}. {f.title}: {f.verdict}"),
            ("p", f"Claim ({f.source}): “{f.claim}”"),
            ("p", f"Rule: {RULES[f.number]}."),
            (
                "p",
                f"Verdict: **{f.verdict}** on {f.data or 'no data'}. {f.statistic} "
                f"(n = {f.n} trials)",
            ),
        ]
        if f.rests_on:
            blocks.append(
                ("p", f"Rests on the best trials (study: variant and draws k): {f.rests_on}.")
            )
        if not f.details.empty:
            blocks.append(("table", _readable(f.details)))
        blocks += [("img", p) for p in figures.get(f"finding {f.number}", [])]
    if "music" in analysis.tasks:
        blocks += [
            ("h2", "Compare with the paper"),
            (
                "p",
                "Greff et al. give their per-variant results on JSB Chorales as box "
                "plots without a table of numbers; their qualitative results (the "
                "project's notes, secondary sources) beside our best trials. Ours: "
                "Welch's test of the best trials, uncorrected p < 0.05.",
            ),
            ("table", tables["compare"]),
        ]
    if beyond:
        blocks += [
            ("h2", "Beyond the paper"),
            (
                "p",
                "Tasks that are not the papers' data, analysed the same way; they "
                "decide no verdict. Their margin is a fifth of lstm's best trials' "
                "gain over chance.",
            ),
            ("table", tables["beyond"]),
        ]
    blocks += [
        ("h2", "Robustness: paired comparisons on the draws both cells trained on"),
        (
            "p",
            "Each variant and its reference on the same draws, both better than the "
            "task's trivial model; mean paired difference in the metric's units with "
            "its 90 % interval, Holm across the variants of a task. It decides "
            "nothing; where it and the paper's analysis disagree, the cells differ "
            "in how they train across the space rather than at their best.",
        ),
        ("table", _readable(tables["robustness"])),
        *glance,
        ("h2", "Which trials trained"),
        (
            "p",
            "A trial trained when its test metric beat the task's trivial model "
            "(JSB Chorales: how often each key sounds). Share per task and "
            "variant, overall and per learning-rate decade.",
        ),
    ]
    if len(trials):
        blocks.append(("table", tables["trained"]))
        blocks += [("img", p) for p in figures["trained"]]
    blocks.append(("h2", "Per-task summaries"))
    for task in analysis.tasks:
        rows = trials[trials["task"] == task]
        better = "lower" if bool(rows["lower_is_better"].iloc[0]) else "higher"
        metric = rows["metric"].iloc[0] if "metric" in rows else "metric"
        blocks += [
            ("h3", f"{task}: test {metric} ({better} is better)"),
            ("table", tables[f"summary:{task}"]),
        ]
    if tables["cost"].shape[0]:
        blocks += [
            ("h2", "What it cost"),
            (
                "p",
                "Worker time per task from the trials' own records (each trial's "
                "share of its population's wall time); divide by the number of "
                "workers for the wall time, and scale by sequences for another "
                "profile.",
            ),
            ("table", tables["cost"]),
        ]
    blocks += [
        ("h2", "Provenance"),
        ("table", provenance_table(provenance, analysis.settings)),
    ]
    if len(trials):
        blocks += [
            ("h3", "Trials per task and variant (diverged in brackets)"),
            ("table", tables["counts"]),
        ]
    return blocks


def provenance_table(provenance: Mapping[str, Any], settings: Mapping[str, Any]) -> pd.DataFrame:
    """What the caller passed, then the analysis settings and library versions."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "scipy", "scikit-learn", "seaborn", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    rows = [*provenance.items(), *settings.items(), ("analysis versions", versions)]
    return pd.DataFrame(
        [(str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in rows],
        columns=["what", "value"],
    )


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Evidence for a document: tuples joined, booleans as yes/no."""
    return frame.map(
        lambda v: (
            " × ".join(map(str, v))
            if isinstance(v, tuple)
            else ("yes" if v else "no")
            if isinstance(v, (bool, np.bool_))
            else v
        )
    )
