"""Plain-text tables for the terminal, through tabulate (its ``simple`` format: columns
padded to their widest cell, a rule under the header)."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate


def format_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[str] = ()
) -> str:
    """Columns named in ``right`` are right-aligned; cells are shown as given (no number
    parsing: ``82,816`` and ``1.00`` stay as written)."""
    return tabulate(
        [[str(v) for v in row] for row in rows],
        headers=list(header),
        tablefmt="simple",
        disable_numparse=True,
        colalign=["right" if h in right else "left" for h in header],
    )
