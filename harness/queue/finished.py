"""The queue read back: a prepared grid's finished runs and failures, the completed runs
of a study, and its runs by state."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from harness.queue.outage import riding_out
from results.tables import record


@dataclass
class Prepared:
    """A grid's runs in the queue, as ``queueing`` left them; which of them are finished is
    read back from the storage."""

    studies: list[optuna.Study]  # one per task
    total: int  # runs in this grid
    added: int  # newly enqueued
    already: int  # done, waiting or running before
    requeued: int  # abandoned by a dead worker, enqueued again
    keys: set[str]

    @riding_out("reading the queue")
    def done(self) -> set[str]:
        """The keys of this grid's runs that are complete."""
        return done_keys(self.studies) & self.keys

    @riding_out("reading the queue")
    def failures(self) -> list[str]:
        """The errors of this grid's runs whose last attempt failed."""
        return failed(self.studies, self.keys)


def completed(study: optuna.Study) -> list[FrozenTrial]:
    """The runs of ``study`` that completed with their record stored."""
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if record.RESULT in t.user_attrs
    ]


def done_keys(study: optuna.Study | list[optuna.Study]) -> set[str]:
    studies = study if isinstance(study, list) else [study]
    return {t.user_attrs[record.KEY] for s in studies for t in completed(s)}


def finished_records(study: optuna.Study, keys: set[str]) -> dict[str, dict]:
    """Stored results of the completed runs among ``keys``."""
    return {
        t.user_attrs[record.KEY]: t.user_attrs[record.RESULT]
        for t in completed(study)
        if t.user_attrs[record.KEY] in keys
    }


def failed(study: optuna.Study | list[optuna.Study], keys: set[str]) -> list[str]:
    """Runs of the grid whose last attempt failed with an error (not re-queued)."""
    studies = study if isinstance(study, list) else [study]
    settled = done_keys(studies)
    errors = {}
    for t in (t for s in studies for t in s.get_trials(deepcopy=False, states=(TrialState.FAIL,))):
        if t.user_attrs.get(record.KEY) in keys and record.ERROR in t.user_attrs:
            errors[t.user_attrs[record.KEY]] = t.user_attrs[record.ERROR]
    return [e for k, e in errors.items() if k not in settled]


def counts(study: optuna.Study) -> dict[str, int]:
    """Runs by state (orphans, trials without a configuration, and interrupted attempts
    whose copy is queued are left out)."""
    out: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        if record.KEY in t.user_attrs and not record.superseded(t):
            out[t.state.name.lower()] = out.get(t.state.name.lower(), 0) + 1
    return out
