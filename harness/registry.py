"""The one registry of names, used for cells (``variants``) and tasks (``tasks``).

Standard library only: this module and ``harness.values`` are the two pieces of ``harness``
that the leaf packages import, so that a cell or a task can still be read and tested without
the rest of the harness.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def did_you_mean(
    word: str, choices: list[str], n: int = 1, cutoff: float = 0.6, quote: bool = False
) -> str:
    """``"did you mean a, b?"`` for the ``choices`` closest to a mistyped ``word``; ``""``
    when none is close (``difflib``'s similarity of at least ``cutoff``)."""
    close = difflib.get_close_matches(word, choices, n=n, cutoff=cutoff)
    return f"did you mean {', '.join(map(repr, close) if quote else close)}?" if close else ""


class Registry(Generic[T]):
    """Entries of one kind by name: added once (or replaced on request), listed sorted,
    looked up with the closest names offered for a typo."""

    def __init__(self, kind: str, unknown: type[LookupError]) -> None:
        self.kind = kind  # "variant", "task": how messages name an entry
        self.unknown = unknown  # the error an unknown name raises
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, *, replace: bool = False) -> None:
        if not replace and name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered; pass replace=True")
        self._entries[name] = entry

    def remove(self, name: str) -> None:
        self.get(name)
        del self._entries[name]

    def names(self, keep: Callable[[T], bool] | None = None) -> list[str]:
        """The names, sorted; only those whose entry ``keep`` accepts when given."""
        return sorted(n for n, e in self._entries.items() if keep is None or keep(e))

    def get(self, name: str) -> T:
        """The entry of ``name``; an unknown name raises ``unknown`` with the closest names."""
        try:
            return self._entries[name]
        except KeyError:
            hint = did_you_mean(str(name).lower(), self.names(), n=3, cutoff=0.4)
            known = "known: " + ", ".join(self.names())
            raise self.unknown(f"unknown {self.kind} {name!r}; {hint or known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries
