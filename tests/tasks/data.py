"""Where the real datasets are for tests: ``HARNESS_DATA`` (CI sets it to the shared copies)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def data_dir() -> Path:
    """The data folder, or skip (locally) / fail (on CI, where it must be there)."""
    root = os.environ.get("HARNESS_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    message = f"real-data test needs HARNESS_DATA (got {root!r})"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
