"""One coercion of a setting's value to its annotated type, for every ``--set``, grid file,
task setting and cell option: ``1`` for a float is ``1.0``, a whole ``10.0`` for an int is
``10``, ``"true"`` for a bool is ``True``; anything else that does not fit is refused.

Standard library only (see ``harness.registry``): the leaf packages import it.
"""

from __future__ import annotations

import types
import typing
from typing import Any


class Mismatch(ValueError):
    """A value that does not fit its type; the message reads "expects int, got '20'", for
    the caller to prefix with the setting's name."""


def coerce(value: Any, hint: Any) -> Any:
    """``value`` in the canonical spelling of ``hint`` (a type, or a union such as
    ``int | None``), or ``Mismatch``."""
    options = _options(hint)
    if value is None and type(None) in options:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and float in options and isinstance(value, int):
        return float(value)
    if number and int in options and isinstance(value, float):
        if value.is_integer():
            return int(value)  # steps=10.0 is steps=10
        if float not in options:
            raise Mismatch(f"expects a whole number, got {value!r}")
    if bool in options and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # bidirectional=true, as a command line spells it
    for option in options:
        if isinstance(option, type) and option is not type(None) and isinstance(value, option):
            if isinstance(value, bool) and option is not bool:
                continue  # True is an int to Python, not to a setting
            return value
    raise Mismatch(f"expects {describe(hint)}, got {value!r}")


def describe(hint: Any) -> str:
    """``int or None``: a type as a message names it."""
    return " or ".join(
        "None" if o is type(None) else getattr(o, "__name__", str(o)) for o in _options(hint)
    )


def _options(hint: Any) -> tuple[Any, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)
