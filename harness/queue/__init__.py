"""Optuna's storage as the record of every run: enqueue, take, train, tell; workers,
liveness, kept models."""
