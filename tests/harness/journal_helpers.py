"""Reading back what a grid stored, as the tests check it: its studies, one study by name, and
the results of its finished runs."""

from __future__ import annotations

from pathlib import Path

import optuna

from harness.queue import finished, storage_url, store


def grid_studies(storage: str | Path, name: str = "grid-smoke") -> list[optuna.Study]:
    """The studies of grid ``name`` (one per task) in a journal file or database URL."""
    return store.named_studies(storage_url.open_storage(str(storage)), name)


def stored_study(storage: str | Path, name: str) -> optuna.Study:
    """The study ``name`` as it is stored now (opened afresh, never created)."""
    return store.open_study(storage_url.open_storage(str(storage)), name, create=False)


def finished_results(storage: str | Path, name: str = "grid-smoke") -> dict[str, object]:
    """The stored result of every completed run of grid ``name``, by run key."""
    return {
        t.user_attrs["key"]: t.user_attrs["result"]
        for s in grid_studies(storage, name)
        for t in finished.completed(s)
    }
