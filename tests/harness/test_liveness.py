"""Races between workers over one run: whoever finishes a trial first wins, the others
neither fail nor enqueue it a second time."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from optuna.trial import TrialState

from harness.plans import grid
from harness.queue import entries, liveness, storage_url, store, worker


def _one_running_run(tmp_path: Path, dead_pid: int):
    journal = str(tmp_path / "race.journal")
    storage = storage_url.open_storage(journal)
    study = store.open_study(storage, "race")
    entries.enqueue(storage, study, grid.resolve("smoke", ["lstm"], ["parity"], 1).runs())
    trial = study.ask()
    trial.set_user_attr("worker", {"host": platform.node(), "pid": dead_pid})
    # a second worker's handle on the same journal
    return study, store.open_study(storage_url.open_storage(journal), "race", create=False), trial


def test_two_workers_failing_one_abandoned_run_enqueue_it_once(tmp_path: Path) -> None:
    study, other, _ = _one_running_run(tmp_path, dead_pid=2**22 + 12345)
    seen_by_other = other.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    assert liveness.requeue_abandoned(study) == 1
    # the other worker acts on what it saw before: the run is finished already
    assert not liveness.finish(other, seen_by_other[0], state=TrialState.FAIL)
    assert liveness.requeue_abandoned(other) == 0
    waiting = other.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert len(waiting) == 1 and waiting[0].user_attrs["attempt"] == 2


def test_a_result_told_after_its_run_was_failed_elsewhere_is_dropped(tmp_path: Path) -> None:
    study, other, trial = _one_running_run(tmp_path, dead_pid=2**22 + 12345)
    assert liveness.requeue_abandoned(other) == 1  # another worker gave the run up
    assert not worker._tell(study, trial, error="late")  # no error, nothing stored twice
    assert [t.state for t in study.get_trials(deepcopy=False)] == [
        TrialState.FAIL,
        TrialState.WAITING,
    ]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_the_private_optuna_attributes_the_harness_reads_are_where_it_reads_them(
    tmp_path: Path,
) -> None:
    """liveness.storage_of and trial_id_of are the only reads of Optuna's private attributes;
    this fails when Optuna moves them."""
    from optuna.storages import RDBStorage

    from harness.queue.journal import JournalFile

    journal = store.open_study(storage_url.open_storage(str(tmp_path / "j.journal")), "j")
    database = store.open_study(storage_url.open_storage(f"sqlite:///{tmp_path / 'r.db'}"), "r")
    assert isinstance(liveness.storage_of(journal), JournalFile)
    assert isinstance(liveness.storage_of(database), RDBStorage)  # unwrapped from the cache
    for study in (journal, database):
        trial = study.ask()
        stored = liveness.storage_of(study).get_trial(liveness.trial_id_of(trial))
        assert stored.number == trial.number and stored.state == TrialState.RUNNING


def test_a_claim_cut_short_is_completed_on_the_retry_or_lost_to_whoever_failed_it(
    tmp_path: Path,
) -> None:
    """An outage between asking Optuna for a run and claiming it: the retry of ``_take``
    claims the asked trial whole; but if another worker failed it as abandoned meanwhile
    (after an outage it looks so), the claim is lost quietly and the retry that worker
    enqueued runs it, once."""
    study, other, trial = _one_running_run(tmp_path, dead_pid=2**22 + 12345)
    hand = worker.Hand(asked=[trial])
    worker._take(study, 1, None, hand)  # the retry: claims the asked trial
    assert [t.number for t, _ in hand.taken] == [trial.number] and not hand.carried
    assert (
        study.get_trials(deepcopy=False)[trial.number].user_attrs["worker"]["pid"] != 2**22 + 12345
    )

    study, other, trial = _one_running_run(tmp_path / "again", dead_pid=2**22 + 12345)
    assert liveness.requeue_abandoned(other) == 1  # another worker gave the run up
    hand = worker.Hand(asked=[trial])
    worker._take(study, 1, None, hand)  # lost; the requeued copy taken
    assert [t.number for t, _ in hand.taken] == [trial.number + 1]
    assert hand.taken[0][0].user_attrs["attempt"] == 2
