"""Random search, Greff et al.'s protocol: one study per task, trial k of every variant drawn
from the search seed and k, all trials enqueued up front (so many workers share them and a
re-run resumes), and the analysis read back from the studies.

A trial is a run like any other (``RunConfig`` with the drawn hyperparameters, ``seed = k``),
stored by the grid's machinery: ``entries.enqueue`` keys it by its whole configuration, so
enqueueing the same search again adds nothing and a wider one (more trials, another
variant) adds only the new trials. Trials are enqueued variant by variant and size by
size, so that a worker's population (same variant, same hidden size) forms from adjacent
ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import tasks
import variants
from harness.plans import spaces
from harness.plans.config import ConfigError, RunConfig
from harness.queue import queueing
from harness.queue.finished import Prepared
from harness.queue.store import TaskStudy


@dataclass(frozen=True)
class SearchSpec:
    """A whole search: variants × tasks × trials from one space and seed."""

    variants: tuple[str, ...]
    tasks: tuple[str, ...]
    trials: int
    space: str = "greff"
    seed: int = 0
    prefix: str = "search"  # studies are named PREFIX-TASK
    run: dict[str, Any] = field(default_factory=dict)  # RunConfig fields of every trial
    per_task: dict[str, dict[str, Any]] = field(default_factory=dict)  # ... of one task's

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"trials must be at least 1, got {self.trials}")
        for name in self.variants:
            variants.info(name)
        for name in self.tasks:
            tasks.info(name)
        spaces.get(self.space)

    def study_name(self, task: str) -> str:
        return f"{self.prefix}-{task}"

    def runs(self, task: str, space: spaces.Space | None = None) -> list[RunConfig]:
        """Every trial of ``task``: ``trials`` draws × the variants, in enqueueing order
        (``space``: this search's, where the caller holds it already)."""
        space = space or spaces.get(self.space)
        return self.configs(task, space.optimizer, space.draws(self.seed, self.trials))

    def configs(self, task: str, optimizer: str, drawn: list[dict[str, object]]) -> list[RunConfig]:
        """``task``'s trials from the space's ``drawn`` values (trial k's at index k), each
        with every variant, in enqueueing order."""
        settings = {**self.run, **self.per_task.get(task, {})}
        out = []
        for k, values in enumerate(drawn):
            for variant in self.variants:
                try:
                    out.append(
                        RunConfig(
                            variant=variant,
                            task=task,
                            seed=k,
                            optimizer=optimizer,
                            **{**settings, **values},
                        )
                    )
                except TypeError as error:
                    raise ConfigError(f"search settings for {task}: {error}") from None
        return sorted(out, key=lambda c: (self.variants.index(c.variant), c.hidden_size, c.seed))


def prepare(
    spec: SearchSpec, storage: str | None, models: str | None = None, keep_models: bool = True
) -> Prepared:
    """Queue the search in the storage at ``storage``: each task's study opened or created
    with its search's ranges, runs of dead workers re-queued, what is missing enqueued;
    trials keep their models in ``models`` (none unless ``keep_models``)."""
    space = spaces.get(spec.space)
    ranges = space.analysis()
    drawn = space.draws(spec.seed, spec.trials)  # the same draws for every task
    studies = [
        TaskStudy(
            spec.study_name(task),
            spec.configs(task, space.optimizer, drawn),
            {"search": as_dict(spec, task, space, ranges)},
            space=ranges,
        )
        for task in spec.tasks
    ]
    return queueing.prepare(studies, storage, models, keep_models)


def as_dict(
    spec: SearchSpec, task: str, space: spaces.Space, ranges: dict[str, tuple[float, float, bool]]
) -> dict[str, Any]:
    """What a study records of its search (the analysis reads the space's ``ranges``,
    ``space.analysis()``, from it)."""
    return {
        **dataclasses.asdict(spec),
        "task": task,
        "optimizer": space.optimizer,
        "analysis_space": {k: list(v) for k, v in ranges.items()},
        "space_description": space.description,
    }
