"""Cells and tasks from outside the project: modules that register them when imported.

A plugin is any importable module that calls ``variants.register`` or ``tasks.register`` at
import time. It is loaded from three places, in this order:

- installed packages that declare an entry point in the group ``rnn_harness.plugins``
  (``[project.entry-points."rnn_harness.plugins"] mycells = "mypackage.cells"``);
- the environment variable ``HARNESS_PLUGINS`` (comma-separated module names);
- ``--plugin MODULE`` on the command line (any command; repeatable).

Worker processes a grid spawns load the same modules, so a plugin cell trains in them too;
and every study records the modules loaded where it was queued (user attribute
``plugins``), so that ``worker`` on another machine loads them before it takes a run.
"""

from __future__ import annotations

import importlib
import os
from importlib import metadata

GROUP = "rnn_harness.plugins"
ENVIRONMENT = "HARNESS_PLUGINS"

_loaded: list[str] = []


class PluginError(LookupError):
    """A plugin module that cannot be imported (the message says which and why)."""


def requested(modules: list[str] | None = None) -> list[str]:
    """The plugin modules asked for by the environment and ``modules``, in order, once each."""
    names = [m.strip() for m in os.environ.get(ENVIRONMENT, "").split(",") if m.strip()]
    names += [m.strip() for m in modules or [] if m.strip()]
    return list(dict.fromkeys(names))


def load(modules: list[str] | None = None) -> list[str]:
    """Import the entry-point plugins and ``requested(modules)``; returns every module
    loaded so far in this process (what worker processes must load too)."""
    for entry in metadata.entry_points(group=GROUP):
        _import(entry.value.split(":")[0], f"entry point {entry.name!r} of group {GROUP}")
    for name in requested(modules):
        _import(name, "plugin")
    return list(_loaded)


def _import(name: str, origin: str) -> None:
    if name in _loaded:
        return
    try:
        importlib.import_module(name)
    except ImportError as error:
        raise PluginError(
            f"cannot import {origin} {name!r} ({error}); install it or put its folder on PYTHONPATH"
        ) from None
    _loaded.append(name)


ATTR = "plugins"


def record(study: object) -> None:
    """Note on ``study`` (an Optuna study) the plugin modules its runs need: those loaded
    here, added to those it noted before."""
    noted = list(study.user_attrs.get(ATTR, []))  # type: ignore[attr-defined]
    wanted = list(dict.fromkeys(noted + _loaded))
    if wanted != noted:
        study.set_user_attr(ATTR, wanted)  # type: ignore[attr-defined]


def recorded(studies: list) -> list[str]:
    """The plugin modules the studies noted, once each."""
    return list(dict.fromkeys(m for s in studies for m in s.user_attrs.get(ATTR, [])))
