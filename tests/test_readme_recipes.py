"""The documentation's recipes are the files the tests run: each code block after a
``<!-- recipe: PATH -->`` marker, in the README or a page under docs/, is that file, byte for
byte."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_recipe_block_is_the_file_it_names() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    recipes = [
        (page, path, block)
        for page in pages
        for path, block in re.findall(
            r"<!-- recipe: (\S+) -->\n```\w*\n(.*?)```", page.read_text(), flags=re.S
        )
    ]
    assert len(recipes) >= 2
    for page, path, block in recipes:
        assert (ROOT / path).read_text() == block, (
            f"{page.relative_to(ROOT)}'s recipe differs from {path}"
        )
