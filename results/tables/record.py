"""The stored record of a run: what the harness writes on each trial and the analysis reads.

This module owns the schema. A run is an Optuna trial whose user attributes are:

- ``key``: the run's identity (a hash of its whole configuration; the resume key);
- ``config``: its configuration (``harness.plans.config.RunConfig`` as a dict), set when queued;
- ``attempt``: how many times it has been queued after a worker was lost (absent: 1);
- ``worker``: the process that took it (host and pid);
- ``result``: its whole record when it ends (curves, metrics, telemetry, its kept model);
- ``error``: the error it failed with, where it failed;
- ``interrupted``: set on an attempt that a Ctrl-C or SIGTERM stopped and put back in the
  queue (a copy runs in its place): kept for the audit, never counted as a run or a failure.

``harness`` writes these and ``results`` reads them through the names below and nothing
else: the two packages meet here.
"""

from __future__ import annotations

from typing import Any

KEY, CONFIG, RESULT, ERROR, ATTEMPT, WORKER = (
    "key",
    "config",
    "result",
    "error",
    "attempt",
    "worker",
)
INTERRUPTED = "interrupted"


def superseded(trial: Any) -> bool:
    """An interrupted attempt whose run went back in the queue (``INTERRUPTED``)."""
    return bool(trial.user_attrs.get(INTERRUPTED))


def model_file(result: dict[str, Any]) -> str | None:
    """Where a run's kept model is (``result["model"]``: its artifact store's folder and
    artifact id), or None when it kept none."""
    model = result.get("model")
    return f"{model['folder']}/{model['artifact']}" if model else None


# the cost names of records a pre-release of 0.1.0 stored, before population training named
# the trial's and the population's figures apart; they are read as they are, not translated
EARLIER_TELEMETRY = ("steps_per_second", "wall_seconds")
