"""The findings report: which published claims the trials reproduce, and the evidence.

``build`` writes an ``Analysis`` (``results.analysis.reproduction``) into one folder: the
PNGs under ``figures/`` (``results.figures.findings_plots``), ``findings.md`` and
``findings.html`` (the same blocks, ``results.rendering.findings_document``; the HTML one
self-contained file with the figures inlined as base64), ``findings.json`` (verdicts,
statistics and evidence, machine-readable: ``results.rendering.findings_record``) and
``trials.csv`` (the input).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from results.analysis.reproduction import Analysis
from results.figures import findings_plots as plots
from results.rendering import findings_document, findings_record, glance_section
from results.rendering.document import to_html, to_md


def build(analysis: Analysis, folder: str | Path, provenance: Mapping[str, Any]) -> Path:
    """Write the report of ``analysis`` into ``folder``; returns the path of
    ``findings.md``. ``provenance`` is shown as given (profile, protocol, studies,
    storage...); the analysis settings and library versions are added."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    figures = out / "figures"
    drawn = plots.draw(analysis, figures)
    glance = glance_section.section(analysis.trials, figures, "trials", "trial")
    blocks = findings_document.blocks(analysis, drawn, glance, provenance)
    (out / "findings.md").write_text(to_md(blocks, out))
    (out / "findings.html").write_text(to_html(blocks))
    record = findings_record.record(analysis, provenance)
    (out / "findings.json").write_text(json.dumps(record, indent=2, default=str, allow_nan=False))
    analysis.trials.to_csv(out / "trials.csv", index=False)
    return out / "findings.md"
