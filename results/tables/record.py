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


def current_telemetry(telemetry: dict[str, Any]) -> dict[str, Any]:
    """A run's telemetry with its cost under today's names, whatever version stored it.

    Records of older versions hold ``steps_per_second`` (one trial's data stream: steps ×
    batch per second of its population's timed steps), ``wall_seconds`` (the whole
    population's wall time) and ``population`` (K; absent before population training, so
    1). Every seed of a population carried the same seconds, which read as the run's own.
    Today's records name each figure for what it is: ``steps×batch/s`` (the trial's rate),
    ``population_steps×batch/s`` (K × it, the whole stack's), ``population_seconds`` and
    ``trial_seconds`` (its per-trial share). This maps the old keys to the new ones so that
    frames of old and new storages have the same columns; new records pass unchanged."""
    tele = dict(telemetry)
    if "steps_per_second" not in tele and "wall_seconds" not in tele:
        return tele
    population = tele.get("population") or 1
    rate, wall = tele.pop("steps_per_second", None), tele.pop("wall_seconds", None)
    tele["population"] = population
    tele["population_seconds"] = wall
    tele["population_steps×batch/s"] = rate * population if rate is not None else None
    tele["trial_seconds"] = wall / population if wall is not None else None
    tele["steps×batch/s"] = rate
    return tele
