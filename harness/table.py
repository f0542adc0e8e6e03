"""Plain-text tables for the terminal (no extra dependency)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                 right: Sequence[str] = ()) -> str:
    """Columns padded to their widest cell; columns named in ``right`` are right-aligned."""
    cells = [[str(h) for h in header]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]

    def line(row: list[str]) -> str:
        parts = [v.rjust(w) if h in right else v.ljust(w)
                 for v, w, h in zip(row, widths, header)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])
