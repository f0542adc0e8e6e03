"""Numbers as a reader wants them in a table or on a figure: ``58,190``, not ``5.819e+04``.

One spelling for the Markdown, the HTML and the figures' labels, so that the three cannot
disagree on a number; in a table, one spelling per column (``column``), so that ``6,240``
sits above ``16,384`` and ``3.300`` above ``3.304``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence


def number(value: float, digits: int = 4) -> str:
    """``digits`` significant digits; from 10,000 on, whole and with thousands separators
    (a throughput of ``58,190``, a parameter count of ``17,632``)."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.{digits}g}"


def cell(value: object) -> str:
    """A table cell: a number as :func:`number` (a count of 17,632 parameters too), a
    missing value as nothing, anything else as itself."""
    if isinstance(value, float):
        return "" if math.isnan(value) else number(value)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return number(int(value))
    return str(value)


def column(values: Sequence[object]) -> list[str]:
    """A table column's cells in one format: thousands separators, and the same decimals
    throughout, as many as its most demanding value needs (``_decimals``); missing values
    empty, text as itself."""
    reals = [float(v) for v in values if _real(v) and math.isfinite(float(v))]
    if not reals:
        return [cell(v) for v in values]
    decimals = max(_decimals(r) for r in reals)
    return [
        f"{float(v):,.{decimals}f}" if _real(v) and math.isfinite(float(v)) else cell(v)
        for v in values
    ]


def _decimals(value: float) -> int:
    """The decimals ``value`` needs for 4 significant digits (none from 10,000 on, at most
    6), fewer where it has fewer: 99.95 needs 2, 0.6 needs 1, 58,190.25 none."""
    full = (
        0
        if not value or abs(value) >= 1e4
        else min(6, max(0, 3 - math.floor(math.log10(abs(value)))))
    )
    return min(d for d in range(full + 1) if round(value, d) == round(value, full))


def is_numeric(values: Sequence[object]) -> bool:
    """A column of numbers (missing values aside): right-aligned in a table."""
    present = [v for v in values if not (isinstance(v, float) and math.isnan(v))]
    return bool(present) and all(_real(v) for v in present)


def _real(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and type(value).__name__ != "bool_"
    )
