"""One list of blocks, two documents: GitHub Markdown and one self-contained HTML page.

Both reports (the grid's ``report.md``/``report.html``, the findings) render from the same
blocks, so that the HTML cannot drift from the Markdown: the HTML is the Markdown,
rendered by the ``markdown`` package. The page is made for a browser window down to 800
pixels: figures scale down to its width, a table wider than the window scrolls inside
itself, long words (paths) break, and numbers are right-aligned, spelt as in the Markdown.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import markdown
import pandas as pd

from results.analysis.summary import to_markdown

# a block: (kind, payload); kinds h1/h2/h3/p (text, **bold** and `code` marked as in
# Markdown), table (frame), img (path of a PNG), pre (preformatted text, folded: shown on
# a click, as a long configuration should be), md (a section
# written as Markdown elsewhere: headings, paragraphs, tables and images relative to the
# report's folder, which the HTML links rather than inlines)
Block = tuple[str, str | pd.DataFrame | Path]

STYLE = (
    "body{font-family:sans-serif;max-width:1300px;margin:auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:90%;margin:.5em 0;display:block;"
    "max-width:100%;overflow-x:auto}"
    "td,th{border:1px solid #ccc;padding:2px 6px;overflow-wrap:anywhere;"
    "font-variant-numeric:tabular-nums}th{background:#f4f4f4}"
    "p,li{overflow-wrap:anywhere}"
    "img{max-width:100%;height:auto}figure{margin:1em 0}"
    "pre{background:#f8f8f8;padding:.5em;overflow-x:auto}"
)


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
            lines += [
                "<details><summary>show</summary>",
                "",
                "```",
                str(payload).rstrip("\n"),
                "```",
                "",
                "</details>",
                "",
            ]
        elif kind == "md":
            lines += [str(payload).rstrip("\n"), ""]
    return "\n".join(lines)


def to_html(blocks: list[Block]) -> str:
    """One self-contained page: the same Markdown, rendered by the ``markdown`` package,
    with the figures inlined as base64 PNG; its title is the first h1's."""
    title = next((str(p) for k, p in blocks if k == "h1"), "Report")
    inlined = [
        ("md", _figure(p)) if k == "img" else ("md", _folded(str(p))) if k == "pre" else (k, p)
        for k, p in blocks
    ]
    body = markdown.markdown(
        to_md(inlined, Path(".")), extensions=["tables", "md_in_html"], output_format="html"
    )
    return (
        f"<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style><body>" + body + "</body></html>"
    )


def _folded(text: str) -> str:
    return f"<details><summary>show</summary><pre>{html.escape(text)}</pre></details>"


def _figure(png: Path) -> str:
    data = base64.b64encode(png.read_bytes()).decode()
    return (
        f'<figure><img alt="{html.escape(png.stem)}" src="data:image/png;base64,{data}"></figure>'
    )
