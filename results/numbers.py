"""Numbers as a reader wants them in a table or on a figure: ``58,190``, not ``5.819e+04``.

One spelling for the Markdown, the HTML and the figures' labels, so that the three cannot
disagree on a number.
"""

from __future__ import annotations

import math
import numbers


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
