"""The registry of recurrent cells: one name, one builder, its metadata and preset options.

A user adds a cell in one file::

    import variants

    @variants.register("mycell", family="custom", paper="Me et al. 2026",
                       description="what it changes")
    class MyCell(variants.RecurrentCell):
        def __init__(self, input_size, hidden_size, *, my_option=1.0): ...

A preset registers an existing builder with fixed options, which user overrides replace::

    variants.register("lstm-b2", variants.LSTMCell, family="lstm", paper="...",
                      description="forget bias 2", forget_bias=2.0)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from harness.registry import Registry
from variants.base import RecurrentCell

Builder = Callable[..., RecurrentCell]
B = TypeVar("B", bound=Builder)


class UnknownVariantError(LookupError):
    """A variant name that is not registered (the message names the closest ones)."""


@dataclass(frozen=True)
class VariantInfo:
    """What the registry knows about one variant."""

    name: str
    builder: Builder
    family: str
    paper: str
    description: str
    preset: Mapping[str, Any] = field(default_factory=dict)

    def options(self) -> list[str]:
        """The keyword options the builder accepts (besides the two sizes)."""
        params = inspect.signature(self.builder).parameters.values()
        return [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]


_REGISTRY: Registry[VariantInfo] = Registry("variant", UnknownVariantError)


def register(
    name: str,
    builder: B | None = None,
    *,
    family: str,
    paper: str,
    description: str,
    replace: bool = False,
    **preset: Any,
) -> Any:
    """Register ``builder(input_size, hidden_size, **options)`` under ``name``.

    Used as a decorator when ``builder`` is omitted. ``preset`` options are passed to the
    builder on every ``build`` and may be overridden there. Registering a taken name raises
    unless ``replace=True``.
    """

    def add(b: B) -> B:
        info = VariantInfo(name, b, family, paper, description, MappingProxyType(dict(preset)))
        unknown = set(preset) - set(info.options())
        if unknown:
            raise TypeError(f"variant {name!r}: builder has no option(s) {sorted(unknown)}")
        _REGISTRY.add(name, info, replace=replace)
        return b

    return add if builder is None else add(builder)


def unregister(name: str) -> None:
    """Remove a variant (for tests and interactive sessions)."""
    _REGISTRY.remove(name)


def names(family: str | None = None) -> list[str]:
    """Registered variant names, sorted; only those of ``family`` when given."""
    return _REGISTRY.names(None if family is None else lambda i: i.family == family)


def info(name: str) -> VariantInfo:
    """The registry entry of ``name``; an unknown name raises with the closest names."""
    return _REGISTRY.get(name)


def build(name: str, input_size: int, hidden_size: int, **overrides: Any) -> RecurrentCell:
    """Build the cell registered as ``name``; ``overrides`` replace its preset options."""
    entry = info(name)
    allowed = entry.options()
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(
            f"variant {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"its options are: {', '.join(allowed) or 'none'}"
        )
    return entry.builder(input_size, hidden_size, **{**entry.preset, **overrides})


def count_parameters(cell: RecurrentCell) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in cell.parameters() if p.requires_grad)
