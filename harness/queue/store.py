"""The studies in a storage: opened, listed, and kept in Optuna's own terms, so that
optuna-dashboard and ``optuna.visualization`` read them as they read any study.

- One study per task (``PREFIX-TASK``), created with its primary metric's direction and
  named metric (``study.set_metric_names``): a best trial is picked against its own task.
- The grid point as the trial's params, each with a distribution: ``variant`` (categorical),
  ``seed``, and for a search every searched setting with its range. The distributions are
  recorded on the study (user attribute ``params``) when it is prepared; a worker writes a
  run's params from the run's configuration when it takes it, so the configuration stays
  the one source of truth (user attribute ``config``) and a re-queued run needs nothing
  more.
- The validation curve of the primary metric as intermediate values (``trial.report``),
  written with the result, so learning curves are drawn.

Optuna refuses a categorical whose choices change within a study, so ``variant``'s choices
are every variant registered when the study is first prepared (plus the grid's own); a
variant registered later (a new plugin) trains and is stored as any other, but its trials
carry no ``variant`` param (and a warning says so).
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.storages import BaseStorage

import tasks
import variants
from harness.plans.config import ConfigError, RunConfig
from harness.queue import liveness
from harness.queue.journal import JournalDamaged, JournalFile
from harness.queue.storage_url import StorageError

log = logging.getLogger(__name__)
PARAMS_ATTR = "params"
# the version of the harness that created a study: what a later version names when it
# cannot read or extend the study (studies without it come from 0.1.0's pre-releases)
WRITTEN_BY = "harness_version"


def direction(config: RunConfig) -> tuple[str, str | None]:
    """(``"minimize"``/``"maximize"``, metric name) of the task's primary metric; a task
    that cannot be built here (its data missing) gets Optuna's default and no name, and
    its runs say what is wrong when they run."""
    from harness.training.train import build_task  # the task with the run's overrides

    try:
        metric = build_task(config).metrics[0]
    except (tasks.TaskError, OSError, ValueError):
        return "minimize", None
    return ("minimize" if metric.lower_is_better else "maximize"), metric.name


@dataclass
class TaskStudy:
    """The study that one task's runs are queued in, as a grid or search asks for it."""

    name: str  # PREFIX-TASK
    runs: list[RunConfig]
    notes: dict[str, Any]  # its user attributes: what it notes of its grid or search
    space: dict[str, tuple[float, float, bool]] | None = None  # a search's ranges
    # its terms, from the runs: the params' distributions, the primary metric's direction
    distributions: dict[str, BaseDistribution] = field(init=False)
    direction: str = field(init=False)
    metric: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.distributions = (
            grid_distributions(self.runs)
            if self.space is None
            else search_distributions(self.runs, self.space)
        )
        self.direction, self.metric = direction(self.runs[0])


def open_task_study(storage: optuna.storages.BaseStorage, task: TaskStudy) -> optuna.Study:
    """The study of one task: created with its direction and metric name, or opened; the
    params' distributions merged into those it recorded, its notes set."""
    study = open_study(storage, task.name, direction=task.direction)
    if task.metric is not None and study.metric_names is None:
        with warnings.catch_warnings():  # Optuna calls it experimental; relied on knowingly
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([task.metric])
    recorded = recorded_distributions(study)
    merged = merge(recorded, task.distributions)
    if merged != recorded:
        study.set_user_attr(PARAMS_ATTR, {k: distribution_to_json(d) for k, d in merged.items()})
    for key, value in task.notes.items():
        study.set_user_attr(key, value)
    if WRITTEN_BY not in study.user_attrs:
        study.set_user_attr(WRITTEN_BY, harness_version())
    return study


def harness_version() -> str:
    """This harness's version, as installed (``pip install -e .`` records it)."""
    try:
        return metadata.version("rnn-harness")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def grid_distributions(configs: Iterable[RunConfig]) -> dict[str, BaseDistribution]:
    """A grid's params: what it crosses, the variant and the seed."""
    configs = list(configs)
    chosen = sorted(set(variants.names()) | {c.variant for c in configs})
    seeds = [c.seed for c in configs] or [0]
    return {
        "variant": CategoricalDistribution(chosen),
        "seed": IntDistribution(min(0, min(seeds)), max(seeds)),
    }


def search_distributions(
    configs: Iterable[RunConfig], space: dict[str, tuple[float, float, bool]]
) -> dict[str, BaseDistribution]:
    """A search's params: the grid's, and every searched setting over its range."""
    out = grid_distributions(configs)
    for name, (low, high, log_scale) in space.items():
        integer = name in ("hidden_size", "layers")
        out[name] = (
            IntDistribution(int(low), int(high), log=log_scale)
            if integer
            else FloatDistribution(float(low), float(high), log=log_scale)
        )
    return out


