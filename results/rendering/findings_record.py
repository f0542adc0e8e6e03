"""The findings report's machine-readable record (findings.json): the verdicts with their
rules and evidence, the paper's analysis, the analysis settings and the provenance, with
every value JSON has no word for (NaN, infinities, numpy scalars, tuples) in one it has."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from results.analysis.findings import RULES
from results.analysis.reproduction import Analysis


def record(analysis: Analysis, provenance: Mapping[str, Any]) -> dict[str, Any]:
    """The verdicts, rules, evidence, settings and ``provenance`` of ``analysis``,
    JSON-ready."""
    return _jsonable(
        {
            "findings": [
                {**f.summary(), "rule": RULES[f.number], "details": as_records(f.details)}
                for f in analysis.results
            ],
            "primary": as_records(analysis.best),
            "settings": analysis.settings,
            "provenance": dict(provenance),
        }
    )


def as_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts: NaN and infinities become None (JSON has neither), tuples
    lists, numpy scalars Python's."""

    def clean(v: object) -> object:
        if isinstance(v, (tuple, list, frozenset)):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _jsonable(value: Any) -> Any:
    """NaN (not JSON) as null, at any depth of dicts and lists (a margin or statistic that
    is not a number: no margin declared)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return None if isinstance(value, float) and value != value else value
