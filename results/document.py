"""One list of blocks, two documents: GitHub Markdown and one self-contained HTML page.

Both reports (the grid's ``report.md``/``report.html``, the findings) render from the same
blocks, so that the HTML cannot drift from the Markdown (it once lacked the run count and
the "lower is better" headings). The page is made for a browser window: figures scale down
to its width, numbers are spelt as in the Markdown (``58,190``, never ``5.819e+04``) and
right-aligned.
"""

from __future__ import annotations

import base64
import html
import numbers
import re
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from results.numbers import cell
from results.summary import to_markdown

# a block: (kind, payload); kinds h1/h2/h3/p (text, **bold** and `code` marked as in
# Markdown), table (frame), img (path of a PNG), pre (preformatted text, folded: shown on
# a click, as a long configuration should be), md (a section
# written as Markdown elsewhere: headings, paragraphs, tables and images relative to the
# report's folder, which the HTML links rather than inlines)
Block = tuple[str, Union[str, pd.DataFrame, Path]]

STYLE = ("body{font-family:sans-serif;max-width:1300px;margin:auto;padding:0 1em}"
         "table{border-collapse:collapse;font-size:90%;margin:.5em 0}"
         "td,th{border:1px solid #ccc;padding:2px 6px}th{background:#f4f4f4}"
         "td.num{text-align:right;font-variant-numeric:tabular-nums}"
         "img{max-width:100%;height:auto}figure{margin:1em 0}"
         "pre{background:#f8f8f8;padding:.5em;overflow-x:auto}")


def to_md(blocks: list[Block], out: Path) -> str:
    """The blocks as GitHub Markdown, images linked relative to ``out``."""
    lines: list[str] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + str(payload), ""]
        elif kind == "p":
            lines += [str(payload), ""]
        elif kind == "table":
            assert isinstance(payload, pd.DataFrame)
            escaped = payload.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v)
            lines += [to_markdown(escaped), ""]
        elif kind == "img":
            assert isinstance(payload, Path)
            lines += [f"![{payload.stem}]({payload.relative_to(out).as_posix()})", ""]
        elif kind == "pre":
            lines += ["<details><summary>show</summary>", "", "```",
                      str(payload).rstrip("\n"), "```", "", "</details>", ""]
        elif kind == "md":
            lines += [str(payload).rstrip("\n"), ""]
    return "\n".join(lines)


def to_html(blocks: list[Block]) -> str:
    """One self-contained page: the same blocks, figures inlined as base64 PNG; its title
    is the first h1's."""
    parts = []
    title = next((str(p) for k, p in blocks if k == "h1"), "Report")
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{inline(str(payload))}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{inline(str(payload))}</p>")
        elif kind == "table":
            assert isinstance(payload, pd.DataFrame)
            parts.append(html_table(payload))
        elif kind == "img":
            assert isinstance(payload, Path)
            data = base64.b64encode(payload.read_bytes()).decode()
            parts.append(f'<figure><img alt="{html.escape(payload.stem)}" '
                         f'src="data:image/png;base64,{data}"></figure>')
        elif kind == "pre":
            parts.append(f"<details><summary>show</summary><pre>{html.escape(str(payload))}"
                         "</pre></details>")
        elif kind == "md":
            parts += markdown_html(str(payload))
    return (f"<!doctype html><html lang='en'><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style><body>"
            + "\n".join(parts) + "</body></html>")


def html_table(frame: pd.DataFrame) -> str:
    """A table with its cells spelt as in the Markdown and the numbers right-aligned."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):
        cells = [f"<td class='num'>{html.escape(cell(v))}</td>" if _numeric(v)
                 else f"<td>{html.escape(cell(v))}</td>" for v in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _numeric(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def inline(text: str) -> str:
    """Escaped text with Markdown's **bold** and `code`, the only markup the reports'
    paragraphs use, as HTML."""
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def markdown_html(text: str) -> list[str]:
    """The Markdown the reports' sections are written in (ATX headings, paragraphs, pipe
    tables, one image a line) as HTML; images stay links relative to the page."""
    parts: list[str] = []
    rows: list[list[str]] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not line.startswith("|---"):
                rows.append([c.strip().replace("\\|", "|")
                             for c in re.split(r"(?<!\\)\|", line)[1:-1]])
            continue
        if rows:
            parts.append(html_table(pd.DataFrame(rows[1:], columns=rows[0])))
            rows = []
        heading = re.match(r"(#{1,6}) (.*)", line)
        image = re.match(r"!\[([^]]*)\]\(([^)]+)\)$", line.strip())
        if heading:
            level = len(heading.group(1))
            parts.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif image:
            parts.append(f'<figure><img alt="{html.escape(image.group(1))}" '
                         f'src="{html.escape(image.group(2))}"></figure>')
        elif line.strip():
            parts.append(f"<p>{inline(line)}</p>")
    return parts
