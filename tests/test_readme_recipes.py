"""The README's recipes are the files the tests run: each code block after a
``<!-- recipe: PATH -->`` marker is that file, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_recipe_block_is_the_file_it_names() -> None:
    readme = (ROOT / "README.md").read_text()
    recipes = re.findall(r"<!-- recipe: (\S+) -->\n```\w*\n(.*?)```", readme, flags=re.S)
    assert len(recipes) >= 2
    for path, block in recipes:
        assert (ROOT / path).read_text() == block, f"README's recipe differs from {path}"
