"""The registry of tasks: ``tasks.build(name, **overrides)`` with the task's own defaults.

A user adds a task in one file::

    @tasks.register("mytask", kind="synthetic", description="...")
    class MyTask(tasks.Task):
        settings_class = MySettings     # a frozen dataclass deriving from tasks.Settings
        ...
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from tasks.base import Task, TaskError, did_you_mean

T = TypeVar("T", bound=type[Task])


class UnknownTaskError(TaskError, LookupError):
    """A task name that is not registered (the message names the closest ones)."""


@dataclass(frozen=True)
class TaskInfo:
    name: str
    cls: type[Task]
    kind: str  # "synthetic" or "data"
    description: str


_REGISTRY: dict[str, TaskInfo] = {}


def register(name: str, *, kind: str, description: str, replace: bool = False) -> Any:
    """Class decorator: register a ``Task`` subclass under ``name``."""

    def add(cls: T) -> T:
        if not replace and name in _REGISTRY:
            raise ValueError(f"task {name!r} is already registered; pass replace=True")
        cls.name = name
        _REGISTRY[name] = TaskInfo(name, cls, kind, description)
        return cls

    return add


def unregister(name: str) -> None:
    info(name)
    del _REGISTRY[name]


def names() -> list[str]:
    return sorted(_REGISTRY)


def info(name: str) -> TaskInfo:
    if name in _REGISTRY:
        return _REGISTRY[name]
    hint = did_you_mean(str(name).lower(), names(), n=3, cutoff=0.4)
    raise UnknownTaskError(f"unknown task {name!r}; {hint or 'known: ' + ', '.join(names())}")


def build(name: str, **overrides: Any) -> Task:
    """Build task ``name`` with its default settings, ``overrides`` replacing some."""
    cls = info(name).cls
    return cls(make_settings(cls.settings_class, name, overrides))


def setting_names(name: str) -> set[str]:
    """The names of task ``name``'s settings (``--set task.NAME=``)."""
    return {f.name for f in dataclasses.fields(info(name).cls.settings_class)}


def data_dir_override(name: str, data_dir: str | None) -> dict[str, Any]:
    """``{"data_dir": data_dir}`` for a task that reads a data folder, else nothing."""
    return (
        {"data_dir": data_dir} if data_dir is not None and "data_dir" in setting_names(name) else {}
    )


def make_settings(settings_class: type, name: str, overrides: dict[str, Any]) -> Any:
    """The task's default settings with ``overrides`` applied, each type-checked."""
    hints = typing.get_type_hints(settings_class)
    fields = {f.name for f in dataclasses.fields(settings_class)}
    for key, value in overrides.items():
        if key not in fields:
            hint = did_you_mean(key, sorted(fields), quote=True)
            raise TaskError(
                f"task {name!r} has no setting {key!r}; {hint + ' ' if hint else ''}"
                f"its settings are: {', '.join(sorted(fields))}"
            )
        if not _fits(value, hints[key]):
            raise TaskError(
                f"task {name!r}: setting {key!r} expects {_describe(hints[key])}, got {value!r}"
            )
    values = {
        k: (float(v) if hints[k] is float and isinstance(v, int) else v)
        for k, v in overrides.items()
    }
    return dataclasses.replace(settings_class(), **values)


def _fits(value: Any, hint: Any) -> bool:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_fits(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))
