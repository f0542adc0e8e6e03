"""The registry of tasks: ``tasks.build(name, **overrides)`` with the task's own defaults.

A user adds a task in one file::

    @tasks.register("mytask", kind="synthetic", description="...")
    class MyTask(tasks.Task):
        settings_class = MySettings     # a frozen dataclass deriving from tasks.Settings
        ...
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from harness.registry import Registry, did_you_mean
from harness.values import Mismatch, coerce
from tasks.base import Task, TaskError

T = TypeVar("T", bound=type[Task])


class UnknownTaskError(TaskError, LookupError):
    """A task name that is not registered (the message names the closest ones)."""


@dataclass(frozen=True)
class TaskInfo:
    name: str
    cls: type[Task]
    kind: str  # "synthetic" or "data"
    description: str


_REGISTRY: Registry[TaskInfo] = Registry("task", UnknownTaskError)


def register(name: str, *, kind: str, description: str, replace: bool = False) -> Any:
    """Class decorator: register a ``Task`` subclass under ``name``."""

    def add(cls: T) -> T:
        _REGISTRY.add(name, TaskInfo(name, cls, kind, description), replace=replace)
        cls.name = name
        return cls

    return add


def unregister(name: str) -> None:
    _REGISTRY.remove(name)


def names() -> list[str]:
    return _REGISTRY.names()


def info(name: str) -> TaskInfo:
    return _REGISTRY.get(name)


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
    """The task's default settings with ``overrides`` applied, each coerced to its type."""
    hints = typing.get_type_hints(settings_class)
    fields = {f.name for f in dataclasses.fields(settings_class)}
    values = {}
    for key, value in overrides.items():
        if key not in fields:
            hint = did_you_mean(key, sorted(fields), quote=True)
            raise TaskError(
                f"task {name!r} has no setting {key!r}; {hint + ' ' if hint else ''}"
                f"its settings are: {', '.join(sorted(fields))}"
            )
        try:
            values[key] = coerce(value, hints[key])
        except Mismatch as error:
            raise TaskError(f"task {name!r}: setting {key!r} {error}") from None
    return dataclasses.replace(settings_class(), **values)
