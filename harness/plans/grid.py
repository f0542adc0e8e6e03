"""A grid: variants × tasks × seeds with run settings, from a named profile or a TOML file.

A grid file describes a whole grid; every key is optional and falls back on the profile::

    profile = "default"
    variants = ["lstm", "gru", "cifg"]
    tasks = ["parity", "memory-add"]
    seeds = 3

    [run]                      # RunConfig fields for every run
    hidden_size = 32

    [task.parity]              # for one task: RunConfig fields, and its task settings
    steps = 800
    task_settings = { seq_len = 20 }
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tasks
import variants
from harness.plans.config import ConfigError, RunConfig, parse_assignments
from harness.plans.profiles import EMBEDDED_TASKS, PROFILES
from harness.registry import did_you_mean


@dataclass(frozen=True)
class GridSpec:
    """The resolved description of a grid (saved with its results)."""

    profile: str
    variants: tuple[str, ...]
    tasks: tuple[str, ...]
    seeds: int
    run: dict[str, Any] = field(default_factory=dict)
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)

    def runs(self) -> list[RunConfig]:
        """Every run of the grid, task by task, variant by variant, seed by seed."""
        out = []
        for task in self.tasks:
            for variant in self.variants:
                for seed in range(self.seeds):
                    settings = {**self.run, **self.per_task.get(task, {})}
                    try:
                        out.append(RunConfig(variant=variant, task=task, seed=seed, **settings))
                    except TypeError as error:
                        raise ConfigError(f"grid settings for {task}: {error}") from None
        return out


def from_command(
    profile: str,
    variant_names: str | None,
    task_names: str | None,
    seeds: int | None,
    config_file: str | None,
    assignments: list[str] | None,
) -> GridSpec:
    """``resolve`` from the command line's spelling: comma-separated names and ``--set
    KEY=VALUE`` items (parsed once, to canonical values, by ``config.parse_assignments``)."""
    return resolve(
        profile,
        split_names(variant_names),
        split_names(task_names),
        seeds,
        config_file,
        parse_assignments(assignments),
    )


def split_names(text: str | None) -> list[str] | None:
    """``"lstm, gru"`` -> ``["lstm", "gru"]``; None or empty: None (the default names)."""
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def resolve(
    profile: str = "default",
    variant_names: list[str] | None = None,
    task_names: list[str] | None = None,
    seeds: int | None = None,
    config_file: str | None = None,
    run_overrides: dict[str, Any] | None = None,
) -> GridSpec:
    """Profile, then grid file, then command-line options, each overriding the last."""
    file = _read_toml(config_file) if config_file else {}
    profile = file.pop("profile", profile)
    if profile not in PROFILES:
        hint = did_you_mean(str(profile), list(PROFILES), cutoff=0.4)
        raise ConfigError(
            f"unknown profile {profile!r}; profiles are {', '.join(PROFILES)}"
            + (f" ({hint})" if hint else "")
        )
    base = PROFILES[profile]
    chosen_variants = variant_names or file.pop("variants", None) or variants.names()
    chosen_tasks = task_names or file.pop("tasks", None) or list(EMBEDDED_TASKS)
    for name in chosen_variants:
        variants.info(name)
    for name in chosen_tasks:
        tasks.info(name)
    # the profile's settings, then the file's [run], its [task.NAME], the command line: each
    # over the last, for every task (a profile's per-task steps yield to --set steps=N)
    per_task = with_settings(
        {t: dict(base["tasks"].get(t, {})) for t in chosen_tasks},
        file.pop("run", {}),
        f"[run] of {config_file}",
    )
    for task, extra in file.pop("task", {}).items():
        merged = per_task.setdefault(task, {})
        merged["task_settings"] = {
            **merged.get("task_settings", {}),
            **extra.pop("task_settings", {}),
        }
        merged.update(extra)
    per_task = with_settings(per_task, run_overrides or {}, "--set")
    run = dict(base["run"])
    count = seeds or file.pop("seeds", None) or base["seeds"]
    file.pop("seeds", None)
    if file:
        raise ConfigError(
            f"unknown key(s) in {config_file}: {', '.join(sorted(file))}; "
            "allowed: profile, variants, tasks, seeds, [run], [task.NAME]"
        )
    spec = GridSpec(profile, tuple(chosen_variants), tuple(chosen_tasks), int(count), run, per_task)
    spec.runs()  # every run's configuration is checked before anything is stored
    return spec


def with_settings(
    per_task: dict[str, dict[str, Any]], settings: dict[str, Any], where: str
) -> dict[str, dict[str, Any]]:
    """Each task's settings with ``settings`` over them: run settings for every task, task
    settings (``task_settings``) for each task that has them (``data_dir`` goes to the tasks
    that read a data folder). A task setting that no task has is an error naming ``where``
    it came from."""
    extra = dict(settings)
    task_settings = extra.pop("task_settings", {})
    used: set[str] = set()
    out = {}
    for task, own in per_task.items():
        mine = {k: v for k, v in task_settings.items() if k in tasks.setting_names(task)}
        used |= set(mine)
        out[task] = {**own, **extra, "task_settings": {**own.get("task_settings", {}), **mine}}
    unknown = sorted(set(task_settings) - used)
    if unknown:
        raise ConfigError(
            f"{where}: no task of {', '.join(per_task)} has the setting(s) "
            f"{', '.join(unknown)}; `python -m harness list` shows each task's "
            "settings"
        )
    return out


def _read_toml(path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"grid file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"grid file {path} is not valid TOML: {error}") from None


def as_dict(spec: GridSpec) -> dict[str, Any]:
    return dataclasses.asdict(spec)
