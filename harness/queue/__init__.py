"""Optuna's storage as the record of every run: open it, queue a grid, run workers that
take, train and tell, read the finished runs back; liveness, kept models.

The queue's public face, the modules the rest of the harness may import (in the order of
the flow): ``storage_url`` (the storage named, opened, shown), ``store`` (its studies),
``queueing`` (a grid's, a search's or single runs' queue prepared), ``runner`` (the workers
run), ``progress`` (what a command hears of them), ``finished`` (the finished runs read
back), ``kept_models`` (the models kept), ``liveness`` (heartbeats and leases, for a loop
that works a study itself: ``harness evolve``'s candidates), and for the command line's
errors and signals ``signals``, ``outage`` and ``journal``. The rest (``worker``,
``entries``, ``locks``) is the queue's own: ``tests/test_boundaries.py`` fails when another
room imports it.
"""

FACE = (
    "storage_url",
    "store",
    "queueing",
    "runner",
    "progress",
    "finished",
    "kept_models",
    "liveness",
    "signals",
    "outage",
    "journal",
)