def merge(
    old: dict[str, BaseDistribution], new: dict[str, BaseDistribution]
) -> dict[str, BaseDistribution]:
    """The recorded distributions widened to hold ``new``'s: numeric ranges grow; a
    categorical keeps its first choices (Optuna refuses others within a study)."""
    out = dict(old)
    for name, dist in new.items():
        before = out.get(name)
        if before is None or type(before) is not type(dist):
            out.setdefault(name, dist)
        elif isinstance(dist, (IntDistribution, FloatDistribution)):
            assert isinstance(before, (IntDistribution, FloatDistribution))
            low, high = min(before.low, dist.low), max(before.high, dist.high)
            if (low, high) != (before.low, before.high):
                out[name] = type(dist)(low, high, log=before.log)
        elif isinstance(dist, CategoricalDistribution):
            assert isinstance(before, CategoricalDistribution)
            missing = [c for c in dist.choices if c not in before.choices]
            if missing:
                log.warning(
                    "%s %s came after this study fixed its choices; their trials carry no %r param",
                    name,
                    ", ".join(map(str, missing)),
                    name,
                )
    return out


def recorded_distributions(
    study: optuna.Study | optuna.study.StudySummary,
) -> dict[str, BaseDistribution]:
    return {
        k: json_to_distribution(v) for k, v in (study.user_attrs.get(PARAMS_ATTR) or {}).items()
    }


def set_params(
    study: optuna.Study,
    trial_id: int,
    config: RunConfig,
    distributions: dict[str, BaseDistribution],
) -> None:
    """Write a run's params (taken from its configuration) onto its trial."""
    storage = liveness.storage_of(study)
    values = _values(config)
    for name, dist in distributions.items():
        if name not in values or values[name] is None:
            continue
        try:
            internal = dist.to_internal_repr(values[name])
        except ValueError:  # a choice the study did not know when it was created
            continue
        storage.set_trial_param(trial_id, name, internal, dist)


def _values(config: RunConfig) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if not isinstance(v, dict)}


def report_curve(trial: optuna.Trial, record: dict[str, Any]) -> None:
    """The validation curve of the primary metric as the trial's intermediate values."""
    name = f"valid_{record['primary']}"
    with warnings.catch_warnings():  # told again after an outage: the steps are there already
        warnings.filterwarnings("ignore", message="The reported value is ignored")
        for step, curve, value in record["curves"]:
            if curve == name and value is not None and math.isfinite(value):
                trial.report(float(value), int(step))


# --- the studies of a storage ------------------------------------------------------------


def open_study(
    storage: BaseStorage, name: str, create: bool = True, direction: str = "minimize"
) -> optuna.Study:
    """The study ``name``; created (with ``direction``) when missing and ``create``."""
    with _readable(storage):
        if create:
            return optuna.create_study(
                study_name=name, storage=storage, load_if_exists=True, direction=direction
            )
        try:
            return optuna.load_study(study_name=name, storage=storage)
        except KeyError:
            pass
        known = [s.study_name for s in optuna.get_all_study_summaries(storage)]
        raise StorageError(
            f"no study named {name!r} in this storage; studies: {', '.join(known) or 'none'}"
        ) from None


@contextlib.contextmanager
def _readable(storage: BaseStorage) -> Iterator[None]:
    """A journal that a read finds damaged (a record overwritten since it was opened) is a
    clear error, and the file is left as it is (``JournalDamaged``)."""
    try:
        yield
    except JournalDamaged.READING as error:
        if not isinstance(storage, JournalFile) or isinstance(
            error, (StorageError, JournalDamaged)
        ):
            raise
        raise storage.damaged(error) from None


def earlier_grid(storage: BaseStorage, name: str) -> None:
    """Refuse, in one line, to add to a grid that a 0.1.0 pre-release stored as one study
    ``name`` for all its tasks (0.1.0 stores one study a task, ``name-TASK``)."""
    for summary in optuna.get_all_study_summaries(storage):
        if summary.study_name == name and "grid" in summary.user_attrs:
            raise ConfigError(
                f"{name} in this storage is a grid that a pre-release of harness 0.1.0 stored "
                "as one study for all its tasks; this version cannot add to it (report still "
                "reads it): run the grid under another --study, or in another storage"
            )


def family_of(study: optuna.Study | optuna.study.StudySummary) -> str | None:
    """The grid or search a study belongs to (its studies are named ``FAMILY-TASK``)."""
    for kind in ("grid", "search"):
        prefix = (study.user_attrs.get(kind) or {}).get("prefix")
        if prefix:
            return str(prefix)
    return None


def named_studies(storage: BaseStorage, name: str) -> list[optuna.Study]:
    """The study ``name``, or every study of the grid or search ``name`` (named
    ``name-TASK``; each records its prefix, so ``reproduce-quick`` is not
    ``reproduce-quick-seed1``)."""
    with _readable(storage):
        summaries = optuna.get_all_study_summaries(storage)
    names = [s.study_name for s in summaries]

    def of_search(summary: optuna.study.StudySummary) -> bool:
        prefix = family_of(summary)
        return prefix == name if prefix else summary.study_name.startswith(f"{name}-")

    chosen = [n for n in names if n == name] or [s.study_name for s in summaries if of_search(s)]
    if not chosen:
        searches = sorted({n.rsplit("-", 1)[0] for n in names if "-" in n})
        raise StorageError(
            f"no study named {name!r} or {name}-TASK in this storage; "
            f"studies: {', '.join(names) or 'none'}"
            + (f" (searches: {', '.join(searches)})" if searches else "")
        )
    return [open_study(storage, n, create=False) for n in sorted(chosen)]
